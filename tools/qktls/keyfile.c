// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: key input for "qktls key add", hex lines or raw records.
 *
 * Hex (the default), one key per line:
 *
 *	ID KEY [INDEX]
 *
 * fields separated by spaces or tabs; ID is 32 hex digits or a UUID
 * (8-4-4-4-12), KEY is 32 to 128 hex digits (16 to 64 bytes), INDEX an
 * optional decimal 64-bit number (ETSI GS QKD 004 key stream position).
 * Blank lines and lines whose first non-blank character is '#' are
 * skipped; a trailing CR is ignored.
 *
 * Raw: back-to-back records of a 16-byte ID followed by the key, every key
 * the same length (--key-len, or the pool's length when it has only one).
 *
 * The input is read whole with read(2) into one buffer (no stdio buffers
 * keep copies) and wiped when done, like every decoded key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "qktls.h"

void qk_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

/* Grow the buffer by hand, so no copy is left behind unwiped. */
static int grow(struct qk_keyfile *kf)
{
	size_t cap = kf->cap ? kf->cap * 2 : 65536;
	unsigned char *n;

	if (cap < kf->cap) {
		qk_err("%s: input too large", kf->name);
		return -1;
	}
	n = malloc(cap);
	if (!n) {
		qk_err("%s: out of memory", kf->name);
		return -1;
	}
	if (kf->buf) {
		memcpy(n, kf->buf, kf->len);
		qk_wipe(kf->buf, kf->cap);
		free(kf->buf);
	}
	kf->buf = n;
	kf->cap = cap;
	return 0;
}

int qk_keyfile_read(struct qk_keyfile *kf, const char *path)
{
	bool is_stdin = !path || !strcmp(path, "-");
	int fd = STDIN_FILENO;
	ssize_t n;

	kf->name = is_stdin ? "stdin" : path;
	if (!is_stdin) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			qk_err("%s: %s", path, strerror(errno));
			return -1;
		}
	} else if (isatty(fd)) {
		qk_err("key add: refusing to read keys from a terminal: give --file FILE, or - with keys on stdin");
		return -1;
	}
	for (;;) {
		if (kf->len == kf->cap && grow(kf))
			goto fail;
		n = read(fd, kf->buf + kf->len, kf->cap - kf->len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			qk_err("%s: %s", kf->name, strerror(errno));
			goto fail;
		}
		kf->len += (size_t)n;
	}
	if (!is_stdin)
		close(fd);
	return 0;
fail:
	if (!is_stdin)
		close(fd);
	return -1;
}

void qk_keyfile_close(struct qk_keyfile *kf)
{
	qk_wipe(kf->buf, kf->cap);
	free(kf->buf);
	kf->buf = NULL;
	kf->len = kf->cap = kf->pos = 0;
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Decode @len hex digits into @out; -1 if any is not hex. */
static int hex_decode(const unsigned char *s, size_t len, uint8_t *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i + 1 < len; i += 2) {
		hi = OPENSSL_hexchar2int(s[i]);
		lo = OPENSSL_hexchar2int(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int next_hex(struct qk_keyfile *kf, struct qk_key_rec *rec)
{
	const unsigned char *f[4];
	size_t flen[4];
	char num[32];

	while (kf->pos < kf->len) {
		const unsigned char *p = kf->buf + kf->pos;
		const unsigned char *nl = memchr(p, '\n', kf->len - kf->pos);
		const unsigned char *end = nl ? nl : kf->buf + kf->len;
		size_t nf = 0;

		kf->pos = (size_t)(end - kf->buf) + (nl ? 1 : 0);
		kf->line++;
		/* Split into at most four fields (four means too many). */
		while (p < end) {
			while (p < end && is_blank(*p))
				p++;
			if (p == end)
				break;
			if (nf == 0 && *p == '#')
				break;
			if (nf == 4)
				break;
			f[nf] = p;
			while (p < end && !is_blank(*p))
				p++;
			flen[nf] = (size_t)(p - f[nf]);
			nf++;
		}
		if (nf == 0)
			continue;

		memset(rec, 0, sizeof(*rec));
		rec->line = kf->line;
		if (nf == 1) {
			qk_err("%s:%lu: missing key material (expected: ID KEY [INDEX])",
			       kf->name, kf->line);
			return -1;
		}
		if (nf > 3) {
			qk_err("%s:%lu: too many fields (expected: ID KEY [INDEX])",
			       kf->name, kf->line);
			return -1;
		}
		if (qk_parse_key_id((const char *)f[0], flen[0], rec->id)) {
			qk_err("%s:%lu: key ID must be 32 hex digits or a UUID",
			       kf->name, kf->line);
			return -1;
		}
		if (flen[1] % 2) {
			qk_err("%s:%lu: key material must be an even number of hex digits",
			       kf->name, kf->line);
			return -1;
		}
		if (flen[1] / 2 < QKTLS_KEY_MIN_LEN || flen[1] / 2 > QKTLS_KEY_MAX_LEN) {
			qk_err("%s:%lu: key is %zu bytes; keys are %d to %d bytes (%d to %d hex digits)",
			       kf->name, kf->line, flen[1] / 2, QKTLS_KEY_MIN_LEN,
			       QKTLS_KEY_MAX_LEN, 2 * QKTLS_KEY_MIN_LEN,
			       2 * QKTLS_KEY_MAX_LEN);
			return -1;
		}
		if (hex_decode(f[1], flen[1], rec->material)) {
			qk_wipe(rec, sizeof(*rec));
			qk_err("%s:%lu: key material must be hex digits",
			       kf->name, kf->line);
			return -1;
		}
		rec->len = flen[1] / 2;
		if (nf == 3) {
			char what[64];

			snprintf(what, sizeof(what), "%s:%lu: index", kf->name,
				 kf->line);
			if (flen[2] >= sizeof(num)) {
				qk_wipe(rec, sizeof(*rec));
				qk_err("%s: not a 64-bit decimal number", what);
				return -1;
			}
			memcpy(num, f[2], flen[2]);
			num[flen[2]] = '\0';
			if (qk_parse_u64(what, num, &rec->index)) {
				qk_wipe(rec, sizeof(*rec));
				return -1;
			}
			rec->has_index = true;
		}
		return 1;
	}
	return 0;
}

static int next_raw(struct qk_keyfile *kf, struct qk_key_rec *rec)
{
	size_t rlen = QKTLS_KEY_ID_LEN + kf->raw_len;

	if (kf->pos == kf->len)
		return 0;
	if (kf->len - kf->pos < rlen) {
		qk_err("%s: %zu bytes left after %lu records: raw input is records of a %d-byte ID and a %zu-byte key",
		       kf->name, kf->len - kf->pos, kf->line, QKTLS_KEY_ID_LEN,
		       kf->raw_len);
		return -1;
	}
	memset(rec, 0, sizeof(*rec));
	memcpy(rec->id, kf->buf + kf->pos, QKTLS_KEY_ID_LEN);
	memcpy(rec->material, kf->buf + kf->pos + QKTLS_KEY_ID_LEN, kf->raw_len);
	rec->len = kf->raw_len;
	kf->pos += rlen;
	rec->line = ++kf->line;
	return 1;
}

/* The next key: 1, 0 at the end, -1 after reporting a bad one. */
int qk_keyfile_next(struct qk_keyfile *kf, struct qk_key_rec *rec)
{
	return kf->raw ? next_raw(kf, rec) : next_hex(kf, rec);
}
