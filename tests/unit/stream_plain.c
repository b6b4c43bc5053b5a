// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqktls's stream helpers and socket calls without a kernel module: on a
 * socket that is not attached to qktls.ko (here a Unix stream pair, which
 * behaves as plain kTLS does for application data), the stream passes data
 * through unchanged and a rekey says the socket is not attached; bad
 * arguments are refused; the new error codes have messages.
 * tests/kernel/stream_rekey.c covers attached kTLS sockets in the VM.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"

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

TEST_HARNESS_MAIN
