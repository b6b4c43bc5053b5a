// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-xfer: the demo's application.  It makes a TCP connection itself,
 * hands the socket to qktlsd with libqktls's qktls_handshake(), and from
 * then on uses the kTLS socket it gets back like any socket: the sender
 * moves a file with plain sendfile(), the receiver takes it with plain
 * read() and checks it with SHA-256 (OpenSSL EVP).  No qktls or libqktls
 * call follows the handshake, except one qktls_sock_get() at the end that
 * reads the module's counters for the report: the rekeys are qktls.ko's,
 * done by the socket's policy inside sendfile() at the sender and followed
 * inside read() at the receiver.
 *
 *   qktls-xfer mkfile --bytes N PATH
 *   qktls-xfer server --agent SOCK --link L --addr ADDR --port PORT [--chunk N]
 *   qktls-xfer client --agent SOCK --link L --addr ADDR --port PORT
 *                     --file PATH --sha256 HEX [--chunk N]
 *
 * mkfile writes N bytes of pseudo-random data (OpenSSL's RAND_bytes) to
 * PATH and prints BYTES, SHA256 and SECONDS: the data and its digest are
 * made once, before any timing.  The server listens on ADDR:PORT (PORT 0:
 * any), prints "LISTEN ADDR PORT", accepts one connection and receives; the
 * client connects and sends PATH, whose SHA-256 is HEX (from mkfile), in
 * sendfile() calls of up to --chunk bytes (default 1M); the server reads
 * in read() calls of up to --chunk bytes.  Sizes take a K, M or G suffix
 * (powers of 1024).
 *
 * Stream: an 8-byte big-endian length and the 32-byte SHA-256 the sender
 * announces (one write()), the data (sendfile()); the receiver answers
 * with the SHA-256 of what it read (one write()); then each side sends
 * close_notify (sendmsg() with kTLS's TLS_SET_RECORD_TYPE control message)
 * and waits for the peer's.  Each side compares the two digests.
 *
 * Output, one "KEY value" line each: the handshake's outcome (STATUS,
 * GROUP, SUITE, PEER, QKD, NOTE, ERROR), HANDSHAKE_MS (the time
 * qktls_handshake() took), QKD_UPDATE (yes if the QKD key update was
 * negotiated), IO (sendfile or read: how the data moved), then BYTES,
 * SECONDS and MIBPS (sender: from the first sendfile() to the receiver's
 * digest; receiver: from the first data byte to the last), SHA256 (this
 * side's digest), PEER_SHA256 and VERIFY ok|MISMATCH, and what qktls.ko
 * did, from its counters of the socket after the stream ended: ATTACHED
 * (yes, the pools and the policy, or no and why), REKEYS (TX and RX rekeys,
 * those with a QKD key, failed rekeys) and KEYS_USED (QKD keys the socket
 * took from the pools, or - when not attached).
 *
 * Exit status: 0 when the digests match; 1 on an I/O error; 2 for bad
 * usage; 3 when the hand-off or handshake failed; 4 on a digest mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <endian.h>
#include <linux/tls.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <qktls/handshake.h>
#include <qktls/sock.h>

#define DIGEST_LEN	32	/* SHA-256 */
#define HEADER_LEN	(8 + DIGEST_LEN)

#ifndef SOL_TLS
#define SOL_TLS		282
#endif

enum { EXIT_IO = 1, EXIT_USAGE = 2, EXIT_HANDSHAKE = 3, EXIT_MISMATCH = 4 };

static const char *prog = "qktls-xfer";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An I/O error: errno @err, or 0 for an unexpected end of the stream. */
static int io_error(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what,
		err ? strerror(err) : "unexpected end of stream");
	return EXIT_IO;
}

/* ---- plain socket and file I/O ----------------------------------------------- */

/* Write all of @buf; 0 or an errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			return EIO;
		p += k;
		len -= k;
	}
	return 0;
}

/* Read exactly @len bytes; 0, an errno, or -1 at the end of the stream. */
static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t k = read(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			return -1;
		p += k;
		len -= k;
	}
	return 0;
}

/* Send @bytes of @in from its start with sendfile(); 0 or an errno. */
static int send_file(int fd, int in, size_t bytes, size_t chunk)
{
	off_t off = 0;

	while ((size_t)off < bytes) {
		size_t left = bytes - (size_t)off;
		ssize_t k = sendfile(fd, in, &off, left < chunk ? left : chunk);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno;
		if (k == 0)
			return EIO;	/* the file is shorter than it was */
	}
	return 0;
}

/*
 * Send close_notify: a TLS alert record (warning, close_notify), through
 * kTLS's control message for the record type.
 */
