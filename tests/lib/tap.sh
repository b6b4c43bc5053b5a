# SPDX-License-Identifier: GPL-2.0-only
# TAP output for shell tests, in the format the kselftest harness uses, so
# tests/lib/run-suite and the final count treat both alike.
#
#   . tests/lib/tap.sh
#   tap_plan 3
#   tap_check "module loads" insmod "$ko"
#   tap_ok "..." / tap_fail "..." "why" / tap_skip "..." "why"
#   tap_done            exit status: 1 if anything failed

_tap_n=0
_tap_failed=0

tap_plan() { echo "TAP version 13"; echo "1..$1"; }
tap_ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $1"; }
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $1 # SKIP $2"; }
tap_fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=1
	[ -n "${2:-}" ] && echo "# $2"
	echo "not ok $_tap_n $1"
}
# tap_check DESC CMD...: ok if CMD succeeds; its output is shown as comments.
tap_check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
	if [ "$rc" -eq 0 ]; then tap_ok "$desc"; else tap_fail "$desc" "exit status $rc: $*"; fi
}
tap_done() { exit "$_tap_failed"; }
