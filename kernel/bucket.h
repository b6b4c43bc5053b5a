/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: a token bucket, for the rate limits of QKD rekeys that callers
 * ask for (QKTLS_CMD_SOCK_REKEY).  The caller holds the lock guarding it.
 */
#ifndef QKTLS_BUCKET_H
#define QKTLS_BUCKET_H

#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/types.h>

/**
 * struct qktls_bucket - tokens, refilled at a rate per minute
 * @stamp: jiffies up to which refills are counted
 * @tokens: tokens left
 */
struct qktls_bucket {
	u64 stamp;
	u32 tokens;
};

/**
 * qktls_bucket_init() - a full bucket
 * @b: the bucket
 * @burst: tokens it starts with
 */
static inline void qktls_bucket_init(struct qktls_bucket *b, u32 burst)
{
	b->stamp = get_jiffies_64();
	b->tokens = burst;
}

/**
 * qktls_bucket_take() - take a token, if one is left
 * @b: the bucket; its lock is held
 * @per_min: tokens refilled per minute; 0 = no limit
 * @burst: most tokens it holds (and so most taken at once)
 *
 * The limits are read at every call, so a change of the module parameters
 * applies at once.
 *
 * Return: true if a token was taken.
 */
static inline bool qktls_bucket_take(struct qktls_bucket *b, u32 per_min,
				     u32 burst)
{
	u64 now = get_jiffies_64(), period = 60ULL * HZ, elapsed, earned;

	if (!per_min)
		return true;
	elapsed = now - b->stamp;
	/* Long enough to refill the whole burst: no product can overflow. */
	if (elapsed >= div_u64(period * burst, per_min) + 1) {
		b->tokens = burst;
		b->stamp = now;
	} else {
		earned = div64_u64(elapsed * per_min, period);
		/* Keep the remainder: refills at a low rate are not lost. */
		b->stamp += div_u64(earned * period, per_min);
		b->tokens = min_t(u64, (u64)b->tokens + earned, burst);
	}
	b->tokens = min(b->tokens, burst);
	if (!b->tokens)
		return false;
	b->tokens--;
	return true;
}

#endif /* QKTLS_BUCKET_H */
