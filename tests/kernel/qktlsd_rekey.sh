#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Post-handshake TLS on sockets handed over by qktlsd: the agent attaches
# them to qktls.ko, and the application (build/tests/helpers/qktlsd_app)
# makes no qktls call after qktls_handshake(): it uses plain read() and
# write(), and the module rekeys and follows the peer's key updates inside
# them.  Its peers are stock openssl s_server and s_client (OpenSSL 3.5),
# and another qktlsd-linked app.  The app's "SOCK" and "SOCK_POST" lines
# are the module's counters for its socket.
#
#   1  two agents start, update pools filled
#   2  the app (client) against stock s_server: s_server sends its two
#      NewSessionTickets, the module drops both inside the app's reads, and
#      lines typed into s_server are echoed back: data both ways
# Kernels with kTLS rekey (7.3):
#   3  "k" and "K" typed into s_server mid-stream: the app follows both
#      KeyUpdates inside read(), answers "K" with its own KeyUpdate before
#      its next data (s_server sees it), data keeps flowing; s_server's
#      "Q" (TCP FIN, no alert) ends the app's reads; 2 RX rekeys, 1 TX
#      rekey, 1 update requested, 2 tickets dropped, no alert, no error
#   4  the app (server) against stock s_client, "k" and "K" the same way
#   5  s_client's stdin ends: its close_notify reads as end of file in the
#      app (the module counts the alert)
#   6  a qktlsd client link and a qktlsd server link negotiate the QKD key
#      update, both with rekey_bytes (64 KiB and 128 KiB): 4 MiB + 1000
#      bytes each way with plain I/O, every byte checked, close_notify read
#      as end of file at both ends
#   7  the module's QKD rekeys counted at both ends, exactly: 64 client to
#      server, 32 back, each followed by the peer, each key used once per
#      end and gone from both ends' pools
#   8  256 MiB and 1000 bytes each way at once over links with a rekey
#      every 16 MiB, each end writing the first half with write() and the
#      second with sendfile(), and reading the first half with read() and
#      the second with splice(): every byte checked, exactly 16 QKD rekeys
#      per direction in the module's counters at both ends and 32 each way
#      in /proc/net/tls_stat (TlsTxRekeyOk, TlsRxRekeyOk), no error
# Kernels without (6.12): 1, 2 and 5 as above, and
#   3  s_server's "k": the app's read fails with EOPNOTSUPP (the module
#      cannot follow), counted, no hang
#   4  skipped (no KeyUpdate can be followed)
#   6  links whose rekey_bytes need kTLS rekey are refused at the hand-off,
#      at both ends, the reason said at one end at least (the other may
#      find the connection closed first)
#   7  links without a rekey policy: attached, data both ways, no rekey
#   8  skipped (no rekey)
# Any kernel:
#   9  a server link accepts the published QKD-KEM provider's qkd_mlkem768
#      group (provider_peer as the client, with its certificate): the same
#      QKD key on both ends
#  10  a required server link not told to (qkd_mlkem768) refuses that
#      group, which has no X25519: the handshake fails at both ends
#  11  (7.3) with the client's kernel pools deleted, the QKD key update is
#      not negotiated (so no connection can die at its first rekey): the
#      agent says why once, hands the socket over without pools, and the
#      link's rekey policy runs standard updates; data checked both ways
#  12  the agents stop cleanly on SIGTERM
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
peer=$top/build/tests/helpers/provider_peer

PLAN=12
tap_plan $PLAN
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || [ ! -x "$q" ] || [ ! -x "$peer" ] ||
   ! command -v openssl >/dev/null; then
	for i in $(seq $PLAN); do tap_skip "qktlsd_rekey $i" "qktlsd, qktlsd_app, qktls or openssl missing"; done
	tap_done
fi
if grep -q TlsTxRekeyOk /proc/net/tls_stat 2>/dev/null; then rekey=1; else rekey=0; fi
# A qktls.ko without attached sockets: the generic netlink core refuses the
# command with EOPNOTSUPP.
if "$q" sock show 2>&1 >/dev/null | grep -q 'Operation not supported'; then socks=0; else socks=1; fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	exec 4>&- 5>&- 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in cq.c2s cq.s2c sq.c2s sq.s2c cb.c2s cb.s2c sb.c2s sb.s2c; do
		"$q" pool del "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

