#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Key updates on sockets handed over by qktlsd: the agent attaches them to
# qktls.ko, the application (build/tests/helpers/qktlsd_app) reads and
# writes through libqktls's stream helpers (qktls/stream.h).
#
# Kernels with kTLS rekey (7.3):
#   1  two agents start
#   2  stock openssl s_client sends "k" (KeyUpdate, update_not_requested) to a
#      qktlsd server socket: the app follows it and data flows both ways
#   3  s_client sends "K" (update_requested): the app answers with its own
#      KeyUpdate before its next data, which s_client sees (-msg), data flows
#   4  the app's counters and the module's (QKTLS_CMD_SOCK_GET through
#      libqktls): 2 RX rekeys, 1 TX rekey answering a request, no errors
#   5  a qktlsd client and a qktlsd server link negotiate the QKD key update
#      (extension 0xff37) and both sockets come back attached; 8 MiB each way
#      through the stream helpers, every byte checked
#   6  the client link's rekey_bytes = 64 KiB: 127 QKD rekeys by policy, the
#      server follows each; counted the same by library and module, each key
#      consumed once on each end
#   7  a server link accepts the published QKD-KEM provider's qkd_mlkem768
#      group (provider_peer as the client): the same QKD key on both ends
#   8  the agents stop cleanly on SIGTERM
# Kernels without (6.12): 1, 7 and 8 as above, and
#   2  s_client "k": the app fails with "kernel has no kTLS rekey", no hang
#   3, 4  skipped
#   5  a link whose rekey_bytes needs kTLS rekey is refused at the hand-off
#      with "kernel has no kTLS rekey"
#   6  a link without a rekey policy: attached, data both ways, an explicit
#      rekey fails with "kernel has no kTLS rekey"
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
qktlsd=${QKTLSD:-$top/build/tests/helpers/qktlsd-san}
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd
app=$top/build/tests/helpers/qktlsd_app
peer=$top/build/tests/helpers/provider_peer
q=$top/build/bin/qktls

tap_plan 8
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || [ ! -x "$q" ] || [ ! -x "$peer" ] ||
   ! command -v openssl >/dev/null; then
	for i in $(seq 8); do tap_skip "qktlsd_rekey $i" "qktlsd, qktlsd_app, qktls or openssl missing"; done
	tap_done
fi
if grep -q TlsTxRekeyOk /proc/net/tls_stat 2>/dev/null; then rekey=1; else rekey=0; fi
# A qktls.ko without attached sockets: the generic netlink core refuses the
# command with EOPNOTSUPP.
if "$q" sock show 2>&1 >/dev/null | grep -q 'Operation not supported'; then socks=0; else socks=1; fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	exec 4>&- 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in cq.c2s cq.s2c sq.c2s sq.s2c; do "$q" pool del "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

mkcert ca "qktls test CA" && mkcert server server.test ca &&
	mkcert client client.test ca || { cat "$tmp/req.err"; exit 1; }
umask 077
for i in $(seq 8); do
	echo "$(openssl rand -hex 16) $(openssl rand -hex 32)"
done >"$tmp/hs.keys"
for i in $(seq 4); do
	echo "$(openssl rand -hex 16) $(openssl rand -hex 32)"
done >"$tmp/kem.keys"
# Update keys: the same keys in both hosts' copies of each direction's pool
# (both agents share this namespace, so each has its own pool names).
for d in c2s s2c; do
	for i in $(seq 300); do
		printf '%08x-0000-4000-8000-%012x %s\n' "$i" "$i" "$(openssl rand -hex 32)"
	done >"$tmp/$d.keys"
done
umask 022
pools_ok=1
for p in cq sq; do
	for d in c2s s2c; do
		"$q" pool add "$p.$d" key-len 32 capacity 1000 >>"$tmp/pools.err" 2>&1 &&
			"$q" key add "$p.$d" --file "$tmp/$d.keys" >>"$tmp/pools.err" 2>&1 ||
			pools_ok=0
	done
