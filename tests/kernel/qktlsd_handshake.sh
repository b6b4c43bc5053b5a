#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# qktlsd end to end on kTLS: two agents (a client and a server
# configuration, certificates made here with the openssl CLI), applications
# (build/tests/helpers/qktlsd_app) handing their sockets over with
# libqktls, then data both ways over plain read/write on the kTLS sockets,
# checked byte for byte, with both sides writing at once right after their
# handshake (nothing may be lost to OpenSSL) and close_notify read with
# qktls_recv_record().
#
#   1  both agents start (readiness on --ready-fd, no sleeps)
#   2  QKD hybrid, policy preferred both sides: same key reference both ends
#   3  ... 1 MiB each way verified, close_notify both ways
#   4  policy required both sides, TLS_CHACHA20_POLY1305_SHA256 in kTLS
#   5  policy off both sides: X25519MLKEM768, TLS_AES_128_GCM_SHA256
#   6  preferred client with an empty key store falls back, data verified
#   7  required client with an empty key store fails closed (ENOKEY)
#   8  stock openssl s_client -groups X25519MLKEM768 against a preferred
#      server link: data both ways through kTLS
#   9  the same against a policy-off server link
#  10  the same stock client against a required server link: refused
#  11  a client certificate from another CA is refused by the server
#  12  a local user no link allows is refused as it connects (SO_PEERCRED)
#  13  a peer that stalls mid-handshake holds up only its own hand-off:
#      another handshake through the same agent completes meanwhile
#  14  a stalled handshake ends with ETIMEDOUT after handshake_timeout
#  15  16 handshakes at once, each with 64 KiB both ways verified
#  16  a qktlsd client link (preferred) against stock openssl s_server
#      -groups X25519MLKEM768: data both ways through kTLS; the server's
#      two NewSessionTickets never reach the app, which asks for the record
#      type with qktls_recv_record(): qktls.ko drops them on an attached
#      socket (tests/kernel/qktlsd_rekey.sh counts them)
#  17  SIGUSR1: a running agent logs its counters and keeps serving
#  18  the agents stop cleanly on SIGTERM and log their counters
# Only 127.0.0.1 and Unix sockets under a temporary directory are used.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"	# the agent's sanitizer build when there
				# is one: a leak or undefined behaviour
				# makes it exit non-zero (case 17)

tap_plan 18
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || ! command -v openssl >/dev/null; then
	for i in $(seq 17); do tap_skip "qktlsd $i" "qktlsd, qktlsd_app or openssl missing"; done
	tap_done
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"	# the unprivileged caller of case 12 reaches the socket
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- certificates: a CA, server and client certificates, a rogue client ---
mkcert ca "qktls test CA" && mkcert server server.test ca &&
	mkcert client client.test ca && mkcert rogue client.test ||
	{ cat "$tmp/req.err"; exit 1; }
umask 077
# One key file per link pair (the same file on both ends of a pair).
for f in pref req stock; do keyfile 8 >"$tmp/$f.keys"; done
: >"$tmp/empty.keys"
: >"$tmp/empty2.keys"
umask 022

# --- configurations ------------------------------------------------------
cat >"$tmp/short.conf" <<EOT
socket = "$tmp/short.sock";
log_level = "debug";
handshake_timeout = 3;
links = ( { name = "s-short"; role = "server"; peer_name = "client.test";
	certificate = "$tmp/server.pem"; private_key = "$tmp/server.key";
	ca = "$tmp/ca.pem"; qkd = { policy = "off"; }; } );
EOT
cat >"$tmp/server.conf" <<EOT
socket = "$tmp/server.sock";
log_level = "debug";
handshake_timeout = 60;
links = (
$(link s-pref server client.test server preferred pref.keys),
$(link s-req server client.test server required req.keys),
$(link s-off server client.test server off "")
);
EOT
cat >"$tmp/client.conf" <<EOT
socket = "$tmp/client.sock";
log_level = "debug";
handshake_timeout = 60;
links = (
$(link c-pref client server.test client preferred pref.keys),
$(link c-req client server.test client required req.keys \
	'cipher_suites = [ "TLS_CHACHA20_POLY1305_SHA256" ];'),
$(link c-off client server.test client off "" \
	'cipher_suites = [ "TLS_AES_128_GCM_SHA256" ];'),
$(link c-empty client server.test client preferred empty.keys),
$(link c-req-empty client server.test client required empty2.keys),
$(link c-rogue client server.test rogue preferred ""),
$(link c-root client server.test client off "" 'allowed_users = [ "root" ];'),
$(link c-stock client server.test client preferred stock.keys)
);
EOT



