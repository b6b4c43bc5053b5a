// SPDX-License-Identifier: GPL-2.0-only
/*
 * A link's handshake key store (userspace/qktlsd/keys.c) and the budgets of
 * keys a server takes for clients not yet authenticated (strangers.c), with
 * the sanitizers, through the callbacks the provider calls:
 *
 * - two client handshakes that both saw one key race for it: the loser
 *   waits for the feeder (up to qkd.wait_ms) instead of failing at once,
 *   and gets the next key the feeder adds; with no key added it gives up
 *   after wait_ms, counted;
 * - a server's handshakes that took a key and ended without the client
 *   authenticating spend unauth_keys_per_peer; once it is spent, the server
 *   takes no key for that address (the key stays); authenticated clients
 *   and handshakes still running spend nothing (a hundred at once from one
 *   address are served); other addresses have budgets of their own, an
 *   IPv4-mapped IPv6 address is the IPv4 address; the link's budget
 *   covers all addresses; 0 means no limit.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"	/* harness vs enums */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <sanitizer/lsan_interface.h>

#include <qktls/provider.h>

#include "../../userspace/qktlsd/qktlsd.h"
#include "kselftest_harness.h"

#define NO_LEAKS() EXPECT_EQ(0, __lsan_do_recoverable_leak_check())

static void ref_of(uint8_t ref[QKTLS_QKD_REF_LEN], int n)
{
	memset(ref, 0, QKTLS_QKD_REF_LEN);
	ref[0] = 0xab;
	ref[15] = (uint8_t)n;
}

static void add(struct qd_link *l, int n)
{
	uint8_t ref[QKTLS_QKD_REF_LEN], key[32];

	ref_of(ref, n);
	memset(key, n, sizeof(key));
	qd_keys_add(l, ref, key, sizeof(key));
}

FIXTURE(keys) {
	struct qd_link l;
};

FIXTURE_SETUP(keys)
{
	memset(&self->l, 0, sizeof(self->l));
	self->l.name = "t";
	self->l.role = QKTLS_ROLE_CLIENT;
	self->l.has_kme = true;		/* fed: handshakes wait for keys */
	self->l.qkd_wait_ms = 10000;
	self->l.unauth_keys_per_peer = 2;
	self->l.unauth_keys_per_link = 3;
	pthread_mutex_init(&self->l.lock, NULL);
}

FIXTURE_TEARDOWN(keys)
{
	qd_keys_close(&self->l);
	pthread_mutex_destroy(&self->l.lock);
}

struct draw {
	struct qd_link *l;
	uint8_t ref[QKTLS_QKD_REF_LEN];
	int ret;
};

static void *draw(void *arg)
{
	struct draw *d = arg;
	const struct qktls_qkd_keys *cb = qd_keys_callbacks(d->l);
	uint8_t key[64];
	size_t len = sizeof(key);

	d->ret = cb->get_key(cb->arg, d->ref, key, &len);
	return NULL;
}

/* Wait (polling the counters, 10 s at most) until @n draws wait. */
static bool waiting(struct qd_link *l, uint64_t n)
{
	struct timespec ts = { 0, 2000000 };
	uint64_t waits = 0, timeouts;

	for (int i = 0; i < 5000 && waits < n; i++) {
		qd_keys_stats(l, &waits, &timeouts);
		if (waits < n)
			nanosleep(&ts, NULL);
	}
	return waits >= n;
}

TEST_F(keys, racing_draw_waits_for_the_feeder)
{
	struct draw a = { .l = &self->l }, b = { .l = &self->l };
	uint8_t want[QKTLS_QKD_REF_LEN];
	uint64_t waits, timeouts;
	pthread_t t;

	ASSERT_EQ(0, qd_keys_open(&self->l));
	add(&self->l, 1);
	/* Both handshakes saw one key available; the first takes it. */
	ASSERT_EQ(1, qd_keys_available(&self->l));
	draw(&a);
	ASSERT_EQ(QKTLS_QKD_OK, a.ret);
	ASSERT_EQ(0, pthread_create(&t, NULL, draw, &b));
	ASSERT_TRUE(waiting(&self->l, 1));
	add(&self->l, 2);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(QKTLS_QKD_OK, b.ret);
	ref_of(want, 2);
	EXPECT_EQ(0, memcmp(b.ref, want, sizeof(want)));
	qd_keys_stats(&self->l, &waits, &timeouts);
	EXPECT_EQ(1, waits);
	EXPECT_EQ(0, timeouts);
	NO_LEAKS();
}

