// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls monitor: print the events of the "events" multicast group, one
 * line each (with -j, one JSON object per line), as they arrive.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>

#include "qktls.h"

void usage_monitor(FILE *f)
{
	fputs("Usage: qktls [-j] monitor [pool NAME] [count EVENTS]\n"
	      "Print qktls events as they happen, one per line, until interrupted\n"
	      "or after EVENTS events.  \"pool NAME\" shows only that pool's.\n"
	      "Once subscribed it says \"listening\" on stderr.\n", f);
}

struct mon_state {
	const char *pool;
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
	/* One object per line, whatever -p says. */
	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ||
	    putchar('\n') == EOF || fflush(stdout)) {
		json_decref(o);
		return -EIO;
	}
	json_decref(o);
	return 0;
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
		if (qk_is_help(argv[i])) {
			usage_monitor(stdout);
			return 0;
		}
		if (strcmp(argv[i], "pool") && strcmp(argv[i], "count"))
			return qk_usage_err("monitor", "monitor: unknown argument \"%s\"", argv[i]);
		if (i + 1 == argc)
			return qk_usage_err("monitor", "monitor: \"%s\" needs a value", argv[i]);
		if (!strcmp(argv[i], "pool")) {
			st.pool = argv[i + 1];
		} else {
			if (qk_parse_u64("count", argv[i + 1], &st.count))
				return QK_EXIT_USAGE;
			if (!st.count)
				return qk_usage_err("monitor", "monitor: count must be at least 1");
		}
	}
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
