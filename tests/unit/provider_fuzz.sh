#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on the qktls provider's key share handling (server import,
# reference lookup, encapsulation; client length/key ID checks and
# decapsulation) for QKTLS_FUZZ_SECONDS (default 20), or QKTLS_FUZZ_RUNS
# executions (make fuzz), from seeds of every valid length made here.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/fuzz.bash"

tap_plan 1
seeds=$(fuzz_seeds provider_share)
# mode byte: bit 0 qkd_mlkem768, bit 1 client side; then the share.
# ML-KEM parts all zero (a valid encoding), X25519 parts the point u = 9.
x25519() { printf '\x09'; head -c 31 /dev/zero; }
seed() { # NAME MODE ZEROS [X25519 [ZEROS]]
	{ printf "\\x$2"; head -c "$3" /dev/zero
	  [ -n "${4:-}" ] && x25519 && head -c "${5:-0}" /dev/zero; } >"$seeds/$1"
}
seed hybrid-client 00 1184 x 16		# reference 00.. (known)
seed hybrid-client-noref 00 1184 x
seed mlkem-client 01 1200
seed hybrid-server 02 1088 x
seed mlkem-server 03 1104		# key ID 00.. does not match
fuzz_run provider_share 20 -max_len=1400
tap_done
