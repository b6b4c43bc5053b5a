#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A flapping key agreement session never kills data connections: agent A
# (client link, KME master) and agent B (server link, KME slave) talk
# through a TCP relay (socat) that the test cuts; a kTLS connection
# between two qktlsd_app moves data with a QKD rekey every 1 MiB in each
# direction meanwhile.  Each cut happens with both apps stopped (SIGSTOP),
# so key updates wait in the receive queues, naming keys of the pools the
# agents' next session must not wipe.
#
#   1  the agents start and their session (through the relay) comes up
#   2  512 MiB and 1000 bytes each way (1 GiB in all) with plain write()
#      and read() under policy required, while the session is cut 20
#      times, each after 10 more MiB and followed by a new session that
#      reconciles both pools: every byte checked, close_notify read at
#      both ends
#   3  the module's counters at both ends: exactly 512 QKD rekeys each way,
#      each followed by the peer, no error, no refused write, no fallback
#   4  21 sessions in each agent's log, each reconciling both pools, no
#      pool wiped, no session error other than the cuts
#   5  the agents stop cleanly on SIGTERM
#
# Needs kTLS rekey (7.3): rekey policies are refused on 6.12, where the
# test is skipped.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
PLAN=5
CUTS=20
MIB=$((1 << 20))
BYTES=$((512 * MIB + 1000))

tap_plan $PLAN
skip_all() { for i in $(seq $PLAN); do tap_skip "flap $i" "$1"; done; tap_done; }
[ -x "$qktlsd" ] && [ -x "$app" ] && [ -x "$q" ] && command -v socat >/dev/null &&
	command -v jq >/dev/null || skip_all "qktlsd, qktlsd_app, qktls, socat or jq missing"
"$q" pool list >/dev/null 2>&1 || skip_all "qktls.ko is not loaded"
grep -q TlsTxRekeyOk /proc/net/tls_stat 2>/dev/null || skip_all "kTLS cannot rekey on this kernel"

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	for p in ga.c2s ga.s2c gb.c2s gb.s2c; do "$q" pool del "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$top/tools/kme-sim/sim-env.sh"
mkdir -p "$tmp/sim"
sim_start "$tmp/sim" || skip_all "the KME simulator did not start"
mkcert ca "qktls test CA" && mkcert server server.test ca &&
	mkcert client client.test ca || { cat "$tmp/req.err"; exit 1; }
sync_port=7393 relay_port=7394

# The relay: one socat child per session; killing the children cuts it.
socat TCP-LISTEN:$relay_port,bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:$sync_port &
relay_pid=$!
pids+=($relay_pid)

# Pools of 256 keys (high 128): 512 rekeys per direction, refilled as used.
wm_low=64 wm_high=128 link_extra='key_update = "qkd"; rekey_bytes = 1048576L;'
for agent in a b; do
	{
		echo "socket = \"$tmp/$agent.sock\"; log_level = \"debug\"; handshake_timeout = 60;"
		[ $agent = b ] && echo "sync_listen = \"127.0.0.1:$sync_port\";"
		echo "links = ("
		if [ $agent = a ]; then
			flink c-flap client server.test client required ga master SAE_A SAE_B \
				"$URL_A" sae-a "127.0.0.1:$relay_port"
		else
			flink s-flap server client.test server required gb slave SAE_B SAE_A \
				"$URL_B" sae-b
		fi
		echo ");"
	} >"$tmp/$agent.conf"
done

sessions() { grep -c "link c-flap: key agreement session with the agent" "$tmp/a.log"; }
# reconciled FILE: lines saying a pool was reconciled.
reconciled() { grep -cE "link [cs]-flap: pool g[ab]\.(c2s|s2c) reconciled" "$1"; }
# until_true SECONDS CMD...: poll a condition, at most SECONDS.
until_true() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1	# polling a condition, not standing in for one
	done
}
# The client app's socket: its TX QKD rekeys so far (each 1 MiB sent).
client_rekeys() {
	"$q" -j sock list 2>/dev/null |
		jq '[.[] | select(.tx_pool == "ga.c2s") | .stats.tx_qkd_rekeys] | max // 0'
}
at_least() { [ "$("$@")" -ge "$want" ]; }

# 1
start_agent b && start_agent a
if wait_log "$tmp/a.log" "link c-flap: key agreement session with the agent" &&
   wait_log "$tmp/b.log" "link s-flap: key agreement session from the master" &&
   wait_log "$tmp/a.log" "link c-flap: batch [0-9]+ committed, [0-9]+ keys; stores hs [0-9]+ c2s 128 s2c 128"; then
	tap_ok "the agents' session comes up through the relay, pools filled"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "the agents' session comes up through the relay, pools filled"
