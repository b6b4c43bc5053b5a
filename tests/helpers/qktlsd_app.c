// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktlsd_app: an application that hands its TCP socket to qktlsd with
 * libqktls's qktls_handshake() and then talks over the kTLS socket with
 * plain read()/write(), for the agent's tests.  On a socket the agent
 * attached, qktls.ko rekeys inside those calls and consumes the peer's key
 * updates, tickets and alerts (close_notify reads as the end of the
 * stream); the application does nothing for it.
 *
 *   qktlsd_app server --agent SOCK --link L [--mode M] [--bytes N] [--stream S]
 *       listens on 127.0.0.1 (free port), prints "ACCEPT 127.0.0.1:PORT",
 *       accepts one connection and hands it over
 *   qktlsd_app client --agent SOCK --link L --port P [--mode M] [--bytes N]
 *                     [--stream S]
 *   --helper      accepted and ignored (the stream helpers it chose did the
 *                 rekeys before qktls.ko did them itself)
 *   --rekey-once  accepted and ignored (it asked for one explicit TX rekey;
 *                 the module rekeys by the link's policy)
 *   --io mixed    exchange: the first half of each direction is written
 *                 with write() and read with read(), the second half sent
 *                 with sendfile() (from a memfd) and received with splice()
 *                 (into a pipe, then read from it); default: write/read
 *
 * After the hand-off it prints STATUS, GROUP, SUITE, PEER, QKD, NOTE, ERROR,
 * KEYUPDATE (qkd or standard), ATTACHED and QKD_REQUIRED (yes or no) lines (the struct
 * qktls_result), and exits 3 if the hand-off failed.  The exchange and echo
 * modes end with the module's view of the socket: "SOCK name=value ..."
 * (rekeys, keys used, policy, pools) and "SOCK_POST qkd_policy=P
 * tx_std_fallbacks=N tx_refused=N updates_requested=N tickets_dropped=N
 * alerts=N rx_errors=N", or "SOCK none: why" for an unattached socket.
 * Modes:
 *   exchange  both sides write N pattern bytes at once (the server's first
 *             byte right after its handshake; the pattern differs per
 *             direction and per --stream number, 0 by default) while
 *             reading the peer's N and checking each byte; then each
 *             sends close_notify and waits for the peer's (the end of the
 *             stream after an alert the module counted, on an attached
 *             socket; the alert record itself on an unattached one);
 *             prints "DATA ok N" and "CLOSE_NOTIFY"
 *   line      (server, for openssl s_client) writes "hello from qktlsd app",
 *             reads a line, prints "GOT line", answers "bye line", sends
 *             close_notify
 *   ping      (client, for openssl s_server -rev) writes "ping", reads the
 *             answer line with qktls_recv_record(), skipping the
 *             NewSessionTicket handshake records a stock server sends
 *             after the handshake (none reach an attached socket's reads);
 *             prints "TICKETS n" and "REPLY line", sends close_notify
 *   echo      (server, for openssl s_client and its k/K commands) answers
 *             every line with "echo LINE" until a line "quit" (answers
 *             "bye", sends close_notify) or the end of the stream ("EOF")
 *   none      stop after the hand-off
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <qktls/handshake.h>
#include <qktls/sock.h>

static void die(const char *what)
{
	fprintf(stderr, "qktlsd_app: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Pattern byte i of stream @seed (differs per direction). */
static uint8_t pat(unsigned int seed, size_t i)
{
	uint32_t x = (uint32_t)(i / 4) * 2654435761u + seed * 40503u + 1;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (uint8_t)(x >> (8 * (i % 4)));
}

struct writer {
	int fd;
	unsigned int seed;
	size_t n;
	bool mixed;
	int err;
};

/* write() all of @buf; 0 or an errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? errno : EIO;
		p += k;
		len -= k;
	}
	return 0;
}

/* The pattern bytes [from, to) of @seed into a memfd; -1 on error. */
static int pattern_file(unsigned int seed, size_t from, size_t to)
{
	int mfd = memfd_create("qktlsd_app", MFD_CLOEXEC);
	uint8_t buf[16384];

	if (mfd < 0)
		return -1;
	for (size_t off = from; off < to; off += sizeof(buf)) {
		size_t chunk = to - off < sizeof(buf) ? to - off : sizeof(buf);

		for (size_t i = 0; i < chunk; i++)
			buf[i] = pat(seed, off + i);
		if (write_all(mfd, buf, chunk)) {
			close(mfd);
			return -1;
		}
	}
	return mfd;
}

/* sendfile() all @len bytes of @mfd from its start; 0 or an errno. */
static int sendfile_all(int fd, int mfd, size_t len)
{
	off_t off = 0;

	while ((size_t)off < len) {
		ssize_t k = sendfile(fd, mfd, &off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? errno : EIO;
	}
	return 0;
}

static void *write_pattern(void *arg)
{
	struct writer *w = arg;
	size_t half = w->mixed ? w->n / 2 : w->n;
	uint8_t buf[16384];
	int mfd = -1;

	/* The file first, so that sendfile() follows write() at once. */
	if (w->mixed) {
		mfd = pattern_file(w->seed, half, w->n);
		if (mfd < 0) {
			w->err = errno;
			return NULL;
		}
	}
	for (size_t off = 0; off < half && !w->err; off += sizeof(buf)) {
		size_t chunk = half - off < sizeof(buf) ? half - off : sizeof(buf);

		for (size_t i = 0; i < chunk; i++)
			buf[i] = pat(w->seed, off + i);
		w->err = write_all(w->fd, buf, chunk);
	}
	if (mfd >= 0) {
		if (!w->err)
			w->err = sendfile_all(w->fd, mfd, w->n - half);
		close(mfd);
	}
	return NULL;
}

/*
 * Up to @len bytes from the socket: read(), or splice() into @pipefd and
 * read() from there (@pipefd[0] < 0: plain read).
 */
static ssize_t read_some(int fd, const int pipefd[2], uint8_t *buf, size_t len)
{
	ssize_t k, got = 0;

	if (pipefd[0] < 0)
		return read(fd, buf, len);
	k = splice(fd, NULL, pipefd[1], NULL, len, 0);
	if (k <= 0)
		return k;
	while (got < k) {
		ssize_t r = read(pipefd[0], buf + got, k - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += r;
	}
	return got;
}

/* The module's view of the socket, or why there is none; 0 if attached. */
static int sock_info(int fd, struct qktls_sock_info *si)
{
	struct qktls_nl *nl;
	int ret;

	ret = qktls_nl_open(&nl);
	if (!ret) {
		ret = qktls_sock_get(nl, fd, si);
		qktls_nl_close(nl);
	}
	return ret;
}

static const char *qkd_policy_name(uint8_t p)
{
	static const char *const names[] = { "off", "preferred", "required" };

	return p < 3 ? names[p] : "?";
}

/* The module's counters for the socket. */
static void print_counters(int fd)
{
	struct qktls_sock_info si;
	const struct qktls_sock_stats *st = &si.stats;
	int ret = sock_info(fd, &si);

	if (ret) {
		printf("SOCK none: %s\n", qktls_strerror(ret));
		return;
	}
	printf("SOCK tx_rekeys=%llu rx_rekeys=%llu tx_qkd_rekeys=%llu "
	       "rx_qkd_rekeys=%llu keys_used=%llu rekey_errors=%llu "
	       "rekey_bytes=%llu qkd_update=%d tx_pool=%s rx_pool=%s\n",
	       (unsigned long long)st->tx_rekeys,
	       (unsigned long long)st->rx_rekeys,
	       (unsigned long long)st->tx_qkd_rekeys,
	       (unsigned long long)st->rx_qkd_rekeys,
	       (unsigned long long)st->keys_used,
	       (unsigned long long)st->rekey_errors,
	       (unsigned long long)si.rekey_bytes, si.qkd_update,
	       si.tx_pool[0] ? si.tx_pool : "-", si.rx_pool[0] ? si.rx_pool : "-");
	printf("SOCK_POST qkd_policy=%s tx_std_fallbacks=%llu tx_refused=%llu "
	       "updates_requested=%llu tickets_dropped=%llu alerts=%llu "
	       "rx_errors=%llu\n", qkd_policy_name(si.qkd_policy),
	       (unsigned long long)st->tx_std_fallbacks,
	       (unsigned long long)st->tx_refused,
	       (unsigned long long)st->updates_requested,
	       (unsigned long long)st->tickets_dropped,
	       (unsigned long long)st->alerts,
	       (unsigned long long)st->rx_errors);
}

/*
 * The peer's close_notify: on an attached socket the module consumes it
 * and the read ends the stream, which the module's alert counter tells
 * from a bare TCP FIN; on an unattached one kTLS hands the alert record
 * out.  Returns 0 if it came.
 */
static int wait_close_notify(int fd)
{
	struct qktls_sock_info si;
	uint8_t buf[16384], type = 0;
	ssize_t k;

	do
		k = qktls_recv_record(fd, buf, sizeof(buf), &type, 0);
	while (k == -EINTR);
	if (k == 2 && type == QKTLS_RECORD_ALERT && buf[1] == 0)
		return 0;
	if (k == 0 && !sock_info(fd, &si) && si.stats.alerts > 0)
		return 0;
	fprintf(stderr, "qktlsd_app: expected close_notify, got %s%zd bytes of "
		"type %u\n", k < 0 ? strerror((int)-k) : "", k, type);
	return -1;
}

static int exchange(int fd, bool server, size_t n, unsigned int stream,
		    bool mixed)
{
	struct writer w = { .fd = fd, .seed = 2 * stream + (server ? 1 : 2),
			    .n = n, .mixed = mixed };
	unsigned int peer_seed = 2 * stream + (server ? 2 : 1);
	size_t off = 0, half = mixed ? n / 2 : n;
	int pipefd[2] = { -1, -1 };
	uint8_t buf[16384];
	pthread_t t;
	ssize_t k;

	if (pthread_create(&t, NULL, write_pattern, &w))
		die("pthread_create");
	while (off < n) {
		size_t want = n - off < sizeof(buf) ? n - off : sizeof(buf);

		/* The second half through splice(), never across the half. */
		if (off < half && want > half - off)
			want = half - off;
		if (off >= half && pipefd[0] < 0 && pipe(pipefd))
			die("pipe");
		k = read_some(fd, pipefd, buf, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "qktlsd_app: read after %zu of %zu bytes: %s\n",
				off, n, k ? strerror(errno) : "end of stream");
			return -1;
		}
		for (ssize_t i = 0; i < k; i++)
			if (buf[i] != pat(peer_seed, off + i)) {
				fprintf(stderr, "qktlsd_app: byte %zu differs\n", off + i);
				return -1;
			}
		off += k;
	}
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	pthread_join(t, NULL);
	if (w.err) {
		fprintf(stderr, "qktlsd_app: write: %s\n", strerror(w.err));
		return -1;
	}
	printf("DATA ok %zu%s\n", n, mixed ? " write+sendfile read+splice" : "");
	fflush(stdout);
	if (qktls_send_close_notify(fd)) {
		fprintf(stderr, "qktlsd_app: cannot send close_notify\n");
		return -1;
	}
	if (wait_close_notify(fd))
		return -1;
	printf("CLOSE_NOTIFY\n");
	print_counters(fd);
	return 0;
}

static int read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t k = read(fd, buf + len, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return 0;
}

static int line_mode(int fd)
{
	static const char hello[] = "hello from qktlsd app\n";
	char line[256], reply[300];

	if (write(fd, hello, sizeof(hello) - 1) != sizeof(hello) - 1)
		die("write");
	if (read_line(fd, line, sizeof(line)))
		die("read");
	line[strcspn(line, "\r\n")] = '\0';
	printf("GOT %s\n", line);
	snprintf(reply, sizeof(reply), "bye %s\n", line);
	if (write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
		die("write");
	return qktls_send_close_notify(fd) ? -1 : 0;
}

/* Lines with plain read and write, for s_client's k and K commands. */
static int echo_mode(int fd)
{
	char line[1024], reply[1100];
	size_t len = 0;
	ssize_t k;

	for (;;) {
		char *nl;

		k = read(fd, line + len, sizeof(line) - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k)
				fprintf(stderr, "qktlsd_app: echo: read: %s\n",
					strerror(errno));
			else
				printf("EOF\n");
			print_counters(fd);
			return k ? -1 : 0;
		}
		len += k;
		line[len] = '\0';
		while ((nl = strchr(line, '\n'))) {
			size_t ll = nl - line;
			int err;

			*nl = '\0';
			if (ll && line[ll - 1] == '\r')
				line[ll - 1] = '\0';
			if (!strcmp(line, "quit"))
				snprintf(reply, sizeof(reply), "bye\n");
			else
				snprintf(reply, sizeof(reply), "echo %s\n", line);
			printf("GOT %s\n", line);
			fflush(stdout);
			err = write_all(fd, reply, strlen(reply));
			if (err) {
				fprintf(stderr, "qktlsd_app: echo write: %s\n",
					strerror(err));
				return -1;
			}
			if (!strcmp(line, "quit")) {
				qktls_send_close_notify(fd);
				print_counters(fd);
				return 0;
			}
			memmove(line, nl + 1, len - ll);
			len -= ll + 1;
		}
		if (len == sizeof(line) - 1)
			len = 0;	/* an overlong line: drop it */
	}
}

static int ping_mode(int fd)
{
	char line[256];
	uint8_t buf[4096], type;
	size_t len = 0;
	int tickets = 0;

	if (write(fd, "ping\n", 5) != 5)
		die("write");
	while (!memchr(line, '\n', len)) {
		ssize_t k = qktls_recv_record(fd, buf, sizeof(buf), &type, 0);

		if (k <= 0) {
			fprintf(stderr, "qktlsd_app: no reply: %s\n",
				k ? strerror((int)-k) : "end of stream");
			return -1;
		}
		if (type == QKTLS_RECORD_HANDSHAKE && buf[0] == 4) {
			tickets++;	/* NewSessionTicket: not used, resumption is off */
			continue;
		}
		if (type != QKTLS_RECORD_APPLICATION_DATA ||
		    len + k >= sizeof(line)) {
			fprintf(stderr, "qktlsd_app: unexpected record of type %u\n", type);
			return -1;
		}
		memcpy(line + len, buf, k);
		len += k;
	}
	line[strcspn(line, "\r\n")] = '\0';
	printf("TICKETS %d\nREPLY %s\n", tickets, line);
	return qktls_send_close_notify(fd) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "link", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "stream", required_argument, NULL, 's' },
		{ "helper", no_argument, NULL, 'H' },
		{ "rekey-once", no_argument, NULL, 'R' },
		{ "io", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL, *link = NULL, *mode = "exchange";
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct qktls_result r;
	size_t bytes = 1 << 20;
	unsigned int stream = 0;
	int port = 0, o, fd, ret;
	bool server, mixed = false;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'a': agent = optarg; break;
		case 'l': link = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'b': bytes = strtoul(optarg, NULL, 0); break;
		case 's': stream = strtoul(optarg, NULL, 0); break;
		case 'H': break;	/* --helper: ignored, see above */
		case 'R': break;	/* --rekey-once: ignored */
		case 'i':
			if (strcmp(optarg, "mixed") && strcmp(optarg, "plain"))
				return 2;
			mixed = !strcmp(optarg, "mixed");
			break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !agent || !link ||
	    (strcmp(argv[optind], "server") && strcmp(argv[optind], "client"))) {
		fprintf(stderr, "usage: qktlsd_app server|client --agent SOCK --link L "
			"[--port P] [--mode exchange|line|ping|echo|none] [--bytes N] "
			"[--stream S] [--io plain|mixed]\n"
			"       (--helper and --rekey-once are accepted and ignored: "
			"qktls.ko rekeys inside plain read and write)\n");
		return 2;
	}
	server = !strcmp(argv[optind], "server");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (server) {
		socklen_t len = sizeof(sa);
		int lfd = fd;

		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
		    getsockname(lfd, (struct sockaddr *)&sa, &len))
			die("listen");
		printf("ACCEPT 127.0.0.1:%d\n", ntohs(sa.sin_port));
		fflush(stdout);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept");
		close(lfd);
	} else {
		sa.sin_port = htons(port);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("connect");
	}

	ret = qktls_handshake_at(agent, fd, link, server ? QKTLS_ROLE_SERVER :
				 QKTLS_ROLE_CLIENT, &r);
	printf("STATUS %d\nGROUP %s\nSUITE %s\nPEER %s\nQKD %s\nNOTE %s\nERROR %s\n"
	       "KEYUPDATE %s\nATTACHED %s\nQKD_REQUIRED %s\n",
	       r.status, r.group, r.suite_name, r.peer_subject,
	       r.qkd_used ? r.qkd_ref : "-", r.qkd_note, r.error,
	       r.flags & QKTLS_RESULT_QKD_UPDATE ? "qkd" : "standard",
	       r.flags & QKTLS_RESULT_ATTACHED ? "yes" : "no",
	       r.flags & QKTLS_RESULT_QKD_REQUIRED ? "yes" : "no");
	fflush(stdout);
	if (ret) {
		close(fd);
		return 3;
	}
	if (!strcmp(mode, "exchange"))
		ret = exchange(fd, server, bytes, stream, mixed);
	else if (!strcmp(mode, "echo"))
		ret = echo_mode(fd);
	else if (!strcmp(mode, "line"))
		ret = line_mode(fd);
	else if (!strcmp(mode, "ping"))
		ret = ping_mode(fd);
	close(fd);
	return ret ? 1 : 0;
}
