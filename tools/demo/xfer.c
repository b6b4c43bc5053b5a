// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-xfer: the demo's application.  It makes a TCP connection itself,
 * hands the socket to qktlsd with libqktls's qktls_handshake(), then moves a
 * stream of bytes one way through kTLS with libqktls's stream helpers
 * (qktls/stream.h: they rekey by the policy the agent attached the socket
 * with, and follow the peer's key updates), and the receiver checks it with
 * SHA-256 (OpenSSL EVP) against the sender's.
 *
 *   qktls-xfer server --agent SOCK --link L --addr ADDR --port PORT
 *   qktls-xfer client --agent SOCK --link L --addr ADDR --port PORT
 *                     [--bytes N] [--chunk N] [--no-rekey]
 *
 * The server listens on ADDR:PORT (PORT 0: any), prints "LISTEN ADDR PORT",
 * accepts one connection and receives; the client connects and sends N
 * bytes (default 1 GiB) in writes of --chunk bytes (default 1 MiB).  Sizes
 * take a K, M or G suffix (powers of 1024).  --no-rekey ignores the
 * socket's rekey policy (QKTLS_STREAM_NO_POLICY), for a comparison.  If
 * qktls.ko cannot tell whether the socket is attached (a module without
 * socket attach), the program says so and uses plain read()/write().
 *
 * Stream: an 8-byte big-endian length, the data (random bytes from
 * RAND_bytes, each chunk stamped with its number so no two are alike), the
 * sender's SHA-256 of the data; the receiver answers with its own SHA-256,
 * then both send close_notify.  Each side compares the two digests.
 *
 * Output, one "KEY value" line each: the handshake's outcome (STATUS,
 * GROUP, SUITE, PEER, QKD, NOTE, ERROR), HANDSHAKE_MS (the time
 * qktls_handshake() took), QKD_UPDATE (yes if the QKD key update was
 * negotiated), then BYTES, SECONDS and MIBPS (from the first
 * data byte to the last, on each side), SHA256 (this side's digest),
 * PEER_SHA256 and VERIFY ok|MISMATCH, and what the stream did: ATTACHED
 * (yes, and the policy, or no and why), REKEYS (TX and RX rekeys, those
 * with a QKD key, errors), KEYS_USED (QKD keys this socket took from the
 * pools, as qktls.ko counts them, or - when not attached) and STREAM_ERROR.
 *
 * Exit status: 0 when the digests match; 1 on an I/O error; 2 for bad
 * usage; 3 when the hand-off or handshake failed; 4 on a digest mismatch.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <endian.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <qktls/handshake.h>
#include <qktls/stream.h>

#define DIGEST_LEN	32	/* SHA-256 */

enum { EXIT_IO = 1, EXIT_USAGE = 2, EXIT_HANDSHAKE = 3, EXIT_MISMATCH = 4 };

static const char *prog = "qktls-xfer";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int io_error(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what,
		err ? qktls_strerror(err) : "unexpected end of stream");
	return EXIT_IO;
}

/*
 * The connection: a libqktls stream over the kTLS socket, or the bare
 * socket when qktls.ko cannot say whether it is attached.
 */
struct conn {
	int fd;
	struct qktls_stream *s;
};

static int write_all(struct conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t k;

		if (c->s) {
			k = qktls_stream_write(c->s, p, len);
			if (k < 0 && k != -EINTR) {
				fprintf(stderr, "%s: write: %s%s%s\n", prog,
					qktls_strerror((int)k),
					*qktls_stream_error(c->s, QKTLS_DIR_TX) ? ": " : "",
					qktls_stream_error(c->s, QKTLS_DIR_TX));
				return (int)-k;
			}
		} else {
			k = write(c->fd, p, len);
			if (k < 0)
				k = -errno;
		}
		if (k == -EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? (int)-k : EIO;
		p += k;
		len -= k;
	}
	return 0;
}

