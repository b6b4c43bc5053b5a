#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The provider as a module of stock OpenSSL (build/lib/ossl-modules/qktls.so):
# `openssl s_client -provider qktls -provider default -groups qkd_mlkem768`
# against `openssl s_server` the same way, each with its key source (an ETSI
# 014 KME of qktls-kme-sim, asked during the handshake) given by the
# provider's section of its openssl.cnf.  Both flows of the QKD-KEM
# provider 0.2.0: client-initiated (client = master SAE, enc_keys at KME A;
# server = slave, dec_keys at KME B) and server-initiated (the reverse);
# data both ways; each KME saw the key exactly once.  Then the failures:
# the two sides in different flows, a KME that is down or answers 503, a
# key ID used twice and one the KME never issued (sent by provider_peer,
# a client of the provider library holding the key named).
# 127.0.0.1 only; servers report their port on an ACCEPT line (no sleeps).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tools/kme-sim/sim-env.sh"
mod=$top/build/lib/ossl-modules/qktls.so
peer=$top/build/tests/helpers/provider_peer
probe=$top/build/bin/qktls-kme

N=21
tap_plan $N
if [ ! -f "$mod" ] || [ ! -x "$peer" ] || [ ! -x "$probe" ] ||
   ! command -v openssl >/dev/null || ! command -v jq >/dev/null; then
	for i in $(seq $N); do tap_skip "module $i" "qktls.so, provider_peer, qktls-kme, openssl or jq missing"; done
	tap_done
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sim_stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
show() { sed 's/^/# /' "$@" 2>/dev/null; }

if ! sim_start "$tmp/sim" --rate 0; then
	for i in $(seq $N); do tap_fail "module $i" "the KME simulator did not start"; done
	tap_done
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
	-days 1 2>"$tmp/req.err" || { show "$tmp/req.err"; exit 1; }

# cnf NAME URL SAE PEER FLOW [LINE...]: an openssl.cnf whose qktls section
# uses the KME at URL as SAE (a or b), for the peer SAE PEER, in FLOW.
cnf() {
	local name=$1 url=$2 sae=$3 peer_sae=$4 flow=$5
	shift 5
	{
		echo "openssl_conf = init"
		echo "[init]"
		echo "providers = provs"
		echo "[provs]"
		echo "qktls = qktls_sect"
		echo "[qktls_sect]"
		echo "module = $mod"
		echo "kme_url = $url"
		echo "kme_cert = $PKI/sae-$sae.pem"
		echo "kme_key = $PKI/sae-$sae.key"
		echo "kme_ca = $PKI/ca.pem"
		echo "peer_sae_id = $peer_sae"
		echo "flow = $flow"
		printf '%s\n' "$@"
	} >"$tmp/$name.cnf"
}
cnf a-ci "$URL_A" a SAE_B client-initiated
cnf b-ci "$URL_B" b SAE_A client-initiated
cnf a-si "$URL_A" a SAE_B server-initiated
cnf b-si "$URL_B" b SAE_A server-initiated
cnf down "https://127.0.0.1:1" a SAE_B client-initiated "kme_timeout_ms = 5000"

. "$top/tests/lib/servers.sh"
# s_server_on NAME CNF [ARGS...]: stock s_server with the module on CNF
# (start_server: sets $port).
s_server_on() {
	local name=$1 conf=$2
	shift 2
	start_server "$name" env OPENSSL_CONF="$tmp/$conf.cnf" timeout 60 \
		openssl s_server -provider qktls -provider default \
		-accept 127.0.0.1:0 -cert "$tmp/cert.pem" -key "$tmp/key.pem" \
		-tls1_3 -groups qkd_mlkem768 -rev "$@"
}
# client NAME CNF: stock s_client with the module on CNF sends "ping", then
# the line that makes s_server -rev close the connection.
client() {
	printf "ping\nCLOSE\n" | OPENSSL_CONF=$tmp/$2.cnf timeout 60 openssl s_client \
		-provider qktls -provider default -connect "127.0.0.1:$port" \
		-tls1_3 -groups qkd_mlkem768 -CAfile "$tmp/cert.pem" \
		-verify_return_error -ign_eof >"$tmp/$1.out" 2>"$tmp/$1.err"
}
# count KME CALL PEER: successful CALLs at KME (a/b) so far.
count() { grep -c "kme-$1: SAE_${1^^}: $2 $3 -> 200" "$tmp/sim/sim.log"; }
stat() { sim_ctl stats | jq -r ".$1"; }

# 1-2: a module stock OpenSSL loads.
syms=$(nm -D --defined-only "$mod" | awk '$2 ~ /^[TDBR]$/ { print $3 }')
if [ "$syms" = OSSL_provider_init ]; then
	tap_ok "qktls.so exports OSSL_provider_init and nothing else"
