#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bulk.sh [qktls-bench-bulk OPTIONS]: the bulk benchmark in the VM
# (tools/bench/run-bulk): two network namespaces joined by a veth pair,
# qktls-bench-bulk between them, its tables, and build/bench/bulk.csv
# (a row per run), bulk-summary.csv (a row per table line) and bulk.svg.
# Seconds per run: $QKTLS_BENCH_SECONDS, else 10 under KVM and 2 under TCG
# (emulation is slow; the table says so); options given here come last.
set -u
. "$(dirname "$0")/lib.sh"
secs=${QKTLS_BENCH_SECONDS:-}
[ -n "$secs" ] || { [ "${QKTLS_BENCH_ACCEL:-}" = KVM ] && secs=10 || secs=2; }
cleanup() { ip netns del qkbulkA 2>/dev/null; ip netns del qkbulkB 2>/dev/null; }
trap cleanup EXIT
bench_netns qkbulkA qkbulkB 10.78.0.1 10.78.0.2 || { echo "bulk: cannot make the namespaces" >&2; exit 1; }
mkdir -p "$bench_out"
echo "bulk: client in netns qkbulkA, server in qkbulkB, veth 10.78.0.0/24;" \
	"$secs s per run$([ "${QKTLS_BENCH_ACCEL:-}" = TCG ] && [ -z "${QKTLS_BENCH_SECONDS:-}" ] && echo " (shortened under TCG; 10 s under KVM; QKTLS_BENCH_SECONDS sets it)")"
if [ "${QKTLS_BENCH_ACCEL:-}" != KVM ]; then
	echo "caveat: under TCG the kernel's AES-GCM and OpenSSL's are emulated at different"
	echo "costs, so kTLS against OpenSSL here is not the real ratio: the one that counts is"
	echo "from KVM or real hardware (QKTLS_VM_ACCEL=kvm make bench)"
fi
"$bench_bin/qktls-bench-bulk" --netns qkbulkA,qkbulkB --addr 10.78.0.2 --seconds "$secs" \
	--csv "$bench_out/bulk.csv" --summary "$bench_out/bulk-summary.csv" "$@" || exit 1
# The plot: median MiB/s per mode, a group per suite and number of streams.
awk -F, 'NR > 1 {
		g = $3 "/" $4; if (!(g in seen)) { seen[g] = 1; order[++n] = g }
		v[g, $5] = $7; modes[$5] = 1
	}
	END {
		printf "group tcp ktls-write ktls-sendfile openssl\n"
		for (i = 1; i <= n; i++) {
			g = order[i]; label = g; sub(/^TLS_/, "", label); sub(/_SHA[0-9]+/, "", label)
			printf "%s %s %s %s %s\n", label, v[g, "tcp"], v[g, "ktls-write"],
				v[g, "ktls-sendfile"], v[g, "openssl"]
		}
	}' "$bench_out/bulk-summary.csv" >"$bench_out/bulk.dat"
bench_plot "$bench_out/bulk.svg" \
	"bulk over veth, $(uname -r), ${QKTLS_BENCH_ACCEL:-?}: median MiB/s (suite/streams)" \
	"MiB/s" "$bench_out/bulk.dat" 4 || exit 1
echo "bulk: figures in build/bench/bulk.csv, bulk-summary.csv, bulk.svg"
