#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# qktlsd pool feeding and the agents' key agreement (issue 5 items 5, 6):
# a KME simulator pair, agent A (client links, KME master, SAE_A) and agent
# B (server links, KME slave, SAE_B) on 127.0.0.1 with their own Unix
# sockets and kernel pools (A: fa.*, B: fb.*, as two hosts would use one
# name each), applications handing sockets over with libqktls.
#
#   1  both agents start; the key agreement session comes up
#   2  every store is filled to the high watermark: both kernel pools of
#      each direction hold the same key IDs in the same order
#   3  with the KMEs answering after 100 ms, 4 handshakes under policy
#      required each use a pooled QKD key (same reference both ends, the
#      result's QKD_REQUIRED flag at both) and the KMEs see no request
#   4  taking keys from the slave's c2s pool (admin tool) below its low
#      watermark makes it refill (pool event -> LEVELS -> a new batch)
#   5  a link whose KME is down logs the KME client's message and counts it
#   6  ... its empty store under policy required: ENOKEY after qkd.wait_ms
#   7  ... under policy preferred: falls back to X25519MLKEM768, counted
#   8  the slave agent restarted mid-run: a new session reconciles the
#      kernel pools instead of wiping them: the master deletes exactly the
#      7 c2s keys the slave lost in 4, the slave keeps its s2c keys, both
#      agents' pools hold identical key IDs, and a QKD handshake works
#   9  SIGHUP with a broken file: line-numbered error, old config kept
#  10  SIGHUP adding a link: the new link serves, the old ones still do
#  11  SIGHUP removing a link: hand-offs for it are refused
#  12  ... while a hand-off on it is in flight (its peer stalls): that one
#      finishes on the old link when its peer goes
#  13  the agents stop cleanly and log their feeder counters
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
n_cases=13

tap_plan $n_cases
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || [ ! -x "$q" ] ||
   ! command -v openssl >/dev/null || ! command -v socat >/dev/null ||
   ! command -v jq >/dev/null; then
	for i in $(seq $n_cases); do tap_skip "feed $i" "qktlsd, qktlsd_app, qktls, openssl, socat or jq missing"; done
	tap_done
fi
if ! "$q" pool list >/dev/null 2>&1; then
	for i in $(seq $n_cases); do tap_skip "feed $i" "qktls.ko is not loaded"; done
	tap_done
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	for p in fa fb da db pa pb na nb; do
		"$q" pool del "$p.c2s" 2>/dev/null
		"$q" pool del "$p.s2c" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$top/tools/kme-sim/sim-env.sh"
mkdir -p "$tmp/sim"
if ! sim_start "$tmp/sim"; then
	for i in $(seq $n_cases); do tap_fail "feed $i" "the KME simulator did not start"; done
	tap_done
fi
mkcert ca "qktls test CA" && mkcert server server.test ca &&
	mkcert client client.test ca || { cat "$tmp/req.err"; exit 1; }
sync_port=7391

dead=https://127.0.0.1:9	# nothing listens there: the KME is down
a_links() {
	flink c-qkd client server.test client required fa master SAE_A SAE_B "$URL_A" sae-a "127.0.0.1:$sync_port"
	echo ,
	flink c-dead-req client server.test client required da master SAE_X1 SAE_Y1 "$dead" sae-a "127.0.0.1:$sync_port"
	echo ,
	flink c-dead-pref client server.test client preferred pa master SAE_X2 SAE_Y2 "$dead" sae-a "127.0.0.1:$sync_port"
}
b_links() {
	flink s-qkd server client.test server required fb slave SAE_B SAE_A "$URL_B" sae-b
	echo ,
	flink s-dead-req server client.test server required db slave SAE_Y1 SAE_X1 "$dead" sae-b
	echo ,
	flink s-dead-pref server client.test server preferred pb slave SAE_Y2 SAE_X2 "$dead" sae-b
}
write_conf a a_links
write_conf b b_links "sync_listen = \"127.0.0.1:$sync_port\";"

# wait_count FILE REGEX N: wait (on the file's growth) for the Nth line.
wait_count() {
	timeout 60 tail -n +1 -f "$1" | grep -E "$2" | head -n "$3" | tail -n 1 | grep -q .
}
full='stores hs 10 c2s 10 s2c 10'

