#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# curl with client certificates drives qktls-kme-sim through every ETSI
# GS QKD 014 endpoint, GET and POST forms, and is refused where it must be.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../../tools/kme-sim/sim-env.sh"

work=$(mktemp -d)
trap 'sim_stop >/dev/null 2>&1; rm -rf "$work"' EXIT

tap_plan 30
if ! sim_start "$work" --rate 0 --b-sae SAE_B --b-sae SAE_C --max-sae-id-count 1; then
	tap_fail "simulator starts" "see its log above"
	tap_done
fi
tap_ok "simulator starts and reports its ports (a=$PORT_A b=$PORT_B)"

# as SAE URL [curl args...]: request as SAE (sae-a, sae-b, sae-c, rogue, none)
as() {
	local sae=$1 url=$2
	shift 2
	local id=()
	[ "$sae" = none ] || id=(--cert "$PKI/$sae.pem" --key "$PKI/$sae.key")
	curl -sS --cacert "$PKI/ca.pem" "${id[@]}" "$@" "$url"
}
# code SAE URL [args]: the HTTP status only
code() { as "$@" -o /dev/null -w '%{http_code}'; }
post() { as "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
b64len() { base64 -d | wc -c; }
check() {	# check DESC JQ-EXPR JSON
	if printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(printf '%s' "$3" | head -c 600)"
	fi
}

A=$URL_A/api/v1/keys
B=$URL_B/api/v1/keys

st=$(as sae-a "$A/SAE_B/status")
check "status (GET) has every ETSI field, truthfully" '
	.source_KME_ID == "KME_A" and .target_KME_ID == "KME_B" and
	.master_SAE_ID == "SAE_A" and .slave_SAE_ID == "SAE_B" and
	.key_size == 256 and .stored_key_count == 1000 and
	.max_key_count == 1000 and .max_key_per_request == 128 and
	.max_key_size == 8192 and .min_key_size == 64 and
	.max_SAE_ID_count == 1' "$st"

enc=$(as sae-a "$A/SAE_B/enc_keys?number=2&size=128")
check "enc_keys (GET) returns 2 keys with UUID IDs" \
	'(.keys | length) == 2 and (.keys | all(.key_ID | test("^[0-9a-f-]{36}$")))' "$enc"
k0=$(jq -r '.keys[0].key' <<<"$enc")
id0=$(jq -r '.keys[0].key_ID' <<<"$enc")
id1=$(jq -r '.keys[1].key_ID' <<<"$enc")
k1=$(jq -r '.keys[1].key' <<<"$enc")
[ "$(b64len <<<"$k0")" = 16 ] && tap_ok "enc_keys (GET) key is size/8 bytes" ||
	tap_fail "enc_keys (GET) key is size/8 bytes"

dec=$(as sae-b "$B/SAE_A/dec_keys?key_ID=$id0")
check "dec_keys (GET) at the peer KME returns the same key" \
	".keys[0].key_ID == \"$id0\" and .keys[0].key == \"$k0\"" "$dec"
again=$(as sae-b "$B/SAE_A/dec_keys?key_ID=$id0" -w ' %{http_code}')
check "dec_keys of a delivered key: 400 with an ETSI message" \
	'.message | test("already delivered")' "${again% *}"
[ "${again##* }" = 400 ] && tap_ok "... and HTTP status 400" || tap_fail "... and HTTP status 400" "$again"

dec=$(post sae-b "$B/SAE_A/dec_keys" "{\"key_IDs\":[{\"key_ID\":\"$id1\"}]}")
check "dec_keys (POST) returns the second key" \
	".keys[0].key_ID == \"$id1\" and .keys[0].key == \"$k1\"" "$dec"

enc=$(post sae-a "$A/SAE_B/enc_keys" \
	'{"number":1,"size":512,"additional_slave_SAE_IDs":["SAE_C"],"extension_mandatory":[{"qktls_echo":"hello"}]}')
check "enc_keys (POST) with additional slave and extension" \
	'(.keys | length) == 1 and .key_container_extension.qktls_echo == "hello"' "$enc"
id=$(jq -r '.keys[0].key_ID' <<<"$enc")
key=$(jq -r '.keys[0].key' <<<"$enc")
[ "$(b64len <<<"$key")" = 64 ] && tap_ok "enc_keys (POST) key is 64 bytes" ||
	tap_fail "enc_keys (POST) key is 64 bytes"
dc=$(post sae-c "$B/SAE_A/dec_keys" "{\"key_IDs\":[{\"key_ID\":\"$id\"}]}")
db=$(as sae-b "$B/SAE_A/dec_keys?key_ID=$id")
check "both slave SAEs get the same key once" \
	".keys[0].key == \"$key\"" "$(jq -c --argjson b "$db" 'if .keys[0].key == $b.keys[0].key then . else {} end' <<<"$dc")"

st=$(as sae-a "$A/SAE_B/status")
check "stored_key_count went down by the material handed out" \
	'.stored_key_count == 1000 - 1 - 2' "$st"

[ "$(code none "$A/SAE_B/status")" = 401 ] && tap_ok "no client certificate: 401" ||
	tap_fail "no client certificate: 401"
[ "$(code rogue "$A/SAE_B/status")" = 401 ] && tap_ok "certificate from another CA: 401" ||
	tap_fail "certificate from another CA: 401"
[ "$(code sae-b "$A/SAE_B/status")" = 401 ] && tap_ok "SAE of the other KME: 401" ||
	tap_fail "SAE of the other KME: 401"
enc=$(as sae-a "$A/SAE_B/enc_keys")
id=$(jq -r '.keys[0].key_ID' <<<"$enc")
[ "$(code sae-c "$B/SAE_A/dec_keys?key_ID=$id")" = 401 ] &&
	tap_ok "key asked for by an SAE it was not meant for: 401" ||
	tap_fail "key asked for by an SAE it was not meant for: 401"
[ "$(code sae-a "$A/SAE_B/nothing")" = 404 ] && tap_ok "unknown endpoint: 404" ||
	tap_fail "unknown endpoint: 404"
[ "$(code sae-a "$A/SAE_B/enc_keys" -X PUT)" = 405 ] && tap_ok "PUT: 405" ||
	tap_fail "PUT: 405"
[ "$(code sae-a "$A/SAE_B/enc_keys" -H 'Content-Type: application/json' --data-binary '{"number":')" = 400 ] &&
	tap_ok "POST with broken JSON: 400" || tap_fail "POST with broken JSON: 400"
[ "$(code sae-a "$A/SAE_B/enc_keys?number=0")" = 400 ] && tap_ok "number=0: 400" ||
	tap_fail "number=0: 400"

as sae-a "$A/SAE_B/status" --tls-max 1.2 -o /dev/null &&
	tap_ok "TLS 1.2 is accepted" || tap_fail "TLS 1.2 is accepted"
if as sae-a "$A/SAE_B/status" --tls-max 1.1 -o /dev/null 2>/dev/null; then
	tap_fail "TLS 1.1 is refused"
else
	tap_ok "TLS 1.1 is refused"
fi

r=$(sim_ctl fault a 503,count=1)
[ "$r" = ok ] && [ "$(code sae-a "$A/SAE_B/status")" = 503 ] &&
	[ "$(code sae-a "$A/SAE_B/status")" = 200 ] &&
	tap_ok "fault 503 from the control socket, for one request" ||
	tap_fail "fault 503 from the control socket, for one request" "$r"
sim_ctl fault a drop,count=1 >/dev/null
as sae-a "$A/SAE_B/status" -o /dev/null 2>/dev/null
rc=$?
[ "$rc" = 52 ] && tap_ok "fault drop: curl gets an empty reply" ||
	tap_fail "fault drop: curl gets an empty reply" "curl exit $rc"

# The whole thing inside a fresh network namespace.
if unshare -n true 2>/dev/null; then
	ns_out=$(unshare -n bash -c '
		ip link set lo up
		. "$0"
		sim_start "$1" --b-listen "[::1]:0" || exit 1
		curl -sS --cacert "$PKI/ca.pem" --cert "$PKI/sae-a.pem" \
			--key "$PKI/sae-a.key" "$URL_A/api/v1/keys/SAE_B/status"
		echo
		curl -sS --cacert "$PKI/ca.pem" --cert "$PKI/sae-b.pem" \
			--key "$PKI/sae-b.key" "https://[::1]:$PORT_B/api/v1/keys/SAE_A/status"
		sim_stop' "$_sim_top/tools/kme-sim/sim-env.sh" "$work/ns" 2>&1)
	check "runs inside a network namespace" '.source_KME_ID == "KME_A"' \
		"$(head -n1 <<<"$ns_out")"
	check "... with KME B on IPv6 [::1]" '.source_KME_ID == "KME_B"' \
		"$(tail -n1 <<<"$ns_out")"
else
	tap_skip "runs inside a network namespace" "unshare -n not permitted here"
	tap_skip "... with KME B on IPv6 [::1]" "unshare -n not permitted here"
fi
# Every key this test saw, base64: none may appear in the simulator's log.
leaked=0
for k in "$k0" "$k1" "$key"; do
	[ -n "$k" ] && grep -qF -- "$k" "$work/sim.log" && leaked=1
done
[ -n "$k0" ] && [ "$leaked" = 0 ] && tap_ok "no key material in the simulator's log (-v)" ||
	tap_fail "no key material in the simulator's log (-v)"

sim_stop
rc=$?
if [ "$rc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$work/sim.log"; then
	tap_ok "simulator shuts down cleanly (exit 0, no sanitizer report)"
else
	sed 's/^/# /' "$work/sim.log" | grep -v ': kme-\|control:' | tail -n 40
	tap_fail "simulator shuts down cleanly (exit 0, no sanitizer report)" "exit $rc"
fi
# SAE identity through a CN mapping: mapped CNs take the mapped ID, others
# are unknown.
mkdir "$work/map" && ln -s "$work/pki" "$work/map/pki"
if sim_start "$work/map" --map SAE_A=ALICE --map SAE_B=BOB --a-sae ALICE --b-sae BOB; then
	st=$(as sae-a "$URL_A/api/v1/keys/BOB/status")
	check "--map: the certificate's CN is mapped to the SAE ID" \
		'.master_SAE_ID == "ALICE" and .slave_SAE_ID == "BOB"' "$st"
	msg=$(as sae-c "$URL_B/api/v1/keys/ALICE/status")
	check "--map: an unmapped CN is refused" '.message | test("maps to no SAE")' "$msg"
	sim_stop
else
	tap_fail "--map: the certificate's CN is mapped to the SAE ID" "no simulator"
	tap_fail "--map: an unmapped CN is refused" "no simulator"
fi
tap_done