else
	tap_fail "qktls.so exports OSSL_provider_init and nothing else" "exports: $(echo $syms)"
fi
if OPENSSL_CONF=$tmp/a-ci.cnf openssl list -kem-algorithms -provider qktls \
	-provider default >"$tmp/list.out" 2>&1 &&
   grep -q "qkd_mlkem768 @ qktls" "$tmp/list.out" &&
   grep -q "qktls-X25519MLKEM768 @ qktls" "$tmp/list.out"; then
	tap_ok "openssl list shows the module's two groups"
else
	show "$tmp/list.out"
	tap_fail "openssl list shows the module's two groups"
fi

# kx LEN FILE: the last 16 bytes (hex) of the key_exchange of LEN bytes
# in s_server's -trace output.
kx() { sed -n "s/.*key_exchange:  (len=$1): //p" "$2" | head -n1 | grep -o '.\{32\}$'; }
zero=00000000000000000000000000000000

# handshake DESC SRVCNF CLICNF ENC_KME DEC_KME FLOW: a good handshake in
# FLOW, data both ways, the key IDs where FLOW puts them, and the key drawn
# once at ENC_KME, fetched once at DEC_KME.
handshake() {
	local desc=$1 s=$2 c=$3 ek=$4 dk=$5 flow=$6 e0 d0 o0 v0 e1 d1 chid shid
	local ep=SAE_${dk^^} dp=SAE_${ek^^}
	e0=$(count "$ek" enc_keys "$ep")
	d0=$(count "$dk" dec_keys "$dp")
	o0=$(stat keys_out)
	v0=$(stat keys_delivered)
	if s_server_on "$s" "$s" -naccept 1 -trace; then
		client "$c" "$c"
		rc=$?
		finish
		# (s_server -rev ends without close_notify: s_client exits 1)
		if [ $rc -lt 124 ] && grep -q "Negotiated TLS1.3 group: qkd_mlkem768" "$tmp/$c.out" &&
		   grep -qx "gnip" "$tmp/$c.out"; then
			tap_ok "$desc: stock s_client and s_server with the module, qkd_mlkem768, data both ways"
		else
			show "$tmp/$c.out" "$tmp/$c.err" "$tmp/$s.out" "$tmp/$s.err"
			tap_fail "$desc: stock s_client and s_server with the module, qkd_mlkem768, data both ways" "client exit $rc"
		fi
	else
		show "$tmp/$s.out" "$tmp/$s.err"
		tap_fail "$desc: s_server with the module did not start"
	fi
	chid=$(kx 1200 "$tmp/$s.out")
	shid=$(kx 1104 "$tmp/$s.out")
	if { [ "$flow" = client ] && [ -n "$chid" ] && [ "$chid" != $zero ] && [ "$shid" = "$chid" ]; } ||
	   { [ "$flow" = server ] && [ "$chid" = $zero ] && [ -n "$shid" ] && [ "$shid" != $zero ]; }; then
		tap_ok "$desc: ClientHello share 1200 bytes ending in ${chid:0:8}..., ServerHello share 1104 bytes ending in ${shid:0:8}..."
	else
		tap_fail "$desc: key IDs in the shares" "ClientHello: '$chid', ServerHello: '$shid'"
	fi
	e1=$(count "$ek" enc_keys "$ep")
	d1=$(count "$dk" dec_keys "$dp")
	if [ $((e1 - e0)) = 1 ] && [ $((d1 - d0)) = 1 ] &&
	   [ $(($(stat keys_out) - o0)) = 1 ] && [ $(($(stat keys_delivered) - v0)) = 1 ]; then
		tap_ok "$desc: KME ${ek^^} drew the key once (enc_keys), KME ${dk^^} delivered it once (dec_keys)"
	else
		show "$tmp/sim/sim.log"
		tap_fail "$desc: KME ${ek^^} drew the key once (enc_keys), KME ${dk^^} delivered it once (dec_keys)" \
			"enc_keys $e0 -> $e1, dec_keys $d0 -> $d1"
	fi
}

# 3-5: client-initiated: the client (SAE_A, master) draws, the server
# (SAE_B, slave) fetches the ID from the ClientHello.
handshake "client-initiated" b-ci a-ci a b client
# 6-8: server-initiated: the server (SAE_A, master) draws and names the
# key in its ServerHello, the client (SAE_B, slave) fetches it.
handshake "server-initiated" a-si b-si a b server

