/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers of the KME client library. */
#ifndef QKTLS_KME_INTERNAL_H
#define QKTLS_KME_INTERNAL_H

#include <qktls/kme.h>

/* Fill @err (may be NULL) and return @code. */
enum qk_kme_err qk_kme_fail(struct qk_kme_error *err, enum qk_kme_err code,
			    long http_status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Most keys accepted in one key container. */
#define QK_KME_MAX_KEYS 4096

#endif