# pair NAME SERVERLINK CLIENTLINK [client-prefix...]: one connection between
# two apps; sets $crc and $src to their exit statuses.
pair() {
	local name=$1 sl=$2 cl=$3
	shift 3
	if ! start_server "$name-s" "$app" server --agent "$tmp/server.sock" --link "$sl"; then
		show "$tmp/$name-s.out" "$tmp/$name-s.err"
		crc=99 src=99
		return
	fi
	"$@" "$app" client --agent "$tmp/client.sock" --link "$cl" --port "$port" \
		>"$tmp/$name-c.out" 2>"$tmp/$name-c.err"
	crc=$?
	wait_server && src=0 || src=$?
}

if start_agent server && start_agent client && start_agent short; then
	tap_ok "two qktlsd instances start and report ready"
else
	show "$tmp/server.log" "$tmp/client.log"
	tap_fail "two qktlsd instances start and report ready"
fi

# 2-3: the QKD hybrid.
pair qkd s-pref c-pref
c=$tmp/qkd-c.out s=$tmp/qkd-s.out
ref=$(val QKD "$c")
if [ "$(val GROUP "$c")" = qktls-X25519MLKEM768 ] &&
   [ "$(val GROUP "$s")" = qktls-X25519MLKEM768 ] &&
   [ "${#ref}" = 32 ] && [ "$(val QKD "$s")" = "$ref" ] &&
   [ "$(head -c 32 "$tmp/pref.keys")" = "$ref" ] &&
   [ "$(val SUITE "$c")" = TLS_AES_256_GCM_SHA384 ] &&
   [ "$(val PEER "$c")" = CN=server.test ] && [ "$(val PEER "$s")" = CN=client.test ]; then
	tap_ok "QKD hybrid negotiated, same QKD key reference on both ends"
else
	show "$c" "$tmp/qkd-c.err" "$s" "$tmp/qkd-s.err"
	tap_fail "QKD hybrid negotiated, same QKD key reference on both ends"
fi
if [ $crc -eq 0 ] && [ $src -eq 0 ] && grep -qx "DATA ok 1048576" "$c" &&
   grep -qx "DATA ok 1048576" "$s" && grep -qx CLOSE_NOTIFY "$c" &&
   grep -qx CLOSE_NOTIFY "$s"; then
	tap_ok "1 MiB each way over kTLS verified byte for byte, close_notify both ways"
else
	show "$c" "$tmp/qkd-c.err" "$s" "$tmp/qkd-s.err"
	tap_fail "1 MiB each way over kTLS verified byte for byte, close_notify both ways" "client $crc server $src"
fi

# 4: required on both sides, ChaCha20-Poly1305.
pair req s-req c-req
c=$tmp/req-c.out s=$tmp/req-s.out
if [ $crc -eq 0 ] && [ $src -eq 0 ] &&
   [ "$(val GROUP "$s")" = qktls-X25519MLKEM768 ] &&
   [ "$(val SUITE "$s")" = TLS_CHACHA20_POLY1305_SHA256 ] &&
   [ "$(val QKD "$s")" = "$(val QKD "$c")" ] &&
   [ "$(val QKD "$c")" = "$(head -c 32 "$tmp/req.keys")" ] &&
   grep -qx "DATA ok 1048576" "$c" && grep -qx "DATA ok 1048576" "$s"; then
	tap_ok "policy required: QKD hybrid with a fresh key, ChaCha20-Poly1305 in kTLS"
else
	show "$c" "$tmp/req-c.err" "$s" "$tmp/req-s.err"
	tap_fail "policy required: QKD hybrid with a fresh key, ChaCha20-Poly1305 in kTLS"
fi

# 5: off on both sides, AES-128-GCM.
pair off s-off c-off
c=$tmp/off-c.out s=$tmp/off-s.out
if [ $crc -eq 0 ] && [ $src -eq 0 ] &&
   [ "$(val GROUP "$c")" = X25519MLKEM768 ] && [ "$(val QKD "$c")" = - ] &&
   [ "$(val SUITE "$c")" = TLS_AES_128_GCM_SHA256 ] &&
   grep -q "policy off" "$c" &&
   grep -qx "DATA ok 1048576" "$c" && grep -qx "DATA ok 1048576" "$s"; then
	tap_ok "policy off: X25519MLKEM768, AES-128-GCM in kTLS, data verified"