TEST_F(keys, empty_draw_gives_up_after_wait_ms)
{
	struct draw d = { .l = &self->l };
	struct timespec t0, t1;
	uint64_t waits, timeouts;
	long ms;

	self->l.qkd_wait_ms = 200;
	ASSERT_EQ(0, qd_keys_open(&self->l));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	draw(&d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_EQ(QKTLS_QKD_EMPTY, d.ret);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_LE(195, ms);	/* it did wait, not fail at once */
	qd_keys_stats(&self->l, &waits, &timeouts);
	EXPECT_EQ(1, waits);
	EXPECT_EQ(1, timeouts);
}

/* A server handshake from @addr takes key @n (as the ClientHello names it). */
static int server_take(struct qd_link *l, struct qd_hs *hs, const char *addr,
		       int n)
{
	const struct qktls_qkd_keys *cb = qd_keys_callbacks(l);
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&hs->peer;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&hs->peer;
	uint8_t ref[QKTLS_QKD_REF_LEN], key[64];
	size_t len = sizeof(key);
	int ret;

	memset(hs, 0, sizeof(*hs));
	hs->link = l;
	if (strchr(addr, ':')) {
		a6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &a6->sin6_addr);
	} else {
		a4->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &a4->sin_addr);
	}
	ref_of(ref, n);
	qd_keys_set_current(hs);
	ret = cb->take_key(cb->arg, ref, key, &len);
	qd_keys_set_current(NULL);
	return ret;
}

/* A server handshake from @addr that took key @n ends, authenticated or not. */
static int server_hs(struct qd_link *l, const char *addr, int n, bool auth)
{
	struct qd_hs hs;
	int ret = server_take(l, &hs, addr, n);

	qd_keys_handshake_end(&hs, auth);
	return ret;
}

TEST_F(keys, server_budget_for_unauthenticated_clients)
{
	struct qd_hs running[100];
	uint64_t taken, refused;

	self->l.role = QKTLS_ROLE_SERVER;
	self->l.has_kme = false;
	ASSERT_EQ(0, qd_keys_open(&self->l));
	for (int i = 1; i <= 120; i++)
		add(&self->l, i);

	/* Authenticated clients spend nothing: any number. */
	for (int i = 1; i <= 4; i++)
		ASSERT_EQ(QKTLS_QKD_OK, server_hs(&self->l, "192.0.2.1", i, true));
	/* Two strangers from 192.0.2.9; the third is refused, key 7 kept. */
	EXPECT_EQ(QKTLS_QKD_OK, server_hs(&self->l, "192.0.2.9", 5, false));
	EXPECT_EQ(QKTLS_QKD_OK, server_hs(&self->l, "192.0.2.9", 6, false));
	EXPECT_EQ(QKTLS_QKD_ERROR, server_hs(&self->l, "192.0.2.9", 7, false));
	/* The same address as IPv4-mapped IPv6: the same budget. */
	EXPECT_EQ(QKTLS_QKD_ERROR,
		  server_hs(&self->l, "::ffff:192.0.2.9", 7, true));
	EXPECT_EQ(120 - 6, (int)qd_keys_count(&self->l));
	/* An unknown key costs no budget. */
	EXPECT_EQ(QKTLS_QKD_NOT_FOUND, server_hs(&self->l, "192.0.2.10", 999, false));
	/* 100 handshakes at once from one address: all served, then done. */
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(QKTLS_QKD_OK,
			  server_take(&self->l, &running[i], "192.0.2.20", 7 + i));
	for (int i = 0; i < 100; i++)
		qd_keys_handshake_end(&running[i], true);
	/* Another address has its own budget, but the link's (3) has one left. */
	EXPECT_EQ(QKTLS_QKD_OK, server_hs(&self->l, "192.0.2.10", 107, false));
	EXPECT_EQ(QKTLS_QKD_ERROR, server_hs(&self->l, "2001:db8::1", 108, true));
	qd_keys_unauth_stats(&self->l, &taken, &refused);
	EXPECT_EQ(3, taken);
	EXPECT_EQ(3, refused);
	NO_LEAKS();
}

TEST_F(keys, no_limit)
{
	self->l.role = QKTLS_ROLE_SERVER;
	self->l.has_kme = false;
	self->l.unauth_keys_per_peer = 0;
	self->l.unauth_keys_per_link = 0;
	ASSERT_EQ(0, qd_keys_open(&self->l));
	for (int i = 1; i <= 20; i++) {
		add(&self->l, i);
		EXPECT_EQ(QKTLS_QKD_OK, server_hs(&self->l, "192.0.2.9", i, false));
	}
}

TEST_HARNESS_MAIN