# refused DESC SRVCNF CLICNF SRV-PATTERN: the handshake fails on both sides
# and the server says SRV-PATTERN.
refused() {
	local desc=$1 s=$2 c=$3 pat=$4
	if s_server_on "$s-x" "$s" -naccept 1; then
		client "$c-x" "$c"
		rc=$?
		finish
		if [ $rc -ne 0 ] && ! grep -qx gnip "$tmp/$c-x.out" &&
		   grep -q "$pat" "$tmp/$s-x.out" "$tmp/$s-x.err"; then
			tap_ok "$desc"
		else
			show "$tmp/$c-x.out" "$tmp/$c-x.err" "$tmp/$s-x.out" "$tmp/$s-x.err"
			tap_fail "$desc" "client exit $rc"
		fi
	else
		tap_fail "$desc" "s_server did not start"
	fi
}

# 9-10: the two sides in different flows fail, saying so.
refused "client-initiated client, server-initiated server: refused, the server names the flows" \
	a-si a-ci "the client runs the client-initiated flow, this side the server-initiated one"
refused "server-initiated client, client-initiated server: refused, the server names the flows" \
	b-ci b-si "zero key ID: the client runs the server-initiated flow"

# 11-12: a KME that is down: the client sends no ClientHello and says why.
if s_server_on dn b-ci -naccept 1; then
	client down down
	rc=$?
	finish
	if [ $rc -ne 0 ] && [ $rc -lt 124 ] &&
	   grep -q "KME https://127.0.0.1:1: enc_keys for SAE SAE_B failed (cannot connect to KME)" "$tmp/down.err" &&
	   grep -q "no QKD key for a qkd_mlkem768 key share" "$tmp/down.err"; then
		tap_ok "KME down: s_client fails cleanly, naming the KME and the reason"
	else
		show "$tmp/down.out" "$tmp/down.err"
		tap_fail "KME down: s_client fails cleanly, naming the KME and the reason" "exit $rc"
	fi
else
	tap_fail "KME down: s_client fails cleanly, naming the KME and the reason" "s_server did not start"
fi
# A server that must draw the key (server-initiated) and gets a 503.
sim_ctl fault a 503,count=1 >/dev/null
refused "KME answers 503 to a server-initiated server: refused, the server names the KME" \
	a-si b-si "KME $URL_A: enc_keys for SAE SAE_B failed (KME: unavailable (503))"

# 13-15: a key ID used twice, and one the KME never issued: a client of
# the provider library holding the key (drawn here with qktls-kme, as a
# master SAE would) against s_server with the module (client-initiated).
qkd_key() {	# qkd_key FILE: draw one key at KME A, write "IDHEX KEYHEX"
	local out
	out=$("$probe" -u "$URL_A" -c "$PKI/sae-a.pem" -k "$PKI/sae-a.key" \
		-C "$PKI/ca.pem" --show-keys get SAE_B -s 256) || return 1
	printf '%s %s\n' "$(jq -r '.keys[0].key_ID' <<<"$out" | tr -d -)" \
		"$(jq -r '.keys[0].key' <<<"$out" | base64 -d | od -An -tx1 | tr -d ' \n')" >"$1"
}
qkd_key "$tmp/used.keys" || echo "# qktls-kme could not draw a key"
echo "$(openssl rand -hex 16) $(openssl rand -hex 32)" >"$tmp/unknown.keys"
# peer_client NAME KEYS: provider_peer offering qkd_mlkem768 with KEYS.
peer_client() {
	timeout 60 "$peer" client --port "$port" --ca "$tmp/cert.pem" \
		--groups qkd_mlkem768 --keys "$tmp/$2" >"$tmp/$1.out" 2>"$tmp/$1.err"
}
if s_server_on rp b-ci -naccept 3; then
	peer_client p1 used.keys
	rc1=$?
	d0=$(count b dec_keys SAE_A)
	peer_client p2 used.keys
	rc2=$?
	d1=$(count b dec_keys SAE_A)
	peer_client p3 unknown.keys
	rc3=$?
	finish
	if [ $rc1 -eq 0 ] && grep -qx "GROUP qkd_mlkem768" "$tmp/p1.out" &&
	   grep -qx "REPLY gnip" "$tmp/p1.out"; then
		tap_ok "a library client naming a key it drew at KME A: accepted (dec_keys at KME B)"
	else
		show "$tmp/p1.out" "$tmp/p1.err" "$tmp/rp.out" "$tmp/rp.err"
		tap_fail "a library client naming a key it drew at KME A: accepted (dec_keys at KME B)" "exit $rc1"
	fi
	if [ $rc2 -ne 0 ] && [ "$d1" = "$d0" ] &&
	   grep -q "which was already used" "$tmp/rp.out" "$tmp/rp.err" &&
	   grep -q "alert illegal parameter" "$tmp/p2.err"; then
		tap_ok "the same key ID again: refused (illegal_parameter) without asking the KME"
	else
		show "$tmp/p2.out" "$tmp/p2.err" "$tmp/rp.out" "$tmp/rp.err"
		tap_fail "the same key ID again: refused (illegal_parameter) without asking the KME" \
			"exit $rc2, dec_keys $d0 -> $d1"
	fi
	if [ $rc3 -ne 0 ] &&
	   grep -q "dec_keys of key .* failed (KME: bad request (400))" "$tmp/rp.out" "$tmp/rp.err" &&
	   grep -q "which is unknown here" "$tmp/rp.out" "$tmp/rp.err"; then
		tap_ok "a key ID the KME never issued: refused with the KME's answer"
	else
		show "$tmp/p3.out" "$tmp/p3.err" "$tmp/rp.out" "$tmp/rp.err"
		tap_fail "a key ID the KME never issued: refused with the KME's answer" "exit $rc3"
	fi
