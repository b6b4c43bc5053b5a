// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqktls's stream helpers and socket calls without a kernel module: on a
 * socket that is not attached to qktls.ko (here a Unix stream pair, which
 * behaves as plain kTLS does for application data), the stream passes data
 * through unchanged and a rekey says the socket is not attached; bad
 * arguments are refused; the new error codes have messages; a QKD key
 * reference record of any length but 20 bytes is refused before anything
 * acts on it (records handed out as kTLS would, by a stand-in recvmsg()).
 * tests/kernel/stream_rekey.c covers attached kTLS sockets in the VM.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/tls.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <qktls/handshake.h>
#include <qktls/sock.h>
#include <qktls/stream.h>

FIXTURE(plain) {
	int sv[2];
	struct qktls_stream *a, *b;
};

FIXTURE_SETUP(plain)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
	ASSERT_EQ(0, qktls_stream_open(self->sv[0], 0, &self->a));
	ASSERT_EQ(0, qktls_stream_open(self->sv[1], QKTLS_STREAM_NO_POLICY,
				       &self->b));
}

FIXTURE_TEARDOWN(plain)
{
	qktls_stream_close(self->a);
	qktls_stream_close(self->b);
	close(self->sv[0]);
	close(self->sv[1]);
}

struct bulk {
	struct qktls_stream *s;
	size_t n;
	ssize_t ret;
};

static void *bulk_write(void *arg)
{
	struct bulk *w = arg;
	static uint8_t buf[1 << 20];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + i / 251);
	w->ret = qktls_stream_write(w->s, buf, w->n);
	return NULL;
}

TEST_F(plain, data_passes_unattached)
{
	struct bulk w = { .s = self->a, .n = 1 << 20 };
	struct qktls_stream_stats st;
	uint8_t buf[7000];
	size_t got = 0;
	pthread_t t;

	EXPECT_FALSE(qktls_stream_attached(self->a, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, bulk_write, &w));
	while (got < w.n) {
		ssize_t r = qktls_stream_read(self->b, buf, sizeof(buf));

		ASSERT_GT(r, 0);
		for (ssize_t i = 0; i < r; i++, got++)
			ASSERT_EQ((uint8_t)(got * 7 + got / 251), buf[i]);
	}
	pthread_join(t, NULL);
	EXPECT_EQ((ssize_t)w.n, w.ret);
	qktls_stream_stats(self->a, &st);
	EXPECT_EQ(w.n, st.bytes_written);
	EXPECT_EQ(0ULL, st.tx_rekeys);
	qktls_stream_stats(self->b, &st);
	EXPECT_EQ(w.n, st.bytes_read);
	/* The peer closes: end of stream. */
	close(self->sv[0]);
	self->sv[0] = -1;
	EXPECT_EQ(0, qktls_stream_read(self->b, buf, sizeof(buf)));
}

TEST_F(plain, rekey_says_not_attached)
{
	struct qktls_sock_info info;

	EXPECT_EQ(-QKTLS_E_NOTATTACHED,
		  qktls_stream_rekey(self->a, QKTLS_STREAM_REKEY_AUTO));
	EXPECT_NE(NULL, strstr(qktls_stream_error(self->a, QKTLS_DIR_TX),
			       "not attached"));
	EXPECT_EQ(-QKTLS_E_NOTATTACHED, qktls_stream_sock_info(self->a, &info));
	/* Writes after a failed explicit rekey still go through. */
	EXPECT_EQ(3, qktls_stream_write(self->a, "abc", 3));
}

TEST_F(plain, bad_arguments)
{
	off_t off = 0;

	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_rekey(self->a, 1U << 20));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_write(self->a, NULL, 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_read(self->a, NULL, 1));
	EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_sendfile(self->a, -1, &off, 1));
	EXPECT_EQ(0, qktls_stream_write(self->a, NULL, 0));
}

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

/* --- records as kTLS hands them out -------------------------------------- */

struct rec {
	uint8_t type;
	size_t len;
	uint8_t bytes[32];
};

/* The records recvmsg() returns on the socket fake.fd, in order. */
static struct {
	int fd;
	const struct rec *recs;
	size_t n, next, off;	/* the next record, bytes of it consumed */
	unsigned int peeks;
} fake = { .fd = -1 };

/*
 * Stands in for libc's recvmsg() (which libqktls's qktls_recv_record()
 * calls) on fake.fd, as kTLS behaves: one control record per call, the
 * rest of a record that did not fit left for the next call, its type in a
 * TLS_GET_RECORD_TYPE cmsg, MSG_PEEK taking nothing.  Every other socket
 * gets the real recvmsg().
 */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	const struct rec *r;
	struct cmsghdr *c;
	size_t k;

	if (fd != fake.fd) {
		if (!real)
			*(void **)&real = dlsym(RTLD_NEXT, "recvmsg");
		return real(fd, msg, flags);
	}
	if (fake.next == fake.n)
		return 0;
	r = &fake.recs[fake.next];
	k = r->len - fake.off;
	if (k > msg->msg_iov[0].iov_len)
		k = msg->msg_iov[0].iov_len;
	memcpy(msg->msg_iov[0].iov_base, r->bytes + fake.off, k);
	c = CMSG_FIRSTHDR(msg);
	if (!c || msg->msg_controllen < CMSG_SPACE(1)) {
		errno = EIO;	/* kTLS: no room for a control record's type */
		return -1;
	}
	c->cmsg_level = SOL_TLS;
	c->cmsg_type = TLS_GET_RECORD_TYPE;
	c->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(c) = r->type;
	msg->msg_controllen = CMSG_SPACE(1);
	msg->msg_flags = 0;
	if (flags & MSG_PEEK) {
		fake.peeks++;
		return k;
	}
	fake.off += k;
	if (fake.off == r->len) {
		fake.next++;
		fake.off = 0;
	}
	return k;
}

