#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on the qktls provider's key share handling (server import,
# reference lookup, encapsulation; client length/key ID checks and
# decapsulation) for a bounded time (QKTLS_FUZZ_SECONDS, default 20),
# from seeds of every valid length made here.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$top/build/fuzz/provider_share
secs=${QKTLS_FUZZ_SECONDS:-20}

tap_plan 2
if [ ! -x "$fuzz" ]; then
	tap_fail "fuzzer built" "$fuzz is missing (make tests)"
	tap_skip "fuzzing finds nothing in ${secs}s" "no fuzzer"
	tap_done
fi
tap_ok "fuzzer built"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/seeds"
# mode byte: bit 0 qkd_mlkem768, bit 1 client side; then the share.
# ML-KEM parts all zero (a valid encoding), X25519 parts the point u = 9.
x25519() { printf '\x09'; head -c 31 /dev/zero; }
seed() { # NAME MODE ZEROS [X25519 [ZEROS]]
	{ printf "\\x$2"; head -c "$3" /dev/zero
	  [ -n "${4:-}" ] && x25519 && head -c "${5:-0}" /dev/zero; } >"$work/seeds/$1"
}
seed hybrid-client 00 1184 x 16		# reference 00.. (known)
seed hybrid-client-noref 00 1184 x
seed mlkem-client 01 1200
seed hybrid-server 02 1088 x
seed mlkem-server 03 1104		# key ID 00.. does not match
if (cd "$work" && "$fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=1400 -print_final_stats=1 corpus seeds) >"$work/log" 2>&1; then
	grep -E '^(Done|stat::number_of_executed_units)' "$work/log" | sed 's/^/# /'
	tap_ok "fuzzing finds nothing in ${secs}s"
else
	tail -n 40 "$work/log" | sed 's/^/# /'
	tap_fail "fuzzing finds nothing in ${secs}s" "crash or leak found (input in the log above)"
fi
tap_done
