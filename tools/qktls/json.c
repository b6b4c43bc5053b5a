// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: output helpers.  JSON goes through jansson; -p indents it.
 */
#include <stdio.h>

#include "qktls.h"

/* Print @v (and free it) as one JSON document followed by a newline. */
int qk_json_print(json_t *v)
{
	size_t flags = JSON_PRESERVE_ORDER;
	int ret;

	if (!v) {
		qk_err("out of memory");
		return -1;
	}
	flags |= qk_pretty ? JSON_INDENT(4) : JSON_COMPACT;
	ret = json_dumpf(v, stdout, flags);
	json_decref(v);
	if (ret < 0 || fputc('\n', stdout) == EOF) {
		qk_err("cannot write the output");
		return -1;
	}
	return 0;
}

void qk_json_set_uint(json_t *obj, const char *key, uint64_t v)
{
	json_object_set_new(obj, key, json_integer((json_int_t)v));
}

void qk_json_set_str(json_t *obj, const char *key, const char *v)
{
	json_object_set_new(obj, key, json_string(v));
}

static const struct {
	int attr;
	const char *json;
	const char *text;
} stats_names[] = {
	{ QKTLS_STATS_A_KEYS_ADDED, "keys_added", "added" },
	{ QKTLS_STATS_A_KEYS_CONSUMED, "keys_consumed", "consumed" },
	{ QKTLS_STATS_A_KEYS_EXPIRED, "keys_expired", "expired" },
	{ QKTLS_STATS_A_KEYS_DROPPED, "keys_dropped", "dropped" },
	{ QKTLS_STATS_A_BYTES_ADDED, "bytes_added", "bytes-added" },
	{ QKTLS_STATS_A_BYTES_CONSUMED, "bytes_consumed", "bytes-consumed" },
	{ QKTLS_STATS_A_ADD_REJECTED, "add_rejected", "add-rejected" },
	{ QKTLS_STATS_A_LOW_EVENTS, "low_events", "low-events" },
	{ QKTLS_STATS_A_EMPTY_EVENTS, "empty_events", "empty-events" },
};

static int parse_stats(const struct nlattr *nest,
		       struct nlattr *tb[QKTLS_STATS_A_MAX + 1])
{
	if (!nest)
		return -1;
	return nla_parse_nested(tb, QKTLS_STATS_A_MAX, (struct nlattr *)nest,
				qk_stats_policy);
}

/* The counters nested in QKTLS_A_POOL_STATS, as a JSON object. */
json_t *qk_stats_json(const struct nlattr *nest)
{
	struct nlattr *tb[QKTLS_STATS_A_MAX + 1];
	json_t *o = json_object();
	size_t i;

	if (!o || parse_stats(nest, tb) < 0)
		return o;
	for (i = 0; i < sizeof(stats_names) / sizeof(stats_names[0]); i++)
		if (tb[stats_names[i].attr])
			qk_json_set_uint(o, stats_names[i].json,
					 qk_attr_uint(tb[stats_names[i].attr]));
	return o;
}

/* The same counters as one indented line of "name value" pairs. */
void qk_stats_print(const struct nlattr *nest, const char *indent)
{
	struct nlattr *tb[QKTLS_STATS_A_MAX + 1];
	const char *sep = "";
	size_t i;

	if (parse_stats(nest, tb) < 0)
		return;
	fputs(indent, stdout);
	for (i = 0; i < sizeof(stats_names) / sizeof(stats_names[0]); i++) {
		if (!tb[stats_names[i].attr])
			continue;
		printf("%s%s %llu", sep, stats_names[i].text,
		       (unsigned long long)qk_attr_uint(tb[stats_names[i].attr]));
		sep = " ";
	}
	putchar('\n');
}
