// SPDX-License-Identifier: GPL-2.0-only
/*
 * A link's QKD key source.  For now: the keys of the link's key_file
 * ("REFHEX KEYHEX" per line, the same file on both peers), loaded at start
 * into the provider's in-memory store.  The kernel pool (qktls.ko) becomes
 * the source once the module can hand a key to the agent; nothing here
 * ever invents a key.
 *
 * The callbacks given to the provider wrap the store's and note, for the
 * handshake running in the calling thread, which reference was used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <openssl/crypto.h>

#include <qktls/provider.h>

#include "qktlsd.h"

struct qd_keys {
	struct qktls_memkeys *mk;
	struct qktls_qkd_keys inner;	/* the store's callbacks */
	struct qktls_qkd_keys outer;	/* ours, given to the provider */
};

static __thread struct qd_hs *current;

void qd_keys_set_current(struct qd_hs *hs)
{
	current = hs;
}

static void note(const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	if (current) {
		memcpy(current->qkd_ref, ref, QKTLS_QKD_REF_LEN);
		current->qkd_ref_set = true;
		current->qkd_discarded = false;
	}
}

static int get_key(void *arg, uint8_t ref[QKTLS_QKD_REF_LEN], uint8_t *key,
		   size_t *key_len)
{
	struct qd_keys *k = arg;
	int ret = k->inner.get_key(k->inner.arg, ref, key, key_len);

	if (ret == QKTLS_QKD_OK)
		note(ref);
	return ret;
}

static int take_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN],
		    uint8_t *key, size_t *key_len)
{
	struct qd_keys *k = arg;
	int ret = k->inner.take_key(k->inner.arg, ref, key, key_len);

	if (ret == QKTLS_QKD_OK)
		note(ref);
	return ret;
}

static void discard_key(void *arg, const uint8_t ref[QKTLS_QKD_REF_LEN])
{
	struct qd_keys *k = arg;

	if (k->inner.discard_key)
		k->inner.discard_key(k->inner.arg, ref);
	if (current && current->qkd_ref_set &&
	    !memcmp(current->qkd_ref, ref, QKTLS_QKD_REF_LEN))
		current->qkd_discarded = true;
}

static int load_file(struct qd_link *l, struct qd_keys *k)
{
	char line[QKTLS_QKD_REF_LEN * 2 + QKTLS_QKD_KEY_MAX * 2 + 8];
	char iobuf[4096];	/* stdio's buffer holds key bytes: ours, wiped */
	struct stat st;
	int n = 0, ret = 0;
	FILE *f;

	f = fopen(l->key_file, "re");
	if (!f) {
		qd_log(LOG_ERR, "link %s: cannot open key file %s: %s", l->name,
		       l->key_file, strerror(errno));
		return -1;
	}
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	if (!fstat(fileno(f), &st) && (st.st_mode & 077)) {
		qd_log(LOG_ERR, "link %s: key file %s is accessible to group or "
		       "others (mode %04o): it holds QKD keys; chmod 600 it",
		       l->name, l->key_file, (unsigned int)(st.st_mode & 07777));
		fclose(f);	/* nothing was read yet */
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned char ref[QKTLS_QKD_REF_LEN], key[QKTLS_QKD_KEY_MAX];
		size_t rlen = 0, klen = 0;
		char *sp;

		n++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (sp)
			*sp = '\0';
		if (!sp ||
		    !OPENSSL_hexstr2buf_ex(ref, sizeof(ref), &rlen, line, '\0') ||
		    rlen != QKTLS_QKD_REF_LEN ||
		    !OPENSSL_hexstr2buf_ex(key, sizeof(key), &klen, sp + 1, '\0') ||
		    qktls_memkeys_add(k->mk, ref, key, klen)) {
			qd_log(LOG_ERR, "%s:%d: expected a 32-hex-digit reference, "
			       "a space and a key of %d to %d bytes in hex, "
			       "not already listed", l->key_file, n,
			       QKTLS_QKD_KEY_MIN, QKTLS_QKD_KEY_MAX);
			ret = -1;
		}
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(line, sizeof(line));
		if (ret)
			break;
	}
	fclose(f);
	OPENSSL_cleanse(iobuf, sizeof(iobuf));
	OPENSSL_cleanse(line, sizeof(line));
	if (!ret)
		qd_log(LOG_INFO, "link %s: %zu QKD keys from %s", l->name,
		       qktls_memkeys_available(k->mk), l->key_file);
	return ret;
}

int qd_keys_open(struct qd_link *l)
{
	struct qd_keys *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->mk = qktls_memkeys_new(l->name);
	if (!k->mk) {
		free(k);
		return -1;
	}
	qktls_memkeys_bind(k->mk, &k->inner);
	k->outer = (struct qktls_qkd_keys){
		.arg = k, .link = l->name, .get_key = get_key,
		.take_key = take_key, .discard_key = discard_key,
	};
	l->keys = k;
	if (l->key_file && load_file(l, k)) {
		qd_keys_close(l);
		return -1;
	}
	return 0;
}

void qd_keys_close(struct qd_link *l)
{
	if (!l->keys)
		return;
	qktls_memkeys_free(l->keys->mk);
	free(l->keys);
	l->keys = NULL;
}

size_t qd_keys_available(struct qd_link *l)
{
	return l->keys ? qktls_memkeys_available(l->keys->mk) : 0;
}

const struct qktls_qkd_keys *qd_keys_callbacks(struct qd_link *l)
{
	return &l->keys->outer;
}