# 1
start_agent b && start_agent a
if wait_log "$tmp/a.log" "link c-qkd: key agreement session with the agent" &&
   wait_log "$tmp/b.log" "link s-qkd: key agreement session from the master"; then
	tap_ok "both agents start and open their key agreement session"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "both agents start and open their key agreement session"
fi

# 2
if wait_log "$tmp/a.log" "link c-qkd: batch [0-9]+ committed, [0-9]+ keys; $full" &&
   wait_log "$tmp/b.log" "link s-qkd: batch [0-9]+ committed, [0-9]+ keys; $full" &&
   [ "$(count fa.c2s)" = 10 ] &&
   [ -n "$(ids fa.c2s)" ] && [ "$(ids fa.c2s)" = "$(ids fb.c2s)" ] &&
   [ -n "$(ids fa.s2c)" ] && [ "$(ids fa.s2c)" = "$(ids fb.s2c)" ] &&
   [ "$(ids fa.c2s | wc -w)" = 10 ] && [ "$(ids fb.s2c | wc -w)" = 10 ]; then
	tap_ok "stores filled to the high watermark, identical key IDs in both agents' pools"
else
	show "$tmp/a.log" "$tmp/b.log"
	"$q" pool list 2>&1 | show /dev/stdin
	tap_fail "stores filled to the high watermark, identical key IDs in both agents' pools"
fi

# 3: steady state: no KME round trip in a handshake.
sim_ctl fault all latency=100 >/dev/null
before=$(requests)
ok=0 refs=
for i in 1 2 3 4; do
	pair hs$i s-qkd c-qkd
	c=$tmp/hs$i-c.out s=$tmp/hs$i-s.out
	r=$(val QKD "$c")
	if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "${#r}" = 32 ] &&
	   [ "$(val QKD "$s")" = "$r" ] && [ "$(val GROUP "$c")" = qktls-X25519MLKEM768 ] &&
	   [ "$(val QKD_REQUIRED "$c")" = yes ] && [ "$(val QKD_REQUIRED "$s")" = yes ] &&
	   grep -qx "DATA ok 4096" "$c"; then
		ok=$((ok + 1))
		refs="$refs $r"
	else
		show "$c" "$tmp/hs$i-c.err" "$s" "$tmp/hs$i-s.err"
	fi
done
after=$(requests)
sim_ctl clear all >/dev/null
if [ $ok = 4 ] && [ "$before" = "$after" ] &&
   [ "$(echo $refs | tr ' ' '\n' | sort -u | wc -l)" = 4 ]; then
	tap_ok "4 QKD handshakes with pooled keys, no KME request at 100 ms latency ($before requests before and after)"
else
	tap_fail "4 QKD handshakes with pooled keys, no KME request at 100 ms latency" "$ok ok, requests $before -> $after"
fi

# 4: drain the slave's c2s pool below low (4): it refills.
nb=$(grep -cE "link s-qkd: batch [0-9]+ committed" "$tmp/b.log")
for i in 1 2 3 4 5 6 7; do "$q" key take fb.c2s >/dev/null; done
if wait_count "$tmp/b.log" "link s-qkd: batch [0-9]+ committed" $((nb + 1)) &&
   [ "$(count fb.c2s)" -ge 10 ] && [ "$(count fa.c2s)" -ge 10 ]; then
	tap_ok "taking keys from a kernel pool below its low watermark triggers a refill"
else
	show "$tmp/b.log"
	tap_fail "taking keys from a kernel pool below its low watermark triggers a refill"
fi

# 5-7: the KME is down.
if wait_log "$tmp/a.log" "link c-dead-req: KME enc_keys for [0-9]+ keys failed \\(cannot connect to KME\\): " &&
   wait_log "$tmp/a.log" "link c-dead-pref: KME enc_keys for [0-9]+ keys failed"; then
	tap_ok "a KME that is down is logged with the KME client's message"
else
	show "$tmp/a.log"
	tap_fail "a KME that is down is logged with the KME client's message"
fi
pair dr s-dead-req c-dead-req
c=$tmp/dr-c.out
if [ $crc -eq 3 ] && [ "$(val STATUS "$c")" = -126 ] &&
   grep -q "^ERROR QKD policy required: the link's QKD key store is empty" "$c" &&
   grep -q "link c-dead-req: the QKD key store stayed empty for 300 ms" "$tmp/a.log"; then
	tap_ok "empty store, policy required: ENOKEY after qkd.wait_ms"
