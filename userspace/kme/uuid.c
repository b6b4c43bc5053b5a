// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Key IDs between their ETSI text form (a UUID, 8-4-4-4-12 hex digits) and
 * the 16 bytes that stores and key shares carry: the hex digits in text
 * order (RFC 9562 byte order), lower case on the way back.
 */
#include <stdio.h>

#include <openssl/crypto.h>

#include <qktls/kme.h>

int qk_kme_uuid_to_bytes(const char *uuid, unsigned char out[16])
{
	char hex[33];
	size_t j = 0, len = 0;

	if (uuid == NULL || !qk_kme_is_uuid(uuid))
		return -1;
	for (size_t i = 0; uuid[i] && j < 32; i++)
		if (uuid[i] != '-')
			hex[j++] = uuid[i];
	hex[j] = '\0';
	return OPENSSL_hexstr2buf_ex(out, 16, &len, hex, '\0') && len == 16 ?
	       0 : -1;
}

void qk_kme_uuid_from_bytes(const unsigned char in[16],
			    char out[QK_KME_UUID_LEN + 1])
{
	snprintf(out, QK_KME_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7],
		 in[8], in[9], in[10], in[11], in[12], in[13], in[14], in[15]);
}
