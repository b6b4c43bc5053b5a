// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls key add|del|flush|list|take
 *
 * Key material only ever flows in: from the input file into KEY_ADD
 * messages, whose buffers are wiped after sending.  Nothing here prints it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qktls.h"

/*
 * Largest KEY_ADD message: well below the default socket send buffer
 * (net.core.wmem_default), so a batch always goes out whole.
 */
#define QK_BATCH_BYTES	65536

void usage_key(FILE *f)
{
	fputs("Usage: qktls key add POOL [--hex | --raw [--key-len LEN]] [--batch KEYS]\n"
	      "                      [--file FILE | -]\n"
	      "       qktls key del POOL ID...\n"
	      "       qktls key flush POOL\n"
	      "       qktls [-j [-p]] key list POOL\n"
	      "       qktls [-j [-p]] key take POOL [ID]\n"
	      "Keys come from FILE, or stdin (-, the default).  Hex input (--hex,\n"
	      "the default) has one key per line:  ID KEY [INDEX]\n"
	      "  ID     32 hex digits or a UUID (8-4-4-4-12)\n"
	      "  KEY    32 to 128 hex digits (16 to 64 bytes)\n"
	      "  INDEX  optional decimal key stream index (ETSI GS QKD 004)\n"
	      "Blank lines and lines starting with # are skipped.  Raw input\n"
	      "(--raw) is records of a 16-byte ID followed by LEN key bytes.\n"
	      "Keys go in batches of up to KEYS keys (default: as many as fit\n"
	      "in 64 KiB); each batch is added whole or not at all.\n", f);
}

static int nest_size(const struct qk_key_rec *r)
{
	return nla_total_size(0) + nla_total_size(QKTLS_KEY_ID_LEN) +
	       nla_total_size((int)r->len) +
	       (r->has_index ? nla_total_size(sizeof(uint64_t)) : 0);
}

static int put_key(struct nl_msg *msg, const struct qk_key_rec *r)
{
	struct nlattr *nest = nla_nest_start(msg, QKTLS_A_KEY);

	if (!nest || nla_put(msg, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, r->id) < 0 ||
	    nla_put(msg, QKTLS_KEY_A_MATERIAL, (int)r->len, r->material) < 0 ||
	    (r->has_index && nla_put_u64(msg, QKTLS_KEY_A_INDEX, r->index) < 0))
		return -1;
	nla_nest_end(msg, nest);
	return 0;
}

struct batch {
	unsigned long *line;	/* input line (record) of each key */
	uint32_t *offs;		/* offset of each key's nest in the message */
	size_t n;
};

/* Send one KEY_ADD batch; on failure, say which key the kernel blamed. */
static int send_batch(struct qk_nl *nl, struct nl_msg *msg,
		      const struct batch *b, const struct qk_keyfile *kf,
		      unsigned long added)
{
	struct qk_nlerr e;
	char detail[160];
	size_t i;
	int ret;

	ret = qk_nl_exec(nl, msg, NULL, NULL, &e);
	if (!ret)
		return 0;
	detail[0] = '\0';
	if (e.err && e.has_offs && b->n && e.offs >= b->offs[0]) {
		for (i = b->n; i-- > 0;)
			if (e.offs >= b->offs[i])
				break;
		if (kf->raw)
			snprintf(detail, sizeof(detail), " at %s record %lu",
				 kf->name, b->line[i]);
		else
			snprintf(detail, sizeof(detail), " at %s:%lu", kf->name,
				 b->line[i]);
	}
	if (e.err)
		qk_nlerr_print(&e, "key add", detail);
	fprintf(stderr, "qktls: key add: %lu key%s added before the failure, batch of %zu not added\n",
		added, added == 1 ? "" : "s", b->n);
	return -1;
}