else
	show "$c" "$tmp/off-c.err" "$s" "$tmp/off-s.err"
	tap_fail "policy off: X25519MLKEM768, AES-128-GCM in kTLS, data verified"
fi

# 6: preferred with no key: falls back, says so.
pair fb s-pref c-empty
c=$tmp/fb-c.out s=$tmp/fb-s.out
if [ $crc -eq 0 ] && [ $src -eq 0 ] &&
   [ "$(val GROUP "$c")" = X25519MLKEM768 ] && [ "$(val GROUP "$s")" = X25519MLKEM768 ] &&
   grep -q "^NOTE the link's QKD key store is empty: fell back to X25519MLKEM768" "$c" &&
   grep -qx "DATA ok 1048576" "$c"; then
	tap_ok "policy preferred with an empty key store falls back and says why"
else
	show "$c" "$tmp/fb-c.err" "$s" "$tmp/fb-s.err"
	tap_fail "policy preferred with an empty key store falls back and says why"
fi

# 7: required with no key: fails closed before any byte is sent.
pair noq s-pref c-req-empty
c=$tmp/noq-c.out
if [ $crc -eq 3 ] && [ $src -eq 3 ] && [ "$(val STATUS "$c")" = -126 ] &&
   grep -q "^ERROR QKD policy required: the link's QKD key store is empty" "$c"; then
	tap_ok "policy required with an empty key store fails closed (ENOKEY)"
else
	show "$c" "$tmp/noq-c.err" "$tmp/noq-s.out"
	tap_fail "policy required with an empty key store fails closed (ENOKEY)" "client $crc server $src"
fi

# 8-10: stock openssl s_client (with the client certificate) against server links.
sclient() {	# NAME LINK
	if ! start_server "$1" "$app" server --agent "$tmp/server.sock" --link "$2" --mode line; then
		show "$tmp/$1.out" "$tmp/$1.err"
		crc=99 src=99
		return
	fi
	echo ping | timeout 120 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
		-groups X25519MLKEM768 -CAfile "$tmp/ca.pem" -verify_return_error \
		-verify_hostname server.test -cert "$tmp/client.pem" \
		-key "$tmp/client.key" -ign_eof >"$tmp/$1-sc.out" 2>"$tmp/$1-sc.err"
	crc=$?
	wait_server && src=0 || src=$?
}
for l in pref off; do
	sclient "sc-$l" "s-$l"
	s=$tmp/sc-$l.out
	if [ $src -eq 0 ] && [ "$(val GROUP "$s")" = X25519MLKEM768 ] &&
	   grep -qx "GOT ping" "$s" && grep -qx "hello from qktlsd app" "$tmp/sc-$l-sc.out" &&
	   grep -qx "bye ping" "$tmp/sc-$l-sc.out"; then
		tap_ok "stock s_client -groups X25519MLKEM768 with a policy $l server link: data both ways over kTLS"
	else
		show "$s" "$tmp/sc-$l.err" "$tmp/sc-$l-sc.out" "$tmp/sc-$l-sc.err"
		tap_fail "stock s_client -groups X25519MLKEM768 with a policy $l server link: data both ways over kTLS" "s_client $crc app $src"
	fi
done
sclient sc-req s-req
s=$tmp/sc-req.out
if [ $crc -ne 0 ] && [ $src -eq 3 ] &&
   grep -q "^ERROR QKD policy required: the peer offered no qktls-X25519MLKEM768 key share" "$s" &&
   grep -q "alert handshake failure" "$tmp/sc-req-sc.err"; then
	tap_ok "stock s_client against a policy required server link is refused cleanly"
else
	show "$s" "$tmp/sc-req.err" "$tmp/sc-req-sc.out" "$tmp/sc-req-sc.err"
	tap_fail "stock s_client against a policy required server link is refused cleanly" "s_client $crc app $src"
fi

# 11: a client certificate the server's CA did not sign.  In TLS 1.3 the
# client's handshake is complete once it has sent its Finished, before the
# server has checked its certificate, so the client learns of the refusal
# from the server's alert, which kTLS hands to its first read as an error.
pair rogue s-pref c-rogue
if [ $src -eq 3 ] && [ "$(val STATUS "$tmp/rogue-s.out")" = -71 ] &&
   grep -q "^ERROR TLS handshake failed: peer certificate rejected: self-signed certificate" "$tmp/rogue-s.out" &&
   [ $crc -ne 0 ] && ! grep -q "^DATA ok" "$tmp/rogue-c.out"; then
	tap_ok "a client certificate from another CA is refused"
