/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers of the KME client library. */
#ifndef QKTLS_KME_INTERNAL_H
#define QKTLS_KME_INTERNAL_H

#include <qktls/kme.h>

/* Fill @err (may be NULL) and return @code. */
enum qk_kme_err qk_kme_fail(struct qk_kme_error *err, enum qk_kme_err code,
			    long http_status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* qk_kme_parse_error() naming the KME's @url (may be NULL) in messages. */
enum qk_kme_err qk_kme_parse_error_at(const char *url, long http_status,
				      const char *body, size_t len,
				      struct qk_kme_error *err);

/*
 * KME text @s (@len bytes) into @dst for messages: printable ASCII kept,
 * runs of white space made one space, other bytes '?', "..." when cut.
 */
void qk_kme_excerpt(char *dst, size_t size, const char *s, size_t len);

/* The same for a whole answer, with the value of every "key" redacted. */
void qk_kme_redacted(char *dst, size_t size, const char *body, size_t len);

/* Most keys accepted in one key container. */
#define QK_KME_MAX_KEYS 4096

#endif