fi

# 2
start_server srv "$app" server --agent "$tmp/b.sock" --link s-flap --bytes $BYTES
pids+=($srv_pid)
"$app" client --agent "$tmp/a.sock" --link c-flap --port "$port" --bytes $BYTES \
	>"$tmp/cli.out" 2>"$tmp/cli.err" &
cli_pid=$!
pids+=($cli_pid)
cuts=0 why=
for ((k = 1; k <= CUTS; k++)); do
	want=$((k * 10))
	if ! until_true 300 at_least client_rekeys; then
		why="the client did not reach $want MiB before cut $k"
		break
	fi
	kill -0 $cli_pid 2>/dev/null || { why="the transfer ended before cut $k"; break; }
	n=$(sessions) ra=$(reconciled "$tmp/a.log") rb=$(reconciled "$tmp/b.log")
	kill -STOP $cli_pid $srv_pid
	pkill -KILL -P $relay_pid
	# The next session is up once both agents reconciled both pools.
	want=$((n + 1))
	if ! until_true 120 at_least sessions; then
		why="no new session after cut $k"
		kill -CONT $cli_pid $srv_pid
		break
	fi
	want=$((ra + 2))
	until_true 120 at_least reconciled "$tmp/a.log" &&
		want=$((rb + 2)) && until_true 120 at_least reconciled "$tmp/b.log" ||
		why="the pools were not reconciled after cut $k"
	kill -CONT $cli_pid $srv_pid
	[ -z "$why" ] || break
	cuts=$k
done
wait $cli_pid
crc=$?
wait_server && src=0 || src=$?
c=$tmp/cli.out s=$tmp/srv.out
if [ $cuts = $CUTS ] && [ $crc = 0 ] && [ $src = 0 ] &&
   grep -qx "DATA ok $BYTES" "$c" && grep -qx "DATA ok $BYTES" "$s" &&
   grep -qx CLOSE_NOTIFY "$c" && grep -qx CLOSE_NOTIFY "$s"; then
	tap_ok "512 MiB each way, every byte checked, while the agents' session was cut $CUTS times"
else
	show "$c" "$tmp/cli.err" "$s" "$tmp/srv.err"
	tail -n 40 "$tmp/a.log" | show /dev/stdin
	tap_fail "512 MiB each way, every byte checked, while the agents' session was cut $CUTS times" \
		"$cuts cuts${why:+ ($why)}, client $crc, server $src"
fi

# 3
counters="tx_qkd_rekeys=512 rx_qkd_rekeys=512 tx_rekeys=512 rx_rekeys=512
	rekey_errors=0 qkd_policy=required tx_std_fallbacks=0 tx_refused=0 rx_errors=0"
# shellcheck disable=SC2086
if sock_has "$c" $counters tx_pool=ga.c2s rx_pool=ga.s2c &&
   sock_has "$s" $counters tx_pool=gb.s2c rx_pool=gb.c2s; then
	tap_ok "512 QKD rekeys each way at both ends, no error, refusal or fallback"
else
	grep "^SOCK" "$c" "$s" | show /dev/stdin
	tap_fail "512 QKD rekeys each way at both ends, no error, refusal or fallback"
fi

# 4
na=$(sessions)
nb=$(grep -c "link s-flap: key agreement session from the master" "$tmp/b.log")
if [ "$na" -ge $((CUTS + 1)) ] && [ "$nb" -ge $((CUTS + 1)) ] &&
   [ "$(reconciled "$tmp/a.log")" -ge $((2 * (CUTS + 1))) ] &&
   [ "$(reconciled "$tmp/b.log")" -ge $((2 * (CUTS + 1))) ] &&
   ! grep -qE "cannot (flush|wipe|delete|list)|ending the key agreement session" \
	"$tmp/a.log" "$tmp/b.log"; then
	tap_ok "$na sessions at A, $nb at B, each reconciling both pools, none wiped"
else
	grep -E "session|reconciled|cannot" "$tmp/a.log" "$tmp/b.log" | tail -n 40 | show /dev/stdin
	tap_fail "21 sessions or more, each reconciling both pools, none wiped" "A $na, B $nb"
fi

# 5
if stop_agents a b; then
	tap_ok "the agents stop on SIGTERM"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "the agents stop on SIGTERM"
fi
tap_done
