#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on the ETSI GS QKD 004 codec for QKTLS_FUZZ_SECONDS (default
# 20), or QKTLS_FUZZ_RUNS executions (make fuzz), from seeds written here:
# every message type decodes, and what decodes encodes back to the same
# bytes (userspace/kme/fuzz_etsi004.c).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/fuzz.bash"
fuzz=$fuzz_top/build/fuzz/kme_etsi004

tap_plan 2
if [ ! -x "$fuzz" ]; then
	tap_fail "codec runs without the network" "$fuzz is missing (make tests)"
elif nm -u "$fuzz" | grep -Eq ' (SSL_|connect$|socket$)'; then
	tap_fail "codec runs without the network" "the fuzzer links network code"
else
	tap_ok "codec runs without the network"
fi

seeds=$(fuzz_seeds kme_etsi004)
ksid='\x11\x22\x33\x44\x55\x66\x47\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00'
qos='\x00\x00\x00\x20\x00\x0f\x42\x40\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x13\x88\x00\x00\x0e\x10application/json\x00'
printf "\x02\x01\x01\x02\x00\x00\x00\x49SAE_A\x00SAE_B\x00$qos$ksid" >"$seeds/open_req"
printf "\x02\x01\x01\x03\x00\x00\x00\x41\x00\x00\x00\x01$qos$ksid" >"$seeds/open_resp"
printf "\x02\x01\x01\x04\x00\x00\x00\x18$ksid\x00\x00\x00\x07\x00\x00\x00\x00" >"$seeds/get_req"
printf '\x02\x01\x01\x05\x00\x00\x00\x17\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x04\xde\xad\xbe\xef\x00\x00\x00\x03{}\n' >"$seeds/get_resp"
printf "\x02\x01\x01\x08\x00\x00\x00\x10$ksid" >"$seeds/close_req"
printf '\x02\x01\x01\x09\x00\x00\x00\x04\x00\x00\x00\x04' >"$seeds/close_resp"
fuzz_run kme_etsi004 20 -max_len=2048
tap_done
