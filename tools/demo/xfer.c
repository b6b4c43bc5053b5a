// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-xfer: the demo's application.  It makes a TCP connection itself,
 * hands the socket to qktlsd with libqktls's qktls_handshake(), then moves a
 * stream of bytes one way through kTLS with plain write()/read(), and the
 * receiver checks it with SHA-256 (OpenSSL EVP) against the sender's.
 *
 *   qktls-xfer server --agent SOCK --link L --addr ADDR --port PORT
 *   qktls-xfer client --agent SOCK --link L --addr ADDR --port PORT
 *                     [--bytes N] [--chunk N]
 *
 * The server listens on ADDR:PORT (PORT 0: any), prints "LISTEN ADDR PORT",
 * accepts one connection and receives; the client connects and sends N
 * bytes (default 1 GiB) in writes of --chunk bytes (default 1 MiB).  Sizes
 * take a K, M or G suffix (powers of 1024).
 *
 * Stream: an 8-byte big-endian length, the data (random bytes from
 * RAND_bytes, each chunk stamped with its number so no two are alike), the
 * sender's SHA-256 of the data; the receiver answers with its own SHA-256,
 * then both send close_notify.  Each side compares the two digests.
 *
 * Output, one "KEY value" line each: the handshake's outcome (STATUS,
 * GROUP, SUITE, PEER, QKD, NOTE, ERROR), HANDSHAKE_MS (the time
 * qktls_handshake() took), then BYTES, SECONDS and MIBPS (from the first
 * data byte to the last, on each side), SHA256 (this side's digest),
 * PEER_SHA256 and VERIFY ok|MISMATCH.
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
		err ? strerror(err) : "unexpected end of stream");
	return EXIT_IO;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? errno : EIO;
		p += k;
		len -= k;
	}
	return 0;
}

/* Read exactly @len bytes; 0, an errno, or -1 at end of stream. */
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

/* Send close_notify and read the peer's. */
static int close_notify(int fd)
{
	uint8_t buf[64], type = 0;
	ssize_t k;
	int ret;

	ret = qktls_send_close_notify(fd);
	if (ret)
		return io_error("sending close_notify", -ret);
	k = qktls_recv_record(fd, buf, sizeof(buf), &type, 0);
	if (k == 2 && type == QKTLS_RECORD_ALERT && buf[1] == 0)
		return 0;
	fprintf(stderr, "%s: expected the peer's close_notify, got %zd bytes of record type %u\n",
		prog, k, type);
	return EXIT_IO;
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

static int send_stream(int fd, size_t bytes, size_t chunk)
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
	err = write_all(fd, &hdr, sizeof(hdr));
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
		err = write_all(fd, buf, len);
		if (err) {
			fprintf(stderr, "%s: write after %zu of %zu bytes: %s\n",
				prog, off, bytes, strerror(err));
			goto out;
		}
		off += len;
	}
	if (!EVP_DigestFinal_ex(md, mine, NULL)) {
		fprintf(stderr, "%s: SHA-256 failed\n", prog);
		goto out;
	}
	err = write_all(fd, mine, sizeof(mine));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	err = read_all(fd, peer, sizeof(peer));
	t1 = now();
	if (err) {
		ret = io_error("reading the receiver's SHA-256", err > 0 ? err : 0);
		goto out;
	}
	report(bytes, t1 - t0, mine, peer);
	ret = close_notify(fd);
	if (!ret && memcmp(mine, peer, DIGEST_LEN))
		ret = EXIT_MISMATCH;
out:
	EVP_MD_CTX_free(md);
	free(buf);
	return ret;
}

static int recv_stream(int fd, size_t chunk)
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
	err = read_all(fd, &hdr, sizeof(hdr));
	if (err) {
		ret = io_error("reading the stream's length", err > 0 ? err : 0);
		goto out;
	}
	bytes = be64toh(hdr);
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
	err = read_all(fd, peer, sizeof(peer));
	if (err) {
		ret = io_error("reading the sender's SHA-256", err > 0 ? err : 0);
		goto out;
	}
	err = write_all(fd, mine, sizeof(mine));
	if (err) {
		ret = io_error("write", err);
		goto out;
	}
	report(bytes, t1 - t0, mine, peer);
	ret = close_notify(fd);
	if (!ret && memcmp(mine, peer, DIGEST_LEN))
		ret = EXIT_MISMATCH;
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
		"       %s client --agent SOCK --link L --addr ADDR --port PORT [--bytes N] [--chunk N]\n",
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *agent = NULL, *link = NULL, *addr = NULL, *port = NULL;
	size_t bytes = (size_t)1 << 30, chunk = (size_t)1 << 20;
	struct qktls_result r;
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
	       "HANDSHAKE_MS %.1f\n", r.status, r.group, r.suite_name,
	       r.peer_subject, r.qkd_used ? r.qkd_ref : "-", r.qkd_note, r.error,
	       (t1 - t0) * 1000);
	fflush(stdout);
	if (ret) {
		close(fd);
		return EXIT_HANDSHAKE;
	}
	ret = server ? recv_stream(fd, chunk) : send_stream(fd, bytes, chunk);
	close(fd);
	return ret;
}
