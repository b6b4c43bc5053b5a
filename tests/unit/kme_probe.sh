#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The qktls-kme probe against qktls-kme-sim: JSON out, key material only
# with --show-keys, clear errors and exit codes.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../../tools/kme-sim/sim-env.sh"
probe=$_sim_top/build/bin/qktls-kme

work=$(mktemp -d)
trap 'sim_stop >/dev/null 2>&1; rm -rf "$work"' EXIT

tap_plan 15
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
sim_stop
rc=$?
if [ "$rc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$work/sim.log"; then
	tap_ok "simulator shuts down cleanly (exit 0, no sanitizer report)"
else
	sed 's/^/# /' "$work/sim.log" | grep -v ': kme-\|control:' | tail -n 40
	tap_fail "simulator shuts down cleanly (exit 0, no sanitizer report)" "exit $rc"
fi
tap_done
