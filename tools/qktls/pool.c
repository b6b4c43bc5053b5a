// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls pool add|del|set|show|list
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qktls.h"

void usage_pool(FILE *f)
{
	fputs("Usage: qktls pool add NAME [peer PEER] [key-len LEN | key-len MIN-MAX]\n"
	      "                       [capacity KEYS] [low KEYS] [lifetime SECS]\n"
	      "                       [rekey-bytes SIZE] [rekey-seconds SECS]\n"
	      "       qktls pool set NAME [peer PEER] [capacity KEYS] [low KEYS]\n"
	      "                       [lifetime SECS] [rekey-bytes SIZE]\n"
	      "                       [rekey-seconds SECS]\n"
	      "       qktls pool del NAME\n"
	      "       qktls [-j [-p]] pool show [NAME]\n"
	      "       qktls [-j [-p]] pool list\n"
	      "Defaults of add: key-len 32, capacity 1024, low capacity/4,\n"
	      "lifetime 0 (keys do not expire), no rekey policy.  SIZE takes a K, M\n"
	      "or G suffix (powers of 1024).  rekey-bytes and rekey-seconds bound the\n"
	      "rekey policy of every socket attached with the pool for TX (0: none).\n", f);
}

/* Settings given on the command line; has_* say which. */
struct pool_args {
	const char *name;
	const char *peer;
	bool has_len, has_cap, has_low, has_life, has_rbytes, has_rsecs;
	uint32_t min_len, max_len, capacity, low, lifetime, rekey_seconds;
	uint64_t rekey_bytes;
};

static int parse_key_len(const char *s, struct pool_args *a)
{
	const char *dash = strchr(s, '-');
	char *lo;
	int ret;

	if (!dash) {
		if (qk_parse_u32("key-len", s, &a->min_len))
			return -1;
		a->max_len = a->min_len;
		return 0;
	}
	lo = strndup(s, dash - s);
	if (!lo) {
		qk_err("out of memory");
		return -1;
	}
	ret = qk_parse_u32("key-len (minimum)", lo, &a->min_len);
	free(lo);
	if (ret || qk_parse_u32("key-len (maximum)", dash + 1, &a->max_len))
		return -1;
	if (a->min_len > a->max_len) {
		qk_err("key-len: minimum %u is above maximum %u", a->min_len,
		       a->max_len);
		return -1;
	}
	return 0;
}

/* NAME followed by keyword/value pairs.  Returns 0 or an exit status. */
static int parse_pool_args(const char *verb, int argc, char **argv,
			   struct pool_args *a, bool allow_len)
{
	int i;

	memset(a, 0, sizeof(*a));
	if (argc < 1)
		return qk_usage_err("pool", "pool %s: missing pool name", verb);
	a->name = argv[0];
	for (i = 1; i < argc; i += 2) {
		const char *kw = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool *seen;

		if (!strcmp(kw, "peer")) {
			seen = NULL;
			if (a->peer)
				return qk_usage_err("pool", "pool %s: \"peer\" given twice", verb);
		} else if (!strcmp(kw, "key-len")) {
			if (!allow_len)
				return qk_usage_err("pool", "pool %s: the key length range of a pool cannot change", verb);
			seen = &a->has_len;
		} else if (!strcmp(kw, "capacity")) {
			seen = &a->has_cap;
		} else if (!strcmp(kw, "low")) {
			seen = &a->has_low;
		} else if (!strcmp(kw, "lifetime")) {
			seen = &a->has_life;
		} else if (!strcmp(kw, "rekey-bytes")) {
			seen = &a->has_rbytes;
		} else if (!strcmp(kw, "rekey-seconds")) {
			seen = &a->has_rsecs;
		} else {
			return qk_usage_err("pool", "pool %s: unknown argument \"%s\"", verb, kw);
		}
		if (seen && *seen)
			return qk_usage_err("pool", "pool %s: \"%s\" given twice", verb, kw);
		if (!val)
			return qk_usage_err("pool", "pool %s: \"%s\" needs a value", verb, kw);
		if (!strcmp(kw, "peer"))
			a->peer = val;
		else if (!strcmp(kw, "key-len") ? parse_key_len(val, a) :
			 !strcmp(kw, "capacity") ? qk_parse_u32("capacity", val, &a->capacity) :
			 !strcmp(kw, "low") ? qk_parse_u32("low", val, &a->low) :
			 !strcmp(kw, "rekey-bytes") ? qk_parse_size("rekey-bytes", val, &a->rekey_bytes) :
			 !strcmp(kw, "rekey-seconds") ? qk_parse_u32("rekey-seconds", val, &a->rekey_seconds) :
			 qk_parse_u32("lifetime", val, &a->lifetime))
			return QK_EXIT_USAGE;
		if (seen)
			*seen = true;
	}
	return 0;
}