else
	show "$tmp/rogue-c.out" "$tmp/rogue-c.err" "$tmp/rogue-s.out"
	tap_fail "a client certificate from another CA is refused" "client $crc server $src"
fi

# 12: an unprivileged caller on a root-only link.
pair nobody s-off c-root setpriv --reuid=65534 --regid=65534 --clear-groups
c=$tmp/nobody-c.out
if [ $crc -eq 3 ] && [ "$(val STATUS "$c")" = -13 ] &&
   grep -q "^ERROR uid 65534 gid 65534 may use no link of this qktlsd" "$c" &&
   [ $src -eq 3 ]; then
	tap_ok "a local user the link does not allow is refused (SO_PEERCRED)"
else
	show "$c" "$tmp/nobody-c.err" "$tmp/nobody-s.out"
	tap_fail "a local user the link does not allow is refused (SO_PEERCRED)" "client $crc server $src"
fi


# 13: a stalled peer: the test connects to an app server and sends nothing.
if start_server stall "$app" server --agent "$tmp/server.sock" --link s-off; then
	stall_pid=$srv_pid stall_drain=$drain_pid
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	wait_log "$tmp/server.log" "link s-off: handshake for pid $stall_pid "
	pair during s-off c-off
	if [ $crc -eq 0 ] && [ $src -eq 0 ] && grep -qx "DATA ok 1048576" "$tmp/during-c.out" &&
	   kill -0 "$stall_pid" 2>/dev/null; then
		ok13=1
	else
		ok13=0
	fi
	exec 5>&-	# the stalled peer goes away: that hand-off ends now
	rc=0
	wait "$stall_pid" || rc=$?
	wait "$stall_drain"
	if [ $ok13 = 1 ] && [ $rc -eq 3 ] &&
	   grep -q "^ERROR TLS handshake failed" "$tmp/stall.out"; then
		tap_ok "a stalled peer holds up only its own hand-off"
	else
		show "$tmp/during-c.out" "$tmp/during-c.err" "$tmp/during-s.out" "$tmp/stall.out"
		tap_fail "a stalled peer holds up only its own hand-off" "stalled app $rc"
	fi
else
	show "$tmp/stall.out" "$tmp/stall.err"
	tap_fail "a stalled peer holds up only its own hand-off"
fi

# 14: the handshake deadline (3 s on this agent).
if start_server tmo "$app" server --agent "$tmp/short.sock" --link s-short; then
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	rc=0
	wait_server || rc=$?
	exec 5>&-
	if [ $rc -eq 3 ] && [ "$(val STATUS "$tmp/tmo.out")" = -110 ] &&
	   grep -q "^ERROR TLS handshake timed out after 3 s" "$tmp/tmo.out"; then
		tap_ok "a stalled handshake times out with ETIMEDOUT"
	else
		show "$tmp/tmo.out" "$tmp/tmo.err" "$tmp/short.log"
		tap_fail "a stalled handshake times out with ETIMEDOUT" "app $rc"
	fi
else
	show "$tmp/tmo.out" "$tmp/tmo.err"
	tap_fail "a stalled handshake times out with ETIMEDOUT"
fi

# 15: 16 connections at once.
spids=() sdrains=() cpids=() ports=() n=16 bad=0
for i in $(seq $n); do
	if start_server "many$i-s" "$app" server --agent "$tmp/server.sock" \
		--link s-off --bytes 65536; then
		spids+=("$srv_pid") sdrains+=("$drain_pid") ports+=("$port")
	else
		bad=1
	fi
