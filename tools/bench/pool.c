// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-bench-pool: keys per second into a qktls pool through netlink, in
 * batches of 1, 64 and 1024 keys, keys per second taken out, and the
 * kernel memory each pooled key costs, measured as the growth of slab and
 * vmalloc memory (/proc/meminfo) over loading the keys, with and without
 * an ETSI 004 index, beside what the pool charges.  Prints figures;
 * asserts nothing about time.  Needs CAP_NET_ADMIN and qktls.ko.
 */
#include <time.h>
#include "../../tests/lib/qktls_nl.h"

#define POOL "bench"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int check(struct qk_reply *r, const char *what)
{
	int err = r->err;

	if (err)
		fprintf(stderr, "qktls-bench-pool: %s: %s%s%s\n", what,
			strerror(-err), r->extack[0] ? ": " : "", r->extack);
	qk_reply_free(r);
	return err;
}

int main(int argc, char **argv)
{
	static const unsigned int batches[] = { 1, 64, 1024 };
	unsigned int total = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;
	struct qk_pool_info p;
	struct qk_reply r;
	struct qk_taken t;
	struct qk q;
	size_t b;
	int err;

	err = qk_open(&q);
	if (err) {
		fprintf(stderr, "qktls-bench-pool: no qktls family: %s\n",
			strerror(-err));
		return 1;
	}
	qk_pool_simple(&q, QKTLS_CMD_POOL_DEL, POOL, &r);
	qk_reply_free(&r);
	qk_pool_new(&q, POOL, total, 32, &r);
	if (check(&r, "pool new"))
		return 1;
	printf("keys of 32 bytes, %u per run\n", total);
	for (b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		unsigned int n = batches[b], done;
		double t0, dt;

		t0 = now();
		for (done = 0; done < total; done += n) {
			qk_add_keys(&q, POOL, 0xbe0c0000 + b, done, n, 32, &r);
			if (check(&r, "key add"))
				return 1;
		}
		dt = now() - t0;
		printf("add, batch %4u: %10.0f keys/s (%u keys in %.3f s)\n",
		       n, done / dt, done, dt);
		if (b == 0) {
			t0 = now();
			for (done = 0; done < total; done++) {
				qk_take(&q, POOL, NULL, &t, &r);
				if (check(&r, "key take"))
					return 1;
			}
			dt = now() - t0;
			printf("take, one by one: %10.0f keys/s\n", done / dt);
		} else {
			qk_pool_simple(&q, QKTLS_CMD_KEY_FLUSH, POOL, &r);
			if (check(&r, "key flush"))
				return 1;
		}
	}
	for (b = 0; b < 2; b++) {
		long long m0, m1;
		unsigned int done;

		m0 = qk_kernel_mem();
		for (done = 0; done < total; done += 1024) {
			qk_add_keys_opt(&q, POOL, 0xbe0c0100 + b, done,
					total - done < 1024 ? total - done : 1024,
					32, b, &r);
			if (check(&r, "key add"))
				return 1;
		}
		m1 = qk_kernel_mem();
		qk_pool_get(&q, POOL, &p, &r);
		if (check(&r, "pool get"))
			return 1;
		printf("kernel bytes per pooled key, %s: %.1f measured (slab+vmalloc %+lld bytes for %lld keys), %.1f charged\n",
		       b ? "with index" : "no index",
		       (double)(m1 - m0) / p.count, m1 - m0, p.count,
		       (double)p.mem_bytes / p.count);
		qk_pool_simple(&q, QKTLS_CMD_KEY_FLUSH, POOL, &r);
		if (check(&r, "key flush"))
			return 1;
	}
	qk_pool_simple(&q, QKTLS_CMD_POOL_DEL, POOL, &r);
	qk_reply_free(&r);
	qk_close(&q);
	return 0;
}
