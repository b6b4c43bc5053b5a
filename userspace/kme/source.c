// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The general key source, and its ETSI GS QKD 014 implementation.
 *
 * Callers (the agent's pool feeders) only see struct qk_key_source; an ETSI
 * 004 source (a stateful key stream opened once and read by index) plugs in
 * with its own ops and keeps its session in ->priv.
 */
#include <stdlib.h>

#include "kme-internal.h"

enum qk_kme_err qk_key_source_get(struct qk_key_source *src, const char *peer,
				  unsigned int number, unsigned int size,
				  struct qk_kme_keys *out, struct qk_kme_error *err)
{
	if (!src || !src->ops->get_keys)
		return qk_kme_fail(err, QK_KME_E_UNSUPPORTED, 0,
				   "key source cannot hand out new keys");
	return src->ops->get_keys(src, peer, number, size, out, err);
}

enum qk_kme_err qk_key_source_get_by_id(struct qk_key_source *src,
					const char *peer,
					const char *const *ids, size_t n_ids,
					unsigned int size, struct qk_kme_keys *out,
					struct qk_kme_error *err)
{
	if (!src || !src->ops->get_keys_by_id)
		return qk_kme_fail(err, QK_KME_E_UNSUPPORTED, 0,
				   "key source cannot fetch keys by ID");
	return src->ops->get_keys_by_id(src, peer, ids, n_ids, size, out, err);
}

enum qk_kme_err qk_key_source_status(struct qk_key_source *src,
				     const char *peer, struct qk_kme_status *out,
				     struct qk_kme_error *err)
{
	if (!src || !src->ops->status)
		return qk_kme_fail(err, QK_KME_E_UNSUPPORTED, 0,
				   "key source has no status");
	return src->ops->status(src, peer, out, err);
}

void qk_key_source_free(struct qk_key_source *src)
{
	if (src && src->ops->destroy)
		src->ops->destroy(src);
}

/* --- ETSI 014 ------------------------------------------------------------- */

static enum qk_kme_err k014_get(struct qk_key_source *src, const char *peer,
				unsigned int number, unsigned int size,
				struct qk_kme_keys *out, struct qk_kme_error *err)
{
	struct qk_kme_enc_req req = {
		.number = number, .size = size, .timeout_ms = src->timeout_ms,
	};

	return qk_kme_enc_keys(src->priv, peer, &req, out, err);
}

static enum qk_kme_err k014_get_by_id(struct qk_key_source *src,
				      const char *peer, const char *const *ids,
				      size_t n_ids, unsigned int size,
				      struct qk_kme_keys *out,
				      struct qk_kme_error *err)
{
	struct qk_kme_dec_req req = {
		.key_ids = ids, .n_ids = n_ids, .size = size,
		.timeout_ms = src->timeout_ms,
	};

	return qk_kme_dec_keys(src->priv, peer, &req, out, err);
}

static enum qk_kme_err k014_status(struct qk_key_source *src, const char *peer,
				   struct qk_kme_status *out,
				   struct qk_kme_error *err)
{
	return qk_kme_status(src->priv, peer, src->timeout_ms, out, err);
}

static void k014_destroy(struct qk_key_source *src)
{
	qk_kme_client_free(src->priv);
	free(src);
}

static const struct qk_key_source_ops k014_ops = {
	.name = "etsi014",
	.get_keys = k014_get,
	.get_keys_by_id = k014_get_by_id,
	.status = k014_status,
	.destroy = k014_destroy,
};

struct qk_key_source *qk_kme014_source_new(const struct qk_kme_config *cfg,
					   struct qk_kme_error *err)
{
	struct qk_key_source *src = calloc(1, sizeof(*src));

	if (!src) {
		qk_kme_fail(err, QK_KME_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	src->ops = &k014_ops;
	src->priv = qk_kme_client_new(cfg, err);
	if (!src->priv) {
		free(src);
		return NULL;
	}
	return src;
}
