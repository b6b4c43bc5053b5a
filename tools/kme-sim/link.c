// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated QKD link shared by the two KMEs: key material accrues at
 * `rate` bits per second up to max_key_count keys of key_size bits, and the
 * keys enc_keys hands out wait here until each slave SAE has fetched them
 * once with dec_keys.  Callers hold sim->lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sim.h"
#include "link.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double capacity(const struct sim *s)
{
	return (double)s->max_key_count * s->key_size;
}

static void add_bits(struct sim *s, double bits)
{
	s->avail_bits += bits;
	if (s->avail_bits > capacity(s))
		s->avail_bits = capacity(s);
}

void link_init(struct sim *s, unsigned long initial_keys)
{
	s->avail_bits = 0;
	add_bits(s, (double)initial_keys * s->key_size);
	s->last_s = now_s();
}

void link_update(struct sim *s)
{
	double t = now_s();

	add_bits(s, s->rate * (t - s->last_s));
	s->last_s = t;
}

unsigned long link_stored(struct sim *s)
{
	link_update(s);
	return (unsigned long)(s->avail_bits / s->key_size);
}

void link_advance(struct sim *s, double ms)
{
	link_update(s);
	add_bits(s, s->rate * ms / 1000.0);
}

void link_drain(struct sim *s)
{
	link_update(s);
	s->avail_bits = 0;
}

void make_uuid(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

bool kme_has_sae(const struct kme *k, const char *sae)
{
	for (size_t i = 0; i < k->n_saes; i++)
		if (!strcmp(k->saes[i], sae))
			return true;
	return false;
}

static void rkey_free(struct rkey *r)
{
	if (!r)
		return;
	OPENSSL_clear_free(r->bytes, r->len);
	free(r->master);
	for (size_t i = 0; i < r->n_slaves; i++)
		free(r->slaves[i]);
	free(r);
}

void out_keys_free(struct out_key *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++)
		OPENSSL_clear_free(o[i].bytes, o[i].len);
	free(o);
}

int link_enc(struct sim *s, const char *master, char *const *slaves,
	     size_t n_slaves, unsigned long n, unsigned long bits,
	     struct out_key **outp, char *why, size_t whylen)
{
	double need = (double)n * bits;
	struct out_key *out;
	struct rkey *list = NULL, *r;
	size_t i, j;

	*outp = NULL;
	link_update(s);
	if (s->avail_bits < need) {
		snprintf(why, whylen,
			 "not enough key material: %lu keys of %lu bits asked for, %.0f bits stored",
			 n, bits, s->avail_bits);
		return 503;
	}
	if (s->n_reserved + n > s->max_reserved) {
		snprintf(why, whylen,
			 "%lu keys are already waiting for dec_keys (limit %lu)",
			 s->n_reserved, s->max_reserved);
		return 503;
	}
	out = calloc(n, sizeof(*out));
	if (!out)
		goto nomem;
	for (i = 0; i < n; i++) {
		r = calloc(1, sizeof(*r));
		if (!r)
			goto nomem;
		r->next = list;
		list = r;
		r->len = bits / 8;
		r->bytes = OPENSSL_malloc(r->len);
		out[i].bytes = OPENSSL_malloc(r->len);
		r->master = strdup(master);
		if (!r->bytes || !out[i].bytes || !r->master)
			goto nomem;
		if (RAND_bytes(r->bytes, (int)r->len) != 1) {
			snprintf(why, whylen, "RAND_bytes failed");
			goto fail;
		}
		for (j = 0; j < n_slaves; j++) {
			r->slaves[j] = strdup(slaves[j]);
			if (!r->slaves[j])
				goto nomem;
			r->n_slaves++;
		}
		make_uuid(r->id);
		memcpy(out[i].id, r->id, sizeof(r->id));
		memcpy(out[i].bytes, r->bytes, r->len);
		out[i].len = r->len;
	}
	/* Commit: consume the material and keep the keys for the slaves. */
	s->avail_bits -= need;
	while (list) {
		r = list;
		list = r->next;
		r->next = s->reserved;
		s->reserved = r;
	}
	s->n_reserved += n;
	s->keys_out += n;
	*outp = out;
	return 0;
nomem:
	snprintf(why, whylen, "out of memory");
fail:
	while (list) {
		r = list;
		list = r->next;
		rkey_free(r);
	}
	out_keys_free(out, n);
	return 503;
}

static struct rkey **find(struct sim *s, const char *id)
{
	struct rkey **pp;

	for (pp = &s->reserved; *pp; pp = &(*pp)->next)
		if (!strcasecmp((*pp)->id, id))
			return pp;
	return NULL;
}

static long slave_index(const struct rkey *r, const char *sae)
{
	for (size_t i = 0; i < r->n_slaves; i++)
		if (!strcmp(r->slaves[i], sae))
			return (long)i;
	return -1;
}

int link_dec(struct sim *s, const char *slave, const char *master,
	     const char *const *ids, size_t n, struct out_key **outp,
	     char *why, size_t whylen)
{
	struct out_key *out;
	size_t i;

	*outp = NULL;
	/* Check every ID first: all keys are delivered, or none. */
	for (i = 0; i < n; i++) {
		struct rkey **pp = find(s, ids[i]);
		long k;

		if (!pp) {
			snprintf(why, whylen,
				 "key ID %.36s is unknown or was already delivered",
				 ids[i]);
			return 400;
		}
		k = slave_index(*pp, slave);
		if (k < 0 || strcmp((*pp)->master, master)) {
			snprintf(why, whylen,
				 "key ID %.36s was not issued by SAE %s for SAE %s",
				 ids[i], master, slave);
			return 401;
		}
		if ((*pp)->delivered[k]) {
			snprintf(why, whylen,
				 "key ID %.36s was already delivered to SAE %s",
				 ids[i], slave);
			return 400;
		}
	}
	out = calloc(n, sizeof(*out));
	if (!out) {
		snprintf(why, whylen, "out of memory");
		return 503;
	}
	for (i = 0; i < n; i++) {
		struct rkey *r = *find(s, ids[i]);

		out[i].bytes = OPENSSL_malloc(r->len);
		if (!out[i].bytes) {
			out_keys_free(out, n);
			snprintf(why, whylen, "out of memory");
			return 503;
		}
		memcpy(out[i].id, r->id, sizeof(r->id));
		memcpy(out[i].bytes, r->bytes, r->len);
		out[i].len = r->len;
	}
	for (i = 0; i < n; i++) {
		struct rkey **pp = find(s, ids[i]), *r = *pp;
		size_t k, left = 0;

		r->delivered[slave_index(r, slave)] = true;
		for (k = 0; k < r->n_slaves; k++)
			left += !r->delivered[k];
		if (!left) {
			*pp = r->next;
			rkey_free(r);
			s->n_reserved--;
		}
	}
	s->keys_delivered += n;
	*outp = out;
	return 0;
}

void link_free(struct sim *s)
{
	while (s->reserved) {
		struct rkey *r = s->reserved;

		s->reserved = r->next;
		rkey_free(r);
	}
	s->n_reserved = 0;
}
