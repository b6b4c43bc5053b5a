/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: admin tool for the qktls generic netlink family.
 *
 * Shared declarations: global options, the netlink layer (nl.c), argument
 * and number parsing (parse.c), output helpers (json.c) and the command
 * entry points (pool.c, key.c, stats.c, sock.c, monitor.c).
 */
#ifndef QKTLS_TOOL_H
#define QKTLS_TOOL_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <linux/qktls.h>

#ifndef QKTLS_VERSION_STRING
#define QKTLS_VERSION_STRING "0.1"
#endif

/* Exit statuses: EXIT_FAILURE (1) for a failed operation, this for bad usage. */
#define QK_EXIT_USAGE 2

/* Global options (main.c). */
extern bool qk_json;		/* -j: JSON output */
extern bool qk_pretty;		/* -p: indented JSON / more detail */
extern bool qk_stats;		/* -s: every counter in tables */

/* ---- netlink (nl.c) ---- */

struct qk_nl {
	struct nl_sock *sk;
	int family;
};

/* What the kernel said about a failed request. */
struct qk_nlerr {
	int err;			/* negative errno, 0 if none */
	char msg[256];			/* extack message, "" if none */
	bool has_offs;			/* extack offset present */
	uint32_t offs;			/* byte offset in the request */
	bool has_miss;			/* a required attribute was missing */
	uint32_t miss_type;
};

/*
 * Called for every reply message of a request or dump: @tb holds its
 * top-level attributes (the last of repeated ones), @nlh the whole message
 * for attributes that repeat (QKTLS_A_KEY).  A negative return fails the
 * request after the replies are read.
 */
typedef int (*qk_reply_fn)(struct nlattr **tb, struct nlmsghdr *nlh,
			   void *arg);

int qk_nl_open(struct qk_nl *nl);
void qk_nl_close(struct qk_nl *nl);
struct nl_msg *qk_msg_new(struct qk_nl *nl, uint8_t cmd, int flags, size_t size);
void qk_msg_free_wiped(struct nl_msg *msg);
int qk_nl_exec(struct qk_nl *nl, struct nl_msg *msg, qk_reply_fn fn,
	       void *arg, struct qk_nlerr *e);
int qk_nl_run(struct qk_nl *nl, struct nl_msg *msg, qk_reply_fn fn,
	      void *arg, const char *what);
void qk_nlerr_print(const struct qk_nlerr *e, const char *what,
		    const char *detail);
int qk_parse_reply(struct nl_msg *msg, struct nlattr **tb);

extern struct nla_policy qk_policy[QKTLS_A_MAX + 1];
extern struct nla_policy qk_key_policy[QKTLS_KEY_A_MAX + 1];

uint64_t qk_attr_uint(const struct nlattr *a);

/* ---- parsing (parse.c) ---- */

void qk_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int qk_usage_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int qk_parse_u32(const char *what, const char *s, uint32_t *out);
int qk_parse_u64(const char *what, const char *s, uint64_t *out);
int qk_parse_size(const char *what, const char *s, uint64_t *out);
int qk_parse_key_id(const char *s, size_t len, uint8_t id[QKTLS_KEY_ID_LEN]);
void qk_format_key_id(const uint8_t id[QKTLS_KEY_ID_LEN], char out[37]);
bool qk_is_help(const char *s);

/* ---- output (json.c) ---- */

int qk_json_print(json_t *v);
void qk_json_set_uint(json_t *obj, const char *key, uint64_t v);
void qk_json_set_str(json_t *obj, const char *key, const char *v);
/* A counter of a nested counters attribute; lists end with { 0 }. */
struct qk_counter {
	int attr;
	const char *json;	/* JSON name */
	const char *text;	/* name in text output */
};

int qk_parse_counters(const struct nlattr *nest, int max, struct nlattr **tb);
json_t *qk_counters_json(const struct nlattr *nest,
			 const struct qk_counter *names);
void qk_counters_print(const struct nlattr *nest,
		       const struct qk_counter *names, const char *indent);
json_t *qk_stats_json(const struct nlattr *nest);
void qk_stats_print(const struct nlattr *nest, const char *indent);

/* ---- key input (keyfile.c) ---- */

struct qk_key_rec {
	uint8_t id[QKTLS_KEY_ID_LEN];
	uint8_t material[QKTLS_KEY_MAX_LEN];
	size_t len;
	bool has_index;
	uint64_t index;
	unsigned long line;	/* hex: line number; raw: record number */
};

struct qk_keyfile {
	unsigned char *buf;	/* the whole input, wiped on close */
	size_t len, cap, pos;
	unsigned long line;
	bool raw;
	size_t raw_len;		/* raw: key length of every record */
	const char *name;	/* for messages */
};

int qk_keyfile_read(struct qk_keyfile *kf, const char *path);
int qk_keyfile_next(struct qk_keyfile *kf, struct qk_key_rec *rec);
void qk_keyfile_close(struct qk_keyfile *kf);
void qk_wipe(void *p, size_t len);

/* ---- commands ---- */

int do_pool(int argc, char **argv);
int do_key(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_monitor(int argc, char **argv);
int do_sock(int argc, char **argv);

void usage_pool(FILE *f);
void usage_key(FILE *f);
void usage_stats(FILE *f);
void usage_monitor(FILE *f);
void usage_sock(FILE *f);

/* Attached sockets (sock.c), shared with the monitor. */
extern const struct qk_counter qk_sock_counters[];
int qk_parse_sock_id(const char *what, const char *s, uint64_t *id);
const char *qk_cipher_name(uint64_t suite, char buf[8]);
const char *qk_errno_name(uint64_t err, char buf[24]);

/* Pool details (pool.c), reused by key add --raw to learn the key length. */
int qk_pool_key_len(struct qk_nl *nl, const char *pool, uint32_t *min,
		    uint32_t *max);

#endif /* QKTLS_TOOL_H */