mkcert ca "qktls test CA" && mkcert server server.test ca &&
	mkcert client client.test ca || { cat "$tmp/req.err"; exit 1; }
umask 077
keyfile 8 >"$tmp/hs.keys"
keyfile 4 >"$tmp/kem.keys"
keyfile 4 >"$tmp/kem-req.keys"
# A key serves one link only: the 256 MiB links have keys of their own.
keyfile 4 >"$tmp/big.keys"
# Update keys: the same keys in both hosts' copies of each direction's pool
# (both agents share this namespace, so each has its own pool names).
for d in c2s s2c; do
	openssl rand -hex $((300 * 32)) | fold -w 64 |
		awk '{ printf "%08x-0000-4000-8000-%012x %s\n", NR, NR, $0 }' >"$tmp/$d.keys"
done
umask 022
pools_ok=1
for p in cq sq cb sb; do
	for d in c2s s2c; do
		"$q" pool add "$p.$d" key-len 32 capacity 1000 >>"$tmp/pools.err" 2>&1 &&
			"$q" key add "$p.$d" --file "$tmp/$d.keys" >>"$tmp/pools.err" 2>&1 ||
			pools_ok=0
	done
done
# pool_keys POOL: keys left.
pool_keys() { "$q" -j pool show "$1" | sed -n 's/.*"key_count": *\([0-9]*\).*/\1/p'; }
# tls_stat NAME: kTLS's counter (this network namespace).
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }

cat >"$tmp/server.conf" <<EOT
socket = "$tmp/server.sock";
log_level = "debug";
handshake_timeout = 60;
links = (
$(link s-std server client.test server off "" 'key_update = "standard";'),
$(link s-qkd server client.test server preferred hs.keys \
	'key_update = "qkd"; rekey_bytes = 131072L;' | sed 's/policy = "preferred";/& pool = "sq";/'),
$(link s-kem server client.test server preferred kem.keys \
	'key_update = "standard";'),
$(link s-kem-req server client.test server required kem-req.keys \
	'key_update = "standard";'),
$(link s-big server client.test server preferred big.keys \
	'key_update = "qkd"; rekey_bytes = 16777216L;' | sed 's/policy = "preferred";/& pool = "sb";/')
);
EOT
cat >"$tmp/client.conf" <<EOT
socket = "$tmp/client.sock";
log_level = "debug";
handshake_timeout = 60;
links = (
$(link c-qkd client server.test client preferred hs.keys \
	'key_update = "qkd"; rekey_bytes = 65536L;' | sed 's/policy = "preferred";/& pool = "cq";/'),
$(link c-plain client server.test client off "" 'key_update = "standard";'),
$(link c-big client server.test client preferred big.keys \
	'key_update = "qkd"; rekey_bytes = 16777216L;' | sed 's/policy = "preferred";/& pool = "cb";/')
);
EOT

if [ $pools_ok = 1 ] && start_agent server && start_agent client; then
	tap_ok "two qktlsd instances start, update pools filled"
else
	show "$tmp/pools.err" "$tmp/server.log" "$tmp/client.log"
	tap_fail "two qktlsd instances start, update pools filled"
fi

# The -msg trace of a KeyUpdate an openssl peer sent (>>>) or received (<<<).
ku_out='^>>> TLS 1.3, Handshake \[length 0005\], KeyUpdate'
ku_in='^<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate'
# after FILE REGEX LINE: LINE comes after the first line matching REGEX.
after() { sed -n "/${2//\//\\/}/,\$p" "$1" | grep -qx -- "$3"; }

