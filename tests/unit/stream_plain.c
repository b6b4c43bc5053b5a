// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqktls's stream helpers and socket calls without a kernel module.  The
 * helpers are thin wrappers over send(), sendfile() and read() (qktls.ko
 * does the rekeys inside those calls on an attached socket); on a socket
 * that is not attached (here a Unix stream pair, which behaves as plain
 * kTLS does for application data) they pass data through unchanged,
 * finish partial writes, retry after EINTR, count bytes and explain what a
 * failure means (errors handed out by stand-ins for write() and read() on
 * one fake descriptor); bad arguments are refused; the error codes have
 * messages.  tests/kernel/ covers attached kTLS sockets in the VM.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <qktls/handshake.h>
#include <qktls/sock.h>
#include <qktls/stream.h>

/* --- write() and read() as a kTLS socket can answer them ------------------ */

/* One answer of the fake descriptor: bytes (> 0), 0, or -1 with @err. */
struct answer {
	ssize_t ret;
	int err;
};

/* The answers write() and read() give on fake.fd, in order. */
static struct {
	int fd;
	const struct answer *answers;
	size_t n, next;
} fake = { .fd = -1 };

/* The next answer for a call of @len bytes; 0 once the list is used up. */
static ssize_t fake_answer(size_t len)
{
	const struct answer *a;

	if (fake.next == fake.n)
		return 0;
	a = &fake.answers[fake.next++];
	if (a->ret < 0) {
		errno = a->err;
		return -1;
	}
	return (size_t)a->ret < len ? a->ret : (ssize_t)len;
}

/*
 * Stand-ins for libc's send() (what qktls_stream_write() calls, with
 * MSG_NOSIGNAL) and read(): fake.fd only, else the real.
 */
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);

	if (fd == fake.fd)
		return fake_answer(len);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "send");
	return real(fd, buf, len, flags);
}

ssize_t read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);
	ssize_t k;

	if (fd != fake.fd) {
		if (!real)
			*(void **)&real = dlsym(RTLD_NEXT, "read");
		return real(fd, buf, len);
	}
	k = fake_answer(len);
	if (k > 0)
		memset(buf, 'x', k);
	return k;
}

/* --- a Unix stream pair ------------------------------------------------- */

FIXTURE(plain) {
	int sv[2];
	struct qktls_stream *a, *b;
};

FIXTURE_SETUP(plain)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
	ASSERT_EQ(0, qktls_stream_open(self->sv[0], 0, &self->a));
	/* The old flags are accepted and do nothing. */
	ASSERT_EQ(0, qktls_stream_open(self->sv[1], QKTLS_STREAM_NO_POLICY |
				       QKTLS_STREAM_QKD_STRICT, &self->b));
}