#define HS QKTLS_RECORD_HANDSHAKE
#define REF_HDR 0xe7, 0, 0, 16
#define REF_ID 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, \
	       0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
#define KEY_UPDATE 24, 0, 0, 1, 0

/* A QKD key update split over two records: the first is 12 bytes. */
static const struct rec short_ref[] = {
	{ HS, 12, { REF_HDR, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17 } },
	{ HS, 8, { 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f } },
	{ HS, 5, { KEY_UPDATE } },
	{ QKTLS_RECORD_APPLICATION_DATA, 4, "data" },
};

/* The reference and the KeyUpdate in one record of 25 bytes. */
static const struct rec long_ref[] = {
	{ HS, 25, { REF_HDR, REF_ID, KEY_UPDATE } },
	{ QKTLS_RECORD_APPLICATION_DATA, 4, "data" },
};

/* A (skipped) NewSessionTicket before the reference, in its record. */
static const struct rec ref_not_first[] = {
	{ HS, 25, { 4, 0, 0, 1, 0, REF_HDR, REF_ID } },
	{ HS, 5, { KEY_UPDATE } },
};

/* Right: 20 bytes alone. */
static const struct rec good_ref[] = {
	{ HS, 20, { REF_HDR, REF_ID } },
	{ HS, 5, { KEY_UPDATE } },
};

FIXTURE(ref) {
	int sv[2];
	struct qktls_stream *s;
	uint8_t buf[4096];
};

/* The application's read buffer: large, or smaller than a reference. */
FIXTURE_VARIANT(ref) {
	size_t len;
};

FIXTURE_VARIANT_ADD(ref, big_buffer) { .len = 4096 };
FIXTURE_VARIANT_ADD(ref, one_byte_buffer) { .len = 1 };

FIXTURE_SETUP(ref)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sv));
	ASSERT_EQ(0, qktls_stream_open(self->sv[0], QKTLS_STREAM_NO_POLICY,
				       &self->s));
	memset(&fake, 0, sizeof(fake));
	fake.fd = self->sv[0];
}

FIXTURE_TEARDOWN(ref)
{
	fake.fd = -1;
	qktls_stream_close(self->s);
	close(self->sv[0]);
	close(self->sv[1]);
}

/*
 * Read the records @recs: the read must fail with -QKTLS_E_RECORD and the
 * error text @why, having consumed @used records only (nothing after the
 * bad one reaches the key update), and stay failed.
 */
static void refused(struct __test_metadata *_metadata,
		    FIXTURE_DATA(ref) *self, const FIXTURE_VARIANT(ref) *variant,
		    const struct rec *recs, size_t n, size_t used,
		    const char *why)
{
	struct qktls_stream_stats st;

	fake.recs = recs;
	fake.n = n;
	EXPECT_EQ(-QKTLS_E_RECORD,
		  qktls_stream_read(self->s, self->buf, variant->len));
	EXPECT_NE(NULL, strstr(qktls_stream_error(self->s, QKTLS_DIR_RX), why))
		TH_LOG("error: %s", qktls_stream_error(self->s, QKTLS_DIR_RX));
	EXPECT_EQ(used, fake.next);
	EXPECT_EQ(-QKTLS_E_RECORD,
		  qktls_stream_read(self->s, self->buf, variant->len));
	EXPECT_EQ(used, fake.next);
	qktls_stream_stats(self->s, &st);
	EXPECT_EQ(0ULL, st.bytes_read);
	EXPECT_EQ(0ULL, st.rx_rekeys);
	/* A small buffer peeks first, so the record is read whole. */
	EXPECT_EQ(variant->len < 21, fake.peeks > 0);
}

TEST_F(ref, short_record_refused)
{
	refused(_metadata, self, variant, short_ref, 4, 1,
		"QKD key reference record of 12 bytes (expected exactly 20)");
}

TEST_F(ref, long_record_refused)
{
	refused(_metadata, self, variant, long_ref, 2, variant->len < 21 ? 0 : 1,
		variant->len < 21 ?
		"QKD key reference record of at least 21 bytes (expected exactly 20)" :
		"QKD key reference record of 25 bytes (expected exactly 20)");
}

TEST_F(ref, reference_not_alone_refused)
{
	refused(_metadata, self, variant, ref_not_first, 2,
		variant->len < 21 ? 0 : 1,
		"QKD key reference not alone in its record");
}

TEST_F(ref, twenty_bytes_pass_the_length_check)
{
	/* Past the length check; refused as not negotiated (no module). */
	refused(_metadata, self, variant, good_ref, 2, 1,
		"QKD key update was not negotiated");
}

TEST_HARNESS_MAIN