static int send_close_notify(int fd)
{
	static const uint8_t alert[2] = { 1, 0 };
	union {
		char buf[CMSG_SPACE(sizeof(uint8_t))];
		struct cmsghdr align;
	} ctl = { 0 };
	struct iovec iov = { .iov_base = (void *)alert, .iov_len = sizeof(alert) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_TLS;
	c->cmsg_type = TLS_SET_RECORD_TYPE;
	c->cmsg_len = CMSG_LEN(sizeof(uint8_t));
	*CMSG_DATA(c) = 21;	/* alert */
	while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return errno;
	return 0;
}

/*
 * Wait for the peer's close_notify.  On an attached socket qktls.ko
 * consumes it and the read returns 0; plain kTLS hands the alert record
 * over with its type in a control message.  Either is the end.
 */
static int wait_close_notify(int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint8_t))];
		struct cmsghdr align;
	} ctl;
	uint8_t data[64];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t k;

	do {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		k = recvmsg(fd, &msg, 0);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return io_error("waiting for the peer's close_notify", errno);
	if (k == 0)
		return 0;
	c = CMSG_FIRSTHDR(&msg);
	if (k == 2 && c && c->cmsg_level == SOL_TLS &&
	    c->cmsg_type == TLS_GET_RECORD_TYPE && *CMSG_DATA(c) == 21 &&
	    data[1] == 0)
		return 0;
	fprintf(stderr, "%s: expected the peer's close_notify, got %zd bytes\n",
		prog, k);
	return EXIT_IO;
}

/* Send our close_notify, then wait for the peer's. */
static int close_stream(int fd)
{
	int err = send_close_notify(fd);

	if (err)
		return io_error("sending close_notify", err);
	return wait_close_notify(fd);
}

/* ---- the report ---------------------------------------------------------------- */

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * @n hex digits into @d. */
static bool unhex(const char *s, uint8_t *d, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
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

static void report_info(const struct qktls_sock_info *info)
{
	const struct qktls_sock_stats *st = &info->stats;

	printf("ATTACHED yes: tx pool %s, rx pool %s, QKD key update %s, ",
	       *info->tx_pool ? info->tx_pool : "-",
	       *info->rx_pool ? info->rx_pool : "-",
	       info->qkd_update ? "negotiated" : "not negotiated");
	if (info->rekey_bytes)
		printf("rekey every %llu bytes\n",
		       (unsigned long long)info->rekey_bytes);
	else
		printf("no rekey policy\n");
	printf("REKEYS tx %llu tx_qkd %llu rx %llu rx_qkd %llu errors %llu\n"
	       "KEYS_USED %llu\n",
	       (unsigned long long)st->tx_rekeys, (unsigned long long)st->tx_qkd_rekeys,
	       (unsigned long long)st->rx_rekeys, (unsigned long long)st->rx_qkd_rekeys,
	       (unsigned long long)st->rekey_errors, (unsigned long long)st->keys_used);
}

/*
 * What qktls.ko did with the socket, from its counters (QKTLS_CMD_SOCK_GET):
 * the only libqktls use after the handshake.
 */
static void report_module(int fd)
{
	struct qktls_sock_info info;
	struct qktls_nl *nl = NULL;
	int err;

	err = qktls_nl_open(&nl);
	if (!err)
		err = qktls_sock_get(nl, fd, &info);
	if (!err)
		report_info(&info);
	else if (err == -QKTLS_E_NOTATTACHED)
		printf("ATTACHED no: the agent did not attach the socket to qktls.ko "
		       "(plain kTLS, no rekey)\n");
	else
		printf("ATTACHED no: cannot ask qktls.ko about the socket (%s): "
		       "plain kTLS, no rekey\n", nl ? qktls_nl_error(nl) : qktls_strerror(err));
	if (err)
		printf("REKEYS tx 0 tx_qkd 0 rx 0 rx_qkd 0 errors 0\nKEYS_USED -\n");
	fflush(stdout);
	qktls_nl_close(nl);
}

/* Print the outcome, end the stream; the exit status. */
static int finish(int fd, size_t bytes, double secs, const uint8_t *mine,
		  const uint8_t *peer)
{
	int ret;

	report(bytes, secs, mine, peer);
	ret = close_stream(fd);
	report_module(fd);
	if (!ret && memcmp(mine, peer, DIGEST_LEN))
		ret = EXIT_MISMATCH;
	return ret;
}

/* ---- the two ends ------------------------------------------------------------------ */

static int send_stream(int fd, const char *path, const uint8_t *sha, size_t chunk)
{
	uint8_t hdr[HEADER_LEN], peer[DIGEST_LEN];
	struct stat st;
	uint64_t len;
	double t0, t1;
	int in, err, ret = EXIT_IO;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st)) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		goto out;
	}
	len = htobe64((uint64_t)st.st_size);
	memcpy(hdr, &len, sizeof(len));
	memcpy(hdr + sizeof(len), sha, DIGEST_LEN);
	printf("IO sendfile\n");
	fflush(stdout);
	err = write_all(fd, hdr, sizeof(hdr));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	t0 = now();
	err = send_file(fd, in, (size_t)st.st_size, chunk);
	if (err) {
		ret = io_error("sendfile", err);
		goto out;
	}
	err = read_all(fd, peer, sizeof(peer));
	t1 = now();
	if (err) {
		ret = io_error("reading the receiver's SHA-256", err > 0 ? err : 0);
		goto out;
	}
	ret = finish(fd, (size_t)st.st_size, t1 - t0, sha, peer);
