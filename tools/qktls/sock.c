// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls sock show|detach: kTLS sockets attached to qktls.ko.
 *
 * A socket is named by its cookie (SO_COOKIE), the number ss(8) prints
 * after "sk:" in hex.  Nothing here can see a secret: the kernel never
 * sends one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qktls/keysched.h>

#include "qktls.h"

void usage_sock(FILE *f)
{
	fputs("Usage: qktls [-j [-p] | -s] sock show [ID]\n"
	      "       qktls sock detach ID\n"
	      "ID is a socket cookie (SO_COOKIE): decimal, or hex with 0x as\n"
	      "ss -e prints it after \"sk:\".  show (or list) lists the attached\n"
	      "sockets of this network namespace (or one), with link, cipher suite,\n"
	      "QKD pools, whether the peer negotiated the QKD key update, the QKD\n"
	      "policy of the rekeys (off, preferred, required), the rekey policy,\n"
	      "whether a rekey is due, and the rekey counters; -s adds every other\n"
	      "counter: QKD rekeys, keys used, standard fallbacks, writes refused\n"
	      "for want of a QKD key, the peer's update requests, tickets dropped,\n"
	      "alerts and malformed records received.  The module rekeys the\n"
	      "sockets inside the applications' own writes and reads.\n"
	      "detach forgets a socket and wipes its secrets; the connection\n"
	      "goes on with its current keys but is no longer rekeyed, nor are\n"
	      "the peer's key updates followed.\n", f);
}

const struct qk_counter qk_sock_counters[] = {
	{ QKTLS_SOCK_STATS_A_TX_REKEYS, "tx_rekeys", "tx-rekeys" },
	{ QKTLS_SOCK_STATS_A_RX_REKEYS, "rx_rekeys", "rx-rekeys" },
	{ QKTLS_SOCK_STATS_A_TX_QKD_REKEYS, "tx_qkd_rekeys", "tx-qkd-rekeys" },
	{ QKTLS_SOCK_STATS_A_RX_QKD_REKEYS, "rx_qkd_rekeys", "rx-qkd-rekeys" },
	{ QKTLS_SOCK_STATS_A_KEYS_USED, "keys_used", "keys-used" },
	{ QKTLS_SOCK_STATS_A_REKEY_ERRORS, "rekey_errors", "rekey-errors" },
	{ QKTLS_SOCK_STATS_A_LAST_ERROR, "last_error", "last-error" },
	{ QKTLS_SOCK_STATS_A_REKEYS_DUE, "rekeys_due", "rekeys-due" },
	{ QKTLS_SOCK_STATS_A_REKEYS_OVERDUE, "rekeys_overdue", "rekeys-overdue" },
	{ QKTLS_SOCK_STATS_A_TX_BYTES, "tx_bytes", "tx-bytes" },
	{ QKTLS_SOCK_STATS_A_TX_KEY_AGE_MS, "tx_key_age_ms", "tx-key-age-ms" },
	{ QKTLS_SOCK_STATS_A_TX_RECORDS, "tx_records", "tx-records" },
	{ QKTLS_SOCK_STATS_A_TX_STD_FALLBACKS, "tx_std_fallbacks",
	  "tx-std-fallbacks" },
	{ QKTLS_SOCK_STATS_A_TX_REFUSED, "tx_refused", "tx-refused" },
	{ QKTLS_SOCK_STATS_A_UPDATES_REQUESTED, "updates_requested",
	  "updates-requested" },
	{ QKTLS_SOCK_STATS_A_TICKETS_DROPPED, "tickets_dropped",
	  "tickets-dropped" },
	{ QKTLS_SOCK_STATS_A_ALERTS, "alerts", "alerts" },
	{ QKTLS_SOCK_STATS_A_RX_ERRORS, "rx_errors", "rx-errors" },
	{ 0 }
};

/*
 * A socket ID: a decimal number, or 0x and hex digits, not 0 (cookies
 * start at 1).  Returns 0, or -1 after saying what is wrong.
 */
