#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel's own YNL client (tools/net/ynl of linux-source-7.3, pyynl)
# drives qktls.ko with nothing but Documentation/netlink/specs/qktls.yaml:
# it creates a pool, adds keys, dumps pools and key metadata, takes a key
# and receives events in order.  In the VM, qktls.ko loaded.  (The spec's
# validation against the schema is tests/unit/ynl_spec.sh; here
# --no-schema saves each slow emulated Python start the validation.)
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
spec=$top/Documentation/netlink/specs/qktls.yaml
export PYTHONPATH=$top/build/linux-src/tools/net/ynl
tmp=$(mktemp -d)

ynl() { python3 -m pyynl.cli --spec "$spec" --no-schema --output-json "$@"; }
cleanup() {
	ynl --do pool-del --json '{"pool-name": "ynl-a"}' >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
# Subscribe, do one operation, then read what came: the events are queued
# before the reply, --sleep only bounds the wait for more.
ynl_events() { ynl --subscribe events --sleep 1 "$@"; }
events() { jq -c 'select(.name?)' "$1"; }
names() { events "$1" | jq -r '.name' | tr '\n' ' ' | sed 's/ $//'; }
reply() { jq -c 'select(type == "object" and (has("name") | not))' "$1"; }

id() { printf '%032x' "$1"; }
mat() { printf '%064x' "$((0x5eed0000 + $1))" | sed 's/0/a/g'; }
nospace='gsub(" "; "")'

tap_plan 9
ynl --do pool-del --json '{"pool-name": "ynl-a"}' >/dev/null 2>&1

ynl_events --do pool-new \
	--json '{"pool-name": "ynl-a", "pool-peer": "peer-b", "pool-capacity": 8, "pool-low-watermark": 2}' \
	>"$tmp/new" 2>&1
if [ "$(names "$tmp/new")" = pool-created-ntf ] &&
   events "$tmp/new" | jq -e '.msg["pool-name"] == "ynl-a" and .msg["pool-peer"] == "peer-b"' >/dev/null &&
   reply "$tmp/new" | jq -e '.["pool-name"] == "ynl-a" and .["pool-capacity"] == 8 and .["pool-low-watermark"] == 2 and .["pool-key-min-len"] == 32 and .["pool-key-count"] == 0' >/dev/null; then
	tap_ok "pool-new replies with the pool; pool-created-ntf event"
else
	tap_fail "pool-new replies with the pool; pool-created-ntf event" "$(cat "$tmp/new")"
fi

keys=$(for i in 1 2 3; do
	printf '{"id": "%s", "index": %d, "material": "%s"}\n' "$(id $i)" "$i" "$(mat $i)"
done | jq -s -c .)
tap_check "key-add, a batch of three keys" \
	ynl --do key-add --json "{\"pool-name\": \"ynl-a\", \"key\": $keys}"

ynl --dump pool-get >"$tmp/dump" 2>&1
tap_check "pool-get dump lists the pool with its three keys" jq -e \
	'map(select(.["pool-name"] == "ynl-a")) | length == 1 and .[0]["pool-key-count"] == 3 and .[0]["pool-key-bytes"] == 96 and .[0]["pool-stats"]["keys-added"] == 3' \
	"$tmp/dump"

ynl --dump key-get --json '{"pool-name": "ynl-a"}' >"$tmp/keys" 2>&1
tap_check "key-get dump gives the keys' metadata, oldest first" jq -e \
	"[.[].key[]?] | length == 3 and (.[0].id | $nospace) == \"$(id 1)\" and (.[2].id | $nospace) == \"$(id 3)\" and .[1].index == 2 and .[0].len == 32 and all(.[]; has(\"material\") | not)" \
	"$tmp/keys"

ynl --do key-take --json "{\"pool-name\": \"ynl-a\", \"key\": [{\"id\": \"$(id 2)\"}]}" >"$tmp/take" 2>&1
tap_check "key-take by ID names the key taken" jq -e \
	"(.key[0].id | $nospace) == \"$(id 2)\" and .key[0].index == 2 and .key[0].len == 32 and (.key[0] | has(\"material\") | not)" \
	"$tmp/take"

ynl_events --do key-flush --json '{"pool-name": "ynl-a"}' >"$tmp/flush" 2>&1
if [ "$(names "$tmp/flush")" = "pool-low-ntf pool-empty-ntf" ] &&
   events "$tmp/flush" | jq -e 'select(.name == "pool-low-ntf") | .msg["pool-key-count"] == 0 and .msg["pool-low-watermark"] == 2 and .msg["pool-capacity"] == 8' >/dev/null; then
	tap_ok "key-flush: pool-low-ntf then pool-empty-ntf, in order"
else
	tap_fail "key-flush: pool-low-ntf then pool-empty-ntf, in order" "$(cat "$tmp/flush")"
fi

out=$(ynl --do pool-new --json '{"pool-name": "ynl-a"}' 2>&1) && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && grep -q "a pool of this name exists" <<<"$out"; then
	tap_ok "a duplicate pool-new fails with the kernel's extack text"
else
	tap_fail "a duplicate pool-new fails with the kernel's extack text" "status $rc: $out"
fi

ynl_events --do pool-del --json '{"pool-name": "ynl-a"}' >"$tmp/del" 2>&1
if [ "$(names "$tmp/del")" = pool-deleted-ntf ]; then
	tap_ok "pool-del, and its pool-deleted-ntf event"
else
	tap_fail "pool-del, and its pool-deleted-ntf event" "$(cat "$tmp/del")"
fi

# YNL prints binary attributes as spaced hex: compare without the spaces.
if cat "$tmp"/* | tr -d ' \n' | grep -qi -e "$(mat 1)" -e "$(mat 2)" -e "$(mat 3)"; then
	tap_fail "no key material in any reply, dump or event"
else
	tap_ok "no key material in any reply, dump or event"
fi
tap_done
