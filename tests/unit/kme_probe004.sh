#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# qktls-kme 004 (the ETSI GS QKD 004 probe) against qktls-kme-sim's 004
# listeners: a key stream opened at KME A and joined at KME B gives the
# same keys, JSON out, key material only with --show-keys, every failure
# a clear message, exit 1 for KME and transport failures, 2 for usage.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../../tools/kme-sim/sim-env.sh"
probe=$_sim_top/build/bin/qktls-kme

work=$(mktemp -d)
trap 'sim_stop >/dev/null 2>&1; rm -rf "$work"' EXIT

tap_plan 15
if ! sim_start "$work" --rate 0 --a-listen-004 127.0.0.1:0 --b-listen-004 127.0.0.1:0 ||
   [ -z "$PORT004_A" ]; then
	tap_fail "simulator starts with its 004 listeners" "see its log above"
	tap_done
fi
qa() { "$probe" 004 -H "localhost:$PORT004_A" -c "$PKI/sae-a.pem" -k "$PKI/sae-a.key" -C "$PKI/ca.pem" "$@"; }
qb() { "$probe" 004 -H "localhost:$PORT004_B" -c "$PKI/sae-b.pem" -k "$PKI/sae-b.key" -C "$PKI/ca.pem" "$@"; }
check() {	# check DESC JQ-EXPR JSON
	if printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(printf '%s' "$3" | head -c 600)"
	fi
}

out=$(qa open qkd://SAE_A qkd://SAE_B)
check "open: a new key stream, the peer not yet connected" \
	'.status == 1 and .status_name == "PEER_NOT_CONNECTED" and (.key_stream_id | test("^[0-9a-f-]{36}$")) and .qos.key_chunk_size == 32' "$out"
ksid=$(jq -r .key_stream_id <<<"$out")
ksid1=$ksid

out=$(qb --ksid "$ksid" -n 3 -i 5 --show-keys stream SAE_B SAE_A)
check "stream at B: joins (status 0), reads 3 keys from index 5, closes" \
	'.status == 0 and .closed == true and ([.keys[].index] == [5,6,7]) and (.keys | all(.size == 256 and (.key | length) == 44))' "$out"

out=$(qa -i 5 -n 3 --show-keys get "$ksid" 2>"$work/err")
rc=$?
[ "$rc" = 1 ] && tap_ok "get at A after B closed: exit 1" || tap_fail "get at A after B closed: exit 1" "exit $rc"
check "... status 3 GK_PEER_NOT_CONNECTED as JSON" \
	'.status == 3 and .status_name == "GK_PEER_NOT_CONNECTED" and .error == "KME: peer application not connected"' "$out"

# Join again from B with a new stream: A opens, B joins, both read.
ksid=$(qa open SAE_A SAE_B | jq -r .key_stream_id)
qb --ksid "$ksid" open SAE_B SAE_A >/dev/null
ka=$(qa --show-keys -n 2 get "$ksid" | jq -c '[.keys[].key]')
kb=$(qb --show-keys -n 2 get "$ksid" | jq -c '[.keys[].key]')
[ -n "$ka" ] && [ "$ka" = "$kb" ] && [ "$ka" != '[null,null]' ] &&
	tap_ok "both KMEs deliver the same keys for the same indices" ||
	tap_fail "both KMEs deliver the same keys for the same indices" "$ka / $kb"
out=$(qa -i 2 get "$ksid")
check "without --show-keys no key material" '(.keys[0] | has("key") | not) and .keys[0].index == 2' "$out"
out=$(qa -m 256 -i 9 get "$ksid")
check "--metadata: the KME's metadata is shown" '.keys[0].metadata | fromjson | .index == 9' "$out"

out=$(qa -i 0 get "$ksid" 2>"$work/err")
[ $? = 1 ] && grep -q "GK_INSUFFICIENT_KEY_AVAILABLE" "$work/err" &&
	tap_ok "an index read twice: exit 1, the status named on stderr" ||
	tap_fail "an index read twice: exit 1, the status named on stderr" "$(cat "$work/err")"

sim_ctl fault004 a drop,count=1 >/dev/null
qa -i 20 get "$ksid" >/dev/null 2>"$work/err"
grep -q "closed the connection" "$work/err" && tap_ok "a dropped connection is reported" ||
	tap_fail "a dropped connection is reported" "$(cat "$work/err")"

sim_ctl fault004 a latency=3000,count=1 >/dev/null
qa -t 200 -i 21 get "$ksid" >/dev/null 2>"$work/err"
grep -q "did not answer within 200 ms" "$work/err" && tap_ok "a slow KME: the timeout says so" ||
	tap_fail "a slow KME: the timeout says so" "$(cat "$work/err")"

out=$(qa -s 3 open SAE_A SAE_B 2>/dev/null)
check "QoS not met: status 7 and the KME's counter-proposal" \
	'.status == 7 and .status_name == "OC_QOS_NOT_SATISFIABLE" and (.message | test("proposes key_chunk_size 32"))' "$out"

qa close "$ksid1" >/dev/null && qa close "$ksid" >/dev/null && qb close "$ksid" >/dev/null &&
	[ "$(sim_ctl stats | jq .key_streams)" = 0 ] &&
	tap_ok "close at both ends: the streams are gone" ||
	tap_fail "close at both ends: the streams are gone" "$(sim_ctl stats)"

qa get not-a-uuid >/dev/null 2>"$work/err"
[ $? = 2 ] && grep -q "not a key stream ID" "$work/err" && tap_ok "a bad key stream ID: exit 2" ||
	tap_fail "a bad key stream ID: exit 2" "$(cat "$work/err")"
"$probe" 004 -H "localhost:$PORT004_A" open SAE_A SAE_B >/dev/null 2>"$work/err"
[ $? = 2 ] && grep -q "are required" "$work/err" && tap_ok "missing certificates: exit 2 and says so" ||
	tap_fail "missing certificates: exit 2 and says so" "$(cat "$work/err")"
sim_stop
rc=$?
if [ "$rc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$work/sim.log"; then
	tap_ok "simulator shuts down cleanly (exit 0, no sanitizer report)"
else
	sed 's/^/# /' "$work/sim.log" | tail -n 40
	tap_fail "simulator shuts down cleanly (exit 0, no sanitizer report)" "exit $rc"
fi
tap_done