else
	show "$c" "$tmp/dr-c.err" "$tmp/a.log"
	tap_fail "empty store, policy required: ENOKEY after qkd.wait_ms" "client $crc server $src"
fi
pair dp s-dead-pref c-dead-pref
c=$tmp/dp-c.out
if [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(val GROUP "$c")" = X25519MLKEM768 ] &&
   [ "$(val QKD_REQUIRED "$c")" = no ] &&
   grep -q "^NOTE the link's QKD key store is empty: fell back" "$c" &&
   grep -qx "DATA ok 4096" "$c"; then
	tap_ok "empty store, policy preferred: falls back to X25519MLKEM768"
else
	show "$c" "$tmp/dp-c.err" "$tmp/a.log"
	tap_fail "empty store, policy preferred: falls back to X25519MLKEM768" "client $crc server $src"
fi

# 8: restart the slave agent mid-run.
na=$(grep -c "link c-qkd: key agreement session with the agent" "$tmp/a.log")
s2c_before=$(ids fb.s2c)
kill -TERM "$b_pid"
wait "$b_pid"
brc=$?
mv "$tmp/b.log" "$tmp/b1.log"
rm -f "$tmp/b.ready"
start_agent b
wait_count "$tmp/a.log" "link c-qkd: key agreement session with the agent" $((na + 1)) &&
	wait_log "$tmp/b.log" "link s-qkd: batch [0-9]+ committed, [0-9]+ keys; $full" &&
	wait_count "$tmp/a.log" "link c-qkd: batch [0-9]+ committed, [0-9]+ keys; $full" 2
pair rs s-qkd c-qkd
c=$tmp/rs-c.out s=$tmp/rs-s.out
if [ $brc -eq 0 ] && [ -n "$s2c_before" ] &&
   grep -q "link c-qkd: pool fa.c2s reconciled: [0-9]* keys kept, 7 the peer agent no longer holds deleted" "$tmp/a.log" &&
   [[ "$(ids fb.s2c)" == "$s2c_before"* ]] &&
   [ "$(ids fa.c2s)" = "$(ids fb.c2s)" ] && [ "$(ids fa.s2c)" = "$(ids fb.s2c)" ] &&
   [ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(val QKD "$c")" = "$(val QKD "$s")" ] &&
   [ "$(val GROUP "$s")" = qktls-X25519MLKEM768 ]; then
	tap_ok "slave agent restarted: pools reconciled, not wiped (7 lost keys gone), identical stores, QKD handshake works"
else
	show "$c" "$tmp/rs-c.err" "$s" "$tmp/rs-s.err" "$tmp/a.log" "$tmp/b.log"
	tap_fail "slave agent restarted: pools reconciled, not wiped (7 lost keys gone), identical stores, QKD handshake works" "exit $brc"
fi

# 9: SIGHUP with an error: refused, old config kept.
cp "$tmp/a.conf" "$tmp/a.good"
printf 'links = (\n{ name = "x"; role = "client";\n  bogus = 1; } );\n' >"$tmp/a.conf"
kill -HUP "$a_pid"
wait_log "$tmp/a.log" "SIGHUP: .*a.conf has errors: keeping the running configuration"
pair h1 s-qkd c-qkd
if grep -q "$tmp/a.conf:3: unknown setting 'bogus'" "$tmp/a.log" &&
   [ $crc -eq 0 ] && [ "$(val GROUP "$tmp/h1-c.out")" = qktls-X25519MLKEM768 ]; then
	tap_ok "SIGHUP with a broken file: line-numbered errors, the running config kept"
else
	show "$tmp/a.log" "$tmp/h1-c.out"
	tap_fail "SIGHUP with a broken file: line-numbered errors, the running config kept"
fi

# 10: SIGHUP adding a link (policy off), the QKD link untouched.
cp "$tmp/a.good" "$tmp/a.conf"
sed -i "s|^links = (|links = (\n$(link c-new client server.test client off "" | tr '\n' ' '),|" "$tmp/a.conf"
kill -HUP "$a_pid"
wait_log "$tmp/a.log" "SIGHUP: .*a.conf reloaded, 4 links"
cp "$tmp/b.conf" "$tmp/b.good"
sed -i "s|^links = (|links = (\n$(link s-new server client.test server off "" | tr '\n' ' '),|" "$tmp/b.conf"
kill -HUP "$b_pid"
wait_log "$tmp/b.log" "SIGHUP: .*b.conf reloaded, 4 links"
pair h2 s-new c-new
pair h3 s-qkd c-qkd
if [ $crc -eq 0 ] && [ "$(val GROUP "$tmp/h2-c.out")" = X25519MLKEM768 ] &&
   grep -qx "DATA ok 4096" "$tmp/h2-c.out" &&
   [ "$(val GROUP "$tmp/h3-c.out")" = qktls-X25519MLKEM768 ] &&
   [ "$(val QKD "$tmp/h3-c.out")" = "$(val QKD "$tmp/h3-s.out")" ] &&
   [ "$(grep -c "link c-qkd: key agreement session with the agent" "$tmp/a.log")" = $((na + 1)) ]; then
	tap_ok "SIGHUP adding a link: it serves; the unchanged QKD link keeps its session"
else
	show "$tmp/a.log" "$tmp/h2-c.out" "$tmp/h2-c.err" "$tmp/h3-c.out"
	tap_fail "SIGHUP adding a link: it serves; the unchanged QKD link keeps its session"
fi

# 11: SIGHUP removing the link again.
cp "$tmp/a.good" "$tmp/a.conf"
kill -HUP "$a_pid"
wait_count "$tmp/a.log" "SIGHUP: .*a.conf reloaded, 3 links" 1
start_server rm-s "$app" server --agent "$tmp/b.sock" --link s-qkd --bytes 4096
"$app" client --agent "$tmp/a.sock" --link c-new --port "$port" >"$tmp/rm-c.out" 2>&1
crc=$?
wait_server
if [ $crc -eq 3 ] && grep -q "^ERROR no link named 'c-new'" "$tmp/rm-c.out"; then
	tap_ok "SIGHUP removing a link: hand-offs for it are refused"
else
	show "$tmp/rm-c.out"
	tap_fail "SIGHUP removing a link: hand-offs for it are refused"
fi

# 12: remove s-new from B while a hand-off on it stalls.
if start_server stall "$app" server --agent "$tmp/b.sock" --link s-new; then
	stall_pid=$srv_pid stall_drain=$drain_pid
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	wait_log "$tmp/b.log" "link s-new: handshake for pid $stall_pid "
	cp "$tmp/b.good" "$tmp/b.conf"
	kill -HUP "$b_pid"
	wait_log "$tmp/b.log" "SIGHUP: .*b.conf reloaded, 3 links"
	start_server rm2-s "$app" server --agent "$tmp/b.sock" --link s-new
	exec 6<>"/dev/tcp/127.0.0.1/$port"
	wait_server
	rm2=$?
	exec 6>&-
	exec 5>&-	# the stalled peer goes away: its hand-off ends now
	rc=0
	wait "$stall_pid" || rc=$?
	wait "$stall_drain"
	if [ $rm2 -eq 3 ] && grep -q "^ERROR no link named 's-new'" "$tmp/rm2-s.out" &&
	   [ $rc -eq 3 ] && grep -q "^ERROR TLS handshake failed" "$tmp/stall.out" &&
	   grep -q "link s-new: handshake failed" "$tmp/b.log"; then
		tap_ok "a hand-off in flight on a removed link finishes on the old link"
	else
		show "$tmp/stall.out" "$tmp/rm2-s.out" "$tmp/b.log"
		tap_fail "a hand-off in flight on a removed link finishes on the old link" "$rm2 $rc"
	fi
else
	show "$tmp/stall.out" "$tmp/stall.err"
	tap_fail "a hand-off in flight on a removed link finishes on the old link"
fi

# 13
kill -TERM "$a_pid" "$b_pid"
wait "$a_pid"; arc=$?
wait "$b_pid"; brc=$?
if [ $arc -eq 0 ] && [ $brc -eq 0 ] &&
   grep -qE "link c-qkd: feeder: [0-9]+ sessions \\([0-9]+ failed\\), [1-9][0-9]* batches" "$tmp/a.log" &&
   grep -qE "link c-dead-req: feeder: .*[1-9][0-9]* KME calls \\([1-9][0-9]* failed\\)" "$tmp/a.log" &&
   grep -qE "link c-dead-pref: .*1 fallbacks" "$tmp/a.log" &&
   grep -qE "link c-dead-req: 1 handshakes found the key store empty, 1 of them" "$tmp/a.log"; then
	tap_ok "the agents stop cleanly and log feeder and empty-store counters"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "the agents stop cleanly and log feeder and empty-store counters" "exit $arc $brc"
fi
tap_done