int qk_parse_sock_id(const char *what, const char *s, uint64_t *id)
{
	bool hex = !strncmp(s, "0x", 2) || !strncmp(s, "0X", 2);
	const char *digits = hex ? s + 2 : s;
	size_t n = strlen(digits);

	if (!n || strspn(digits, hex ? "0123456789abcdefABCDEF" :
				      "0123456789") != n) {
		qk_err("%s: \"%s\" is not a socket ID (a decimal number, or 0x and hex digits)",
		       what, s);
		return -1;
	}
	errno = 0;
	*id = strtoull(digits, NULL, hex ? 16 : 10);
	if (errno == ERANGE) {
		qk_err("%s: socket ID %s is out of range (64 bits)", what, s);
		return -1;
	}
	if (!*id) {
		qk_err("%s: socket ID 0 names no socket (cookies start at 1)", what);
		return -1;
	}
	return 0;
}

/* "TLS_AES_256_GCM_SHA384", or "0xNNNN" for a suite libqktls does not know. */
const char *qk_cipher_name(uint64_t suite, char buf[8])
{
	const struct qktls_suite_info *si = suite <= UINT16_MAX ?
					    qktls_suite_info((uint16_t)suite) : NULL;

	if (si)
		return si->name;
	snprintf(buf, 8, "0x%04llx", (unsigned long long)suite & 0xffff);
	return buf;
}

/* "required", "preferred", "off", or the number the module sent. */
static const char *qkd_policy_name(uint64_t p, char buf[24])
{
	switch (p) {
	case QKTLS_QKD_OFF:
		return "off";
	case QKTLS_QKD_PREFERRED:
		return "preferred";
	case QKTLS_QKD_REQUIRED:
		return "required";
	}
	snprintf(buf, 24, "%llu", (unsigned long long)p);
	return buf;
}

/* The errno name of a positive errno (ENOKEY), or its number. */
const char *qk_errno_name(uint64_t err, char buf[24])
{
	const char *n = err && err < 4096 ? strerrorname_np((int)err) : NULL;

	if (!err)
		return "0";
	if (n)
		return n;
	snprintf(buf, 24, "%llu", (unsigned long long)err);
	return buf;
}

/* ---- show ------------------------------------------------------------------- */

enum {
	COL_ID, COL_LINK, COL_CIPHER, COL_TX_POOL, COL_RX_POOL, COL_QKD,
	COL_QKD_POLICY, COL_POLICY, COL_DUE, COL_TX_REKEYS, COL_RX_REKEYS,
	COL_ERRORS,
	COL_BASIC,
	/* -s */
	COL_TX_QKD = COL_BASIC, COL_RX_QKD, COL_KEYS_USED, COL_LAST_ERROR,
	COL_DUE_COUNT, COL_OVERDUE, COL_TX_BYTES, COL_KEY_AGE,
	COL_STD_FALLBACKS, COL_TX_REFUSED, COL_UPDATES_REQ, COL_TICKETS,
	COL_ALERTS, COL_RX_ERRORS,
	COL_ALL
};

static const char *const col_head[COL_ALL] = {
	"ID", "LINK", "CIPHER", "TX-POOL", "RX-POOL", "QKD-UPDATE",
	"QKD-POLICY", "POLICY", "DUE", "TX-REKEYS", "RX-REKEYS", "ERRORS",
	"TX-QKD", "RX-QKD", "KEYS-USED", "LAST-ERROR", "DUE-COUNT", "OVERDUE",
	"TX-BYTES", "KEY-AGE-MS", "STD-FALLBACKS", "TX-REFUSED",
	"UPDATES-REQ", "TICKETS", "ALERTS", "RX-ERRORS",
};