if [ $socks = 1 ]; then
# --- 2-3: the app as a client of stock s_server ----------------------------------
# s_server reads the lines it sends from a FIFO that this shell holds open
# read-write (so opening it never blocks and writing never fails); a line
# typed as "k" or "K" makes it send a KeyUpdate.  Its stdout has what it
# receives and its -msg trace.
ss=$tmp/ss.out sa=$tmp/ss-app.out
mkfifo "$tmp/ss.in"
exec 5<>"$tmp/ss.in"
if start_server ss timeout 180 sh -c 'exec "$@" <"$0"' "$tmp/ss.in" \
	openssl s_server -accept 127.0.0.1:0 -tls1_3 -groups X25519MLKEM768 \
	-cert "$tmp/server.pem" -key "$tmp/server.key" -CAfile "$tmp/ca.pem" \
	-Verify 1 -verify_return_error -naccept 1 -msg; then
	ss_pid=$srv_pid ss_drain=$drain_pid
	"$app" client --agent "$tmp/client.sock" --link c-plain --port "$port" \
		--mode echo >"$sa" 2>"$tmp/ss-app.err" 5>&- &
	app_pid=$!
	# type LINE REGEX [N]: a line to s_server, then wait (on the output's
	# growth, at most 60 s) until REGEX has appeared N times (default 1).
	type_ss() { printf '%s\n' "$1" >&5 && wait_log "$ss" "$2" "${3:-1}"; }
	# Both tickets sent (right after the handshake), then a line each way.
	wait_log "$ss" '^>>> TLS 1.3, Handshake \[length [0-9a-f]+\], NewSessionTicket' 2 &&
		type_ss hello '^echo hello$'
	hello_ok=$?
	if [ $rekey = 1 ]; then
		type_ss k "$ku_out" && type_ss after-k '^echo after-k$' &&
			type_ss K "$ku_out" 2 && type_ss after-K '^echo after-K$'
		k_ok=$?
		printf 'Q\n' >&5	# s_server closes the connection: no alert
	else
		# The app reads the KeyUpdate and cannot follow it.
		type_ss k "$ku_out"
		k_ok=$?
	fi
	arc=0
	wait "$app_pid" || arc=$?
	# An s_server still waiting (6.12: the app is gone) is told to stop.
	printf 'Q\n' >&5
	wait "$ss_pid"
	wait "$ss_drain"
	tickets=$(grep -cE '^>>> TLS 1.3, Handshake \[length [0-9a-f]+\], NewSessionTicket' "$ss")
	if [ $hello_ok = 0 ] && [ "$tickets" = 2 ] && [ "$(val ATTACHED "$sa")" = yes ] &&
	   grep -qx "GOT hello" "$sa" && sock_has "$sa" tickets_dropped=2; then
		tap_ok "stock s_server's 2 NewSessionTickets are dropped inside the app's reads; data both ways"
	else
		show "$sa" "$tmp/ss-app.err" "$ss" "$tmp/ss.err"
		tap_fail "stock s_server's 2 NewSessionTickets are dropped inside the app's reads; data both ways" \
			"app $arc, tickets sent $tickets"
	fi
	if [ $rekey = 1 ]; then
		if [ $k_ok = 0 ] && [ $arc = 0 ] && grep -qx "GOT after-K" "$sa" &&
		   [ "$(grep -c "$ku_in" "$ss")" = 1 ] && after "$ss" "$ku_in" "echo after-K" &&
		   ! after "$ss" "$ku_in" "echo after-k" && grep -qx EOF "$sa" &&
		   sock_has "$sa" tx_rekeys=1 rx_rekeys=2 tx_qkd_rekeys=0 rekey_errors=0 \
			updates_requested=1 tickets_dropped=2 alerts=0 rx_errors=0; then
			tap_ok "s_server's k and K mid-stream: the app follows both in read(), answers K before its next data, data flows; FIN ends its reads"
		else
			show "$sa" "$tmp/ss-app.err" "$ss" "$tmp/ss.err"
			tap_fail "s_server's k and K mid-stream: the app follows both in read(), answers K before its next data, data flows; FIN ends its reads" \
				"app $arc"
		fi
	else
		if [ $k_ok = 0 ] && [ $arc = 1 ] &&
		   grep -q "read: Operation not supported" "$tmp/ss-app.err" &&
		   sock_has "$sa" rx_rekeys=0 rekey_errors=1 rx_errors=1; then
			tap_ok "6.12: s_server's k fails the app's read with EOPNOTSUPP, counted, no hang"
		else
			show "$sa" "$tmp/ss-app.err" "$ss" "$tmp/ss.err"
			tap_fail "6.12: s_server's k fails the app's read with EOPNOTSUPP, counted, no hang" "app $arc"
		fi
	fi
