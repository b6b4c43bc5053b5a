#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A server link's QKD keys and clients that never authenticate (issue 14
# item 5).  TLS 1.3 makes the server use the QKD key a ClientHello names
# before the client's certificate is checked, and a used key is gone: a
# "stranger" that can name keys (here: provider_peer with a copy of the key
# file and no client certificate) burns one per handshake.  Handshakes that
# took a key and ended without the client authenticating spend
# qkd.unauth_keys_per_peer (and _per_link) a minute; while that is spent the
# server takes no key for the address.
#
#   1  the server agent starts: link s-lim (unauth_keys_per_peer = 2) and
#      link s-open (no limit), each with its own 8 keys
#   2  three clients with certificates in a row on s-lim, more than its
#      budget: all three use their QKD key (authenticated: nothing spent)
#   3  two strangers on s-lim: each fails for want of a certificate, after
#      the server took the key it named
#   4  a third stranger on s-lim: refused before any key is taken, the
#      agent says why
#   5  SIGUSR1 counters: s-lim holds 3 keys (8 - 3 - 2: the third
#      stranger's key is intact), 2 taken for strangers, 1 refused
#   6  the same three strangers on s-open (no limit) burn three keys: what
#      the budget prevents
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
peer=$top/build/tests/helpers/provider_peer

PLAN=6
tap_plan $PLAN
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || [ ! -x "$peer" ] ||
   ! command -v openssl >/dev/null; then
	for i in $(seq $PLAN); do tap_skip "qktlsd_strangers $i" "qktlsd, qktlsd_app, provider_peer or openssl missing"; done
	tap_done
fi

scratch
certs
umask 077
keyfile 8 >"$tmp/lim.keys"
keyfile 8 >"$tmp/open.keys"
umask 022

cat >"$tmp/server.conf" <<EOT
socket = "$tmp/server.sock";
log_level = "info";
handshake_timeout = 60;
links = (
$(link s-lim server client.test server preferred lim.keys |
	sed 's/policy = "preferred";/& unauth_keys_per_peer = 2;/'),
$(link s-open server client.test server preferred open.keys |
	sed 's/policy = "preferred";/& unauth_keys_per_peer = 0; unauth_keys_per_link = 0;/')
);
EOT

if start_agent server; then
	tap_ok "the server agent starts with a limited and an unlimited link"
else
	show "$tmp/server.log"
	tap_fail "the server agent starts with a limited and an unlimited link"
	tap_done
fi

# client NAME LINK KEYS N [cert]: provider_peer names key N of KEYS (the
# first of its copy of the file) to an app server on LINK; with "cert" it
# presents the client certificate.  Sets $crc and $src; outputs in
# $tmp/NAME.out (server) and $tmp/NAME-c.out.
client() {
	local name=$1 link=$2 keys=$3 n=$4 auth=()

	[ "${5:-}" = cert ] && auth=(--cert "$tmp/client.pem" --key "$tmp/client.key")
	sed -n "$n,\$p" "$tmp/$keys" >"$tmp/$name.keys"
	if ! start_server "$name" "$app" server --agent "$tmp/server.sock" \
		--link "$link" --mode echo; then
		crc=99 src=99
		return
	fi
	timeout 120 "$peer" client --port "$port" --ca "$tmp/ca.pem" "${auth[@]}" \
		--groups qktls-X25519MLKEM768 --keys "$tmp/$name.keys" \
		>"$tmp/$name-c.out" 2>"$tmp/$name-c.err"
	crc=$?
	wait_server && src=0 || src=$?
}
ref() { sed -n "$2p" "$tmp/$1" | cut -c1-32; }

bad=
for i in 1 2 3; do
	client legit$i s-lim lim.keys $i cert
	[ $crc = 0 ] && [ $src = 0 ] && [ "$(val QKD "$tmp/legit$i.out")" = "$(ref lim.keys $i)" ] &&
		grep -qx "REPLY echo ping" "$tmp/legit$i-c.out" || bad="$bad $i:$crc/$src"
done
if [ -z "$bad" ]; then
	tap_ok "three authenticated clients in a row, more than the budget of 2, all use their QKD key"
else
	show "$tmp"/legit*.out "$tmp"/legit*-c.err
	tap_fail "three authenticated clients in a row, more than the budget of 2, all use their QKD key" "$bad"
fi

bad=
for i in 4 5; do
	client stranger$i s-lim lim.keys $i
	[ $crc != 0 ] && [ $src != 0 ] &&
		grep -q "^ERROR TLS handshake failed: .*certificate" "$tmp/stranger$i.out" ||
		bad="$bad $i:$crc/$src"
done
if [ -z "$bad" ]; then
	tap_ok "two strangers without a certificate fail after the server took their keys"
else
	show "$tmp"/stranger4.out "$tmp"/stranger5.out "$tmp"/stranger4-c.err
	tap_fail "two strangers without a certificate fail after the server took their keys" "$bad"
fi

client stranger6 s-lim lim.keys 6
if [ $crc != 0 ] && [ $src != 0 ] &&
   wait_log "$tmp/server.log" "link s-lim: not taking a QKD key for 127\.0\.0\.1: handshakes that did not authenticate used up qkd\.unauth_keys_per_peer \(2 a minute\)"; then
	tap_ok "a third stranger is refused before a key is taken, and the agent says why"
else
	show "$tmp/stranger6.out" "$tmp/server.log"
	tap_fail "a third stranger is refused before a key is taken, and the agent says why" "client $crc server $src"
fi

for i in 1 2 3; do client open$i s-open open.keys $i; done

kill -USR1 "$server_pid"
if wait_log "$tmp/server.log" "link s-lim: 3 QKD keys in the store; 2 taken for clients that did not authenticate, 1 refused"; then
	tap_ok "counters: the third stranger's key is intact (3 left of 8), 2 taken for strangers, 1 refused"
else
	show "$tmp/server.log"
	tap_fail "counters: the third stranger's key is intact (3 left of 8), 2 taken for strangers, 1 refused"
fi
if wait_log "$tmp/server.log" "link s-open: 5 QKD keys in the store; 3 taken for clients that did not authenticate, 0 refused"; then
	tap_ok "without the budget the same three strangers burn three keys"
else
	show "$tmp/server.log"
	tap_fail "without the budget the same three strangers burn three keys"
fi
stop_agents server >/dev/null || true
tap_done