/* The counter shown in each counter column. */
static const int col_counter[COL_ALL] = {
	[COL_TX_REKEYS] = QKTLS_SOCK_STATS_A_TX_REKEYS,
	[COL_RX_REKEYS] = QKTLS_SOCK_STATS_A_RX_REKEYS,
	[COL_ERRORS] = QKTLS_SOCK_STATS_A_REKEY_ERRORS,
	[COL_TX_QKD] = QKTLS_SOCK_STATS_A_TX_QKD_REKEYS,
	[COL_RX_QKD] = QKTLS_SOCK_STATS_A_RX_QKD_REKEYS,
	[COL_KEYS_USED] = QKTLS_SOCK_STATS_A_KEYS_USED,
	[COL_DUE_COUNT] = QKTLS_SOCK_STATS_A_REKEYS_DUE,
	[COL_OVERDUE] = QKTLS_SOCK_STATS_A_REKEYS_OVERDUE,
	[COL_TX_BYTES] = QKTLS_SOCK_STATS_A_TX_BYTES,
	[COL_KEY_AGE] = QKTLS_SOCK_STATS_A_TX_KEY_AGE_MS,
	[COL_STD_FALLBACKS] = QKTLS_SOCK_STATS_A_TX_STD_FALLBACKS,
	[COL_TX_REFUSED] = QKTLS_SOCK_STATS_A_TX_REFUSED,
	[COL_UPDATES_REQ] = QKTLS_SOCK_STATS_A_UPDATES_REQUESTED,
	[COL_TICKETS] = QKTLS_SOCK_STATS_A_TICKETS_DROPPED,
	[COL_ALERTS] = QKTLS_SOCK_STATS_A_ALERTS,
	[COL_RX_ERRORS] = QKTLS_SOCK_STATS_A_RX_ERRORS,
};

struct sock_show {
	json_t *arr;		/* -j: the array being built */
	char *(*rows)[COL_ALL];	/* text: the table, printed at the end */
	size_t n, cap;
};

static const char *str_or(struct nlattr *a, const char *dflt)
{
	return a && nla_len(a) > 1 ? nla_get_string(a) : dflt;
}

/* 16777216 -> "16MiB", 1000 -> "1000B": exact binary units only. */
static void fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && v && !(v % 1024)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)v, unit[u]);
}

/* The rekey policy in a few characters: "16MiB/60s", "16MiB", "60s", "none". */
static void fmt_policy(uint64_t bytes, uint64_t secs, char *buf, size_t len)
{
	char b[32] = "";

	if (bytes)
		fmt_bytes(bytes, b, sizeof(b));
	if (bytes && secs)
		snprintf(buf, len, "%s/%llus", b, (unsigned long long)secs);
	else if (bytes)
		snprintf(buf, len, "%s", b);
	else if (secs)
		snprintf(buf, len, "%llus", (unsigned long long)secs);
	else
		snprintf(buf, len, "none");
}

static json_t *sock_json(struct nlattr **tb)
{
	json_t *o = json_object();
	char cbuf[8], pbuf[24];

	if (!o)
		return NULL;
	qk_json_set_uint(o, "id", qk_attr_uint(tb[QKTLS_A_SOCK_ID]));
	qk_json_set_str(o, "link", str_or(tb[QKTLS_A_SOCK_LINK], ""));
	qk_json_set_str(o, "cipher",
			qk_cipher_name(qk_attr_uint(tb[QKTLS_A_SOCK_CIPHER]), cbuf));
	qk_json_set_uint(o, "cipher_id", qk_attr_uint(tb[QKTLS_A_SOCK_CIPHER]));
	if (tb[QKTLS_A_SOCK_TX_POOL])
		qk_json_set_str(o, "tx_pool", str_or(tb[QKTLS_A_SOCK_TX_POOL], ""));
	if (tb[QKTLS_A_SOCK_RX_POOL])
		qk_json_set_str(o, "rx_pool", str_or(tb[QKTLS_A_SOCK_RX_POOL], ""));
	json_object_set_new(o, "qkd_update",
			    json_boolean(tb[QKTLS_A_SOCK_QKD_UPDATE] != NULL));
	if (tb[QKTLS_A_SOCK_QKD_POLICY])
		qk_json_set_str(o, "qkd_policy", qkd_policy_name(
				qk_attr_uint(tb[QKTLS_A_SOCK_QKD_POLICY]), pbuf));
	qk_json_set_uint(o, "rekey_bytes", qk_attr_uint(tb[QKTLS_A_SOCK_REKEY_BYTES]));
	qk_json_set_uint(o, "rekey_seconds", qk_attr_uint(tb[QKTLS_A_SOCK_REKEY_SECONDS]));
	qk_json_set_uint(o, "rekey_records", qk_attr_uint(tb[QKTLS_A_SOCK_REKEY_RECORDS]));
	json_object_set_new(o, "rekey_due",
			    json_boolean(tb[QKTLS_A_SOCK_REKEY_DUE] != NULL));
	json_object_set_new(o, "stats",
			    qk_counters_json(tb[QKTLS_A_SOCK_STATS], qk_sock_counters));
	return o;
}