static int put_pool_args(struct nl_msg *msg, const struct pool_args *a)
{
	if (nla_put_string(msg, QKTLS_A_POOL_NAME, a->name) < 0 ||
	    (a->peer && nla_put_string(msg, QKTLS_A_POOL_PEER, a->peer) < 0) ||
	    (a->has_len &&
	     (nla_put_u32(msg, QKTLS_A_POOL_KEY_MIN_LEN, a->min_len) < 0 ||
	      nla_put_u32(msg, QKTLS_A_POOL_KEY_MAX_LEN, a->max_len) < 0)) ||
	    (a->has_cap && nla_put_u32(msg, QKTLS_A_POOL_CAPACITY, a->capacity) < 0) ||
	    (a->has_low && nla_put_u32(msg, QKTLS_A_POOL_LOW_WATERMARK, a->low) < 0) ||
	    (a->has_life && nla_put_u32(msg, QKTLS_A_POOL_KEY_LIFETIME, a->lifetime) < 0) ||
	    (a->has_rbytes &&
	     nla_put_u64(msg, QKTLS_A_POOL_REKEY_BYTES, a->rekey_bytes) < 0) ||
	    (a->has_rsecs &&
	     nla_put_u32(msg, QKTLS_A_POOL_REKEY_SECONDS, a->rekey_seconds) < 0)) {
		qk_err("pool arguments do not fit in a netlink message");
		return -1;
	}
	return 0;
}

