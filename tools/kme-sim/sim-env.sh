# SPDX-License-Identifier: GPL-2.0-only
# Shell helpers for tests that run qktls-kme-sim (source this file).
#
#   sim_start DIR [ARGS...]  make a PKI in DIR/pki, start the simulator on
#                            127.0.0.1 with kernel-chosen ports; sets
#                            SIM_PID, PORT_A, PORT_B, URL_A, URL_B, CTL, PKI
#                            (and PORT004_A, PORT004_B with --a/b-listen-004)
#   sim_ctl COMMAND...       one control command; prints the reply
#   sim_stop                 SIGTERM and wait; returns its exit status

_sim_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The sanitizer build of the simulator when there is one.
SIM_BIN=${SIM_BIN:-$_sim_top/build/tests/kme/qktls-kme-sim}
[ -x "$SIM_BIN" ] || SIM_BIN=$_sim_top/build/bin/qktls-kme-sim

sim_start() {
	local dir=$1 line
	shift
	PKI=$dir/pki
	CTL=$dir/ctl
	[ -d "$PKI" ] || "$_sim_top/tools/kme-sim/mkcerts" "$PKI" || return 1
	rm -f "$dir/ready"
	mkfifo "$dir/ready" || return 1
	"$SIM_BIN" -v --ca "$PKI/ca.pem" \
		--a-cert "$PKI/kme-a.pem" --a-key "$PKI/kme-a.key" \
		--b-cert "$PKI/kme-b.pem" --b-key "$PKI/kme-b.key" \
		--control "$CTL" --port-file "$dir/ready" "$@" 2>"$dir/sim.log" &
	SIM_PID=$!
	# Opened read-write so this never blocks; the line arrives when the
	# simulator serves, or never (then read times out).
	exec {_sim_fd}<>"$dir/ready"
	if ! read -r -t 20 -u "$_sim_fd" line; then
		exec {_sim_fd}<&-
		sed 's/^/# /' "$dir/sim.log"
		kill "$SIM_PID" 2>/dev/null
		return 1
	fi
	exec {_sim_fd}<&-
	PORT_A=${line#a=}
	PORT_A=${PORT_A%% *}
	PORT_B=${line#* b=}
	PORT_B=${PORT_B%% *}
	PORT004_A=
	PORT004_B=
	case $line in *a004=*)
		PORT004_A=${line#* a004=}
		PORT004_A=${PORT004_A%% *}
		PORT004_B=${line#* b004=}
		PORT004_B=${PORT004_B%% *}
	esac
	URL_A=https://localhost:$PORT_A
	URL_B=https://localhost:$PORT_B
}

sim_ctl() {
	printf '%s\n' "$*" | socat -t 5 - "UNIX-CONNECT:$CTL"
}

sim_stop() {
	kill -TERM "$SIM_PID" 2>/dev/null
	wait "$SIM_PID"
}