/* Up to @len bytes: the number read, 0 at the end of the stream, or -errno. */
static ssize_t read_some(struct conn *c, void *buf, size_t len)
{
	ssize_t k;

	do {
		if (c->s) {
			k = qktls_stream_read(c->s, buf, len);
		} else {
			k = read(c->fd, buf, len);
			if (k < 0)
				k = -errno;
		}
	} while (k == -EINTR);
	if (k < 0 && c->s && *qktls_stream_error(c->s, QKTLS_DIR_RX))
		fprintf(stderr, "%s: read: %s\n", prog,
			qktls_stream_error(c->s, QKTLS_DIR_RX));
	return k;
}

/* Read exactly @len bytes; 0, an errno, or -1 at end of stream. */
static int read_all(struct conn *c, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t k = read_some(c, p, len);

		if (k < 0)
			return (int)-k;
		if (k == 0)
			return -1;
		p += k;
		len -= k;
	}
	return 0;
}

/* Send close_notify and read the peer's. */
static int close_notify(struct conn *c)
{
	uint8_t buf[64], type = 0;
	ssize_t k;
	int ret;

	ret = c->s ? qktls_stream_close_notify(c->s) : qktls_send_close_notify(c->fd);
	if (ret)
		return io_error("sending close_notify", -ret);
	if (c->s) {
		k = read_some(c, buf, sizeof(buf));
		if (!k)
			return 0;
		fprintf(stderr, "%s: expected the peer's close_notify, got %zd\n", prog, k);
		return EXIT_IO;
	}
	k = qktls_recv_record(c->fd, buf, sizeof(buf), &type, 0);
	if (k == 2 && type == QKTLS_RECORD_ALERT && buf[1] == 0)
		return 0;
	fprintf(stderr, "%s: expected the peer's close_notify, got %zd bytes of record type %u\n",
		prog, k, type);
	return EXIT_IO;
}

/* What the stream and the module did: rekeys and QKD keys. */
static void report_rekeys(struct conn *c)
{
	struct qktls_stream_stats st;
	struct qktls_sock_info info;

	if (!c->s || !qktls_stream_attached(c->s, NULL)) {
		printf("REKEYS tx 0 tx_qkd 0 rx 0 rx_qkd 0 errors 0\nKEYS_USED -\n");
		fflush(stdout);
		return;
	}
	qktls_stream_stats(c->s, &st);
	printf("REKEYS tx %llu tx_qkd %llu rx %llu rx_qkd %llu errors %llu\n",
	       (unsigned long long)st.tx_rekeys, (unsigned long long)st.tx_qkd_rekeys,
	       (unsigned long long)st.rx_rekeys, (unsigned long long)st.rx_qkd_rekeys,
	       (unsigned long long)st.rekey_errors);
	if (!qktls_stream_sock_info(c->s, &info))
		printf("KEYS_USED %llu\n", (unsigned long long)info.stats.keys_used);
	else
		printf("KEYS_USED -\n");
	printf("STREAM_ERROR %s\n", qktls_stream_error(c->s, QKTLS_DIR_TX));
	fflush(stdout);
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void report(size_t bytes, double secs, const uint8_t *mine,
		   const uint8_t *peer)
{
	char a[2 * DIGEST_LEN + 1], b[2 * DIGEST_LEN + 1];

	hex(mine, DIGEST_LEN, a);
	hex(peer, DIGEST_LEN, b);
	printf("BYTES %zu\nSECONDS %.3f\nMIBPS %.1f\nSHA256 %s\nPEER_SHA256 %s\n",
	       bytes, secs, secs > 0 ? bytes / secs / 1048576.0 : 0.0, a, b);
	printf("VERIFY %s\n", memcmp(mine, peer, DIGEST_LEN) ? "MISMATCH" : "ok");
	fflush(stdout);
}

/* Print the outcome, end the stream; the exit status. */
static int finish(struct conn *c, size_t bytes, double secs,
		  const uint8_t *mine, const uint8_t *peer)
{
	int ret;

	report(bytes, secs, mine, peer);
	report_rekeys(c);
	ret = close_notify(c);
	if (!ret && memcmp(mine, peer, DIGEST_LEN))
		ret = EXIT_MISMATCH;
	return ret;
}

static int send_stream(struct conn *c, size_t bytes, size_t chunk)
{
	uint8_t mine[DIGEST_LEN], peer[DIGEST_LEN];
	uint64_t hdr = htobe64(bytes), n = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(chunk);
	size_t off = 0;
	double t0, t1;
	int ret = EXIT_IO, err;

	if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    RAND_bytes(buf, (int)chunk) != 1) {
		fprintf(stderr, "%s: out of memory or OpenSSL failed\n", prog);
		goto out;
	}
	err = write_all(c, &hdr, sizeof(hdr));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	t0 = now();
	while (off < bytes) {
		size_t len = bytes - off < chunk ? bytes - off : chunk;
		uint64_t stamp = htobe64(n++);

		memcpy(buf, &stamp, len < sizeof(stamp) ? len : sizeof(stamp));
		if (!EVP_DigestUpdate(md, buf, len)) {
			fprintf(stderr, "%s: SHA-256 failed\n", prog);
			goto out;
		}
		err = write_all(c, buf, len);
		if (err) {
			fprintf(stderr, "%s: write after %zu of %zu bytes: %s\n",
				prog, off, bytes, qktls_strerror(err));
			goto out;
		}
		off += len;
	}
	if (!EVP_DigestFinal_ex(md, mine, NULL)) {
		fprintf(stderr, "%s: SHA-256 failed\n", prog);
		goto out;
	}
	err = write_all(c, mine, sizeof(mine));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	err = read_all(c, peer, sizeof(peer));
	t1 = now();
	if (err) {
		ret = io_error("reading the receiver's SHA-256", err > 0 ? err : 0);
		goto out;
	}
	ret = finish(c, bytes, t1 - t0, mine, peer);
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return ret;
}

