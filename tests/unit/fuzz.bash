# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the fuzzing scripts tests/unit/*_fuzz.sh (after tests/lib/tap.sh):
# run a libFuzzer target of build/fuzz from seeds the script writes, as one
# TAP result.  `make check` runs each target for QKTLS_FUZZ_SECONDS (default:
# the script's); `make fuzz` sets QKTLS_FUZZ_RUNS=N to run each for N
# executions instead.  Every run prints its executions and seconds; a crash,
# leak or hang leaves its input in build/fuzz/artifacts/.
#
#   fuzz_seeds NAME          a new directory for NAME's seeds (printed)
#   fuzz_run NAME SECS [LIBFUZZER-OPTION...]
#                            run build/fuzz/NAME from its seeds (SECS: the
#                            default time); the target's log lines are
#                            discarded (-close_fd_mask=2)
fuzz_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fuzz_work=$(mktemp -d)
trap 'rm -rf "$fuzz_work"' EXIT

fuzz_seeds() {
	mkdir -p "$fuzz_work/seeds-$1"
	echo "$fuzz_work/seeds-$1"
}

fuzz_run() {
	local name=$1 secs=${QKTLS_FUZZ_SECONDS:-$2} fuzz dir limit what start rc
	shift 2
	fuzz=$fuzz_top/build/fuzz/$name
	dir=$fuzz_work/run-$name
	if [ -n "${QKTLS_FUZZ_RUNS:-}" ]; then
		limit=-runs=$QKTLS_FUZZ_RUNS
		what="$name finds nothing in $QKTLS_FUZZ_RUNS executions"
	else
		limit=-max_total_time=$secs
		what="$name finds nothing in ${secs}s"
	fi
	if [ ! -x "$fuzz" ]; then
		tap_fail "$what" "$fuzz is missing (make tests)"
		return
	fi
	mkdir -p "$dir/corpus" "$fuzz_top/build/fuzz/artifacts"
	start=$(date +%s)
	(cd "$dir" && "$fuzz" "$limit" -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$fuzz_top/build/fuzz/artifacts/$name-" "$@" \
		corpus "$fuzz_work/seeds-$name") >"$dir/log" 2>&1
	rc=$?
	echo "# $name: $(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")" \
	     "executions in $(($(date +%s) - start)) s" \
	     "($(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")/s)," \
	     "corpus $(ls "$dir/corpus" | wc -l) inputs"
	if [ "$rc" -eq 0 ]; then
		tap_ok "$what"
	else
		tail -n 40 "$dir/log" | sed 's/^/# /'
		tap_fail "$what" "crash, leak or hang (exit status $rc; the input is in build/fuzz/artifacts)"
	fi
}