static int pool_change(uint8_t cmd, const char *verb, int argc, char **argv)
{
	struct pool_args a;
	struct qk_nl nl;
	struct nl_msg *msg;
	char what[64];
	int ret;

	ret = parse_pool_args(verb, argc, argv, &a, cmd == QKTLS_CMD_POOL_NEW);
	if (ret)
		return ret;
	if (cmd == QKTLS_CMD_POOL_SET && !a.peer && !a.has_cap && !a.has_low &&
	    !a.has_life && !a.has_rbytes && !a.has_rsecs)
		return qk_usage_err("pool", "pool set: nothing to change (give peer, capacity, low, lifetime, rekey-bytes or rekey-seconds)");
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	msg = qk_msg_new(&nl, cmd, 0, 0);
	ret = -1;
	if (msg && !put_pool_args(msg, &a)) {
		snprintf(what, sizeof(what), "pool %s", verb);
		ret = qk_nl_run(&nl, msg, NULL, NULL, what);
	}
	nlmsg_free(msg);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

static int pool_del(int argc, char **argv)
{
	struct qk_nl nl;
	struct nl_msg *msg;
	int ret = -1;

	if (argc < 1)
		return qk_usage_err("pool", "pool del: missing pool name");
	if (argc > 1)
		return qk_usage_err("pool", "pool del: unknown argument \"%s\"", argv[1]);
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	msg = qk_msg_new(&nl, QKTLS_CMD_POOL_DEL, 0, 0);
	if (msg && nla_put_string(msg, QKTLS_A_POOL_NAME, argv[0]) == 0)
		ret = qk_nl_run(&nl, msg, NULL, NULL, "pool del");
	else if (msg)
		qk_err("pool del: pool name too long");
	nlmsg_free(msg);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

/* ---- show and list ---- */

struct show_state {
	bool brief;		/* pool list */
	json_t *arr;		/* -j: the array being built */
};

static const char *attr_str(struct nlattr *a)
{
	return a ? nla_get_string(a) : "";
}

static json_t *pool_json(struct nlattr **tb, bool brief)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	qk_json_set_uint(o, "id", qk_attr_uint(tb[QKTLS_A_POOL_ID]));
	qk_json_set_str(o, "name", attr_str(tb[QKTLS_A_POOL_NAME]));
	if (tb[QKTLS_A_POOL_PEER])
		qk_json_set_str(o, "peer", attr_str(tb[QKTLS_A_POOL_PEER]));
	qk_json_set_uint(o, "key_count", qk_attr_uint(tb[QKTLS_A_POOL_KEY_COUNT]));
	qk_json_set_uint(o, "capacity", qk_attr_uint(tb[QKTLS_A_POOL_CAPACITY]));
	if (brief)
		return o;
	qk_json_set_uint(o, "key_min_len", qk_attr_uint(tb[QKTLS_A_POOL_KEY_MIN_LEN]));
	qk_json_set_uint(o, "key_max_len", qk_attr_uint(tb[QKTLS_A_POOL_KEY_MAX_LEN]));
	qk_json_set_uint(o, "low_watermark", qk_attr_uint(tb[QKTLS_A_POOL_LOW_WATERMARK]));
	qk_json_set_uint(o, "key_lifetime", qk_attr_uint(tb[QKTLS_A_POOL_KEY_LIFETIME]));
	qk_json_set_uint(o, "rekey_bytes", qk_attr_uint(tb[QKTLS_A_POOL_REKEY_BYTES]));
	qk_json_set_uint(o, "rekey_seconds", qk_attr_uint(tb[QKTLS_A_POOL_REKEY_SECONDS]));
	qk_json_set_uint(o, "key_bytes", qk_attr_uint(tb[QKTLS_A_POOL_KEY_BYTES]));
	qk_json_set_uint(o, "mem_bytes", qk_attr_uint(tb[QKTLS_A_POOL_MEM_BYTES]));
	json_object_set_new(o, "stats", qk_stats_json(tb[QKTLS_A_POOL_STATS]));
	return o;
}

static void pool_text(struct nlattr **tb, bool brief)
{
	unsigned long long lo = qk_attr_uint(tb[QKTLS_A_POOL_KEY_MIN_LEN]);
	unsigned long long hi = qk_attr_uint(tb[QKTLS_A_POOL_KEY_MAX_LEN]);

	if (brief) {
		printf("%s keys %llu capacity %llu", attr_str(tb[QKTLS_A_POOL_NAME]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_KEY_COUNT]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_CAPACITY]));
		if (tb[QKTLS_A_POOL_PEER])
			printf(" peer %s", attr_str(tb[QKTLS_A_POOL_PEER]));
		putchar('\n');
		return;
	}
	printf("pool %s id %llu", attr_str(tb[QKTLS_A_POOL_NAME]),
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_ID]));
	if (tb[QKTLS_A_POOL_PEER])
		printf(" peer %s", attr_str(tb[QKTLS_A_POOL_PEER]));
	if (lo == hi)
		printf(" key-len %llu", lo);
	else
		printf(" key-len %llu-%llu", lo, hi);
	printf(" capacity %llu low %llu lifetime %llu\n",
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_CAPACITY]),
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_LOW_WATERMARK]),
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_KEY_LIFETIME]));
	if (qk_attr_uint(tb[QKTLS_A_POOL_REKEY_BYTES]) ||
	    qk_attr_uint(tb[QKTLS_A_POOL_REKEY_SECONDS]))
		printf("\trekey-bytes %llu rekey-seconds %llu (sockets attached for TX)\n",
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_REKEY_BYTES]),
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_REKEY_SECONDS]));
	printf("\tkeys %llu key-bytes %llu mem-bytes %llu\n",
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_KEY_COUNT]),
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_KEY_BYTES]),
	       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_MEM_BYTES]));
	if (tb[QKTLS_A_POOL_STATS])
		qk_stats_print(tb[QKTLS_A_POOL_STATS], "\t");
}

