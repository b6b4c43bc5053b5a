#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The qktls provider's groups offered next to X25519MLKEM768 do not get in
# the way of stock OpenSSL peers: `openssl s_server` / `s_client` (3.5)
# restricted to X25519MLKEM768 interoperate with a peer built on the
# provider (build/tests/helpers/provider_peer) and pick X25519MLKEM768; two
# provider peers holding the same QKD keys pick the QKD hybrid; a provider
# server that allows only the QKD hybrid refuses a stock client cleanly.
# 127.0.0.1 only; servers report their free port on an ACCEPT line, which
# the test waits for (no sleeps).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
peer=$top/build/tests/helpers/provider_peer

tap_plan 7
if [ ! -x "$peer" ] || ! command -v openssl >/dev/null; then
	for i in 1 2 3 4 5 6 7; do tap_skip "interop $i" "provider_peer or openssl missing"; done
	
# 7: a provider server that allows only the QKD hybrid refuses a stock
# client cleanly (no shared group), instead of falling back.
if start_server s4 timeout 60 "$peer" server --cert "$tmp/cert.pem" \
	--key "$tmp/key.pem" --keys "$tmp/qkd.keys" --groups qktls-X25519MLKEM768; then
	echo ping | timeout 60 openssl s_client -connect "127.0.0.1:$port" \
		-tls1_3 -groups X25519MLKEM768 -CAfile "$tmp/cert.pem" \
		-ign_eof >"$tmp/c4.out" 2>"$tmp/c4.err"
	rc=$?
	finish
	srv=$?
	if [ $rc -ne 0 ] && [ $srv -ne 0 ] &&
	   grep -q "alert handshake failure" "$tmp/c4.err" &&
	   grep -q "no suitable key share" "$tmp/s4.err"; then
		tap_ok "QKD-only provider server refuses a stock X25519MLKEM768 client"
	else
		show "$tmp/c4.out" "$tmp/c4.err" "$tmp/s4.out" "$tmp/s4.err"
		tap_fail "QKD-only provider server refuses a stock X25519MLKEM768 client" "client $rc, server $srv"
	fi
else
	show "$tmp/s4.out" "$tmp/s4.err"
	tap_fail "provider server did not report its port"
fi
tap_done
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
	-days 1 2>"$tmp/req.err" || { cat "$tmp/req.err"; exit 1; }
# Four QKD keys both provider peers hold (references and keys random).
for i in 1 2 3 4; do
	echo "$(openssl rand -hex 16) $(openssl rand -hex 32)"
done >"$tmp/qkd.keys"

. "$top/tests/lib/servers.sh"

show() { sed 's/^/# /' "$@" 2>/dev/null; }

# 1-2: provider client (QKD hybrid offered first) -> stock s_server.
if start_server s1 timeout 60 openssl s_server -accept 127.0.0.1:0 \
	-cert "$tmp/cert.pem" -key "$tmp/key.pem" -tls1_3 \
	-groups X25519MLKEM768 -naccept 1 -rev; then
	timeout 60 "$peer" client --port "$port" --ca "$tmp/cert.pem" \
		--keys "$tmp/qkd.keys" >"$tmp/c1.out" 2>"$tmp/c1.err"
	rc=$?
	finish
	if [ $rc -eq 0 ] && grep -qx "GROUP X25519MLKEM768" "$tmp/c1.out"; then
		tap_ok "provider client against stock s_server negotiates X25519MLKEM768"
	else
		show "$tmp/c1.out" "$tmp/c1.err" "$tmp/s1.out" "$tmp/s1.err"
		tap_fail "provider client against stock s_server negotiates X25519MLKEM768" "exit status $rc"
	fi
	if grep -qx "REPLY gnip" "$tmp/c1.out"; then
		tap_ok "data both ways with stock s_server"
	else
		show "$tmp/c1.out"
		tap_fail "data both ways with stock s_server"
	fi
else
	show "$tmp/s1.out" "$tmp/s1.err"
	tap_fail "stock s_server did not report its port"
	tap_fail "data both ways with stock s_server"
fi

