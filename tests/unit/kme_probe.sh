#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The qktls-kme probe against qktls-kme-sim: JSON out, key material only
# with --show-keys, clear errors and exit codes.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../../tools/kme-sim/sim-env.sh"
probe=$_sim_top/build/bin/qktls-kme

work=$(mktemp -d)
trap 'sim_stop >/dev/null 2>&1; rm -rf "$work"' EXIT

tap_plan 30
if ! sim_start "$work" --rate 0; then
	tap_fail "simulator starts" "see its log above"
	tap_done
fi
qa() { "$probe" -u "$URL_A" -c "$PKI/sae-a.pem" -k "$PKI/sae-a.key" -C "$PKI/ca.pem" "$@"; }
qb() { "$probe" -u "$URL_B" -c "$PKI/sae-b.pem" -k "$PKI/sae-b.key" -C "$PKI/ca.pem" "$@"; }
check() {	# check DESC JQ-EXPR JSON
	if printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(printf '%s' "$3" | head -c 600)"
	fi
}

out=$(qa status SAE_B)
check "status prints the ETSI status" \
	'.source_KME_ID == "KME_A" and .slave_SAE_ID == "SAE_B" and .stored_key_count == 1000' "$out"

out=$(qa get SAE_B -n 2 -s 512)
check "get prints IDs and sizes, no key material" \
	'(.keys | length) == 2 and (.keys | all(.size == 512 and (has("key") | not)))' "$out"
ids=$(jq -r '.keys[].key_ID' <<<"$out")
out=$(qb get-by-id SAE_A $ids)
check "get-by-id fetches them at the peer, still without key material" \
	'(.keys | length) == 2 and (.keys | all(has("key") | not))' "$out"

enc=$(qa --show-keys get SAE_B)
id=$(jq -r '.keys[0].key_ID' <<<"$enc")
dec=$(qb --show-keys -G get-by-id SAE_A "$id")
check "--show-keys: both sides print the same key (GET form)" \
	".keys[0].key == $(jq '.keys[0].key' <<<"$enc") and (.keys[0].key | length) == 44" "$dec"

out=$(qb get-by-id SAE_A "$id" 2>"$work/err")
rc=$?
[ "$rc" = 1 ] && tap_ok "an already delivered key: exit 1" || tap_fail "an already delivered key: exit 1" "exit $rc"
check "... with the KME's error as JSON" \
	'.http_status == 400 and (.message | test("already delivered")) and .error == "KME: bad request (400)"' "$out"
grep -q "already delivered" "$work/err" && tap_ok "... and on stderr" ||
	tap_fail "... and on stderr" "$(cat "$work/err")"

sim_ctl fault a latency=3000,count=1 >/dev/null
qa -t 200 status SAE_B >/dev/null 2>"$work/err"
grep -q "did not answer within 200 ms" "$work/err" && tap_ok "a slow KME: the timeout says so" ||
	tap_fail "a slow KME: the timeout says so" "$(cat "$work/err")"

QKTLS_KME_URL=$URL_A QKTLS_KME_CERT=$PKI/sae-a.pem QKTLS_KME_KEY=$PKI/sae-a.key \
	QKTLS_KME_CA=$PKI/ca.pem "$probe" status SAE_B >"$work/out" 2>&1
check "configuration from the environment" '.master_SAE_ID == "SAE_A"' "$(cat "$work/out")"

"$probe" -u "$URL_A" -c "$PKI/rogue.pem" -k "$PKI/rogue.key" -C "$PKI/ca.pem" \
	status SAE_B >/dev/null 2>"$work/err"
grep -q "unauthorized (401): client certificate rejected" "$work/err" &&
	tap_ok "a rogue certificate is reported as 401" ||
	tap_fail "a rogue certificate is reported as 401" "$(cat "$work/err")"

"$probe" -u "$URL_A" -c "$PKI/sae-a.pem" -k "$PKI/sae-a.key" -C "$PKI/rogue-ca.pem" \
	status SAE_B >/dev/null 2>"$work/err"