else
	show "$ss" "$tmp/ss.err"
	for i in 2 3; do tap_fail "stock s_server case $i" "s_server did not start"; done
fi
exec 5>&-

# --- 4-5: the app as the server of stock s_client ----------------------------------
sc=$tmp/sc.out s=$tmp/echo.out
mkfifo "$tmp/sc.in"
if start_server echo "$app" server --agent "$tmp/server.sock" --link s-std --mode echo; then
	timeout 180 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
		-groups X25519MLKEM768 -CAfile "$tmp/ca.pem" -verify_return_error \
		-verify_hostname server.test -cert "$tmp/client.pem" \
		-key "$tmp/client.key" -msg <"$tmp/sc.in" >"$sc" 2>"$tmp/sc.err" &
	sc_pid=$!
	exec 4>"$tmp/sc.in"
	# say LINE REGEX [N]: as type_ss, to s_client.  s_client writes what it
	# receives and its -msg trace to stdout.  A vanished s_client fails the
	# case (the subshell takes the write error).
	say() {
		(printf '%s\n' "$1" >&4) 2>/dev/null && wait_log "$sc" "$2" "${3:-1}"
	}
	say hello '^echo hello$'
	hello_ok=$?
	k_ok=1
	if [ $rekey = 1 ] && [ $hello_ok = 0 ]; then
		say k "$ku_out" && say after-k '^echo after-k$' &&
			say K "$ku_out" 2 && say after-K '^echo after-K$'
		k_ok=$?
	fi
	# End of s_client's input: it sends close_notify.
	exec 4>&-
	rc=0
	wait_server || rc=$?
	wait "$sc_pid"
	if [ $rekey = 1 ]; then
		if [ $k_ok = 0 ] && [ "$(val ATTACHED "$s")" = yes ] && grep -qx "GOT after-K" "$s" &&
		   [ "$(grep -c "$ku_out" "$sc")" = 2 ] && [ "$(grep -c "$ku_in" "$sc")" = 1 ] &&
		   after "$sc" "$ku_in" "echo after-K" && ! after "$sc" "$ku_in" "echo after-k" &&
		   sock_has "$s" tx_rekeys=1 rx_rekeys=2 rekey_errors=0 updates_requested=1 \
			tickets_dropped=0 rx_errors=0; then
			tap_ok "s_client's k and K mid-stream: the app follows both in read(), answers K before its next data, data flows"
		else
			show "$s" "$tmp/echo.err" "$sc" "$tmp/sc.err"
			tap_fail "s_client's k and K mid-stream: the app follows both in read(), answers K before its next data, data flows" "app $rc"
		fi
	else
		tap_skip "s_client's k and K mid-stream" "kernel has no kTLS rekey: a KeyUpdate cannot be followed (case 3)"
	fi
	if [ $hello_ok = 0 ] && [ $rc = 0 ] && grep -qx "GOT hello" "$s" && grep -qx EOF "$s" &&
	   sock_has "$s" alerts=1 rx_errors=0; then
		tap_ok "s_client's close_notify reads as end of file in the app, the alert counted"
	else
		show "$s" "$tmp/echo.err" "$sc" "$tmp/sc.err"
		tap_fail "s_client's close_notify reads as end of file in the app, the alert counted" "app $rc"
	fi
else
	show "$tmp/echo.out" "$tmp/echo.err"
	for i in 4 5; do tap_fail "stock s_client case $i" "the app did not start"; done
fi

