#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on the ETSI GS QKD 014 response parser for a bounded time
# (QKTLS_FUZZ_SECONDS, default 20), starting from the seed corpus.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$top/build/fuzz/kme_parse
seeds=$top/userspace/kme/fuzz-corpus
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
mkdir "$work/corpus"
if (cd "$work" && "$fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -dict="$top/userspace/kme/fuzz.dict" -print_final_stats=1 \
	corpus "$seeds") >"$work/log" 2>&1; then
	grep -E '^(Done|stat::number_of_executed_units)' "$work/log" | sed 's/^/# /'
	tap_ok "fuzzing finds nothing in ${secs}s"
else
	tail -n 40 "$work/log" | sed 's/^/# /'
	tap_fail "fuzzing finds nothing in ${secs}s" "crash or leak found (input in the log above)"
fi
tap_done