grep -q "certificate verification failed" "$work/err" &&
	tap_ok "a KME the CA does not vouch for is reported" ||
	tap_fail "a KME the CA does not vouch for is reported" "$(cat "$work/err")"

qa frobnicate SAE_B >/dev/null 2>&1
[ $? = 2 ] && tap_ok "unknown command: exit 2" || tap_fail "unknown command: exit 2"
qa get-by-id SAE_A >/dev/null 2>&1
[ $? = 2 ] && tap_ok "get-by-id without key IDs: exit 2" || tap_fail "get-by-id without key IDs: exit 2"
"$probe" status SAE_B 2>"$work/err" >/dev/null
[ $? = 2 ] && grep -q "are required" "$work/err" && tap_ok "missing certificates: exit 2 and says so" ||
	tap_fail "missing certificates: exit 2 and says so" "$(cat "$work/err")"

# Arguments the library refuses before any request: usage errors, exit 2.
qa get SAE_B -s 12 >/dev/null 2>"$work/err"
rc=$?
[ "$rc" = 2 ] && grep -q "not a multiple of 8" "$work/err" &&
	tap_ok "a key size that is not a multiple of 8: exit 2" ||
	tap_fail "a key size that is not a multiple of 8: exit 2" "exit $rc: $(cat "$work/err")"
qb get-by-id SAE_A not-a-uuid >/dev/null 2>"$work/err"
rc=$?
[ "$rc" = 2 ] && grep -q '"not-a-uuid") is not a UUID' "$work/err" &&
	tap_ok "a key ID that is not a UUID: exit 2" ||
	tap_fail "a key ID that is not a UUID: exit 2" "exit $rc: $(cat "$work/err")"
"$probe" -u "http://localhost:$PORT_A" -c "$PKI/sae-a.pem" -k "$PKI/sae-a.key" \
	-C "$PKI/ca.pem" status SAE_B >/dev/null 2>"$work/err"
rc=$?
[ "$rc" = 2 ] && grep -q "must start with https://" "$work/err" &&
	tap_ok "an http:// URL: exit 2" || tap_fail "an http:// URL: exit 2" "exit $rc: $(cat "$work/err")"
qa get SAE_B -n 4096 -s 8192 >/dev/null 2>"$work/err"
rc=$?
[ "$rc" = 2 ] && grep -q "over the 4194304-byte limit" "$work/err" &&
	tap_ok "an answer that could not fit the limit is not asked for: exit 2" ||
	tap_fail "an answer that could not fit the limit is not asked for: exit 2" \
		"exit $rc: $(cat "$work/err")"

# Answers that are not the ETSI format.
sim_ctl fault a html-error,count=1 >/dev/null
out=$(qa status SAE_B 2>"$work/err")
check "an HTML error page: the status by number and the page, as JSON" \
	'.http_status == 500 and (.message | test("answered HTTP 500, not with an ETSI error message: <!DOCTYPE html>"))' "$out"
grep -qF "KME $URL_A/api/v1/keys/SAE_B/status answered HTTP 500" "$work/err" &&
	tap_ok "... naming the KME's URL on stderr" ||
	tap_fail "... naming the KME's URL on stderr" "$(cat "$work/err")"
sim_ctl fault a problem-json,count=1 >/dev/null
qa get SAE_B >/dev/null 2>"$work/err"
grep -qF 'HTTP 401, not with an ETSI error message: {"type":"about:blank","title":"Unauthorized"' "$work/err" &&
	tap_ok "an RFC 7807 problem object is shown" ||
	tap_fail "an RFC 7807 problem object is shown" "$(cat "$work/err")"
sim_ctl fault a empty,count=1 >/dev/null
qa get SAE_B >/dev/null 2>"$work/err"
rc=$?
[ "$rc" = 1 ] && grep -q "answered 200 with an empty body where a key container was expected" "$work/err" &&
	tap_ok "an empty 200 answer says so" || tap_fail "an empty 200 answer says so" "exit $rc: $(cat "$work/err")"