static int key_add_send(struct qk_nl *nl, const char *pool,
			struct qk_keyfile *kf, unsigned long max_keys,
			unsigned long total)
{
	struct batch b = { 0 };
	struct nl_msg *msg = NULL;
	struct qk_key_rec rec;
	unsigned long added = 0;
	size_t cap = max_keys < total ? max_keys : total;
	int ret = -1, r;

	b.line = calloc(cap, sizeof(*b.line));
	b.offs = calloc(cap, sizeof(*b.offs));
	if (!b.line || !b.offs) {
		qk_err("out of memory");
		goto out;
	}
	kf->pos = 0;
	kf->line = 0;
	for (;;) {
		r = qk_keyfile_next(kf, &rec);
		if (r < 0)
			goto out;
		/* Flush the batch if full, or if this key does not fit. */
		if (msg && (r == 0 || b.n == max_keys ||
			    nlmsg_hdr(msg)->nlmsg_len + nest_size(&rec) > QK_BATCH_BYTES)) {
			if (send_batch(nl, msg, &b, kf, added))
				goto out;
			added += b.n;
			qk_msg_free_wiped(msg);
			msg = NULL;
			b.n = 0;
		}
		if (r == 0)
			break;
		if (!msg) {
			msg = qk_msg_new(nl, QKTLS_CMD_KEY_ADD, 0, QK_BATCH_BYTES);
			if (!msg || nla_put_string(msg, QKTLS_A_POOL_NAME, pool) < 0) {
				qk_err("key add: pool name too long");
				goto out;
			}
		}
		b.offs[b.n] = nlmsg_hdr(msg)->nlmsg_len;
		b.line[b.n] = rec.line;
		if (put_key(msg, &rec)) {
			qk_err("key add: a key does not fit in a message");
			goto out;
		}
		b.n++;
		qk_wipe(&rec, sizeof(rec));
	}
	ret = 0;
out:
	qk_wipe(&rec, sizeof(rec));
	qk_msg_free_wiped(msg);
	free(b.line);
	free(b.offs);
	return ret;
}

static int key_add(int argc, char **argv)
{
	struct qk_keyfile kf = { 0 };
	const char *pool, *file = NULL;
	struct qk_key_rec rec;
	struct qk_nl nl = { 0 };
	bool hex = false, raw = false, has_len = false, has_file = false;
	bool has_batch = false;
	uint32_t key_len = 0, batch = 0, min, max;
	unsigned long total = 0;
	int i, r, ret = EXIT_FAILURE;

	if (argc < 1)
		return qk_usage_err("key", "key add: missing pool name");
	pool = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--hex")) {
			hex = true;
		} else if (!strcmp(a, "--raw")) {
			raw = true;
		} else if (!strcmp(a, "-") || !strcmp(a, "--file")) {
			if (has_file)
				return qk_usage_err("key", "key add: more than one input given");
			has_file = true;
			if (a[1]) {
				if (++i == argc)
					return qk_usage_err("key", "key add: --file needs a file name");
				file = argv[i];
			}
		} else if (!strcmp(a, "--key-len") || !strcmp(a, "--batch")) {
			bool is_len = a[2] == 'k';
			uint32_t *v = is_len ? &key_len : &batch;

			if (++i == argc)
				return qk_usage_err("key", "key add: %s needs a value", a);
			if (qk_parse_u32(a + 2, argv[i], v))
				return QK_EXIT_USAGE;
			if (is_len)
				has_len = true;
			else
				has_batch = true;
		} else {
			return qk_usage_err("key", "key add: unknown argument \"%s\"", a);
		}
	}
	if (hex && raw)
		return qk_usage_err("key", "key add: --hex and --raw exclude each other");
	if (has_len && !raw)
		return qk_usage_err("key", "key add: --key-len goes with --raw");
	if (has_len && (key_len < QKTLS_KEY_MIN_LEN || key_len > QKTLS_KEY_MAX_LEN))
		return qk_usage_err("key", "key add: --key-len %u: keys are %d to %d bytes",
				    key_len, QKTLS_KEY_MIN_LEN, QKTLS_KEY_MAX_LEN);
	if (has_batch && batch == 0)
		return qk_usage_err("key", "key add: --batch must be at least 1");
	if (!has_batch)
		batch = UINT32_MAX;

	if (qk_keyfile_read(&kf, file))
		goto out;
	kf.raw = raw;
	if (raw && !has_len) {
		if (qk_nl_open(&nl) || qk_pool_key_len(&nl, pool, &min, &max))
			goto out;
		if (min != max) {
			qk_err("key add: pool %s takes keys of %u to %u bytes: give --key-len for raw input",
			       pool, min, max);
			goto out;
		}
		key_len = min;
	}
	kf.raw_len = key_len;

	/* Check the whole input before anything goes to the kernel. */
	while ((r = qk_keyfile_next(&kf, &rec)) > 0) {
		qk_wipe(&rec, sizeof(rec));
		total++;
	}
	if (r < 0)
		goto out;
	if (!total) {
		qk_err("key add: %s: no keys in the input", kf.name);
		goto out;
	}
	if (!nl.sk && qk_nl_open(&nl))
		goto out;
	if (!key_add_send(&nl, pool, &kf, batch, total))
		ret = 0;
out:
	qk_keyfile_close(&kf);
	qk_nl_close(&nl);
	return ret;
}

