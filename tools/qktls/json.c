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

static const struct qk_counter pool_counters[] = {
	{ QKTLS_STATS_A_KEYS_ADDED, "keys_added", "added" },
	{ QKTLS_STATS_A_KEYS_CONSUMED, "keys_consumed", "consumed" },
	{ QKTLS_STATS_A_KEYS_EXPIRED, "keys_expired", "expired" },
	{ QKTLS_STATS_A_KEYS_DROPPED, "keys_dropped", "dropped" },
	{ QKTLS_STATS_A_BYTES_ADDED, "bytes_added", "bytes-added" },
	{ QKTLS_STATS_A_BYTES_CONSUMED, "bytes_consumed", "bytes-consumed" },
	{ QKTLS_STATS_A_ADD_REJECTED, "add_rejected", "add-rejected" },
	{ QKTLS_STATS_A_LOW_EVENTS, "low_events", "low-events" },
	{ QKTLS_STATS_A_EMPTY_EVENTS, "empty_events", "empty-events" },
	{ 0 }
};

/*
 * Parse the counters nested in @nest (attributes 1..@max) into @tb.
 * Returns 0, or -1 if there is no nest or it is malformed.
 */
int qk_parse_counters(const struct nlattr *nest, int max, struct nlattr **tb)
{
	if (!nest)
		return -1;
	return nla_parse_nested(tb, max, (struct nlattr *)nest, NULL) < 0 ?
	       -1 : 0;
}

/* Room for the attributes of every counters nest of the family. */
#define QK_COUNTERS_MAX	32
_Static_assert(QKTLS_STATS_A_MAX < QK_COUNTERS_MAX, "pool counters");
_Static_assert(QKTLS_SOCK_STATS_A_MAX < QK_COUNTERS_MAX, "socket counters");

static int counters_max(const struct qk_counter *names)
{
	int max = 0;

	for (; names->json; names++)
		if (names->attr > max)
			max = names->attr;
	return max;
}

/* The counters of @nest that @names lists, as a JSON object. */
json_t *qk_counters_json(const struct nlattr *nest,
			 const struct qk_counter *names)
{
	int max = counters_max(names);
	struct nlattr *tb[QK_COUNTERS_MAX];
	json_t *o = json_object();

	if (!o || qk_parse_counters(nest, max, tb) < 0)
		return o;
	for (; names->json; names++)
		if (tb[names->attr])
			qk_json_set_uint(o, names->json,
					 qk_attr_uint(tb[names->attr]));
	return o;
}

/* The same counters as one indented line of "name value" pairs. */
void qk_counters_print(const struct nlattr *nest,
		       const struct qk_counter *names, const char *indent)
{
	int max = counters_max(names);
	struct nlattr *tb[QK_COUNTERS_MAX];
	const char *sep = "";

	if (qk_parse_counters(nest, max, tb) < 0)
		return;
	fputs(indent, stdout);
	for (; names->json; names++) {
		if (!tb[names->attr])
			continue;
		printf("%s%s %llu", sep, names->text,
		       (unsigned long long)qk_attr_uint(tb[names->attr]));
		sep = " ";
	}
	putchar('\n');
}

/* The counters nested in QKTLS_A_POOL_STATS, as a JSON object. */
json_t *qk_stats_json(const struct nlattr *nest)
{
	return qk_counters_json(nest, pool_counters);
}

void qk_stats_print(const struct nlattr *nest, const char *indent)
{
	qk_counters_print(nest, pool_counters, indent);
}