static int sock_row(struct sock_show *st, struct nlattr **tb)
{
	struct nlattr *stats[QKTLS_SOCK_STATS_A_MAX + 1];
	char buf[64], cbuf[8], ebuf[24];
	char **row;
	int c;

	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 16;
		void *p = realloc(st->rows, cap * sizeof(*st->rows));

		if (!p)
			return -ENOMEM;
		st->rows = p;
		st->cap = cap;
	}
	row = st->rows[st->n];
	memset(row, 0, sizeof(*st->rows));
	st->n++;
	if (qk_parse_counters(tb[QKTLS_A_SOCK_STATS], QKTLS_SOCK_STATS_A_MAX,
			      stats) < 0)
		memset(stats, 0, sizeof(stats));
	for (c = 0; c < COL_ALL; c++) {
		const char *v = buf;

		switch (c) {
		case COL_ID:
			snprintf(buf, sizeof(buf), "%llu",
				 (unsigned long long)qk_attr_uint(tb[QKTLS_A_SOCK_ID]));
			break;
		case COL_LINK:
			v = str_or(tb[QKTLS_A_SOCK_LINK], "-");
			break;
		case COL_CIPHER:
			v = qk_cipher_name(qk_attr_uint(tb[QKTLS_A_SOCK_CIPHER]), cbuf);
			break;
		case COL_TX_POOL:
			v = str_or(tb[QKTLS_A_SOCK_TX_POOL], "-");
			break;
		case COL_RX_POOL:
			v = str_or(tb[QKTLS_A_SOCK_RX_POOL], "-");
			break;
		case COL_QKD:
			v = tb[QKTLS_A_SOCK_QKD_UPDATE] ? "yes" : "no";
			break;
		case COL_QKD_POLICY:
			v = tb[QKTLS_A_SOCK_QKD_POLICY] ?
			    qkd_policy_name(qk_attr_uint(tb[QKTLS_A_SOCK_QKD_POLICY]),
					    ebuf) : "-";
			break;
		case COL_POLICY:
			fmt_policy(qk_attr_uint(tb[QKTLS_A_SOCK_REKEY_BYTES]),
				   qk_attr_uint(tb[QKTLS_A_SOCK_REKEY_SECONDS]),
				   buf, sizeof(buf));
			break;
		case COL_DUE:
			v = tb[QKTLS_A_SOCK_REKEY_DUE] ? "yes" : "no";
			break;
		case COL_LAST_ERROR:
			v = qk_errno_name(qk_attr_uint(stats[QKTLS_SOCK_STATS_A_LAST_ERROR]),
					  ebuf);
			break;
		default:
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)
				 qk_attr_uint(stats[col_counter[c]]));
			break;
		}
		row[c] = strdup(v);
		if (!row[c])
			return -ENOMEM;
	}
	return 0;
}

static int sock_show_cb(struct nlattr **tb, struct nlmsghdr *nlh, void *arg)
{
	struct sock_show *st = arg;
	int ret;

	(void)nlh;
	if (!tb[QKTLS_A_SOCK_ID])
		return 0;
	if (st->arr) {
		json_t *o = sock_json(tb);

		ret = !o || json_array_append_new(st->arr, o) ? -ENOMEM : 0;
	} else {
		ret = sock_row(st, tb);
	}
	if (ret)
		qk_err("out of memory");
	return ret;
}

