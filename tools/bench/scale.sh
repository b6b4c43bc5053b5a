#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scale.sh [qktls-bench-scale OPTIONS]: the scale benchmark in the VM
# (tools/bench/run-scale): qktls-bench-scale, then the admin tool's JSON
# dump it kept checked against its counts with jq; build/bench/scale.csv,
# scale-slab.csv and scale.svg (kernel memory at each phase).
set -u
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/qktls-bench-scale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$bench_out"
"$bench_bin/qktls-bench-scale" --qktls "$bench_bin/qktls" --json "$tmp/dump.json" \
	--csv "$bench_out/scale.csv" --slab-csv "$bench_out/scale-slab.csv" "$@" | tee "$tmp/out"
[ "${PIPESTATUS[0]}" = 0 ] || exit 1
# The dump, taken with every socket attached, against the program's figures.
socks=$(sed -n 's/.*both ends attached (\([0-9]*\) sockets).*/\1/p' "$tmp/out")
tx=$(sed -n 's/^rekeys (module counters.*client TX \([0-9]*\) .*/\1/p' "$tmp/out")
read -r n jtx jrx < <(jq -r '[length, (map(.stats.tx_rekeys) | add),
	(map(.stats.rx_rekeys) | add)] | @tsv' "$tmp/dump.json")
echo "qktls -j sock show: $n sockets, TX rekeys $jtx, RX rekeys $jrx (jq over the dump)"
if [ "$n" != "$socks" ] || [ "$jtx" != "$tx" ] || [ "$jrx" != "$tx" ]; then
	echo "scale: the dump disagrees: $n sockets and $jtx/$jrx rekeys, not $socks and $tx" >&2
	exit 1
fi
awk -F, 'NR == 1 { print "phase \"qktls_sock\" \"kmalloc (vs start)\" \"all slab (vs start)\"" }
	NR > 1 { printf "%s %.1f %.1f %.1f\n", $1, $3 / 1024, $4 / 1024, $5 / 1024 }' \
	"$bench_out/scale-slab.csv" >"$bench_out/scale.dat"
bench_plot "$bench_out/scale.svg" \
	"$socks attached sockets, $(uname -r), ${QKTLS_BENCH_ACCEL:-?}: kernel slab memory (KiB)" \
	"KiB" "$bench_out/scale.dat" 3 || exit 1
echo "scale: figures in build/bench/scale.csv, scale-slab.csv, scale.svg"
