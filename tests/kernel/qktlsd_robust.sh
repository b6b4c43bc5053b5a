#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# qktlsd robustness on kTLS (issue 5 item 9), with QKD keys from per-link
# key files: one client and one server agent, applications
# (build/tests/helpers/qktlsd_app) handing their sockets over.
#
#   1  both agents start (readiness on --ready-fd, no sleeps)
#   2  100 handshakes at once through the two agents, QKD hybrid (policy
#      required), each with its own QKD key; 256 KiB each way on every
#      connection, a pattern of its own per connection and direction,
#      verified byte for byte, close_notify both ways
#   3  the agents answer afterwards: one more QKD handshake with the next key
#   4  a wrong key reference (the client's key file starts with a key the
#      server's does not hold): both sides fail with the reason, no data
#   5  ... and the next handshake on the same links works with the next key
#   6  a peer that connects and closes without a byte: the server app gets
#      the failure at once (not the handshake timeout), no QKD key taken
#   7  a peer that sends half a ClientHello and closes: the same
#   8  ... the agent still serves: the next handshake on that link uses the
#      link's first key, so no key was burnt by the two dead peers
#   9  a server that reads the ClientHello and closes: the client app is
#      told at once, and the key its agent announced is never handed out
#      again (the next handshake takes the following key)
#  10  the agents stop cleanly on SIGTERM and their counters add up
# An empty key store under each policy is covered by qktlsd_handshake.sh
# (preferred falls back and says so, required fails closed) and policy off
# with a key_file is refused by the configuration check.
# Only 127.0.0.1 and Unix sockets under a temporary directory are used.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
N=100		# concurrent handshakes
BYTES=262144	# each way on each of them

tap_plan 10
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || ! command -v openssl >/dev/null; then
	for i in $(seq 10); do tap_skip "qktlsd robust $i" "qktlsd, qktlsd_app or openssl missing"; done
	tap_done
fi

scratch
certs
# 100 handshakes at once under emulation may take longer than libqktls's
# default wait for the agent (60 s): the apps wait as long as the agents'
# own handshake_timeout (below), and a little more.
export QKTLS_AGENT_TIMEOUT=150
umask 077
keyfile $((N + 4)) >"$tmp/many.keys"
keyfile 4 >"$tmp/wrong-s.keys"
# The client's copy starts with a reference the server never saw.
{ keyfile 1; cat "$tmp/wrong-s.keys"; } >"$tmp/wrong-c.keys"
keyfile 4 >"$tmp/close.keys"
# Each agent gets its own copy of a pair's file.
for f in many close; do cp "$tmp/$f.keys" "$tmp/$f-c.keys"; done
umask 022
ref() { sed -n "$2s/ .*//p" "$tmp/$1"; }	# FILE LINE: that key's reference

for side in server client; do
	if [ $side = server ]; then
		cert=server peer=client.test r=s
		ks=(many.keys wrong-s.keys close.keys)
	else
		cert=client peer=server.test r=c
		ks=(many-c.keys wrong-c.keys close-c.keys)
	fi
	cat >"$tmp/$side.conf" <<EOT
socket = "$tmp/$side.sock";
log_level = "debug";
handshake_timeout = 120;
max_handshakes = 128;
max_handshakes_per_user = 128;	# the one test user runs all 100 at once
links = (
$(link $r-many $side $peer $cert required "${ks[0]}"),
$(link $r-wrong $side $peer $cert required "${ks[1]}"),
$(link $r-close $side $peer $cert required "${ks[2]}")
);
EOT
done

# pair NAME SERVERLINK CLIENTLINK [app options]: one connection; sets $crc
# and $src to the exit statuses of the two apps.
pair() {
	local name=$1 sl=$2 cl=$3
	shift 3
	if ! start_server "$name-s" "$app" server --agent "$tmp/server.sock" --link "$sl" "$@"; then
		show "$tmp/$name-s.out" "$tmp/$name-s.err"
		crc=99 src=99
		return
	fi
	"$app" client --agent "$tmp/client.sock" --link "$cl" --port "$port" "$@" \
		>"$tmp/$name-c.out" 2>"$tmp/$name-c.err"
	crc=$?
	wait_server && src=0 || src=$?
}
# good NAME: both apps of pair NAME succeeded with the QKD hybrid and the
# key reference $2, 1 MiB each way verified.
good() {
	local c=$tmp/$1-c.out s=$tmp/$1-s.out
	[ $crc -eq 0 ] && [ $src -eq 0 ] &&
	[ "$(val GROUP "$c")" = qktls-X25519MLKEM768 ] &&
	[ "$(val GROUP "$s")" = qktls-X25519MLKEM768 ] &&
	[ "$(val QKD "$c")" = "$2" ] && [ "$(val QKD "$s")" = "$2" ] &&
	grep -qx "DATA ok 1048576" "$c" && grep -qx "DATA ok 1048576" "$s" &&
	grep -qx CLOSE_NOTIFY "$c" && grep -qx CLOSE_NOTIFY "$s"
}

if start_agent server && start_agent client; then
	tap_ok "two qktlsd instances start and report ready"