static int key_del(int argc, char **argv)
{
	uint8_t id[QKTLS_KEY_ID_LEN];
	struct nl_msg *msg = NULL;
	uint32_t *offs = NULL;
	struct nlattr *nest;
	struct qk_nlerr e;
	char detail[80];
	struct qk_nl nl;
	size_t size;
	int i, ret = -1;

	if (argc < 1)
		return qk_usage_err("key", "key del: missing pool name");
	if (argc < 2)
		return qk_usage_err("key", "key del: give the IDs of the keys to delete");
	for (i = 1; i < argc; i++)
		if (qk_parse_key_id(argv[i], strlen(argv[i]), id))
			return qk_usage_err("key", "key del: \"%s\" is not a key ID (32 hex digits or a UUID)",
					    argv[i]);
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	size = 4096 + (size_t)(argc - 1) * (size_t)(2 * nla_total_size(QKTLS_KEY_ID_LEN));
	msg = qk_msg_new(&nl, QKTLS_CMD_KEY_DEL, 0, size);
	if (!msg)
		goto out;
	if (nla_put_string(msg, QKTLS_A_POOL_NAME, argv[0]) < 0)
		goto toolong;
	offs = calloc((size_t)argc, sizeof(*offs));
	if (!offs) {
		qk_err("out of memory");
		goto out;
	}
	for (i = 1; i < argc; i++) {
		qk_parse_key_id(argv[i], strlen(argv[i]), id);
		offs[i] = nlmsg_hdr(msg)->nlmsg_len;
		nest = nla_nest_start(msg, QKTLS_A_KEY);
		if (!nest || nla_put(msg, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, id) < 0)
			goto toolong;
		nla_nest_end(msg, nest);
	}
	ret = qk_nl_exec(&nl, msg, NULL, NULL, &e);
	if (ret && e.err) {
		/* Name the ID the kernel pointed at, as it was typed. */
		detail[0] = '\0';
		if (e.has_offs && e.offs >= offs[1]) {
			for (i = argc - 1; i > 1 && e.offs < offs[i]; i--)
				;
			snprintf(detail, sizeof(detail), " at ID %s", argv[i]);
		}
		qk_nlerr_print(&e, "key del", detail);
	}
	goto out;
toolong:
	qk_err("key del: the request does not fit in a message");
out:
	free(offs);
	nlmsg_free(msg);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

static int key_flush(int argc, char **argv)
{
	struct nl_msg *msg;
	struct qk_nl nl;
	int ret = -1;

	if (argc < 1)
		return qk_usage_err("key", "key flush: missing pool name");
	if (argc > 1)
		return qk_usage_err("key", "key flush: unknown argument \"%s\"", argv[1]);
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	msg = qk_msg_new(&nl, QKTLS_CMD_KEY_FLUSH, 0, 0);
	if (msg && nla_put_string(msg, QKTLS_A_POOL_NAME, argv[0]) == 0)
		ret = qk_nl_run(&nl, msg, NULL, NULL, "key flush");
	else if (msg)
		qk_err("key flush: pool name too long");
	nlmsg_free(msg);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

/* ---- list and take: key metadata ---- */

struct keys_state {
	json_t *arr;		/* -j list: array of keys */
	json_t *one;		/* -j take: the key taken */
	bool take;
	const char *pool;
	unsigned long n;
};

static int key_meta(struct keys_state *st, struct nlattr *nest)
{
	struct nlattr *kb[QKTLS_KEY_A_MAX + 1];
	char id[37];
	json_t *o;

	if (nla_parse_nested(kb, QKTLS_KEY_A_MAX, nest, qk_key_policy) < 0 ||
	    !kb[QKTLS_KEY_A_ID]) {
		qk_err("malformed key entry from the kernel");
		return -EPROTO;
	}
	qk_format_key_id(nla_data(kb[QKTLS_KEY_A_ID]), id);
	st->n++;
	if (!qk_json) {
		printf("%s%s", st->take ? "key " : "", id);
		if (kb[QKTLS_KEY_A_INDEX])
			printf(" index %llu",
			       (unsigned long long)qk_attr_uint(kb[QKTLS_KEY_A_INDEX]));
		if (kb[QKTLS_KEY_A_LEN])
			printf(" len %llu",
			       (unsigned long long)qk_attr_uint(kb[QKTLS_KEY_A_LEN]));
		if (kb[QKTLS_KEY_A_AGE_MS])
			printf(" age-ms %llu",
			       (unsigned long long)qk_attr_uint(kb[QKTLS_KEY_A_AGE_MS]));
		if (st->take)
			printf(" pool %s", st->pool);
		putchar('\n');
		return 0;
	}
	o = json_object();
	if (!o)
		return -ENOMEM;
	if (st->take)
		qk_json_set_str(o, "pool", st->pool);
	qk_json_set_str(o, "id", id);
	if (kb[QKTLS_KEY_A_INDEX])
		qk_json_set_uint(o, "index", qk_attr_uint(kb[QKTLS_KEY_A_INDEX]));
	if (kb[QKTLS_KEY_A_LEN])
		qk_json_set_uint(o, "len", qk_attr_uint(kb[QKTLS_KEY_A_LEN]));
	if (kb[QKTLS_KEY_A_AGE_MS])
		qk_json_set_uint(o, "age_ms", qk_attr_uint(kb[QKTLS_KEY_A_AGE_MS]));
	if (st->take) {
		json_decref(st->one);
		st->one = o;
		return 0;
	}
	return json_array_append_new(st->arr, o) ? -ENOMEM : 0;
}

static int keys_cb(struct nlattr **tb, struct nlmsghdr *nlh, void *arg)
{
	struct keys_state *st = arg;
	struct nlattr *a;
	int rem, ret;

	(void)tb;
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) != QKTLS_A_KEY)
			continue;
		ret = key_meta(st, a);
		if (ret)
			return ret;
	}
	return 0;
}

