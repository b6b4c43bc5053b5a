// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls monitor: print the events of the "events" multicast group, one
 * line each (with -j, one JSON object per line), as they arrive: pool
 * events and the attached sockets' rekey events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>

#include "qktls.h"

void usage_monitor(FILE *f)
{
	fputs("Usage: qktls [-j] monitor [pool NAME | sock ID] [count EVENTS]\n"
	      "Print qktls events as they happen, one per line, until interrupted\n"
	      "or after EVENTS events: pools (created, deleted, low, empty, keys\n"
	      "expired) and attached sockets (rekey done or failed, rekey due).\n"
	      "\"pool NAME\" shows only that pool's events, \"sock ID\" only that\n"
	      "socket's.  Once subscribed it says \"listening\" on stderr.\n", f);
}

struct mon_state {
	const char *pool;
	uint64_t sock;		/* 0 = every socket */
	uint64_t count;		/* 0 = no limit */
	uint64_t seen;
	int err;
};

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case QKTLS_CMD_POOL_CREATED_NTF:
		return "pool-created";
	case QKTLS_CMD_POOL_DELETED_NTF:
		return "pool-deleted";
	case QKTLS_CMD_POOL_LOW_NTF:
		return "pool-low";
	case QKTLS_CMD_POOL_EMPTY_NTF:
		return "pool-empty";
	case QKTLS_CMD_KEYS_EXPIRED_NTF:
		return "keys-expired";
	case QKTLS_CMD_SOCK_REKEY_NTF:
		return "sock-rekey";
	case QKTLS_CMD_SOCK_REKEY_DUE_NTF:
		return "sock-rekey-due";
	}
	return NULL;
}

static const struct {
	int attr;
	const char *json;
	const char *text;
} event_fields[] = {
	{ QKTLS_A_POOL_KEY_COUNT, "key_count", "keys" },
	{ QKTLS_A_POOL_LOW_WATERMARK, "low_watermark", "low" },
	{ QKTLS_A_POOL_CAPACITY, "capacity", "capacity" },
	{ QKTLS_A_EXPIRED_COUNT, "expired_count", "expired" },
};

/* Print @o (and free it) on one line, whatever -p says. */
static int print_compact(json_t *o)
{
	int ret = 0;

	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ||
	    putchar('\n') == EOF || fflush(stdout))
		ret = -EIO;
	json_decref(o);
	return ret;
}

static bool is_sock_event(uint8_t cmd)
{
	return cmd == QKTLS_CMD_SOCK_REKEY_NTF ||
	       cmd == QKTLS_CMD_SOCK_REKEY_DUE_NTF;
}

static const char *dir_name(struct nlattr *a)
{
	switch (qk_attr_uint(a)) {
	case QKTLS_SOCK_DIR_TX:
		return "tx";
	case QKTLS_SOCK_DIR_RX:
		return "rx";
	}
	return "?";
}

/*
 * sock-rekey id 7 link dc1 dir tx key-ref UUID result ok
 * sock-rekey id 7 link dc1 dir tx result ENOKEY
 * sock-rekey-due id 7 link dc1 tx-rekeys 3 ... (the socket's counters)
 */
static int print_sock_event(const char *name, uint8_t cmd, struct nlattr **tb)
{
	int32_t err = (int32_t)qk_attr_uint(tb[QKTLS_A_SOCK_ERROR]);
	char ref[37] = "", ebuf[24];
	json_t *o;

	if (tb[QKTLS_A_SOCK_KEY_REF])
		qk_format_key_id(nla_data(tb[QKTLS_A_SOCK_KEY_REF]), ref);
	if (!qk_json) {
		printf("%s id %llu", name,
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_SOCK_ID]));
		if (tb[QKTLS_A_SOCK_LINK] && nla_len(tb[QKTLS_A_SOCK_LINK]) > 1)
			printf(" link %s", nla_get_string(tb[QKTLS_A_SOCK_LINK]));
		if (cmd == QKTLS_CMD_SOCK_REKEY_NTF) {
			printf(" dir %s", dir_name(tb[QKTLS_A_SOCK_DIRECTION]));
			if (ref[0])
				printf(" key-ref %s", ref);
			printf(" result %s", err ? qk_errno_name(err < 0 ? -(int64_t)err : err, ebuf) : "ok");
		}
		if (tb[QKTLS_A_SOCK_STATS])
			qk_counters_print(tb[QKTLS_A_SOCK_STATS], qk_sock_counters, " ");
		else
			putchar('\n');
		return fflush(stdout) ? -EIO : 0;
	}
	o = json_object();
	if (!o)
		return -ENOMEM;
	qk_json_set_str(o, "event", name);
	qk_json_set_uint(o, "id", qk_attr_uint(tb[QKTLS_A_SOCK_ID]));
	if (tb[QKTLS_A_SOCK_LINK])
		qk_json_set_str(o, "link", nla_get_string(tb[QKTLS_A_SOCK_LINK]));
	if (cmd == QKTLS_CMD_SOCK_REKEY_NTF) {
		qk_json_set_str(o, "direction", dir_name(tb[QKTLS_A_SOCK_DIRECTION]));
		if (ref[0])
			qk_json_set_str(o, "key_ref", ref);
		json_object_set_new(o, "error", json_integer(err));
		if (err)
			qk_json_set_str(o, "error_name",
					qk_errno_name(err < 0 ? -(int64_t)err : err, ebuf));
	}
	if (tb[QKTLS_A_SOCK_STATS])
		json_object_set_new(o, "stats",
				    qk_counters_json(tb[QKTLS_A_SOCK_STATS],
						     qk_sock_counters));
	return print_compact(o);
}