done
# pool_keys POOL: keys left.
pool_keys() { "$q" -j pool show "$1" | sed -n 's/.*"key_count": *\([0-9]*\).*/\1/p'; }

cat >"$tmp/server.conf" <<EOT
socket = "$tmp/server.sock";
log_level = "debug";
handshake_timeout = 60;
links = (
$(link s-std server client.test server off "" 'key_update = "standard";'),
$(link s-qkd server client.test server preferred hs.keys \
	'key_update = "qkd";' | sed 's/policy = "preferred";/& pool = "sq";/'),
$(link s-kem server client.test server preferred kem.keys \
	'mutual = false; key_update = "standard";')
);
EOT
cat >"$tmp/client.conf" <<EOT
socket = "$tmp/client.sock";
log_level = "debug";
handshake_timeout = 60;
links = (
$(link c-qkd client server.test client preferred hs.keys \
	'key_update = "qkd"; rekey_bytes = 65536L;' | sed 's/policy = "preferred";/& pool = "cq";/'),
$(link c-plain client server.test client off "" 'key_update = "standard";')
);
EOT

if [ $pools_ok = 1 ] && start_agent server && start_agent client; then
	tap_ok "two qktlsd instances start, update pools filled"
else
	show "$tmp/pools.err" "$tmp/server.log" "$tmp/client.log"
	tap_fail "two qktlsd instances start, update pools filled"
fi

# --- 2-4: stock s_client's k and K against an echo app -----------------------
sc=$tmp/sc.out
if [ $socks = 1 ]; then
mkfifo "$tmp/sc.in"
if start_server echo "$app" server --agent "$tmp/server.sock" --link s-std --mode echo; then
	timeout 180 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
		-groups X25519MLKEM768 -CAfile "$tmp/ca.pem" -verify_return_error \
		-verify_hostname server.test -cert "$tmp/client.pem" \
		-key "$tmp/client.key" -msg <"$tmp/sc.in" >"$sc" 2>"$tmp/sc.err" &
	sc_pid=$!
	exec 4>"$tmp/sc.in"
	# say LINE PATTERN [N]: a line to s_client, then wait (on the output's
	# growth, at most 60 s) until PATTERN has appeared N times (default 1).
	# s_client writes what it receives and its -msg trace to stdout (its
	# "KEYUPDATE" note goes to stderr): a KeyUpdate it sends shows as $ku_out.
	ku_out='^>>> TLS 1.3, Handshake \[length 0005\], KeyUpdate'
	# An s_client that is gone fails the case instead of killing the
	# script with SIGPIPE (the subshell takes it).
	say() {
		(printf '%s\n' "$1" >&4) 2>/dev/null &&
			wait_log "$sc" "$2" "${3:-1}"
	}
	big_ok=1
	if [ $rekey = 1 ]; then
		say hello "^echo hello" && say k "$ku_out" && say after-k "^echo after-k"
		k_ok=$?
		say K "$ku_out" 2 && say after-K "^echo after-K" && say quit "^bye"
		big_ok=$?
	else
		# The app reads the KeyUpdate, cannot follow it and ends.
		say hello "^echo hello" && say k "$ku_out"
		k_ok=$?
	fi
	exec 4>&-
	rc=0
	wait_server || rc=$?
	wait "$sc_pid"
	s=$tmp/echo.out
	sent=$(grep -c '^>>> TLS 1.3, Handshake \[length 0005\], KeyUpdate' "$sc")
	got=$(grep -c '^<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate' "$sc")
	if [ $rekey = 1 ]; then
		if [ $k_ok = 0 ] && [ "$(val ATTACHED "$s")" = yes ] &&
		   grep -qx "GOT after-k" "$s"; then
			tap_ok "s_client k: the qktlsd socket follows a standard KeyUpdate, data both ways"
		else
			show "$s" "$tmp/echo.err" "$tmp/sc.err"
			tap_fail "s_client k: the qktlsd socket follows a standard KeyUpdate, data both ways"
		fi
		# After K, s_client's output shows the app's KeyUpdate before "echo after-K".
		if [ $big_ok = 0 ] && [ $rc = 0 ] && [ "$sent" = 2 ] && [ "$got" = 1 ] &&
		   sed -n '/^<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate/,$p' "$sc" |
		   grep -qx "echo after-K"; then
			tap_ok "s_client K: the app updates its own TX before its next data; s_client sees the KeyUpdate"
		else
			show "$s" "$tmp/echo.err" "$tmp/sc.err"
			tap_fail "s_client K: the app updates its own TX before its next data; s_client sees the KeyUpdate" \
				"app $rc, KeyUpdates sent $sent received $got"
		fi
		st=$(val STREAM "$s") sk=$(val SOCK "$s")
		if [[ "$st" == *" tx_rekeys=1 "* && "$st" == *" tx_requested=1 "* &&
		      "$st" == *" rx_rekeys=2 "* && "$st" == *" requested=1 "* &&
		      "$st" == *" errors=0 "* && "$sk" == "tx_rekeys=1 rx_rekeys=2 "* &&
		      "$sk" == *" rekey_errors=0 "* ]]; then
			tap_ok "library and module count 2 RX and 1 TX rekeys: $sk"
		else
			show "$s"
			tap_fail "library and module count 2 RX and 1 TX rekeys"
		fi
	else
		if [ $k_ok = 0 ] && [ $rc = 1 ] &&
		   grep -q "kernel has no kTLS rekey" "$tmp/echo.err"; then
			tap_ok "6.12: s_client k ends the app with \"kernel has no kTLS rekey\", no hang"
		else
			show "$s" "$tmp/echo.err" "$tmp/sc.err"
			tap_fail "6.12: s_client k ends the app with \"kernel has no kTLS rekey\", no hang" "app $rc"
		fi
		tap_skip "s_client K" "kernel has no kTLS rekey"
		tap_skip "rekey counters after s_client" "kernel has no kTLS rekey"
	fi
