/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Known answers of the TLS 1.3 key schedule, shared by the userspace unit
 * test (tests/unit/keysched.c, against libqktls) and the self-test of
 * qktls.ko (kernel/kdf.c, against the kernel crypto API), so that both
 * sides prove the same numbers.  Hex strings, no spaces.
 *
 * RFC 8448 section 3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256) and,
 * for SHA-384, the TLS_AES_256_GCM_SHA384 trace of "The Illustrated TLS 1.3
 * Connection" (tls13.xargs.org), typed in from the published traces.
 *
 * The key update vectors (QKTLS_V_UPD_* and QKTLS_V_QKD_*) are pinned: no
 * published trace has a TLS 1.3 key update and the QKD update is the
 * project's own; they were computed by a third implementation (HKDF over
 * Python's hmac module).  Start secrets: QKTLS_V_RFC8448_C_AP (SHA-256)
 * and QKTLS_V_XARGS_C_AP (SHA-384); K_qkd = 00 01 02 .. 1f (32 bytes).
 * Documentation/qktls/key-schedule.rst lists them too.
 */
#ifndef QKTLS_TESTS_VECTORS_KEYSCHED_H
#define QKTLS_TESTS_VECTORS_KEYSCHED_H

/* ---- RFC 8448 section 3 ---------------------------------------------------- */
#define QKTLS_V_RFC8448_EARLY \
	"33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
#define QKTLS_V_RFC8448_EARLY_DERIVED \
	"6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
#define QKTLS_V_RFC8448_HS \
	"1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"
#define QKTLS_V_RFC8448_HS_DERIVED \
	"43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4"
#define QKTLS_V_RFC8448_S_HS \
	"b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define QKTLS_V_RFC8448_S_HS_KEY	"3fce516009c21727d0f2e4e86ee403bc"
#define QKTLS_V_RFC8448_S_HS_IV		"5d313eb2671276ee13000b30"
#define QKTLS_V_RFC8448_S_FINISHED \
	"008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8"
#define QKTLS_V_RFC8448_MASTER \
	"18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919"
/* Transcript-Hash(ClientHello .. server Finished) */
#define QKTLS_V_RFC8448_TH_SF \
	"9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13"
#define QKTLS_V_RFC8448_C_AP \
	"9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
#define QKTLS_V_RFC8448_S_AP \
	"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
#define QKTLS_V_RFC8448_C_AP_KEY	"17422dda596ed5d9acd890e3c63f5051"
#define QKTLS_V_RFC8448_C_AP_IV		"5b78923dee08579033e523d9"
#define QKTLS_V_RFC8448_S_AP_KEY	"9f02283b6c9c07efc26bb9f2ac92e356"
#define QKTLS_V_RFC8448_S_AP_IV		"cf782b88dd83549aadf1e984"

/* ---- tls13.xargs.org, TLS_AES_256_GCM_SHA384 -------------------------------- */
#define QKTLS_V_XARGS_EARLY \
	"7ee8206f5570023e6dc7519eb1073bc4e791ad37b5c382aa10ba18e2357e7169" \
	"71f9362f2c2fe2a76bfd78dfec4ea9b5"
#define QKTLS_V_XARGS_EARLY_DERIVED \
	"1591dac5cbbf0330a4a84de9c753330e92d01f0a88214b4464972fd668049e93" \
	"e52f2b16fad922fdc0584478428f282b"
#define QKTLS_V_XARGS_HS \
	"bdbbe8757494bef20de932598294ea65b5e6bf6dc5c02a960a2de2eaa9b07c92" \
	"9078d2caa0936231c38d1725f179d299"
#define QKTLS_V_XARGS_HS_DERIVED \
	"be3a8cdfcd10e46d3fe5d2902568518993ae43f2fb7c5438cde4776d1bc22024" \
	"2041a83f388266fd07b0177bf29e9486"
#define QKTLS_V_XARGS_C_HS \
	"db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42" \
	"ae184501972f8d30c4a3e4a3693d0ef0"
#define QKTLS_V_XARGS_C_HS_KEY \
	"1135b4826a9a70257e5a391ad93093dfd7c4214812f493b3e3daae1eb2b1ac69"
#define QKTLS_V_XARGS_C_HS_IV		"4256d2e0e88babdd05eb2f27"
#define QKTLS_V_XARGS_S_HS \
	"23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a" \
	"68f481f2b019f9403a3051908a5d1622"
#define QKTLS_V_XARGS_S_HS_KEY \
	"9f13575ce3f8cfc1df64a77ceaffe89700b492ad31b4fab01c4792be1b266b7f"
#define QKTLS_V_XARGS_S_HS_IV		"9563bc8b590f671f488d2da3"
#define QKTLS_V_XARGS_C_AP \
	"9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7f" \
	"f8d88b89792114208fec291a6fa96bad"
#define QKTLS_V_XARGS_C_AP_KEY \
	"de2f4c7672723a692319873e5c227606691a32d1c59d8b9f51dbb9352e9ca9cc"
#define QKTLS_V_XARGS_C_AP_IV		"bb007956f474b25de902432f"
#define QKTLS_V_XARGS_S_AP \
	"86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911" \
	"e89a189ba5dfd71fccffb5cc164901f8"
#define QKTLS_V_XARGS_S_AP_KEY \
	"01f78623f17e3edcc09e944027ba3218d57c8e0db93cd3ac419309274700ac27"
#define QKTLS_V_XARGS_S_AP_IV		"196a750b0c5049c0cc51a541"

/* ---- pinned key updates ------------------------------------------------------ */
/* K_qkd of the QKD update vectors: bytes 00 01 02 .. 1f. */
#define QKTLS_V_K_QKD \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define QKTLS_V_UPD_SHA256_1 \
	"fcdfcc72725aaee48bf64e4fd8b749cdbdbab39d90da0b26e2245ca6ea167207"
#define QKTLS_V_UPD_SHA256_2 \
	"68474fe58c172143d0a009a76edd231b0d934f3058588ea0852662279e54a573"
#define QKTLS_V_QKD_SHA256 \
	"47fc910aea148422731ff3d251bfe2ea1423e06215114d093c2ffcf1fa34a4c0"
#define QKTLS_V_UPD_SHA384_1 \
	"1606d26db23e1df02b54b3b8161990e992036aafaeb92f2a" \
	"f8ba8a22aea2b5ba81c462f4a2600ff281e6eed808b90b58"
#define QKTLS_V_UPD_SHA384_2 \
	"78a9d11501f149e853064e71818cce9374a72edefe314c3f" \
	"1c1a4234ef84d943f6ed5a7b74fedd1b68328e0ee96dab7d"
#define QKTLS_V_QKD_SHA384 \
	"5470caceac18451830eaadb5a70444c4ecc5d53f46a9b6b5" \
	"71736fc86df44568b0952ceee3525397ca034ec3d9e253bb"

#endif /* QKTLS_TESTS_VECTORS_KEYSCHED_H */