out:
	if (in >= 0)
		close(in);
	return ret;
}

/* Read @bytes of data into @md; the time from the first byte to the last. */
static int recv_data(int fd, size_t bytes, size_t chunk, EVP_MD_CTX *md,
		     double *secs)
{
	uint8_t *buf = malloc(chunk);
	size_t off = 0;
	double t0 = 0;
	int ret = EXIT_IO;

	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_IO;
	}
	while (off < bytes) {
		size_t want = bytes - off < chunk ? bytes - off : chunk;
		ssize_t k = read(fd, buf, want);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "%s: read after %zu of %zu bytes: %s\n", prog,
				off, bytes, k ? strerror(errno) : "end of stream");
			goto out;
		}
		if (!off)
			t0 = now();
		if (!EVP_DigestUpdate(md, buf, (size_t)k)) {
			fprintf(stderr, "%s: SHA-256 failed\n", prog);
			goto out;
		}
		off += (size_t)k;
	}
	*secs = bytes ? now() - t0 : 0;
	ret = 0;
out:
	free(buf);
	return ret;
}

static int recv_stream(int fd, size_t chunk)
{
	uint8_t hdr[HEADER_LEN], mine[DIGEST_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t len;
	double secs = 0;
	int ret = EXIT_IO, err;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		fprintf(stderr, "%s: out of memory or OpenSSL failed\n", prog);
		goto out;
	}
	printf("IO read\n");
	fflush(stdout);
	err = read_all(fd, hdr, sizeof(hdr));
	if (err) {
		ret = io_error("reading the stream's header", err > 0 ? err : 0);
		goto out;
	}
	memcpy(&len, hdr, sizeof(len));
	len = be64toh(len);
	ret = recv_data(fd, (size_t)len, chunk, md, &secs);
	if (ret)
		goto out;
	ret = EXIT_IO;
	if (!EVP_DigestFinal_ex(md, mine, NULL)) {
		fprintf(stderr, "%s: SHA-256 failed\n", prog);
		goto out;
	}
	err = write_all(fd, mine, sizeof(mine));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	ret = finish(fd, (size_t)len, secs, mine, hdr + 8);
out:
	EVP_MD_CTX_free(md);
	return ret;
}

/* ---- mkfile: the data and its digest, made once --------------------------------- */

static int fill_file(int fd, size_t bytes, EVP_MD_CTX *md)
{
	size_t chunk = (size_t)1 << 20, off = 0;
	uint8_t *buf = malloc(chunk);
	int ret = EXIT_IO, err;

	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_IO;
	}
	while (off < bytes) {
		size_t len = bytes - off < chunk ? bytes - off : chunk;

		if (RAND_bytes(buf, (int)len) != 1 ||
		    !EVP_DigestUpdate(md, buf, len)) {
			fprintf(stderr, "%s: OpenSSL failed\n", prog);
			goto out;
		}
		err = write_all(fd, buf, len);
		if (err) {
			fprintf(stderr, "%s: write after %zu of %zu bytes: %s\n",
				prog, off, bytes, strerror(err));
			goto out;
		}
		off += len;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

static int mkfile(const char *path, size_t bytes)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sha[DIGEST_LEN];
	char out[2 * DIGEST_LEN + 1];
	double t0 = now();
	int fd, ret = EXIT_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		goto out;
	}
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		fprintf(stderr, "%s: out of memory or OpenSSL failed\n", prog);
		goto out;
	}
	ret = fill_file(fd, bytes, md);
	if (ret)
		goto out;
	ret = EXIT_IO;
	if (close(fd)) {
		fd = -1;
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (!EVP_DigestFinal_ex(md, sha, NULL)) {
		fprintf(stderr, "%s: SHA-256 failed\n", prog);
		goto out;
	}
	hex(sha, DIGEST_LEN, out);
	printf("BYTES %zu\nSHA256 %s\nSECONDS %.3f\n", bytes, out, now() - t0);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return ret;
}