static int sock_table_print(const struct sock_show *st)
{
	int ncol = qk_stats ? COL_ALL : COL_BASIC;
	size_t w[COL_ALL], i;
	int c;

	for (c = 0; c < ncol; c++) {
		w[c] = strlen(col_head[c]);
		for (i = 0; i < st->n; i++)
			if (strlen(st->rows[i][c]) > w[c])
				w[c] = strlen(st->rows[i][c]);
	}
	for (i = 0; i <= st->n; i++) {
		for (c = 0; c < ncol; c++) {
			const char *v = i ? st->rows[i - 1][c] : col_head[c];

			if (c + 1 < ncol)
				printf("%-*s  ", (int)w[c], v);
			else
				printf("%s\n", v);
		}
	}
	return fflush(stdout) ? -1 : 0;
}

static void sock_show_free(struct sock_show *st)
{
	size_t i;
	int c;

	for (i = 0; i < st->n; i++)
		for (c = 0; c < COL_ALL; c++)
			free(st->rows[i][c]);
	free(st->rows);
	json_decref(st->arr);
}

static int sock_show(int argc, char **argv)
{
	struct sock_show st = { 0 };
	struct nl_msg *msg;
	struct qk_nl nl;
	uint64_t id = 0;
	int ret = -1;

	if (argc > 1)
		return qk_usage_err("sock", "sock show: unknown argument \"%s\"", argv[1]);
	if (argc == 1 && qk_parse_sock_id("sock show", argv[0], &id))
		return QK_EXIT_USAGE;
	if (qk_json && qk_stats)
		return qk_usage_err("sock", "sock show: -s and -j exclude each other (JSON always has every counter)");
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	if (qk_json) {
		st.arr = json_array();
		if (!st.arr) {
			qk_err("out of memory");
			goto out;
		}
	}
	msg = qk_msg_new(&nl, QKTLS_CMD_SOCK_GET, id ? 0 : NLM_F_DUMP, 0);
	if (msg && (!id || nla_put_u64(msg, QKTLS_A_SOCK_ID, id) == 0))
		ret = qk_nl_run(&nl, msg, sock_show_cb, &st, "sock show");
	nlmsg_free(msg);
	if (!ret && st.arr) {
		ret = qk_json_print(st.arr);
		st.arr = NULL;
	} else if (!ret) {
		ret = sock_table_print(&st);
		if (ret)
			qk_err("cannot write the output");
	}
out:
	sock_show_free(&st);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

static int sock_detach(int argc, char **argv)
{
	struct nl_msg *msg;
	struct qk_nl nl;
	uint64_t id;
	int ret = -1;

	if (argc < 1)
		return qk_usage_err("sock", "sock detach: missing socket ID");
	if (argc > 1)
		return qk_usage_err("sock", "sock detach: unknown argument \"%s\"", argv[1]);
	if (qk_parse_sock_id("sock detach", argv[0], &id))
		return QK_EXIT_USAGE;
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	msg = qk_msg_new(&nl, QKTLS_CMD_SOCK_DETACH, 0, 0);
	if (msg && nla_put_u64(msg, QKTLS_A_SOCK_ID, id) == 0)
		ret = qk_nl_run(&nl, msg, NULL, NULL, "sock detach");
	nlmsg_free(msg);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

int do_sock(int argc, char **argv)
{
	const char *verb;

	if (argc < 1)
		return qk_usage_err("sock", "sock: missing command");
	verb = argv[0];
	argc--;
	argv++;
	if (qk_is_help(verb) || (argc > 0 && qk_is_help(argv[0]))) {
		usage_sock(stdout);
		return 0;
	}
	if (!strcmp(verb, "show") || !strcmp(verb, "list") || !strcmp(verb, "ls"))
		return sock_show(argc, argv);
	if (!strcmp(verb, "detach"))
		return sock_detach(argc, argv);
	return qk_usage_err("sock", "sock: unknown command \"%s\"", verb);
}