done
for i in $(seq 0 $((${#ports[@]} - 1))); do
	"$app" client --agent "$tmp/client.sock" --link c-off --port "${ports[$i]}" \
		--bytes 65536 >"$tmp/many$i-c.out" 2>"$tmp/many$i-c.err" &
	cpids+=($!)
done
for p in "${cpids[@]}" "${spids[@]}"; do wait "$p" || bad=1; done
for p in "${sdrains[@]}"; do wait "$p"; done
okc=$(cat "$tmp"/many*-c.out | grep -cx "DATA ok 65536")
oks=$(cat "$tmp"/many*-s.out | grep -cx "DATA ok 65536")
if [ $bad -eq 0 ] && [ "$okc" = $n ] && [ "$oks" = $n ]; then
	tap_ok "$n concurrent handshakes, 64 KiB each way verified on each"
else
	for i in $(seq $n); do show "$tmp/many$i-s.out" "$tmp/many$i-s.err"; done
	show "$tmp"/many*-c.err
	tap_fail "$n concurrent handshakes, 64 KiB each way verified on each" "clients ok $okc servers ok $oks"
fi

# 16: a qktlsd client against stock s_server (mutual authentication, the
# default two session tickets, -rev answers a line reversed).  The app
# counts the tickets it reads: none on an attached socket, both otherwise.
if start_server sserver timeout 120 openssl s_server -accept 127.0.0.1:0 -tls1_3 \
	-groups X25519MLKEM768 -cert "$tmp/server.pem" -key "$tmp/server.key" \
	-CAfile "$tmp/ca.pem" -Verify 1 -verify_return_error -naccept 1 -rev; then
	"$app" client --agent "$tmp/client.sock" --link c-stock --port "$port" \
		--mode ping >"$tmp/stock-c.out" 2>"$tmp/stock-c.err"
	crc=$?
	wait_server && src=0 || src=$?
	c=$tmp/stock-c.out
	tickets=2
	[ "$(val ATTACHED "$c")" = yes ] && tickets=0
	if [ $crc -eq 0 ] && [ "$(val GROUP "$c")" = X25519MLKEM768 ] &&
	   [ "$(val PEER "$c")" = CN=server.test ] && [ "$(val QKD "$c")" = - ] &&
	   grep -q "^NOTE the peer did not negotiate qktls-X25519MLKEM768" "$c" &&
	   grep -qx "REPLY gnip" "$c" && [ "$(val TICKETS "$c")" = $tickets ]; then
		tap_ok "qktlsd client against stock s_server -groups X25519MLKEM768: data both ways over kTLS (attached $(val ATTACHED "$c"), $tickets tickets reached the app)"
	else
		show "$c" "$tmp/stock-c.err" "$tmp/sserver.out" "$tmp/sserver.err"
		tap_fail "qktlsd client against stock s_server -groups X25519MLKEM768: data both ways over kTLS" "app $crc s_server $src"
	fi
else
	show "$tmp/sserver.out" "$tmp/sserver.err"
	tap_fail "qktlsd client against stock s_server -groups X25519MLKEM768: data both ways over kTLS"
fi

# 17: the counters on demand, from the running client agent.
kill -USR1 "$client_pid"
if wait_log "$tmp/client.log" "SIGUSR1: counters" &&
   wait_log "$tmp/client.log" "link c-pref: 1 handshakes ok \(1 with QKD, 0 fallbacks\)" &&
   wait_log "$tmp/client.log" "link c-req-empty: 0 handshakes ok \(0 with QKD, 0 fallbacks\), 1 failed" &&
   wait_log "$tmp/client.log" "link c-stock: 1 handshakes ok \(0 with QKD, 1 fallbacks\)" &&
   kill -0 "$client_pid"; then
	tap_ok "SIGUSR1: the running agent logs its counters and keeps serving"
else
	show "$tmp/client.log"
	tap_fail "SIGUSR1: the running agent logs its counters and keeps serving"
fi

# 18: clean stop, with the counters logged.
rc=0
kill -TERM "$server_pid" "$client_pid" "$short_pid"
wait "$server_pid" || rc=$?
wait "$client_pid" || rc=$?
wait "$short_pid" || rc=$?
pids=()
# What the client agent logged from its stop on (case 17 logged the same
# counters before).
sed -n '/: stopping$/,$p' "$tmp/client.log" > "$tmp/client.stop"
if [ $rc -eq 0 ] && [ ! -e "$tmp/server.sock" ] &&
   grep -q "link c-pref: 1 handshakes ok (1 with QKD, 0 fallbacks)" "$tmp/client.stop" &&
   grep -q "link c-empty: 1 handshakes ok (0 with QKD, 1 fallbacks)" "$tmp/client.stop" &&
   grep -q "link c-req-empty: 0 handshakes ok (0 with QKD, 0 fallbacks), 1 failed" "$tmp/client.stop" &&
   grep -q "link c-root: 0 handshakes ok .* 0 callers refused" "$tmp/client.stop" &&
   grep -q "1 callers that no link allows were refused as they connected" "$tmp/client.stop" &&
   grep -q "link c-stock: 1 handshakes ok (0 with QKD, 1 fallbacks)" "$tmp/client.stop" &&
   grep -q "link s-short: 0 handshakes ok (0 with QKD, 0 fallbacks), 1 failed" "$tmp/short.log"; then
	tap_ok "the agents stop on SIGTERM and log their counters"
else
	show "$tmp/server.log" "$tmp/client.log" "$tmp/short.log"
	tap_fail "the agents stop on SIGTERM and log their counters" "exit status $rc"
fi
tap_done
