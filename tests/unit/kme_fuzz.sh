#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on the ETSI GS QKD 014 response parser for a bounded time
# (QKTLS_FUZZ_SECONDS, default 20), starting from seeds written here (the
# first byte picks the parser, see userspace/kme/fuzz_parse.c).
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$top/build/fuzz/kme_parse
secs=${QKTLS_FUZZ_SECONDS:-20}

tap_plan 3
if [ ! -x "$fuzz" ]; then
	tap_fail "fuzzer built" "$fuzz is missing (make tests)"
	tap_skip "parser runs without the network" "no fuzzer"
	tap_skip "fuzzing finds nothing in ${secs}s" "no fuzzer"
	tap_done
fi
tap_ok "fuzzer built"

# The parser is linked alone: no libcurl, no sockets.
if nm -u "$fuzz" | grep -Eq ' (curl_|connect$|socket$)'; then
	tap_fail "parser runs without the network" "the fuzzer links network code"
else
	tap_ok "parser runs without the network"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/seeds"
uuid=0b5e6f04-41e1-4c5b-9a1e-1f6f2b1e6a01
key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
printf '\x02{"keys":[{"key_ID":"%s","key":"%s"}],"key_container_extension":{"x":1}}' \
	"$uuid" "$key" >"$work/seeds/enc"
printf '\x03{"keys":[{"key_ID":"%s","key_ID_extension":{},"key":"%s","key_extension":{"a":[1]}}]}' \
	"$uuid" "$key" >"$work/seeds/dec"
printf '\x00{"source_KME_ID":"A","target_KME_ID":"B","master_SAE_ID":"SA","slave_SAE_ID":"SB","key_size":256,"stored_key_count":25000,"max_key_count":100000,"max_key_per_request":128,"max_key_size":1024,"min_key_size":64,"max_SAE_ID_count":0,"status_extension":{}}' \
	>"$work/seeds/status"
printf '\x01{"message":"not enough keys","details":[{"stored":0}]}' >"$work/seeds/error"
if (cd "$work" && "$fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -dict="$top/userspace/kme/fuzz.dict" -print_final_stats=1 \
	corpus seeds) >"$work/log" 2>&1; then
	grep -E '^(Done|stat::number_of_executed_units)' "$work/log" | sed 's/^/# /'
	tap_ok "fuzzing finds nothing in ${secs}s"
else
	tail -n 40 "$work/log" | sed 's/^/# /'
	tap_fail "fuzzing finds nothing in ${secs}s" "crash or leak found (input in the log above)"
fi
tap_done
