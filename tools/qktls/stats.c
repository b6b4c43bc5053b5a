// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls stats: the network namespace's totals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "qktls.h"

void usage_stats(FILE *f)
{
	fputs("Usage: qktls [-j [-p]] stats\n"
	      "Totals of this network namespace: pools, keys, key bytes, kernel\n"
	      "memory and its limit, and the counters of every pool summed.\n", f);
}

static int stats_cb(struct nlattr **tb, struct nlmsghdr *nlh, void *arg)
{
	bool *seen = arg;
	json_t *o;

	(void)nlh;
	*seen = true;
	if (!qk_json) {
		printf("pools %llu keys %llu key-bytes %llu mem-bytes %llu mem-limit %llu\n",
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_NS_POOLS]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_NS_KEYS]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_NS_KEY_BYTES]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_NS_MEM_BYTES]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_NS_MEM_LIMIT]));
		if (tb[QKTLS_A_POOL_STATS])
			qk_stats_print(tb[QKTLS_A_POOL_STATS], "\t");
		return 0;
	}
	o = json_object();
	if (!o)
		return -ENOMEM;
	qk_json_set_uint(o, "pools", qk_attr_uint(tb[QKTLS_A_NS_POOLS]));
	qk_json_set_uint(o, "keys", qk_attr_uint(tb[QKTLS_A_NS_KEYS]));
	qk_json_set_uint(o, "key_bytes", qk_attr_uint(tb[QKTLS_A_NS_KEY_BYTES]));
	qk_json_set_uint(o, "mem_bytes", qk_attr_uint(tb[QKTLS_A_NS_MEM_BYTES]));
	qk_json_set_uint(o, "mem_limit", qk_attr_uint(tb[QKTLS_A_NS_MEM_LIMIT]));
	json_object_set_new(o, "stats", qk_stats_json(tb[QKTLS_A_POOL_STATS]));
	return qk_json_print(o) ? -EIO : 0;
}

int do_stats(int argc, char **argv)
{
	struct nl_msg *msg;
	struct qk_nl nl;
	bool seen = false;
	int ret = -1;

	if (argc > 0 && qk_is_help(argv[0])) {
		usage_stats(stdout);
		return 0;
	}
	if (argc > 0)
		return qk_usage_err("stats", "stats: unknown argument \"%s\"", argv[0]);
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	msg = qk_msg_new(&nl, QKTLS_CMD_STATS_GET, 0, 0);
	if (msg)
		ret = qk_nl_run(&nl, msg, stats_cb, &seen, "stats");
	nlmsg_free(msg);
	qk_nl_close(&nl);
	if (!ret && !seen) {
		qk_err("stats: the kernel sent no statistics");
		ret = -1;
	}
	return ret ? EXIT_FAILURE : 0;
}
