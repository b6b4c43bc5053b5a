// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the ETSI GS QKD 014 response parsers (parse.c,
 * linked alone: no network).  The first input byte picks the parser and
 * the expectations, the rest is the KME's answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <qktls/kme.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {
		"0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a01",
		"0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a02",
	};
	struct qk_kme_expect exp = { 0 };
	struct qk_kme_keys keys;
	struct qk_kme_status st;
	struct qk_kme_error err;
	const char *body;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	body = (const char *)data + 1;
	size--;
	switch (sel & 3) {
	case 0:
		if (qk_kme_parse_status(body, size, &st, &err) == QK_KME_OK)
			qk_kme_status_free(&st);
		break;
	case 1:
		qk_kme_parse_error(400 + (sel >> 2), body, size, &err);
		break;
	default:
		exp.number = (sel >> 2) & 3;
		exp.size = ((sel >> 4) & 1) ? 256 : 0;
		if ((sel & 3) == 3) {
			exp.ids = ids;
			exp.n_ids = 1 + ((sel >> 5) & 1);
			exp.number = 0;
		}
		if (qk_kme_parse_keys(body, size, &exp, &keys, &err) == QK_KME_OK) {
			/* Everything accepted must honour the expectations. */
			if ((exp.number && keys.count != exp.number) ||
			    (exp.ids && keys.count != exp.n_ids))
				__builtin_trap();
			for (size_t i = 0; i < keys.count; i++)
				if (!qk_kme_is_uuid(keys.keys[i].id) ||
				    (exp.size && keys.keys[i].len != exp.size / 8) ||
				    keys.keys[i].len != keys.keys[0].len ||
				    (exp.ids && strcasecmp(keys.keys[i].id, ids[i])))
					__builtin_trap();
			qk_kme_keys_free(&keys);
		}
		break;
	}
	return 0;
}
