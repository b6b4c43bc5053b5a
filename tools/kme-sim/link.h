/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef QKTLS_KME_SIM_LINK_H
#define QKTLS_KME_SIM_LINK_H

#include "sim.h"

/* A copy of a key for one answer (wiped by out_keys_free). */
struct out_key {
	char id[37];
	unsigned char *bytes;
	size_t len;
};

/* 0, or an HTTP status with @why filled. */
int link_enc(struct sim *s, const char *master, char *const *slaves,
	     size_t n_slaves, unsigned long n, unsigned long bits,
	     struct out_key **out, char *why, size_t whylen);
int link_dec(struct sim *s, const char *slave, const char *master,
	     const char *const *ids, size_t n, struct out_key **out,
	     char *why, size_t whylen);
void out_keys_free(struct out_key *o, size_t n);

#endif