else
	show "$tmp/echo.out" "$tmp/echo.err"
	for i in 2 3 4; do tap_fail "s_client k/K case $i" "the app did not start"; done
fi

# --- 5-6: qktlsd client <-> qktlsd server ---------------------------------------
# pair NAME SERVERLINK CLIENTLINK [client args...]
pair() {
	local name=$1 sl=$2 cl=$3
	shift 3
	if ! start_server "$name-s" "$app" server --agent "$tmp/server.sock" \
		--link "$sl" --helper "$@"; then
		show "$tmp/$name-s.out" "$tmp/$name-s.err"
		crc=99 src=99
		return
	fi
	"$app" client --agent "$tmp/client.sock" --link "$cl" --port "$port" \
		--helper "$@" >"$tmp/$name-c.out" 2>"$tmp/$name-c.err"
	crc=$?
	wait_server && src=0 || src=$?
}
n=$((8 << 20))
want=$((n / 65536 - 1))
if [ $rekey = 1 ]; then
	pair qkd s-qkd c-qkd --bytes $n
	c=$tmp/qkd-c.out s=$tmp/qkd-s.out
	if [ $crc = 0 ] && [ $src = 0 ] && [ "$(val KEYUPDATE "$c")" = qkd ] &&
	   [ "$(val KEYUPDATE "$s")" = qkd ] && [ "$(val ATTACHED "$c")" = yes ] &&
	   [ "$(val ATTACHED "$s")" = yes ] && grep -qx "DATA ok $n" "$c" &&
	   grep -qx "DATA ok $n" "$s" && grep -qx CLOSE_NOTIFY "$c"; then
		tap_ok "qktlsd client and server negotiate the QKD key update; 8 MiB each way checked through the stream helpers"
	else
		show "$c" "$tmp/qkd-c.err" "$s" "$tmp/qkd-s.err"
		tap_fail "qktlsd client and server negotiate the QKD key update; 8 MiB each way checked through the stream helpers" \
			"client $crc server $src"
	fi
	# Only the client's link has a rekey policy (both at once: see
	# tests/kernel/stream_rekey.c on the module's rekey lock).
	bad=
	st=$(val STREAM "$c") sk=$(val SOCK "$c")
	[[ "$st" == *" tx_policy=$want "* && "$st" == *" tx_qkd=$want "* &&
	   "$st" == *" errors=0 "* && "$st" == *" fallbacks=0 "* &&
	   "$sk" == "tx_rekeys=$want rx_rekeys=0 tx_qkd_rekeys=$want rx_qkd_rekeys=0 keys_used=$want rekey_errors=0 rekey_bytes=65536 qkd_update=1 tx_pool=cq.c2s rx_pool=cq.s2c" ]] ||
		bad="$bad client"
	st=$(val STREAM "$s") sk=$(val SOCK "$s")
	[[ "$st" == *" rx_rekeys=$want rx_qkd=$want "* && "$st" == *" errors=0 "* &&
	   "$sk" == "tx_rekeys=0 rx_rekeys=$want tx_qkd_rekeys=0 rx_qkd_rekeys=$want keys_used=$want rekey_errors=0 rekey_bytes=0 qkd_update=1 tx_pool=sq.s2c rx_pool=sq.c2s" ]] ||
		bad="$bad server"
	for p in cq.c2s:$((300 - want)) sq.c2s:$((300 - want)) cq.s2c:300 sq.s2c:300; do
		[ "$(pool_keys ${p%:*})" = "${p#*:}" ] || bad="$bad ${p%:*}:$(pool_keys ${p%:*})"
	done
	if [ -z "$bad" ]; then
		tap_ok "client rekey_bytes 64 KiB: $want QKD rekeys by policy, the server follows each, library and module agree, each key used once per end"
	else
		show "$c" "$s"
		tap_fail "client rekey_bytes 64 KiB: $want QKD rekeys by policy, the server follows each, library and module agree, each key used once per end" "$bad"
	fi