static int key_list_take(bool take, int argc, char **argv)
{
	struct keys_state st = { .take = take };
	const char *verb = take ? "key take" : "key list";
	uint8_t id[QKTLS_KEY_ID_LEN];
	bool has_id = false;
	struct nlattr *nest;
	struct nl_msg *msg;
	struct qk_nl nl;
	int ret = -1;

	if (argc < 1)
		return qk_usage_err("key", "%s: missing pool name", verb);
	if (take && argc == 2) {
		if (qk_parse_key_id(argv[1], strlen(argv[1]), id))
			return qk_usage_err("key", "key take: \"%s\" is not a key ID (32 hex digits or a UUID)",
					    argv[1]);
		has_id = true;
	} else if (argc > 1) {
		return qk_usage_err("key", "%s: unknown argument \"%s\"", verb, argv[1]);
	}
	st.pool = argv[0];
	if (qk_nl_open(&nl))
		return EXIT_FAILURE;
	if (qk_json && !take) {
		st.arr = json_array();
		if (!st.arr)
			goto out;
	}
	msg = qk_msg_new(&nl, take ? QKTLS_CMD_KEY_TAKE : QKTLS_CMD_KEY_GET,
			 take ? 0 : NLM_F_DUMP, 0);
	if (!msg)
		goto out;
	if (nla_put_string(msg, QKTLS_A_POOL_NAME, argv[0]) < 0) {
		qk_err("%s: pool name too long", verb);
	} else if (has_id && (!(nest = nla_nest_start(msg, QKTLS_A_KEY)) ||
			      nla_put(msg, QKTLS_KEY_A_ID, QKTLS_KEY_ID_LEN, id) < 0)) {
		qk_err("%s: cannot build the request", verb);
	} else {
		if (has_id)
			nla_nest_end(msg, nest);
		ret = qk_nl_run(&nl, msg, keys_cb, &st, verb);
	}
	nlmsg_free(msg);
	if (!ret && take && !st.n) {
		qk_err("key take: the kernel did not say which key it took");
		ret = -1;
	}
	if (!ret && qk_json) {
		ret = qk_json_print(take ? st.one : st.arr);
		st.one = st.arr = NULL;
	}
out:
	json_decref(st.arr);
	json_decref(st.one);
	qk_nl_close(&nl);
	return ret ? EXIT_FAILURE : 0;
}

int do_key(int argc, char **argv)
{
	const char *verb;

	if (argc < 1)
		return qk_usage_err("key", "key: missing command");
	verb = argv[0];
	argc--;
	argv++;
	if (qk_is_help(verb) || (argc > 0 && qk_is_help(argv[0]))) {
		usage_key(stdout);
		return 0;
	}
	if (!strcmp(verb, "add"))
		return key_add(argc, argv);
	if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		return key_del(argc, argv);
	if (!strcmp(verb, "flush"))
		return key_flush(argc, argv);
	if (!strcmp(verb, "list") || !strcmp(verb, "ls"))
		return key_list_take(false, argc, argv);
	if (!strcmp(verb, "take"))
		return key_list_take(true, argc, argv);
	return qk_usage_err("key", "key: unknown command \"%s\"", verb);
}