# --- 6-7: qktlsd client <-> qktlsd server -------------------------------------------
# pair NAME SERVERLINK CLIENTLINK [args...]: two apps, $crc and $src.
pair() {
	local name=$1 sl=$2 cl=$3
	shift 3
	if ! start_server "$name-s" "$app" server --agent "$tmp/server.sock" \
		--link "$sl" "$@"; then
		show "$tmp/$name-s.out" "$tmp/$name-s.err"
		crc=99 src=99
		return
	fi
	"$app" client --agent "$tmp/client.sock" --link "$cl" --port "$port" \
		"$@" >"$tmp/$name-c.out" 2>"$tmp/$name-c.err"
	crc=$?
	wait_server && src=0 || src=$?
}
# 4 MiB and 1000 bytes each way: a rekey before every 64 KiB (client) or
# 128 KiB (server) boundary, none after the last (nor for close_notify).
n=$(((4 << 20) + 1000))
nc=$((n / 65536)) ns=$((n / 131072))
if [ $rekey = 1 ]; then
	pair qkd s-qkd c-qkd --bytes $n
	c=$tmp/qkd-c.out s=$tmp/qkd-s.out
	if [ $crc = 0 ] && [ $src = 0 ] && [ "$(val KEYUPDATE "$c")" = qkd ] &&
	   [ "$(val KEYUPDATE "$s")" = qkd ] && [ "$(val ATTACHED "$c")" = yes ] &&
	   [ "$(val ATTACHED "$s")" = yes ] && grep -qx "DATA ok $n" "$c" &&
	   grep -qx "DATA ok $n" "$s" && grep -qx CLOSE_NOTIFY "$c" &&
	   grep -qx CLOSE_NOTIFY "$s" && sock_has "$c" alerts=1 && sock_has "$s" alerts=1; then
		tap_ok "qktlsd client and server links negotiate the QKD key update; $n bytes each way with plain I/O, checked; close_notify both ways"
	else
		show "$c" "$tmp/qkd-c.err" "$s" "$tmp/qkd-s.err"
		tap_fail "qktlsd client and server links negotiate the QKD key update; $n bytes each way with plain I/O, checked; close_notify both ways" \
			"client $crc server $src"
	fi
	bad=
	sock_has "$c" tx_rekeys=$nc rx_rekeys=$ns tx_qkd_rekeys=$nc rx_qkd_rekeys=$ns \
		keys_used=$((nc + ns)) rekey_errors=0 rekey_bytes=65536 qkd_update=1 \
		tx_pool=cq.c2s rx_pool=cq.s2c qkd_policy=preferred tx_std_fallbacks=0 \
		tx_refused=0 updates_requested=0 rx_errors=0 || bad="$bad client"
	sock_has "$s" tx_rekeys=$ns rx_rekeys=$nc tx_qkd_rekeys=$ns rx_qkd_rekeys=$nc \
		keys_used=$((nc + ns)) rekey_errors=0 rekey_bytes=131072 qkd_update=1 \
		tx_pool=sq.s2c rx_pool=sq.c2s qkd_policy=preferred tx_std_fallbacks=0 \
		tx_refused=0 updates_requested=0 rx_errors=0 || bad="$bad server"
	for p in cq.c2s:$((300 - nc)) sq.c2s:$((300 - nc)) cq.s2c:$((300 - ns)) sq.s2c:$((300 - ns)); do
		[ "$(pool_keys ${p%:*})" = "${p#*:}" ] || bad="$bad ${p%:*}:$(pool_keys ${p%:*})"
	done
	if [ -z "$bad" ]; then
		tap_ok "the module's QKD rekeys by policy at both ends: $nc client to server, $ns back, each followed, each key used once per end"
	else
		show "$c" "$s"
		tap_fail "the module's QKD rekeys by policy at both ends: $nc client to server, $ns back, each followed, each key used once per end" "$bad"
	fi

	# 8: 256 MiB each way, write()+sendfile() out, read()+splice() in.
	big=$(((256 << 20) + 1000))
	tx0=$(tls_stat TlsTxRekeyOk) rx0=$(tls_stat TlsRxRekeyOk)
	pair big s-big c-big --bytes $big --io mixed
	c=$tmp/big-c.out s=$tmp/big-s.out
	what="$big bytes each way at once, write()+sendfile() out, read()+splice() in, a rekey every 16 MiB: 16 QKD rekeys per direction at both ends and in tls_stat"
	if [ $crc = 0 ] && [ $src = 0 ] &&
	   grep -qx "DATA ok $big write+sendfile read+splice" "$c" &&
	   grep -qx "DATA ok $big write+sendfile read+splice" "$s" &&
	   sock_has "$c" tx_qkd_rekeys=16 rx_qkd_rekeys=16 tx_rekeys=16 rx_rekeys=16 \
		rekey_errors=0 rx_errors=0 &&
	   sock_has "$s" tx_qkd_rekeys=16 rx_qkd_rekeys=16 tx_rekeys=16 rx_rekeys=16 \
		rekey_errors=0 rx_errors=0 &&
	   [ $(($(tls_stat TlsTxRekeyOk) - tx0)) = 32 ] &&
	   [ $(($(tls_stat TlsRxRekeyOk) - rx0)) = 32 ]; then
		tap_ok "$what"
	else
		show "$c" "$tmp/big-c.err" "$s" "$tmp/big-s.err"
		tap_fail "$what" "client $crc server $src, tls_stat tx +$(($(tls_stat TlsTxRekeyOk) - tx0)) rx +$(($(tls_stat TlsRxRekeyOk) - rx0))"
	fi
