#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on the ETSI GS QKD 014 response parser for QKTLS_FUZZ_SECONDS
# (default 20), or QKTLS_FUZZ_RUNS executions (make fuzz), starting from
# seeds written here (the first byte picks the parser, see
# userspace/kme/fuzz_parse.c).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/fuzz.bash"
fuzz=$fuzz_top/build/fuzz/kme_parse

tap_plan 2
# The parser is linked alone: no libcurl, no sockets.
if [ ! -x "$fuzz" ]; then
	tap_fail "parser runs without the network" "$fuzz is missing (make tests)"
elif nm -u "$fuzz" | grep -Eq ' (curl_|connect$|socket$)'; then
	tap_fail "parser runs without the network" "the fuzzer links network code"
else
	tap_ok "parser runs without the network"
fi

seeds=$(fuzz_seeds kme_parse)
uuid=0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a01
key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
printf '\x02{"keys":[{"key_ID":"%s","key":"%s"}],"key_container_extension":{"x":1}}' \
	"$uuid" "$key" >"$seeds/enc"
printf '\x03{"keys":[{"key_ID":"%s","key_ID_extension":{},"key":"%s","key_extension":{"a":[1]}}]}' \
	"$uuid" "$key" >"$seeds/dec"
printf '\x00{"source_KME_ID":"A","target_KME_ID":"B","master_SAE_ID":"SA","slave_SAE_ID":"SB","key_size":256,"stored_key_count":25000,"max_key_count":100000,"max_key_per_request":128,"max_key_size":1024,"min_key_size":64,"max_SAE_ID_count":0,"status_extension":{}}' \
	>"$seeds/status"
printf '\x01{"message":"not enough keys","details":[{"stored":0}]}' >"$seeds/error"
fuzz_run kme_parse 20 -max_len=4096 -dict="$fuzz_top/userspace/kme/fuzz.dict"
tap_done