else
	show "$tmp/server.log" "$tmp/client.log"
	tap_fail "two qktlsd instances start and report ready"
fi

# 2: N at once.  All N app servers listen first, then the N clients start
# together, so all N hand-offs reach both agents at about the same time.
spids=() sdrains=() cpids=() ports=() bad=0
for i in $(seq $N); do
	if start_server "many$i-s" "$app" server --agent "$tmp/server.sock" \
		--link s-many --bytes $BYTES --stream "$i"; then
		spids+=("$srv_pid") sdrains+=("$drain_pid") ports+=("$port")
	else
		bad=1
	fi
done
for i in $(seq ${#ports[@]}); do
	"$app" client --agent "$tmp/client.sock" --link c-many --port "${ports[$((i - 1))]}" \
		--bytes $BYTES --stream "$i" >"$tmp/many$i-c.out" 2>"$tmp/many$i-c.err" &
	cpids+=($!)
done
for p in "${cpids[@]}" "${spids[@]}"; do wait "$p" || bad=1; done
for p in "${sdrains[@]}"; do wait "$p"; done
okc=0 oks=0 qkd=0
for i in $(seq $N); do
	c=$tmp/many$i-c.out s=$tmp/many$i-s.out
	grep -qx "DATA ok $BYTES" "$c" && grep -qx CLOSE_NOTIFY "$c" && okc=$((okc + 1))
	grep -qx "DATA ok $BYTES" "$s" && grep -qx CLOSE_NOTIFY "$s" && oks=$((oks + 1))
	[ "$(val GROUP "$c")" = qktls-X25519MLKEM768 ] &&
		[ "$(val QKD "$c")" != - ] && [ "$(val QKD "$c")" = "$(val QKD "$s")" ] &&
		qkd=$((qkd + 1))
done
# N different keys, all from the first N lines of the file.
distinct=$(for i in $(seq $N); do val QKD "$tmp/many$i-c.out"; done | sort -u |
	comm -12 - <(head -n $N "$tmp/many.keys" | cut -d' ' -f1 | sort) | wc -l)
if [ $bad -eq 0 ] && [ $okc = $N ] && [ $oks = $N ] && [ $qkd = $N ] && [ "$distinct" = $N ]; then
	tap_ok "$N concurrent QKD hybrid handshakes, $N distinct keys, $((BYTES / 1024)) KiB each way verified on each"
else
	for i in $(seq $N); do
		grep -qx "DATA ok $BYTES" "$tmp/many$i-c.out" &&
			grep -qx "DATA ok $BYTES" "$tmp/many$i-s.out" && continue
		show "$tmp/many$i-c.out" "$tmp/many$i-c.err" "$tmp/many$i-s.out" "$tmp/many$i-s.err"
	done
	tap_fail "$N concurrent QKD hybrid handshakes, $N distinct keys, $((BYTES / 1024)) KiB each way verified on each" \
		"clients ok $okc servers ok $oks with QKD $qkd distinct keys $distinct"
fi

# 3: still answering, with the next key.
pair after s-many c-many
if good after "$(ref many.keys $((N + 1)))" && kill -0 "$server_pid" "$client_pid"; then
	tap_ok "both agents answer after the $N: the next handshake takes key $((N + 1))"
else
	show "$tmp/after-c.out" "$tmp/after-c.err" "$tmp/after-s.out" "$tmp/after-s.err"
	tap_fail "both agents answer after the $N: the next handshake takes key $((N + 1))" "client $crc server $src"
fi

# 4-5: a key reference the server does not hold.
pair wrong s-wrong c-wrong
c=$tmp/wrong-c.out s=$tmp/wrong-s.out
if [ $crc -eq 3 ] && [ $src -eq 3 ] &&
   [ "$(val STATUS "$c")" != 0 ] && [ "$(val STATUS "$s")" != 0 ] &&
   grep -q "^ERROR TLS handshake failed: unknown QKD key reference: .* names QKD key $(ref wrong-c.keys 1), which is unknown here" "$s" &&
   grep -q "^ERROR TLS handshake failed: .*alert illegal parameter" "$c" &&
   ! grep -q "^DATA" "$c" && ! grep -q "^DATA" "$s"; then
	tap_ok "a key reference the server does not hold fails on both sides with the reason"
	grep -h "^ERROR" "$s" "$c" | sed 's/^/# /'
else
	show "$c" "$tmp/wrong-c.err" "$s" "$tmp/wrong-s.err"
	tap_fail "a key reference the server does not hold fails on both sides with the reason" "client $crc server $src"
fi
pair wrong2 s-wrong c-wrong
if good wrong2 "$(ref wrong-s.keys 1)"; then
	tap_ok "the next handshake on the same links works with the next key"
else
	show "$tmp/wrong2-c.out" "$tmp/wrong2-c.err" "$tmp/wrong2-s.out" "$tmp/wrong2-s.err"
	tap_fail "the next handshake on the same links works with the next key" "client $crc server $src"
fi

# 6-7: peers that go away mid-handshake.  The agent's handshake timeout is
# 120 s: an app that gets a "timed out" answer was not told promptly.
dead() {	# NAME BYTES-TO-SEND (printf format)
	if ! start_server "$1" "$app" server --agent "$tmp/server.sock" --link s-close; then
		show "$tmp/$1.out" "$tmp/$1.err"
		return 1
	fi
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	# shellcheck disable=SC2059
	printf "$2" >&5
	exec 5>&-
	rc=0
	wait_server || rc=$?
	[ $rc -eq 3 ] && [ "$(val STATUS "$tmp/$1.out")" -lt 0 ] &&
	grep -q "^ERROR TLS handshake failed" "$tmp/$1.out" &&
	! grep -q "timed out" "$tmp/$1.out" && [ "$(val QKD "$tmp/$1.out")" = - ] ||
		{ show "$tmp/$1.out" "$tmp/$1.err"; return 1; }
}
if dead dead0 ""; then
	tap_ok "a peer that closes without a byte: the app is told at once"
else
	tap_fail "a peer that closes without a byte: the app is told at once" "app $rc"
fi
# A handshake record announcing 512 bytes, of which a ClientHello's first 9.
if dead dead1 '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00'; then
	tap_ok "a peer that sends half a ClientHello and closes: the app is told at once"
else
	tap_fail "a peer that sends half a ClientHello and closes: the app is told at once" "app $rc"
fi
pair close s-close c-close
if good close "$(ref close.keys 1)"; then
	tap_ok "the agent serves on: the next handshake takes the link's first key"
else
	show "$tmp/close-c.out" "$tmp/close-c.err" "$tmp/close-s.out" "$tmp/close-s.err"
	tap_fail "the agent serves on: the next handshake takes the link's first key" "client $crc server $src"
fi

# 9: a fake server that reads one TLS record (the ClientHello) and closes.
if start_server fake python3 -c '
import socket, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
print("ACCEPT 127.0.0.1:%d" % l.getsockname()[1], flush=True)
c, _ = l.accept()
def get(n):
	b = b""
	while len(b) < n:
		k = c.recv(n - len(b))
		if not k:
			sys.exit("EOF after %d bytes" % len(b))
		b += k
	return b
h = get(5)
get(int.from_bytes(h[3:5], "big"))
print("GOT ClientHello" if h[0] == 22 else "GOT record %d" % h[0], flush=True)
c.close()
'; then
	"$app" client --agent "$tmp/client.sock" --link c-close --port "$port" \
		>"$tmp/fake-c.out" 2>"$tmp/fake-c.err"
	frc=$?
	wait_server && fsrc=0 || fsrc=$?
	c=$tmp/fake-c.out
	pair close2 s-close c-close
	if [ $frc -eq 3 ] && [ $fsrc -eq 0 ] && grep -qx "GOT ClientHello" "$tmp/fake.out" &&
	   [ "$(val STATUS "$c")" -lt 0 ] && grep -q "^ERROR TLS handshake failed" "$c" &&
	   ! grep -q "timed out" "$c" && good close2 "$(ref close.keys 3)"; then
		tap_ok "a server that closes after the ClientHello: the client app is told at once, the announced key is not reused"
	else
		show "$c" "$tmp/fake-c.err" "$tmp/fake.out" "$tmp/fake.err" \
			"$tmp/close2-c.out" "$tmp/close2-s.out"
		tap_fail "a server that closes after the ClientHello: the client app is told at once, the announced key is not reused" \
			"client $frc fake server $fsrc; then client $crc server $src"
	fi
else
	show "$tmp/fake.out" "$tmp/fake.err"
	tap_fail "a server that closes after the ClientHello: the client app is told at once, the announced key is not reused"
fi

# 10: clean stop, with the counters logged.
rc=0
kill -TERM "$server_pid" "$client_pid"
wait "$server_pid" || rc=$?
wait "$client_pid" || rc=$?
pids=()
if [ $rc -eq 0 ] &&
   grep -q "link s-many: $((N + 1)) handshakes ok ($((N + 1)) with QKD, 0 fallbacks), 0 failed" "$tmp/server.log" &&
   grep -q "link c-many: $((N + 1)) handshakes ok ($((N + 1)) with QKD, 0 fallbacks), 0 failed" "$tmp/client.log" &&
   grep -q "link s-wrong: 1 handshakes ok (1 with QKD, 0 fallbacks), 1 failed" "$tmp/server.log" &&
   grep -q "link c-wrong: 1 handshakes ok (1 with QKD, 0 fallbacks), 1 failed" "$tmp/client.log" &&
   grep -q "link s-close: 2 handshakes ok (2 with QKD, 0 fallbacks), 2 failed" "$tmp/server.log" &&
   grep -q "link c-close: 2 handshakes ok (2 with QKD, 0 fallbacks), 1 failed" "$tmp/client.log"; then
	tap_ok "the agents stop on SIGTERM and their counters add up"
else
	show "$tmp/server.log" "$tmp/client.log"
	tap_fail "the agents stop on SIGTERM and their counters add up" "exit status $rc"
fi
tap_done