FIXTURE_TEARDOWN(plain)
{
	qktls_stream_close(self->a);
	qktls_stream_close(self->b);
	for (int i = 0; i < 2; i++)
		if (self->sv[i] >= 0)
			close(self->sv[i]);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

struct bulk {
	struct qktls_stream *s;
	int in_fd;		/* sendfile from this file, or -1: write */
	size_t n;
	ssize_t ret;
};

static void *bulk_send(void *arg)
{
	static uint8_t buf[1 << 20];
	struct bulk *w = arg;
	off_t off = 0;

	if (w->in_fd >= 0) {
		w->ret = qktls_stream_sendfile(w->s, w->in_fd, &off, w->n);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(i);
	w->ret = qktls_stream_write(w->s, buf, w->n);
	return NULL;
}

/* Read @n pattern bytes from @s in small reads; false if one differs. */
static bool read_pattern(struct qktls_stream *s, size_t n)
{
	uint8_t buf[7000];
	size_t got = 0;

	while (got < n) {
		ssize_t r = qktls_stream_read(s, buf, sizeof(buf));

		if (r <= 0)
			return false;
		for (ssize_t i = 0; i < r; i++, got++)
			if (buf[i] != pattern(got))
				return false;
	}
	return true;
}

TEST_F(plain, data_passes_unattached)
{
	struct bulk w = { .s = self->a, .in_fd = -1, .n = 1 << 20 };
	struct qktls_stream_stats st;
	uint8_t buf[16];
	pthread_t t;

	EXPECT_FALSE(qktls_stream_attached(self->a, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, bulk_send, &w));
	EXPECT_TRUE(read_pattern(self->b, w.n));
	pthread_join(t, NULL);
	EXPECT_EQ((ssize_t)w.n, w.ret);
	qktls_stream_stats(self->a, &st);
	EXPECT_EQ(w.n, st.bytes_written);
	EXPECT_EQ(0ULL, st.tx_rekeys);
	EXPECT_EQ(0ULL, st.rekey_errors);
	qktls_stream_stats(self->b, &st);
	EXPECT_EQ(w.n, st.bytes_read);
	EXPECT_STREQ("", qktls_stream_error(self->a, QKTLS_DIR_TX));
	EXPECT_STREQ("", qktls_stream_error(self->b, QKTLS_DIR_RX));
	/* The peer closes: end of stream. */
	close(self->sv[0]);
	self->sv[0] = -1;
	EXPECT_EQ(0, qktls_stream_read(self->b, buf, sizeof(buf)));
}

TEST_F(plain, sendfile_to_the_end_of_the_file)
{
	struct bulk w = { .s = self->a, .n = 3 << 20 };
	size_t len = 300000;
	uint8_t *m;
	pthread_t t;

	w.in_fd = memfd_create("stream_plain", 0);
	ASSERT_LE(0, w.in_fd);
	ASSERT_EQ(0, ftruncate(w.in_fd, len));
	m = mmap(NULL, len, PROT_WRITE, MAP_SHARED, w.in_fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (size_t i = 0; i < len; i++)
		m[i] = pattern(i);
	munmap(m, len);
	ASSERT_EQ(0, pthread_create(&t, NULL, bulk_send, &w));
	EXPECT_TRUE(read_pattern(self->b, len));
	pthread_join(t, NULL);
	/* Asked for more than the file holds: what it holds. */
	EXPECT_EQ((ssize_t)len, w.ret);
	close(w.in_fd);
}

TEST_F(plain, nonblocking_write_is_short_then_eagain)
{
	static uint8_t buf[8 << 20];
	ssize_t k;

	ASSERT_EQ(0, fcntl(self->sv[0], F_SETFL, O_NONBLOCK));
	k = qktls_stream_write(self->a, buf, sizeof(buf));
	EXPECT_GT(k, 0);
	EXPECT_LT(k, (ssize_t)sizeof(buf));
	EXPECT_EQ(-EAGAIN, qktls_stream_write(self->a, buf, sizeof(buf)));
	/* A full socket is no failure: no message. */
	EXPECT_STREQ("", qktls_stream_error(self->a, QKTLS_DIR_TX));
}

TEST_F(plain, write_to_a_closed_peer)
{
	/* SIGPIPE as the application left it (default: death): EPIPE only. */
	signal(SIGPIPE, SIG_DFL);
	close(self->sv[1]);
	self->sv[1] = -1;
	EXPECT_EQ(-EPIPE, qktls_stream_write(self->a, "abc", 3));
	EXPECT_STREQ("write: Broken pipe",
		     qktls_stream_error(self->a, QKTLS_DIR_TX));
}

TEST_F(plain, rekey_says_not_attached)
{
	struct qktls_stream_stats st;
	struct qktls_sock_info info;

	EXPECT_EQ(-QKTLS_E_NOTATTACHED,
		  qktls_stream_rekey(self->a, QKTLS_STREAM_REKEY_AUTO));
	EXPECT_NE(NULL, strstr(qktls_stream_error(self->a, QKTLS_DIR_TX),
			       "TX rekey: socket not attached"));
	qktls_stream_stats(self->a, &st);
	EXPECT_EQ(1ULL, st.rekey_errors);
	EXPECT_EQ(-QKTLS_E_NOTATTACHED, qktls_stream_sock_info(self->a, &info));
	/* Writes after a failed explicit rekey still go through. */
	EXPECT_EQ(3, qktls_stream_write(self->a, "abc", 3));
}

TEST_F(plain, bad_arguments)
{
	off_t off = 0;

	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_rekey(self->a, 1U << 20));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_rekey(NULL, 0));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_write(self->a, NULL, 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_write(NULL, "a", 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_read(self->a, NULL, 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_read(NULL, &off, 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_sendfile(self->a, -1, &off, 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_close_notify(NULL));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_sock_info(self->a, NULL));
	EXPECT_EQ(0, qktls_stream_write(self->a, NULL, 0));
	EXPECT_EQ(0, qktls_stream_read(self->a, NULL, 0));
	EXPECT_STREQ("", qktls_stream_error(self->a, QKTLS_DIR_TX));
	/* Kept for older programs: does nothing, whatever the limit. */
	EXPECT_EQ(0, qktls_stream_set_record_limit(self->a, 0));
	EXPECT_EQ(0, qktls_stream_set_record_limit(self->a, UINT64_MAX));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_set_record_limit(NULL, 1));
}

/* --- answers of the fake descriptor ------------------------------------- */

FIXTURE(faked) {
	int sv[2];
	struct qktls_stream *s;
	uint8_t buf[64];
};

FIXTURE_SETUP(faked)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
	ASSERT_EQ(0, qktls_stream_open(self->sv[0], 0, &self->s));
	memset(&fake, 0, sizeof(fake));
	fake.fd = self->sv[0];
}

FIXTURE_TEARDOWN(faked)
{
	fake.fd = -1;
	qktls_stream_close(self->s);
	close(self->sv[0]);
	close(self->sv[1]);
}

#define ANSWER(...) do {						\
	static const struct answer a_[] = { __VA_ARGS__ };		\
	fake.answers = a_;						\
	fake.n = sizeof(a_) / sizeof(a_[0]);				\
	fake.next = 0;							\
} while (0)

TEST_F(faked, write_retries_eintr_and_finishes_partial_writes)
{
	struct qktls_stream_stats st;

	ANSWER({ -1, EINTR }, { 10, 0 }, { -1, EINTR }, { 30, 0 }, { 24, 0 });
	EXPECT_EQ(64, qktls_stream_write(self->s, self->buf, 64));
	EXPECT_EQ(5U, fake.next);
	qktls_stream_stats(self->s, &st);
	EXPECT_EQ(64ULL, st.bytes_written);
}

TEST_F(faked, write_error_after_some_bytes_returns_them)
{
	ANSWER({ 20, 0 }, { -1, ENOKEY });
	EXPECT_EQ(20, qktls_stream_write(self->s, self->buf, 64));
	EXPECT_STREQ("", qktls_stream_error(self->s, QKTLS_DIR_TX));
}

TEST_F(faked, write_enokey_says_the_qkd_policy_refused)
{
	ANSWER({ -1, ENOKEY });
	EXPECT_EQ(-ENOKEY, qktls_stream_write(self->s, self->buf, 64));
	EXPECT_STREQ("write: Required key not available: a QKD rekey was "
		     "due, the TX pool is empty and the link's QKD policy is "
		     "required: nothing was sent",
		     qktls_stream_error(self->s, QKTLS_DIR_TX));
}

TEST_F(faked, read_retries_eintr)
{
	struct qktls_stream_stats st;

	ANSWER({ -1, EINTR }, { -1, EINTR }, { 9, 0 });
	EXPECT_EQ(9, qktls_stream_read(self->s, self->buf, sizeof(self->buf)));
	EXPECT_EQ(3U, fake.next);
	qktls_stream_stats(self->s, &st);
	EXPECT_EQ(9ULL, st.bytes_read);
}

TEST_F(faked, read_eagain_keeps_no_message)
{
	ANSWER({ -1, EAGAIN });
	EXPECT_EQ(-EAGAIN, qktls_stream_read(self->s, self->buf, 8));
	EXPECT_STREQ("", qktls_stream_error(self->s, QKTLS_DIR_RX));
}

/* What a read error means, on this unattached socket. */
static const struct {
	int err;
	const char *text;
} read_errors[] = {
	{ EIO, "read: Input/output error: a TLS record that is not application "
	       "data (the socket is not attached to qktls.ko, which would "
	       "consume it)" },
	{ EKEYEXPIRED, "read: Key has expired: the peer updated its key and "
		       "the socket is not attached to qktls.ko, which would "
		       "install the next one" },
	{ ENOKEY, "read: Required key not available: the peer's QKD key "
		  "update names a key the RX pool does not hold" },
	{ ECONNRESET, "read: Connection reset by peer: a fatal TLS alert from "
		      "the peer, or a TCP reset" },
	{ EPROTO, "read: Protocol error: a malformed TLS record from the peer" },
	{ EBADMSG, "read: Bad message" },
};

TEST_F(faked, read_errors_are_explained)
{
	for (size_t i = 0; i < sizeof(read_errors) / sizeof(read_errors[0]); i++) {
		struct answer a = { -1, read_errors[i].err };

		fake.answers = &a;
		fake.n = 1;
		fake.next = 0;
		EXPECT_EQ(-read_errors[i].err,
			  qktls_stream_read(self->s, self->buf, 8));
		EXPECT_STREQ(read_errors[i].text,
			     qktls_stream_error(self->s, QKTLS_DIR_RX));
	}
	/* Not sticky: the next read is a read. */
	ANSWER({ 4, 0 });
	EXPECT_EQ(4, qktls_stream_read(self->s, self->buf, 8));
}

/* --- the socket calls and the error texts ------------------------------- */

TEST(open_refuses_bad_input)
{
	struct qktls_stream *s = (void *)1;

	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_open(-1, 0, &s));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_open(0, 0, NULL));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_open(0, 1U << 9, &s));
	qktls_stream_close(NULL);
}

