// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: strict parsing of numbers and key IDs, and error messages.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "qktls.h"

void qk_err(const char *fmt, ...)
{
	va_list ap;

	fputs("qktls: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: the message, a pointer to help, and the usage exit code. */
int qk_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("qktls: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "Try 'qktls %s help'.\n", cmd);
	else
		fputs("Try 'qktls help'.\n", stderr);
	return QK_EXIT_USAGE;
}

bool qk_is_help(const char *s)
{
	return !strcmp(s, "help") || !strcmp(s, "-h") || !strcmp(s, "--help");
}

/*
 * A decimal number, whole string, no sign, no spaces, within range.
 * Returns 0, or -1 after saying what is wrong.
 */
int qk_parse_u64(const char *what, const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || !isdigit((unsigned char)*s)) {
		qk_err("%s: \"%s\" is not a decimal number", what, s);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end) {
		qk_err("%s: \"%s\" is not a decimal number", what, s);
		return -1;
	}
	if (errno == ERANGE) {
		qk_err("%s: %s is out of range (at most %llu)", what, s,
		       (unsigned long long)UINT64_MAX);
		return -1;
	}
	*out = v;
	return 0;
}

/* A byte count: decimal, optionally with a K, M or G suffix (1024-based). */
int qk_parse_size(const char *what, const char *s, uint64_t *out)
{
	static const char units[] = "KMG";
	size_t n = strlen(s);
	const char *u = n ? strchr(units, s[n - 1]) : NULL;
	char *digits;
	uint64_t v;
	int ret;

	if (!u)
		return qk_parse_u64(what, s, out);
	digits = strndup(s, n - 1);
	if (!digits) {
		qk_err("out of memory");
		return -1;
	}
	ret = qk_parse_u64(what, digits, &v);
	free(digits);
	if (ret)
		return -1;
	for (int shift = 10 * (int)(u - units + 1); shift; shift -= 10) {
		if (v > UINT64_MAX >> 10) {
			qk_err("%s: %s is out of range", what, s);
			return -1;
		}
		v <<= 10;
	}
	*out = v;
	return 0;
}

int qk_parse_u32(const char *what, const char *s, uint32_t *out)
{
	uint64_t v;

	if (qk_parse_u64(what, s, &v))
		return -1;
	if (v > UINT32_MAX) {
		qk_err("%s: %s is out of range (at most %u)", what, s,
		       UINT32_MAX);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * A key ID: 32 hex digits, or a UUID (8-4-4-4-12 hex digits), as ETSI
 * GS QKD 014 key_IDs are.  @len is the length of @s (it need not be NUL
 * terminated).  Returns 0 or -1 (no message: callers say where).
 */
int qk_parse_key_id(const char *s, size_t len, uint8_t id[QKTLS_KEY_ID_LEN])
{
	size_t i, n = 0;
	int hi = -1, v;
	bool uuid = len == 36;

	if (len != 32 && !uuid)
		return -1;
	for (i = 0; i < len; i++) {
		if (uuid && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		v = OPENSSL_hexchar2int((unsigned char)s[i]);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			id[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == QKTLS_KEY_ID_LEN ? 0 : -1;
}

/* The UUID form of a key ID, 36 characters and a NUL. */
void qk_format_key_id(const uint8_t id[QKTLS_KEY_ID_LEN], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < QKTLS_KEY_ID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
}