# A rejected container: the key IDs the KME used up, and with --verbose the
# answer, key values redacted.
sim_ctl fault a wrong-key-length,count=1 >/dev/null
out=$(qa get SAE_B -n 2 -s 256 2>"$work/err")
check "a rejected container names the key IDs the KME used up" \
	'(.details.rejected_key_IDs | length) == 2 and (.message | test("the KME may count the 2 keys it named as used"))' "$out"
grep -q "answered (key values redacted)" "$work/err" &&
	tap_fail "without --verbose the answer is not shown" "$(cat "$work/err")" ||
	tap_ok "without --verbose the answer is not shown"
sim_ctl fault a wrong-key-length,count=1 >/dev/null
qa -v --show-keys get SAE_B -n 2 -s 256 >/dev/null 2>"$work/err"
grep -q '^qktls-kme: the KME answered (key values redacted): {"keys":\[{"key_ID":"[0-9a-f-]\{36\}","key":"<redacted>"}' "$work/err" &&
	tap_ok "--verbose shows the answer that failed validation" ||
	tap_fail "--verbose shows the answer that failed validation" "$(cat "$work/err")"
if grep -Eq '[A-Za-z0-9+/]{20,}' "$work/err"; then
	tap_fail "... without key material" "$(cat "$work/err")"
else
	tap_ok "... without key material"
fi
sim_ctl fault a malformed-json,count=1 >/dev/null
qa -v status SAE_B >/dev/null 2>"$work/err"
grep -qF 'the KME answered (key values redacted): {"keys": [{"key_ID": "' "$work/err" &&
	tap_ok "--verbose shows an answer that is not JSON" ||
	tap_fail "--verbose shows an answer that is not JSON" "$(cat "$work/err")"

sim_stop
rc=$?
if [ "$rc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$work/sim.log"; then
	tap_ok "simulator shuts down cleanly (exit 0, no sanitizer report)"
else
	sed 's/^/# /' "$work/sim.log" | grep -v ': kme-\|control:' | tail -n 40
	tap_fail "simulator shuts down cleanly (exit 0, no sanitizer report)" "exit $rc"
fi

# A KME that refuses the client certificate with a TLS alert (stock
# openssl s_server): under TLS 1.3 the alert arrives after the client's
# handshake, with the answer.
tls_reject() {	# tls_reject DESC [S_SERVER ARGS...]
	local desc=$1 line port pid
	shift
	rm -f "$work/s_server"
	mkfifo "$work/s_server"
	openssl s_server -accept 0 -naccept 1 -www -cert "$PKI/kme-a.pem" \
		-key "$PKI/kme-a.key" -CAfile "$PKI/ca.pem" -Verify 1 \
		-verify_return_error "$@" >"$work/s_server" 2>&1 &
	pid=$!
	exec {srv}<>"$work/s_server"
	port=
	while read -r -t 20 -u "$srv" line; do
		case $line in ACCEPT*) port=${line##*:}; break ;; esac
	done
	if [ -z "$port" ]; then
		tap_fail "$desc" "openssl s_server did not start"
		kill "$pid" 2>/dev/null
		exec {srv}<&-
		return
	fi
	"$probe" -u "https://localhost:$port" -c "$PKI/rogue.pem" -k "$PKI/rogue.key" \
		-C "$PKI/ca.pem" status SAE_B >/dev/null 2>"$work/err"
	rc=$?
	wait "$pid"
	exec {srv}<&-
	[ "$rc" = 1 ] && grep -q "TLS handshake with KME failed: KME https://localhost:$port/api/v1/keys/SAE_B/status: client certificate rejected (TLS alert \"tlsv1 alert unknown ca\")" "$work/err" &&
		tap_ok "$desc" || tap_fail "$desc" "exit $rc: $(cat "$work/err")"
}
tls_reject "a KME that rejects the client certificate (TLS 1.3): said so" -tls1_3
tls_reject "... and under TLS 1.2" -tls1_2

tap_done