else
	for i in 1 2 3; do tap_fail "replay $i: s_server did not start"; done
fi

# 16-18: configuration errors are reported when the provider loads.
bad() {	# bad DESC PATTERN LINE...: a cnf with LINEs refuses to load
	local desc=$1 pat=$2
	shift 2
	cnf bad "$URL_A" a SAE_B client-initiated
	printf '%s\n' "$@" >>"$tmp/bad.cnf"
	if ! OPENSSL_CONF=$tmp/bad.cnf openssl list -kem-algorithms -provider qktls \
		-provider default >"$tmp/bad.out" 2>&1 && grep -q "$pat" "$tmp/bad.out"; then
		tap_ok "$desc"
	else
		show "$tmp/bad.out"
		tap_fail "$desc"
	fi
}
bad "an unknown flow is refused with the allowed values" \
	'flow = "both": use client-initiated or server-initiated' "flow = both"
bad "a codepoint that is not a 16-bit number is refused" \
	'codepoint = "0x13768" is not a number from 0 to 65535' "codepoint = 0x13768"
cnf nopeer "$URL_A" a "" client-initiated
if ! OPENSSL_CONF=$tmp/nopeer.cnf openssl list -kem-algorithms -provider qktls \
	-provider default >"$tmp/nopeer.out" 2>&1 &&
   grep -q "peer_sae_id is not set in its section of the OpenSSL configuration" "$tmp/nopeer.out"; then
	tap_ok "a missing peer SAE ID is refused, naming the parameter"
else
	show "$tmp/nopeer.out"
	tap_fail "a missing peer SAE ID is refused, naming the parameter"
fi

# 19-21: a configured codepoint is what goes on the wire: both sides at
# 0x2F00 interoperate; a server at 0x3768 does not know the client's group.
cnf a-cp "$URL_A" a SAE_B client-initiated "codepoint = 0x2F00"
cnf b-cp "$URL_B" b SAE_A client-initiated "codepoint = 0x2F00"
if s_server_on cp b-cp -naccept 1; then
	client cp-c a-cp
	rc=$?
	finish
	if [ $rc -lt 124 ] && grep -qx gnip "$tmp/cp-c.out"; then
		tap_ok "both sides at codepoint 0x2F00: handshake and data"
	else
		show "$tmp/cp-c.out" "$tmp/cp-c.err" "$tmp/cp.err"
		tap_fail "both sides at codepoint 0x2F00: handshake and data" "exit $rc"
	fi
else
	tap_fail "both sides at codepoint 0x2F00: handshake and data" "s_server did not start"
fi
if s_server_on cp2 b-ci -naccept 1 -trace; then
	client cp2-c a-cp
	rc=$?
	finish
	if [ $rc -ne 0 ] && grep -q "alert handshake failure" "$tmp/cp2-c.err"; then
		tap_ok "client at 0x2F00, server at 0x3768: no common group"
	else
		show "$tmp/cp2-c.out" "$tmp/cp2-c.err" "$tmp/cp2.err"
		tap_fail "client at 0x2F00, server at 0x3768: no common group" "exit $rc"
	fi
	grep -A2 "extension_type=key_share(51), length=1206" "$tmp/cp2.out" >"$tmp/ks"
	if grep -q "NamedGroup: UNKNOWN (12032)" "$tmp/ks" && grep -q "key_exchange:  (len=1200)" "$tmp/ks"; then
		tap_ok "the ClientHello's key share is 0x2F00 with 1200 bytes (ML-KEM-768 key || key ID)"
	else
		grep -A2 "key_share" "$tmp/cp2.out" | cut -c1-120 | show
		tap_fail "the ClientHello's key share is 0x2F00 with 1200 bytes (ML-KEM-768 key || key ID)"
	fi
else
	tap_fail "client at 0x2F00, server at 0x3768: no common group" "s_server did not start"
	tap_fail "the ClientHello's key share is 0x2F00 with 1200 bytes"
fi
tap_done
