// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a pooled key costs the kernel, measured: the growth of slab and
 * vmalloc memory (/proc/meminfo) over loading 100,000 keys of 32 bytes
 * into one pool, and its return after a flush.  The bound is 64 bytes per
 * key without an index (ETSI 014) and 80 with one (ETSI 004), give or take
 * QK_NOISE of unrelated kernel allocations over the run; after the flush,
 * at most QK_KEPT may stay.
 */
#include "kselftest_harness.h"
#include "../lib/qktls_nl.h"

#define TAG	0x6d656d01u
#define KEYS	100000
#define BATCH	1000
/* Unrelated slab activity during a load (netlink buffers, dentries). */
#define QK_NOISE	(256 * 1024)
/*
 * What may stay after a flush, slabs shrunk (qk_kernel_mem()): partly
 * filled slabs of shared caches, against the 6 MB a load takes.
 */
#define QK_KEPT		(512 * 1024)

FIXTURE(mem) {
	struct qk q;
	struct qk_reply r;
};

FIXTURE_SETUP(mem)
{
	ASSERT_EQ(0, qk_open(&self->q));
	qk_pool_drop(&self->q, "mem");
	ASSERT_EQ(0, qk_pool_new(&self->q, "mem", KEYS, 32, &self->r));
	qk_reply_free(&self->r);
}

FIXTURE_TEARDOWN(mem)
{
	qk_pool_drop(&self->q, "mem");
	qk_close(&self->q);
}

/* Load KEYS keys; return the kernel bytes they took, -1 on error. */
static long long load(struct __test_metadata *_metadata, FIXTURE_DATA(mem) *self,
		      uint32_t tag, bool with_index)
{
	long long before, after;
	struct qk_pool_info p;
	unsigned int done;

	before = qk_kernel_mem();
	for (done = 0; done < KEYS; done += BATCH) {
		if (qk_add_keys_opt(&self->q, "mem", tag, done, BATCH, 32,
				    with_index, &self->r)) {
			TH_LOG("key add: %s", self->r.extack);
			qk_reply_free(&self->r);
			return -1;
		}
		qk_reply_free(&self->r);
	}
	after = qk_kernel_mem();
	if (qk_pool_get(&self->q, "mem", &p, &self->r) || p.count != KEYS)
		return -1;
	qk_reply_free(&self->r);
	TH_LOG("%s: %.1f kernel bytes per key measured (%lld bytes for %d keys), %.1f charged",
	       with_index ? "with index" : "no index",
	       (double)(after - before) / KEYS, after - before, KEYS,
	       (double)p.mem_bytes / KEYS);
	return after - before;
}

/* Flush the pool; return how far kernel memory stays above @base. */
static long long flush(FIXTURE_DATA(mem) *self, long long base)
{
	qk_pool_simple(&self->q, QKTLS_CMD_KEY_FLUSH, "mem", &self->r);
	qk_reply_free(&self->r);
	return qk_kernel_mem() - base;
}

TEST_F_TIMEOUT(mem, bytes_per_key, 600)
{
	long long base, used;

	ASSERT_LT(0, qk_kernel_mem());
	/* Warm the caches the path allocates from, then start counting. */
	ASSERT_EQ(0, qk_add_keys_opt(&self->q, "mem", TAG + 9, 0, BATCH, 32,
				     false, &self->r));
	qk_reply_free(&self->r);
	flush(self, 0);

	base = qk_kernel_mem();
	used = load(_metadata, self, TAG, false);
	ASSERT_LT(0, used);
	EXPECT_LE(used, 64LL * KEYS + QK_NOISE);
	EXPECT_LE(flush(self, base), QK_KEPT) TH_LOG("memory back after a flush");

	base = qk_kernel_mem();
	used = load(_metadata, self, TAG + 1, true);
	ASSERT_LT(0, used);
	EXPECT_LE(used, 80LL * KEYS + QK_NOISE);
	EXPECT_LE(flush(self, base), QK_KEPT) TH_LOG("memory back after a flush");
}

TEST_HARNESS_MAIN