static int print_event(uint8_t cmd, struct nlattr **tb)
{
	const char *name = event_name(cmd);
	const char *pool = tb[QKTLS_A_POOL_NAME] ?
			   nla_get_string(tb[QKTLS_A_POOL_NAME]) : "";
	char unknown[32];
	size_t i;
	json_t *o;

	if (!name) {
		snprintf(unknown, sizeof(unknown), "event-%u", cmd);
		name = unknown;
	}
	if (is_sock_event(cmd))
		return print_sock_event(name, cmd, tb);
	if (!qk_json) {
		printf("%s %s id %llu", name, pool,
		       (unsigned long long)qk_attr_uint(tb[QKTLS_A_POOL_ID]));
		if (tb[QKTLS_A_POOL_PEER])
			printf(" peer %s", nla_get_string(tb[QKTLS_A_POOL_PEER]));
		for (i = 0; i < sizeof(event_fields) / sizeof(event_fields[0]); i++)
			if (tb[event_fields[i].attr])
				printf(" %s %llu", event_fields[i].text,
				       (unsigned long long)qk_attr_uint(tb[event_fields[i].attr]));
		putchar('\n');
		return fflush(stdout) ? -EIO : 0;
	}
	o = json_object();
	if (!o)
		return -ENOMEM;
	qk_json_set_str(o, "event", name);
	qk_json_set_str(o, "name", pool);
	qk_json_set_uint(o, "id", qk_attr_uint(tb[QKTLS_A_POOL_ID]));
	if (tb[QKTLS_A_POOL_PEER])
		qk_json_set_str(o, "peer", nla_get_string(tb[QKTLS_A_POOL_PEER]));
	for (i = 0; i < sizeof(event_fields) / sizeof(event_fields[0]); i++)
		if (tb[event_fields[i].attr])
			qk_json_set_uint(o, event_fields[i].json,
					 qk_attr_uint(tb[event_fields[i].attr]));
	return print_compact(o);
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct mon_state *st = arg;

	if (qk_parse_reply(msg, tb) < 0) {
		qk_err("monitor: malformed event");
		return NL_SKIP;
	}
	if (st->pool && (!tb[QKTLS_A_POOL_NAME] ||
			 strcmp(nla_get_string(tb[QKTLS_A_POOL_NAME]), st->pool)))
		return NL_OK;
	if (st->sock && qk_attr_uint(tb[QKTLS_A_SOCK_ID]) != st->sock)
		return NL_OK;
	if (print_event(gh->cmd, tb)) {
		qk_err("monitor: cannot write the output");
		st->err = -EIO;
		return NL_STOP;
	}
	st->seen++;
	return st->count && st->seen >= st->count ? NL_STOP : NL_OK;
}

int do_monitor(int argc, char **argv)
{
	struct mon_state st = { 0 };
	struct nl_cb *cb = NULL;
	struct qk_nl nl;
	int i, grp, ret = EXIT_FAILURE;

	for (i = 0; i < argc; i += 2) {
		const char *kw = argv[i];
		bool twice;

		if (qk_is_help(kw)) {
			usage_monitor(stdout);
			return 0;
		}
		if (!strcmp(kw, "pool"))
			twice = st.pool;
		else if (!strcmp(kw, "sock"))
			twice = st.sock;
		else if (!strcmp(kw, "count"))
			twice = st.count;
		else
			return qk_usage_err("monitor", "monitor: unknown argument \"%s\"", kw);
		if (twice)
			return qk_usage_err("monitor", "monitor: \"%s\" given twice", kw);
		if (i + 1 == argc)
			return qk_usage_err("monitor", "monitor: \"%s\" needs a value", kw);
		if (!strcmp(kw, "pool")) {
			st.pool = argv[i + 1];
		} else if (!strcmp(kw, "sock")) {
			if (qk_parse_sock_id("monitor", argv[i + 1], &st.sock))
				return QK_EXIT_USAGE;
		} else {
			if (qk_parse_u64("count", argv[i + 1], &st.count))
				return QK_EXIT_USAGE;
			if (!st.count)
				return qk_usage_err("monitor", "monitor: count must be at least 1");
		}
	}
	if (st.pool && st.sock)
		return qk_usage_err("monitor", "monitor: \"pool\" and \"sock\" exclude each other (socket events name no pool)");
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	grp = genl_ctrl_resolve_grp(nl.sk, QKTLS_GENL_NAME, QKTLS_MCGRP_EVENTS);
	if (grp < 0) {
		qk_err("monitor: no \"%s\" multicast group: %s", QKTLS_MCGRP_EVENTS,
		       nl_geterror(grp));
		goto out;
	}
	nl_socket_disable_seq_check(nl.sk);
	nl_socket_set_buffer_size(nl.sk, 1 << 20, 0);
	i = nl_socket_add_membership(nl.sk, grp);
	if (i < 0) {
		qk_err("monitor: cannot join the events group: %s", nl_geterror(i));
		goto out;
	}
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		qk_err("out of memory");
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &st);
	fputs("qktls: monitor: listening\n", stderr);
	fflush(stderr);
	while (!st.err && (!st.count || st.seen < st.count)) {
		i = nl_recvmsgs(nl.sk, cb);
		if (i == -NLE_NOMEM) {
			/* ENOBUFS: the socket overflowed, events were lost. */
			qk_err("monitor: events were lost (receive buffer overrun)");
			continue;
		}
		if (i < 0 && i != -NLE_INTR) {
			qk_err("monitor: %s", nl_geterror(i));
			goto out;
		}
	}
	if (!st.err)
		ret = 0;
out:
	nl_cb_put(cb);
	qk_nl_close(&nl);
	return ret;
}
