#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The sandbox of the installed qktlsd.service does not loosen:
# `systemd-analyze security --offline=true` on the unit that make install
# puts in a DESTDIR gives an overall exposure level no higher than the one
# recorded in Documentation/qktls/agent.rst ("Exposure"), checked both on
# the printed level and with --threshold (systemd-analyze's own verdict).
#
#   1  the recorded level is in agent.rst
#   2  systemd-analyze rates the installed unit at or below it
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"

tap_plan 2
doc=$top/Documentation/qktls/agent.rst
rec=$(sed -n 's/.*overall exposure level \*\*\([0-9][0-9]*\.[0-9]\)\*\*.*/\1/p' "$doc" | head -n1)
if [ -n "$rec" ]; then
	tap_ok "agent.rst records the unit's exposure level: $rec"
else
	tap_fail "agent.rst records the unit's exposure level" \
		"no 'overall exposure level **N.N**' in $doc"
fi
if ! command -v systemd-analyze >/dev/null; then
	tap_skip "systemd-analyze security: at most $rec" "no systemd-analyze (the build root has it)"
	tap_done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! make -C "$top" --no-print-directory install DESTDIR="$tmp/root" PREFIX=/usr \
	>"$tmp/make.out" 2>&1; then
	sed 's/^/# /' "$tmp/make.out"
	tap_fail "systemd-analyze security: at most $rec" "make install failed"
	tap_done
fi
# --threshold is in tenths: exposure 1.7 is 17.
thr=$(echo "${rec:-0}" | awk '{ printf "%d", $1 * 10 + 0.5 }')
systemd-analyze security --offline=true --root="$tmp/root" --threshold="$thr" \
	qktlsd.service >"$tmp/sa.out" 2>&1
rc=$?
got=$(sed -n 's/.*Overall exposure level for qktlsd.service: \([0-9.]*\).*/\1/p' "$tmp/sa.out")
if [ $rc -eq 0 ] && [ -n "$got" ] && [ -n "$rec" ] &&
   awk -v g="$got" -v r="$rec" 'BEGIN { exit !(g <= r) }'; then
	tap_ok "systemd-analyze security --offline=true: $got, at most $rec"
else
	grep -v '^✓' "$tmp/sa.out" | sed 's/^/# /'
	tap_fail "systemd-analyze security --offline=true: at most $rec" \
		"exposure '$got', exit status $rc (threshold $thr)"
fi
tap_done