else
	pair req s-qkd c-qkd --bytes 65536
	why="^ERROR the link's rekey_bytes/rekey_seconds cannot be honoured: kernel has no kTLS rekey"
	# Both hand-offs fail.  The end whose agent refuses first closes the
	# connection, so the other may find it closed before its own check
	# ("kTLS install failed: ..."): the reason is clear at one end at least.
	said=0
	for f in "$tmp/req-c.out" "$tmp/req-s.out"; do
		if grep -q "$why" "$f"; then
			said=$((said + 1))
		elif ! grep -q "^ERROR kTLS install failed: " "$f"; then
			said=-9
		fi
	done
	if [ $crc = 3 ] && [ $src = 3 ] && [ $said -ge 1 ]; then
		tap_ok "6.12: links whose rekey_bytes need kTLS rekey are refused at the hand-off, clearly"
	else
		show "$tmp/req-c.out" "$tmp/req-c.err" "$tmp/req-s.out" "$tmp/req-s.err"
		tap_fail "6.12: links whose rekey_bytes need kTLS rekey are refused at the hand-off, clearly" \
			"client $crc server $src"
	fi
	pair plain s-std c-plain --bytes $n
	c=$tmp/plain-c.out s=$tmp/plain-s.out
	if [ $crc = 0 ] && [ $src = 0 ] && [ "$(val ATTACHED "$c")" = yes ] &&
	   [ "$(val ATTACHED "$s")" = yes ] && grep -qx "DATA ok $n" "$c" &&
	   grep -qx "DATA ok $n" "$s" && grep -qx CLOSE_NOTIFY "$c" &&
	   sock_has "$c" tx_rekeys=0 rx_rekeys=0 rekey_errors=0 alerts=1 &&
	   sock_has "$s" tx_rekeys=0 rx_rekeys=0 rekey_errors=0 alerts=1; then
		tap_ok "6.12: links without a rekey policy: attached, $n bytes each way, no rekey"
	else
		show "$c" "$tmp/plain-c.err" "$s" "$tmp/plain-s.err"
		tap_fail "6.12: links without a rekey policy: attached, $n bytes each way, no rekey" \
			"client $crc server $src"
	fi
	tap_skip "256 MiB each way with write/sendfile and read/splice, a rekey every 16 MiB" \
		"kernel has no kTLS rekey"
fi

else
	for i in $(seq 2 8); do tap_skip "post-handshake TLS $i" "this qktls.ko has no attached sockets"; done
fi

# --- 9: qkd_mlkem768 from a peer with the QKD-KEM provider's wire format --------
if start_server kem "$app" server --agent "$tmp/server.sock" --link s-kem --mode echo; then
	timeout 120 "$peer" client --port "$port" --ca "$tmp/ca.pem" \
		--cert "$tmp/client.pem" --key "$tmp/client.key" \
		--groups qkd_mlkem768 --keys "$tmp/kem.keys" >"$tmp/kem-c.out" 2>"$tmp/kem-c.err"
	crc=$?
	wait_server && src=0 || src=$?
	s=$tmp/kem.out
	if [ $crc = 0 ] && [ $src = 0 ] && [ "$(val GROUP "$s")" = qkd_mlkem768 ] &&
	   [ "$(val GROUP "$tmp/kem-c.out")" = qkd_mlkem768 ] &&
	   [ "$(val QKD "$s")" = "$(head -c 32 "$tmp/kem.keys")" ] &&
	   grep -qx "GOT ping" "$s" && grep -qx "REPLY echo ping" "$tmp/kem-c.out"; then
		tap_ok "a server link accepts qkd_mlkem768 (QKD-KEM provider wire format) with the same QKD key"
	else
		show "$s" "$tmp/kem.err" "$tmp/kem-c.out" "$tmp/kem-c.err"
		tap_fail "a server link accepts qkd_mlkem768 (QKD-KEM provider wire format) with the same QKD key" \
			"client $crc server $src"
	fi