TEST(sock_calls_refuse_bad_input)
{
	static const uint8_t secret[32];
	struct qktls_sock_attach a = { .fd = 0 };
	struct qktls_sock_info info;
	struct qktls_nl *nl = NULL;

	EXPECT_EQ(-QKTLS_E_ARG, qktls_nl_open(NULL));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_attach(NULL, &a, NULL));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_get(NULL, 0, &info));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_rekey_tx(NULL, 0, 0, NULL));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_rekey_rx(NULL, 0, NULL));
	EXPECT_STREQ("", qktls_nl_error(NULL));
	if (qktls_nl_open(&nl) == 0) {
		/* qktls.ko is loaded here: still no secrets, no fd. */
		EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_attach(nl, &a, NULL));
		EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_rekey_tx(nl, 0, 1U << 7, NULL));
		/* A QKD policy out of range, or without qkd_policy_set. */
		a.tx_secret = a.rx_secret = secret;
		a.secret_len = sizeof(secret);
		a.qkd_policy_set = true;
		a.qkd_policy = 3;
		EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_attach(nl, &a, NULL));
		a.qkd_policy_set = false;
		a.qkd_policy = 2;
		EXPECT_EQ(-QKTLS_E_ARG, qktls_sock_attach(nl, &a, NULL));
		/* The module follows the peer's updates: RX is never asked. */
		EXPECT_EQ(-EINVAL, qktls_sock_rekey_rx(nl, 0, NULL));
		EXPECT_NE(NULL, strstr(qktls_nl_error(nl), "refuses an RX rekey"));
		qktls_nl_close(nl);
	}
	qktls_nl_close(NULL);
}

TEST(error_messages)
{
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_NOREKEY),
			       "kernel has no kTLS rekey"));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_NOMODULE), "qktls.ko"));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_NOTATTACHED),
			       "not attached"));
	EXPECT_NE(NULL, strstr(qktls_strerror(QKTLS_E_NOQKDUPDATE),
			       "not negotiated"));
	EXPECT_NE(NULL, strstr(qktls_strerror(-QKTLS_E_RECORD), "record"));
}

TEST_HARNESS_MAIN