static int recv_stream(struct conn *c, size_t chunk)
{
	uint8_t mine[DIGEST_LEN], peer[DIGEST_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *buf = malloc(chunk);
	uint64_t hdr;
	size_t bytes, off = 0;
	double t0 = 0, t1;
	int ret = EXIT_IO, err;

	if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		fprintf(stderr, "%s: out of memory or OpenSSL failed\n", prog);
		goto out;
	}
	err = read_all(c, &hdr, sizeof(hdr));
	if (err) {
		ret = io_error("reading the stream's length", err > 0 ? err : 0);
		goto out;
	}
	bytes = be64toh(hdr);
	while (off < bytes) {
		size_t want = bytes - off < chunk ? bytes - off : chunk;
		ssize_t k = read_some(c, buf, want);

		if (k <= 0) {
			fprintf(stderr, "%s: read after %zu of %zu bytes: %s\n", prog,
				off, bytes, k ? qktls_strerror((int)k) : "end of stream");
			goto out;
		}
		if (!off)
			t0 = now();
		if (!EVP_DigestUpdate(md, buf, k)) {
			fprintf(stderr, "%s: SHA-256 failed\n", prog);
			goto out;
		}
		off += k;
	}
	t1 = now();
	if (!EVP_DigestFinal_ex(md, mine, NULL)) {
		fprintf(stderr, "%s: SHA-256 failed\n", prog);
		goto out;
	}
	err = read_all(c, peer, sizeof(peer));
	if (err) {
		ret = io_error("reading the sender's SHA-256", err > 0 ? err : 0);
		goto out;
	}
	err = write_all(c, mine, sizeof(mine));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	ret = finish(c, bytes, t1 - t0, mine, peer);
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return ret;
}

static bool parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	switch (*end) {
	case 'G': v <<= 10; /* fall through */
	case 'M': v <<= 10; /* fall through */
	case 'K': v <<= 10; end++; break;
	case '\0': break;
	default: return false;
	}
	if (*end)
		return false;
	*out = v;
	return true;
}

/* A socket bound (server: listening) or connected to @addr:@port. */
static int open_socket(const char *addr, const char *port, bool server)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	}, *ai;
	int fd, err, one = 1;

	err = getaddrinfo(addr, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "%s: %s port %s: %s\n", prog, addr, port, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (server) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char host[NI_MAXHOST], serv[NI_MAXSERV];

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1) ||
		    getsockname(fd, (struct sockaddr *)&ss, &len) ||
		    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host),
				serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV))
			goto fail;
		printf("LISTEN %s %s\n", host, serv);
		fflush(stdout);
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		goto fail;
	}
	freeaddrinfo(ai);
	return fd;