else
	show "$tmp/kem.out" "$tmp/kem.err"
	tap_fail "a server link accepts qkd_mlkem768 (QKD-KEM provider wire format) with the same QKD key"
fi

# --- 10: a required link does not take qkd_mlkem768 unless configured -------------
if start_server kemr "$app" server --agent "$tmp/server.sock" --link s-kem-req --mode echo; then
	timeout 120 "$peer" client --port "$port" --ca "$tmp/ca.pem" \
		--cert "$tmp/client.pem" --key "$tmp/client.key" \
		--groups qkd_mlkem768 --keys "$tmp/kem-req.keys" >"$tmp/kemr-c.out" 2>"$tmp/kemr-c.err"
	crc=$?
	wait_server && src=0 || src=$?
	s=$tmp/kemr.out
	if [ $crc != 0 ] && [ $src = 3 ] && [ "$(val STATUS "$s")" = -71 ] &&
	   ! grep -q "^GROUP qkd_mlkem768" "$s" "$tmp/kemr-c.out"; then
		tap_ok "a required link without qkd_mlkem768 refuses that group at the handshake"
	else
		show "$s" "$tmp/kemr.err" "$tmp/kemr-c.out" "$tmp/kemr-c.err"
		tap_fail "a required link without qkd_mlkem768 refuses that group at the handshake" \
			"client $crc server $src"
	fi
else
	show "$tmp/kemr.out" "$tmp/kemr.err"
	tap_fail "a required link without qkd_mlkem768 refuses that group at the handshake"
fi

# --- 11: no QKD key update without the kernel pools -----------------------------
what="without its kernel pools the client does not negotiate the QKD key update, says so once, and rekeys with standard updates"
if [ $socks = 1 ] && [ $rekey = 1 ]; then
	"$q" pool del cq.c2s && "$q" pool del cq.s2c
	n=$(((1 << 20) + 1000)) nc=$(((1 << 20) / 65536)) ns=$(((1 << 20) / 131072))
	pair nopool s-qkd c-qkd --bytes $n
	first="$crc $src"
	pair nopool2 s-qkd c-qkd --bytes 1000
	c=$tmp/nopool-c.out s=$tmp/nopool-s.out
	said=$(grep -c "link c-qkd: not negotiating the QKD key update: the kernel pools are missing" "$tmp/client.log")
	if [ "$first" = "0 0" ] && [ $crc = 0 ] && [ $src = 0 ] && [ "$said" = 1 ] &&
	   [ "$(val KEYUPDATE "$c")" = standard ] && [ "$(val KEYUPDATE "$s")" = standard ] &&
	   grep -qx "DATA ok $n" "$c" && grep -qx "DATA ok $n" "$s" &&
	   sock_has "$c" qkd_update=0 tx_rekeys=$nc tx_qkd_rekeys=0 rx_rekeys=$ns \
		rekey_errors=0 rx_errors=0 &&
	   sock_has "$s" qkd_update=0 tx_rekeys=$ns rx_rekeys=$nc rx_qkd_rekeys=0 \
		rekey_errors=0 rx_errors=0; then
		tap_ok "$what"
	else
		show "$c" "$tmp/nopool-c.err" "$s" "$tmp/nopool-s.err" "$tmp/client.log"
		tap_fail "$what" "first pair $first, second $crc $src, said $said times"
	fi
else
	tap_skip "$what" "needs attached sockets and kTLS rekey"
fi

# --- 12: clean stop --------------------------------------------------------------
rc=0
stop_agents server client || rc=$?
if [ $rc = 0 ]; then
	tap_ok "the agents stop on SIGTERM"
else
	show "$tmp/server.log" "$tmp/client.log"
	tap_fail "the agents stop on SIGTERM" "exit status $rc"
fi
tap_done
