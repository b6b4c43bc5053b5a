// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many threads adding and taking keys at once, each on its own netlink
 * socket: every key added is taken exactly once, and of threads racing
 * for the same key ID exactly one wins.
 */
#include <pthread.h>
#include <stdatomic.h>
#include "kselftest_harness.h"
#include "../lib/qktls_nl.h"

#define TAG		0xc0c0c000u
#define PRODUCERS	4
#define CONSUMERS	4
#define PER_PRODUCER	2000
#define BATCH		50
#define RACE_KEYS	500

static int taken[PRODUCERS][PER_PRODUCER];
static int race_won[RACE_KEYS];
static atomic_int producers_left;
static atomic_int errors;

static void *producer(void *arg)
{
	int t = (int)(long)arg, i;
	struct qk_reply r;
	struct qk q;

	if (qk_open(&q)) {
		errors++;
		producers_left--;
		return NULL;
	}
	for (i = 0; i < PER_PRODUCER; i += BATCH) {
		if (qk_add_keys(&q, "conc", TAG + t, i, BATCH, 32, &r)) {
			fprintf(stderr, "# add: %d %s\n", r.err, r.extack);
			errors++;
		}
		qk_reply_free(&r);
	}
	qk_close(&q);
	producers_left--;
	return NULL;
}

static void *consumer(void *arg)
{
	struct qk_taken t;
	struct qk_reply r;
	struct qk q;

	(void)arg;
	if (qk_open(&q)) {
		errors++;
		return NULL;
	}
	for (;;) {
		bool last = producers_left == 0;
		uint32_t tag;
		uint64_t n;
		int err = qk_take(&q, "conc", NULL, &t, &r);

		qk_reply_free(&r);
		if (err == -ENOENT) {
			if (last)
				break;	/* nothing more will come */
			continue;
		}
		if (err || !t.seen) {
			errors++;
			break;
		}
		memcpy(&tag, t.id, sizeof(tag));
		memcpy(&n, t.id + 8, sizeof(n));
		if (tag - TAG >= PRODUCERS || n >= PER_PRODUCER) {
			errors++;
			continue;
		}
		__atomic_fetch_add(&taken[tag - TAG][n], 1, __ATOMIC_SEQ_CST);
	}
	qk_close(&q);
	return NULL;
}

static void *racer(void *arg)
{
	uint8_t id[QKTLS_KEY_ID_LEN];
	struct qk_taken t;
	struct qk_reply r;
	struct qk q;
	int i, err;

	(void)arg;
	if (qk_open(&q)) {
		errors++;
		return NULL;
	}
	for (i = 0; i < RACE_KEYS; i++) {
		qk_id(id, TAG + 99, i);
		err = qk_take(&q, "conc", id, &t, &r);
		qk_reply_free(&r);
		if (!err)
			__atomic_fetch_add(&race_won[i], 1, __ATOMIC_SEQ_CST);
		else if (err != -ENOENT)
			errors++;
	}
	qk_close(&q);
	return NULL;
}

FIXTURE(conc) {
	struct qk q;
	struct qk_reply r;
};

FIXTURE_SETUP(conc)
{
	ASSERT_EQ(0, qk_open(&self->q));
	qk_pool_drop(&self->q, "conc");
	ASSERT_EQ(0, qk_pool_new(&self->q, "conc", PRODUCERS * PER_PRODUCER,
				 32, &self->r));
	qk_reply_free(&self->r);
}

FIXTURE_TEARDOWN(conc)
{
	qk_pool_drop(&self->q, "conc");
	qk_close(&self->q);
}

TEST_F_TIMEOUT(conc, add_and_take_exactly_once, 600)
{
	pthread_t p[PRODUCERS], c[CONSUMERS];
	struct qk_pool_info info;
	long i, j, once = 0;

	producers_left = PRODUCERS;
	for (i = 0; i < CONSUMERS; i++)
		ASSERT_EQ(0, pthread_create(&c[i], NULL, consumer, NULL));
	for (i = 0; i < PRODUCERS; i++)
		ASSERT_EQ(0, pthread_create(&p[i], NULL, producer, (void *)i));
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (i = 0; i < CONSUMERS; i++)
		pthread_join(c[i], NULL);

	EXPECT_EQ(0, errors);
	for (i = 0; i < PRODUCERS; i++)
		for (j = 0; j < PER_PRODUCER; j++) {
			if (taken[i][j] == 1)
				once++;
			else
				fprintf(stderr, "# key %ld/%ld taken %d times\n",
					i, j, taken[i][j]);
		}
	EXPECT_EQ(PRODUCERS * PER_PRODUCER, once);
	ASSERT_EQ(0, qk_pool_get(&self->q, "conc", &info, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, info.count);
	EXPECT_EQ(PRODUCERS * PER_PRODUCER,
		  info.stats[QKTLS_STATS_A_KEYS_ADDED]);
	EXPECT_EQ(PRODUCERS * PER_PRODUCER,
		  info.stats[QKTLS_STATS_A_KEYS_CONSUMED]);
}

TEST_F_TIMEOUT(conc, racing_for_the_same_ids, 600)
{
	pthread_t c[CONSUMERS];
	long i, wrong = 0;

	for (i = 0; i < RACE_KEYS; i += 100) {
		ASSERT_EQ(0, qk_add_keys(&self->q, "conc", TAG + 99, i, 100, 32,
					 &self->r));
		qk_reply_free(&self->r);
	}
	for (i = 0; i < CONSUMERS; i++)
		ASSERT_EQ(0, pthread_create(&c[i], NULL, racer, NULL));
	for (i = 0; i < CONSUMERS; i++)
		pthread_join(c[i], NULL);
	EXPECT_EQ(0, errors);
	for (i = 0; i < RACE_KEYS; i++)
		if (race_won[i] != 1) {
			fprintf(stderr, "# key %ld won %d times\n", i,
				race_won[i]);
			wrong++;
		}
	EXPECT_EQ(0, wrong);
}

TEST_HARNESS_MAIN