/* ---- set-up ------------------------------------------------------------------------ */

static bool parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	switch (*end) {
	case 'G': shift = 30; end++; break;
	case 'M': shift = 20; end++; break;
	case 'K': shift = 10; end++; break;
	case '\0': break;
	default: return false;
	}
	if (*end || v > SIZE_MAX >> shift)
		return false;
	*out = (size_t)v << shift;
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

/* The server's connection: accept one, close the listener. */
static int accept_one(int lfd)
{
	int fd;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		io_error("accept", errno);
	close(lfd);
	return fd;
}

/* Hand @fd to the agent and print the outcome; 0 or EXIT_HANDSHAKE. */
static int handshake(const char *agent, int fd, const char *link, bool server)
{
	struct qktls_result r;
	double t0, t1;
	int ret;

	t0 = now();
	ret = qktls_handshake_at(agent, fd, link, server ? QKTLS_ROLE_SERVER :
				 QKTLS_ROLE_CLIENT, &r);
	t1 = now();
	printf("STATUS %d\nGROUP %s\nSUITE %s\nPEER %s\nQKD %s\nNOTE %s\nERROR %s\n"
	       "HANDSHAKE_MS %.1f\nQKD_UPDATE %s\n", r.status, r.group, r.suite_name,
	       r.peer_subject, r.qkd_used ? r.qkd_ref : "-", r.qkd_note, r.error,
	       (t1 - t0) * 1000, r.flags & QKTLS_RESULT_QKD_UPDATE ? "yes" : "no");
	fflush(stdout);
	return ret ? EXIT_HANDSHAKE : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s mkfile --bytes N PATH\n"
		"       %s server --agent SOCK --link L --addr ADDR --port PORT [--chunk N]\n"
		"       %s client --agent SOCK --link L --addr ADDR --port PORT\n"
		"                 --file PATH --sha256 HEX [--chunk N]\n",
		prog, prog, prog);
}

struct args {
	const char *mode, *agent, *link, *addr, *port, *file, *path;
	uint8_t sha[DIGEST_LEN];
	bool have_sha, have_bytes;
	size_t bytes, chunk;
};

/* Parse the command line into @a; 0, or the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "link", required_argument, NULL, 'l' },
		{ "addr", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "sha256", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': a->agent = optarg; break;
		case 'l': a->link = optarg; break;
		case 'A': a->addr = optarg; break;
		case 'p': a->port = optarg; break;
		case 'f': a->file = optarg; break;
		case 'b':
			if (!parse_size(optarg, &a->bytes)) {
				fprintf(stderr, "%s: --bytes: not a size: %s\n", prog, optarg);
				return EXIT_USAGE;
			}
			a->have_bytes = true;
			break;
		case 'c':
			if (!parse_size(optarg, &a->chunk) || !a->chunk ||
			    a->chunk > (1 << 30)) {
				fprintf(stderr, "%s: --chunk: a size from 1 to 1G, not %s\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			if (!unhex(optarg, a->sha, DIGEST_LEN)) {
				fprintf(stderr, "%s: --sha256: 64 hex digits, not %s\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			a->have_sha = true;
			break;
		case 'h': usage(); exit(0);
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		goto bad;
	a->mode = argv[optind++];
	if (!strcmp(a->mode, "mkfile")) {
		if (optind != argc - 1 || !a->have_bytes)
			goto bad;
		a->path = argv[optind];
		return 0;
	}
	if (optind != argc || !a->agent || !a->link || !a->addr || !a->port)
		goto bad;
	if (!strcmp(a->mode, "server"))
		return 0;
	if (!strcmp(a->mode, "client") && a->file && a->have_sha)
		return 0;
bad:
	usage();
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct args a = { .chunk = (size_t)1 << 20 };
	bool server;
	int fd, ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	if (!strcmp(a.mode, "mkfile"))
		return mkfile(a.path, a.bytes);
	server = !strcmp(a.mode, "server");
	signal(SIGPIPE, SIG_IGN);	/* a vanished peer: EPIPE, said */

	fd = open_socket(a.addr, a.port, server);
	if (fd >= 0 && server)
		fd = accept_one(fd);
	if (fd < 0)
		return EXIT_IO;
	ret = handshake(a.agent, fd, a.link, server);
	/* From here on: plain socket calls on a kTLS socket. */
	if (!ret)
		ret = server ? recv_stream(fd, a.chunk) :
			       send_stream(fd, a.file, a.sha, a.chunk);
	close(fd);
	return ret;
}
