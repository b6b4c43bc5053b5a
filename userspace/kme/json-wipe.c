// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A jansson allocator that wipes what it frees.  Keys travel through
 * jansson as base64 strings, in the KME client and in the simulator alike,
 * so every block jansson frees is cleansed first.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include <qktls/kme.h>

#define WIPE_HDR 16	/* keeps max_align_t alignment of the payload */

static void *wipe_malloc(size_t n)
{
	unsigned char *p;

	if (n > SIZE_MAX - WIPE_HDR)
		return NULL;
	p = malloc(n + WIPE_HDR);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + WIPE_HDR;
}

static void wipe_free(void *ptr)
{
	unsigned char *p;
	size_t n;

	if (!ptr)
		return;
	p = (unsigned char *)ptr - WIPE_HDR;
	memcpy(&n, p, sizeof(n));
	OPENSSL_cleanse(ptr, n);
	free(p);
}

void qk_json_use_wiping_alloc(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
}