static int show_cb(struct nlattr **tb, struct nlmsghdr *nlh, void *arg)
{
	struct show_state *st = arg;

	(void)nlh;
	if (!tb[QKTLS_A_POOL_NAME])
		return 0;
	if (st->arr) {
		json_t *o = pool_json(tb, st->brief);

		if (!o || json_array_append_new(st->arr, o)) {
			qk_err("out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	pool_text(tb, st->brief);
	return 0;
}

static int pool_show(bool brief, int argc, char **argv)
{
	struct show_state st = { .brief = brief };
	const char *verb = brief ? "list" : "show";
	const char *name = NULL;
	struct qk_nl nl;
	struct nl_msg *msg;
	char what[64];
	int ret = -1;

	if (!brief && argc > 0)
		name = argv[0];
	if (argc > (brief ? 0 : 1))
		return qk_usage_err("pool", "pool %s: unknown argument \"%s\"",
				    verb, argv[brief ? 0 : 1]);
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	if (qk_json) {
		st.arr = json_array();
		if (!st.arr) {
			qk_err("out of memory");
			goto out;
		}
	}
	msg = qk_msg_new(&nl, QKTLS_CMD_POOL_GET, name ? 0 : NLM_F_DUMP, 0);
	if (msg && (!name || nla_put_string(msg, QKTLS_A_POOL_NAME, name) == 0)) {
		snprintf(what, sizeof(what), "pool %s", verb);
		ret = qk_nl_run(&nl, msg, show_cb, &st, what);
	}
	nlmsg_free(msg);
	if (st.arr) {
		if (!ret)
			ret = qk_json_print(st.arr);
		else
			json_decref(st.arr);
	}
out:
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

struct len_state {
	uint32_t min, max;
	bool found;
};

static int len_cb(struct nlattr **tb, struct nlmsghdr *nlh, void *arg)
{
	struct len_state *st = arg;

	(void)nlh;
	if (!tb[QKTLS_A_POOL_KEY_MIN_LEN] || !tb[QKTLS_A_POOL_KEY_MAX_LEN])
		return 0;
	st->min = (uint32_t)qk_attr_uint(tb[QKTLS_A_POOL_KEY_MIN_LEN]);
	st->max = (uint32_t)qk_attr_uint(tb[QKTLS_A_POOL_KEY_MAX_LEN]);
	st->found = true;
	return 0;
}

/* The key length range of @pool, asked of the kernel. */
int qk_pool_key_len(struct qk_nl *nl, const char *pool, uint32_t *min,
		    uint32_t *max)
{
	struct len_state st = { 0 };
	struct nl_msg *msg;
	int ret = -1;

	msg = qk_msg_new(nl, QKTLS_CMD_POOL_GET, 0, 0);
	if (msg && nla_put_string(msg, QKTLS_A_POOL_NAME, pool) == 0)
		ret = qk_nl_run(nl, msg, len_cb, &st, "key add");
	nlmsg_free(msg);
	if (ret)
		return -1;
	if (!st.found) {
		qk_err("key add: the kernel did not report the key length of pool %s", pool);
		return -1;
	}
	*min = st.min;
	*max = st.max;
	return 0;
}

int do_pool(int argc, char **argv)
{
	const char *verb;

	if (argc < 1)
		return qk_usage_err("pool", "pool: missing command");
	verb = argv[0];
	argc--;
	argv++;
	if (qk_is_help(verb)) {
		usage_pool(stdout);
		return 0;
	}
	if (argc > 0 && qk_is_help(argv[0])) {
		usage_pool(stdout);
		return 0;
	}
	if (!strcmp(verb, "add"))
		return pool_change(QKTLS_CMD_POOL_NEW, "add", argc, argv);
	if (!strcmp(verb, "set"))
		return pool_change(QKTLS_CMD_POOL_SET, "set", argc, argv);
	if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		return pool_del(argc, argv);
	if (!strcmp(verb, "show"))
		return pool_show(false, argc, argv);
	if (!strcmp(verb, "list") || !strcmp(verb, "ls"))
		return pool_show(true, argc, argv);
	return qk_usage_err("pool", "pool: unknown command \"%s\"", verb);
}