# 3-4: stock s_client -> provider server (QKD hybrid preferred).
if start_server s2 timeout 60 "$peer" server --cert "$tmp/cert.pem" \
	--key "$tmp/key.pem" --keys "$tmp/qkd.keys"; then
	echo ping | timeout 60 openssl s_client -connect "127.0.0.1:$port" \
		-tls1_3 -groups X25519MLKEM768 -CAfile "$tmp/cert.pem" \
		-verify_return_error -ign_eof >"$tmp/c2.out" 2>"$tmp/c2.err"
	rc=$?
	finish
	if [ $rc -eq 0 ] && grep -qx "GROUP X25519MLKEM768" "$tmp/s2.out" &&
	   grep -q "Negotiated TLS1.3 group: X25519MLKEM768" "$tmp/c2.out"; then
		tap_ok "stock s_client against provider server negotiates X25519MLKEM768"
	else
		show "$tmp/c2.out" "$tmp/c2.err" "$tmp/s2.out" "$tmp/s2.err"
		tap_fail "stock s_client against provider server negotiates X25519MLKEM768" "exit status $rc"
	fi
	if grep -qx "pong X25519MLKEM768" "$tmp/c2.out"; then
		tap_ok "data both ways with stock s_client"
	else
		show "$tmp/c2.out"
		tap_fail "data both ways with stock s_client"
	fi
else
	show "$tmp/s2.out" "$tmp/s2.err"
	tap_fail "provider server did not report its port"
	tap_fail "data both ways with stock s_client"
fi

# 5-6: two provider peers with the same QKD keys pick the QKD hybrid.
if start_server s3 timeout 60 "$peer" server --cert "$tmp/cert.pem" \
	--key "$tmp/key.pem" --keys "$tmp/qkd.keys"; then
	timeout 60 "$peer" client --port "$port" --ca "$tmp/cert.pem" \
		--keys "$tmp/qkd.keys" >"$tmp/c3.out" 2>"$tmp/c3.err"
	rc=$?
	finish
	if [ $rc -eq 0 ] && grep -qx "GROUP qktls-X25519MLKEM768" "$tmp/c3.out" &&
	   grep -qx "GROUP qktls-X25519MLKEM768" "$tmp/s3.out"; then
		tap_ok "two provider peers negotiate qktls-X25519MLKEM768"
	else
		show "$tmp/c3.out" "$tmp/c3.err" "$tmp/s3.out" "$tmp/s3.err"
		tap_fail "two provider peers negotiate qktls-X25519MLKEM768" "exit status $rc"
	fi
	if grep -qx "REPLY pong qktls-X25519MLKEM768" "$tmp/c3.out"; then
		tap_ok "data both ways over the QKD hybrid"
	else
		show "$tmp/c3.out"
		tap_fail "data both ways over the QKD hybrid"
	fi
else
	show "$tmp/s3.out" "$tmp/s3.err"
	tap_fail "provider server did not report its port"
	tap_fail "data both ways over the QKD hybrid"
fi

# 7: a provider server that allows only the QKD hybrid refuses a stock
# client cleanly (no shared group), instead of falling back.
if start_server s4 timeout 60 "$peer" server --cert "$tmp/cert.pem" \
	--key "$tmp/key.pem" --keys "$tmp/qkd.keys" --groups qktls-X25519MLKEM768; then
	echo ping | timeout 60 openssl s_client -connect "127.0.0.1:$port" \
		-tls1_3 -groups X25519MLKEM768 -CAfile "$tmp/cert.pem" \
		-ign_eof >"$tmp/c4.out" 2>"$tmp/c4.err"
	rc=$?
	finish
	srv=$?
	if [ $rc -ne 0 ] && [ $srv -ne 0 ] &&
	   grep -q "alert handshake failure" "$tmp/c4.err" &&
	   grep -q "no suitable key share" "$tmp/s4.err"; then
		tap_ok "QKD-only provider server refuses a stock X25519MLKEM768 client"
	else
		show "$tmp/c4.out" "$tmp/c4.err" "$tmp/s4.out" "$tmp/s4.err"
		tap_fail "QKD-only provider server refuses a stock X25519MLKEM768 client" "client $rc, server $srv"
	fi
else
	show "$tmp/s4.out" "$tmp/s4.err"
	tap_fail "provider server did not report its port"
fi
tap_done
