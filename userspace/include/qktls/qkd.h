/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Limits of QKD key material shared by every part of libqktls: the same
 * as the kernel pools accept (QKTLS_KEY_MIN_LEN, QKTLS_KEY_MAX_LEN and
 * QKTLS_KEY_ID_LEN in <linux/qktls.h>; libqktls checks they agree).
 */
#ifndef QKTLS_QKD_H
#define QKTLS_QKD_H

#define QKTLS_QKD_REF_LEN	16	/* key reference / key ID, bytes */
#define QKTLS_QKD_KEY_MIN	16	/* shortest QKD key, bytes */
#define QKTLS_QKD_KEY_MAX	64	/* longest QKD key, bytes */

#endif