else
	pair req s-qkd c-qkd --bytes 65536
	c=$tmp/req-c.out
	if [ $crc = 3 ] && [ "$(val STATUS "$c")" = -5 ] &&
	   grep -q "^ERROR the link's rekey_bytes/rekey_seconds cannot be honoured: kernel has no kTLS rekey" "$c"; then
		tap_ok "6.12: a link whose rekey_bytes needs kTLS rekey is refused at the hand-off, clearly"
	else
		show "$c" "$tmp/req-c.err" "$tmp/req-s.out"
		tap_fail "6.12: a link whose rekey_bytes needs kTLS rekey is refused at the hand-off, clearly" "client $crc server $src"
	fi
	pair plain s-std c-plain --bytes $n --rekey-once
	c=$tmp/plain-c.out
	if [ $crc = 0 ] && [ $src = 0 ] && [ "$(val ATTACHED "$c")" = yes ] &&
	   grep -qx "DATA ok $n" "$c" && grep -qx "DATA ok $n" "$tmp/plain-s.out" &&
	   grep -q "^REKEY error: kernel has no kTLS rekey" "$c"; then
		tap_ok "6.12: attached without a policy, data both ways, a rekey fails with \"kernel has no kTLS rekey\""
	else
		show "$c" "$tmp/plain-c.err" "$tmp/plain-s.out" "$tmp/plain-s.err"
		tap_fail "6.12: attached without a policy, data both ways, a rekey fails with \"kernel has no kTLS rekey\"" \
			"client $crc server $src"
	fi
fi

else
	for i in 2 3 4 5 6; do tap_skip "key updates $i" "this qktls.ko has no attached sockets"; done
fi

# --- 7: qkd_mlkem768 from a peer with the QKD-KEM provider's wire format --------
if start_server kem "$app" server --agent "$tmp/server.sock" --link s-kem --mode echo; then
	timeout 120 "$peer" client --port "$port" --ca "$tmp/ca.pem" \
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

# --- 8: clean stop --------------------------------------------------------------
rc=0
stop_agents server client || rc=$?
if [ $rc = 0 ]; then
	tap_ok "the agents stop on SIGTERM"
else
	show "$tmp/server.log" "$tmp/client.log"
	tap_fail "the agents stop on SIGTERM" "exit status $rc"
fi
tap_done