fail:
	fprintf(stderr, "%s: %s %s port %s: %s\n", prog,
		server ? "listen on" : "connect to", addr, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s server --agent SOCK --link L --addr ADDR --port PORT [--chunk N]\n"
		"       %s client --agent SOCK --link L --addr ADDR --port PORT [--bytes N] [--chunk N]\n"
		"                 [--no-rekey]\n",
		prog, prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "link", required_argument, NULL, 'l' },
		{ "addr", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "no-rekey", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL, *link = NULL, *addr = NULL, *port = NULL;
	size_t bytes = (size_t)1 << 30, chunk = (size_t)1 << 20;
	unsigned int sflags = 0;
	struct qktls_sock_info info;
	struct qktls_result r;
	struct conn c = { .fd = -1 };
	double t0, t1;
	bool server;
	int o, fd, ret;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': agent = optarg; break;
		case 'l': link = optarg; break;
		case 'A': addr = optarg; break;
		case 'p': port = optarg; break;
		case 'b':
			if (!parse_size(optarg, &bytes)) {
				fprintf(stderr, "%s: --bytes: not a size: %s\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			if (!parse_size(optarg, &chunk) || !chunk || chunk > (1 << 30)) {
				fprintf(stderr, "%s: --chunk: a size from 1 to 1G, not %s\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n': sflags |= QKTLS_STREAM_NO_POLICY; break;
		case 'h': usage(); return 0;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !agent || !link || !addr || !port ||
	    (strcmp(argv[optind], "server") && strcmp(argv[optind], "client"))) {
		usage();
		return EXIT_USAGE;
	}
	server = !strcmp(argv[optind], "server");

	fd = open_socket(addr, port, server);
	if (fd < 0)
		return EXIT_IO;
	if (server) {
		int lfd = fd;

		do
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0)
			return io_error("accept", errno);
		close(lfd);
	}

	t0 = now();
	ret = qktls_handshake_at(agent, fd, link, server ? QKTLS_ROLE_SERVER :
				 QKTLS_ROLE_CLIENT, &r);
	t1 = now();
	printf("STATUS %d\nGROUP %s\nSUITE %s\nPEER %s\nQKD %s\nNOTE %s\nERROR %s\n"
	       "HANDSHAKE_MS %.1f\nQKD_UPDATE %s\n", r.status, r.group, r.suite_name,
	       r.peer_subject, r.qkd_used ? r.qkd_ref : "-", r.qkd_note, r.error,
	       (t1 - t0) * 1000, r.flags & QKTLS_RESULT_QKD_UPDATE ? "yes" : "no");
	fflush(stdout);
	if (ret) {
		close(fd);
		return EXIT_HANDSHAKE;
	}

	c.fd = fd;
	ret = qktls_stream_open(fd, sflags, &c.s);
	if (ret) {
		printf("ATTACHED no: cannot ask qktls.ko about the socket (%s): plain kTLS, no rekey\n",
		       qktls_strerror(ret));
		c.s = NULL;
	} else if (qktls_stream_attached(c.s, &info)) {
		printf("ATTACHED yes: tx pool %s, rx pool %s, QKD key update %s, "
		       "rekey every %llu bytes%s\n", *info.tx_pool ? info.tx_pool : "-",
		       *info.rx_pool ? info.rx_pool : "-",
		       info.qkd_update ? "negotiated" : "not negotiated",
		       (unsigned long long)info.rekey_bytes,
		       sflags & QKTLS_STREAM_NO_POLICY ? " (ignored: --no-rekey)" : "");
	} else {
		printf("ATTACHED no: the agent did not attach the socket to qktls.ko "
		       "(plain kTLS, no rekey)\n");
	}
	fflush(stdout);
	ret = server ? recv_stream(&c, chunk) : send_stream(&c, bytes, chunk);
	qktls_stream_close(c.s);
	close(fd);
	return ret;
}
