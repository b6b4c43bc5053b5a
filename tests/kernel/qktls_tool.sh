#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The qktls admin tool against the real module (in the VM, qktls.ko
# loaded): every subcommand's success and failure, JSON checked with jq,
# the kernel's extack text in errors, events in order through
# "qktls monitor", attached sockets (sock show, detach, their rekey events)
# and no key material in any output.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
# The tool built with ASan/UBSan; a sanitizer report exits 86, which no
# check accepts.
q=${QKTLS_TOOL:-$top/build/tools/qktls-san}
export ASAN_OPTIONS=exitcode=86:detect_leaks=1 LSAN_OPTIONS=exitcode=86
export UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1
tmp=$(mktemp -d)
all=$tmp/all-output		# everything any command printed
secrets=$tmp/secrets		# hex of every key added, one per line
mon_pid=
tmon_pid=
mon4_pid=
hold_pid=
smon_pid=
smon2_pid=
cleanup() {
	for p in $hold_pid $smon_pid $smon2_pid; do kill "$p" 2>/dev/null; done
	[ -n "$mon4_pid" ] && kill "$mon4_pid" 2>/dev/null
	[ -n "$mon_pid" ] && kill "$mon_pid" 2>/dev/null
	[ -n "$tmon_pid" ] && kill "$tmon_pid" 2>/dev/null
	for p in t1 t2 t3 t4 t5 zz-end; do "$q" pool del "$p" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT
: >"$all"
: >"$secrets"

PLAN=94
tap_plan $PLAN
[ -x "$q" ] || { tap_fail "qktls is built" "missing $q"; tap_done; }

# The only reason to skip: the module does not register the family.
if ! "$q" stats >"$tmp/out" 2>"$tmp/err"; then
	if grep -q 'generic netlink family "qktls" not found' "$tmp/err"; then
		for i in $(seq $PLAN); do
			tap_skip "qktls tool test $i" "qktls.ko does not register the \"qktls\" generic netlink family"
		done
		tap_done
	fi
fi

# run CMD...: run, keep stdout in $tmp/out and stderr in $tmp/err, log both.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
	cat "$tmp/out" "$tmp/err" >>"$all"
}
show_err() { head -c 400 "$tmp/err" | tr '\n' ' '; }
# ok DESC CMD...: CMD succeeds.
ok() {
	local desc=$1
	shift
	run "$@"
	if [ "$rc" -eq 0 ]; then tap_ok "$desc"; else tap_fail "$desc" "exit status $rc: $(show_err)"; fi
}
# fails DESC REGEX CMD...: CMD exits 1 with an error line matching REGEX
# that carries the kernel's extack message: "qktls: WHAT: MSG (ERRNO TEXT)".
fails() {
	local desc=$1 re=$2
	shift 2
	run "$@"
	if [ "$rc" -ne 1 ]; then
		tap_fail "$desc" "exit status $rc, want 1: $(show_err)"
	elif ! grep -Eq -- "$re" "$tmp/err"; then
		tap_fail "$desc" "stderr does not match /$re/: $(show_err)"
	else
		tap_ok "$desc"
	fi
}
# jqok DESC FILTER: the last command's stdout satisfies the jq FILTER.
jqok() {
	if jq -e "$2" "$tmp/out" >/dev/null 2>"$tmp/jqerr"; then
		tap_ok "$1"
	else
		tap_fail "$1" "jq '$2' is false on: $(head -c 400 "$tmp/out" | tr '\n' ' ')"
	fi
}
# outok DESC REGEX: the last command's stdout matches REGEX.
outok() {
	if grep -Eq -- "$2" "$tmp/out"; then tap_ok "$1"; else
		tap_fail "$1" "stdout does not match /$2/: $(head -c 400 "$tmp/out" | tr '\n' ' ')"
	fi
}
# count POOL: keys the pool holds (the plain build: it runs often, and
# TCG makes every sanitized start slow).
count() { "$top/build/bin/qktls" -j pool show "$1" 2>/dev/null | jq -r '.[0].key_count'; }
# hexkeys FILE FIRST N [LEN] [INDEX]: N hex keys with IDs FIRST.. into FILE.
hexkeys() {
	local f=$1 first=$2 n=$3 len=${4:-32} index=${5:-} i=$2 k
	: >"$f"
	od -An -tx1 -v -w"$len" -N$((len * n)) /dev/urandom | tr -d ' ' >"$f.hex"
	cat "$f.hex" >>"$secrets"
	while read -r k; do
		printf '%s %s%s\n' "$(kid "$i")" "$k" "${index:+ $((index + i))}" >>"$f"
		i=$((i + 1))
	done <"$f.hex"
}
# kid N: the UUID we give key N.
kid() { printf '%08x-0000-4000-8000-%012x' "$1" "$1"; }

# --- the events of the whole test, in order -----------------------------------
# Start monitors before anything happens; wait for their "listening" line
# through a FIFO (a real event, no sleep).  timeout only bounds a failure.
expected_events=(
	"pool-created t1" "pool-created t2" "pool-created t3"
	"pool-low t1" "pool-empty t1" "pool-empty t3"
	"pool-created t5" "pool-deleted t5"
	"pool-deleted t1" "pool-deleted t2" "pool-deleted t3"
	"pool-created t4" "keys-expired t4" "pool-low t4" "pool-empty t4"
	"pool-deleted t4" "pool-created zz-end" "pool-deleted zz-end"
)
mkfifo "$tmp/ready" "$tmp/tready"
timeout 560 "$q" -j monitor count ${#expected_events[@]} >"$tmp/mon.json" 2>"$tmp/ready" &
mon_pid=$!
exec 3<"$tmp/ready"
timeout 560 "$q" monitor pool t1 count 4 >"$tmp/mon.txt" 2>"$tmp/tready" &
tmon_pid=$!
exec 4<"$tmp/tready"
if read -r -t 60 -u 3 line && [ "$line" = "qktls: monitor: listening" ] &&
   read -r -t 60 -u 4 line && [ "$line" = "qktls: monitor: listening" ]; then
	tap_ok "monitors say they listen"
else
	tap_fail "monitors say they listen" "got: ${line:-nothing}"
fi

# --- pools ---------------------------------------------------------------------
ok "pool add t1" "$q" pool add t1 peer bob key-len 32 capacity 8 low 4
fails "pool add t1 again: extack" '^qktls: pool add: .*exists.* \(File exists\)$' \
	"$q" pool add t1
fails "pool add with a bad name: extack" '^qktls: pool add: .*name.* \(Invalid argument\)$' \
	"$q" pool add 'bad/name'
fails "pool add with key-len 8: extack" '^qktls: pool add: .+ \(.+\)$' \
	"$q" pool add t9 key-len 8
ok "pool add t2 (32-byte keys)" "$q" pool add t2 key-len 32
ok "pool add t3 (16 to 64-byte keys)" "$q" pool add t3 key-len 16-64 capacity 100 low 25

run "$q" -j pool show t1
jqok "pool show -j t1" 'length == 1 and .[0].name == "t1" and .[0].peer == "bob" and
	.[0].key_min_len == 32 and .[0].key_max_len == 32 and .[0].capacity == 8 and
	.[0].low_watermark == 4 and .[0].key_lifetime == 0 and .[0].key_count == 0 and
	(.[0].id | type) == "number" and (.[0].stats | type) == "object"'
run "$q" pool show t1
outok "pool show t1 (text)" '^pool t1 id [0-9]+ peer bob key-len 32 capacity 8 low 4 lifetime 0$'
run "$q" pool show t3
outok "pool show shows a key-len range" 'key-len 16-64 capacity 100 low 25'
run "$q" -j pool list
jqok "pool list -j" '[.[].name] | sort == ["t1", "t2", "t3"]'
run "$q" pool list
outok "pool list (text)" '^t1 keys 0 capacity 8 peer bob$'
run "$q" -j -p pool show
jqok "pool show -j -p: all pools, valid JSON" 'length == 3'
if [ "$(wc -l <"$tmp/out")" -gt 3 ]; then tap_ok "-p indents"; else tap_fail "-p indents" "one line"; fi
fails "pool show of an unknown pool: extack" '^qktls: pool show: .*no such pool.* \(No such file or directory\)$' \
	"$q" pool show nope

ok "pool set t1" "$q" pool set t1 capacity 16 low 6 lifetime 0 peer alice
run "$q" -j pool show t1
jqok "pool set changed it" '.[0].capacity == 16 and .[0].low_watermark == 6 and .[0].peer == "alice"'
fails "pool set of an unknown pool: extack" '^qktls: pool set: .*no such pool.* \(No such file or directory\)$' \
	"$q" pool set nope capacity 3
fails "pool set low above capacity: extack" '^qktls: pool set: .*watermark.* \(.+\)$' \
	"$q" pool set t1 low 40
# A pool's rekey policy: taken where kTLS can rekey, refused elsewhere.
if grep -q TlsTxRekeyOk /proc/net/tls_stat 2>/dev/null; then
	ok "pool set t2 rekey-bytes 16M rekey-seconds 600" "$q" pool set t2 rekey-bytes 16M rekey-seconds 600
	run "$q" -j pool show t2
	jqok "pool show -j: the rekey policy" '.[0].rekey_bytes == 16777216 and .[0].rekey_seconds == 600'
	run "$q" pool show t2
	outok "pool show (text): the rekey policy" '^	rekey-bytes 16777216 rekey-seconds 600 '
else
	fails "pool set rekey-bytes without kTLS rekey: extack" '^qktls: pool set: kernel has no kTLS rekey.* \(Operation not supported\)$' \
		"$q" pool set t2 rekey-bytes 16M
	run "$q" -j pool show t2
	jqok "pool show -j: no rekey policy was taken" '.[0].rekey_bytes == 0 and .[0].rekey_seconds == 0'
	run "$q" pool show t2
	if grep -q rekey "$tmp/out"; then
		tap_fail "pool show (text): no rekey policy line" "$(head -c 300 "$tmp/out")"
	else
		tap_ok "pool show (text): no rekey policy line"
	fi
fi

# --- keys -----------------------------------------------------------------------
hexkeys "$tmp/k10" 1 10 32 1000
ok "key add 10 keys from a file" "$q" key add t1 --file "$tmp/k10"
run "$q" -j pool show t1
jqok "the pool holds them" '.[0].key_count == 10 and .[0].key_bytes == 320 and
	.[0].stats.keys_added == 10 and .[0].stats.bytes_added == 320'
run "$q" -j key list t1
jqok "key list -j: IDs in arrival order, index, len" \
	"length == 10 and .[0].id == \"$(kid 1)\" and .[9].id == \"$(kid 10)\" and
	 .[0].index == 1001 and all(.[]; .len == 32 and (.age_ms | type) == \"number\")"
run "$q" key list t1
outok "key list (text)" "^$(kid 2) index 1002 len 32 age-ms [0-9]+$"

# A batch with one ID already in the pool (line 3) adds nothing.
hexkeys "$tmp/kdup" 11 4
sed -i "3s/^[^ ]*/$(kid 5)/" "$tmp/kdup"
fails "key add, duplicate ID: extack and the line" \
	"^qktls: key add: .*duplicate.* at $tmp/kdup:3 \\(File exists\\)$" "$q" key add t1 --file "$tmp/kdup"
[ "$(count t1)" = 10 ] && tap_ok "a refused batch adds nothing" || tap_fail "a refused batch adds nothing" "count $(count t1)"
hexkeys "$tmp/kshort" 20 1 16
fails "key add, wrong length: extack" '^qktls: key add: .*length.* \(Invalid argument\)$' \
	"$q" key add t1 --file "$tmp/kshort"
hexkeys "$tmp/kmany" 30 7
fails "key add beyond capacity: extack" '^qktls: key add: .*full.* \(No space left on device\)$' \
	"$q" key add t1 --file "$tmp/kmany"
fails "key add to an unknown pool: extack" '^qktls: key add: .*no such pool.* \(No such file or directory\)$' \
	"$q" key add nope --file "$tmp/kmany"
[ "$(count t1)" = 10 ] && tap_ok "refused batches left the pool as it was" || tap_fail "refused batches left the pool as it was" "count $(count t1)"

# Batches: --batch 3 over 8 keys sends 3 messages; a duplicate in the
# third leaves the first two batches (6 keys) in.
hexkeys "$tmp/kb" 40 8 24
ok "key add --batch 3 (stdin)" "$q" key add t3 --batch 3 - <"$tmp/kb"
[ "$(count t3)" = 8 ] && tap_ok "all batches arrived" || tap_fail "all batches arrived" "count $(count t3)"
hexkeys "$tmp/kb2" 50 8 48
sed -i "8s/^[^ ]*/$(kid 40)/" "$tmp/kb2"
fails "key add --batch 3, duplicate in the third batch" \
	"^qktls: key add: .+ at $tmp/kb2:8 \\(File exists\\)$" "$q" key add t3 --batch 3 --file "$tmp/kb2"
grep -q '6 keys added before the failure' "$tmp/err" && tap_ok "the tool says how many went in" ||
	tap_fail "the tool says how many went in" "$(show_err)"
[ "$(count t3)" = 14 ] && tap_ok "earlier batches stay, the failed one is out" || tap_fail "earlier batches stay, the failed one is out" "count $(count t3)"

# Raw records: the pool's single length is used; a range needs --key-len.
head -c $((5 * 48)) /dev/urandom >"$tmp/raw"
for ((i = 0; i < 5; i++)); do
	od -An -tx1 -j $((i * 48 + 16)) -N32 "$tmp/raw" | tr -d ' \n' >>"$secrets"
	echo >>"$secrets"
done
ok "key add --raw (pool's key length)" "$q" key add t2 --raw --file "$tmp/raw"
[ "$(count t2)" = 5 ] && tap_ok "raw keys arrived" || tap_fail "raw keys arrived" "count $(count t2)"
fails "key add --raw to a pool with a range needs --key-len" 'give --key-len' \
	"$q" key add t3 --raw --file "$tmp/raw"
head -c $((2 * 40)) /dev/urandom >"$tmp/raw24"
for ((i = 0; i < 2; i++)); do
	od -An -tx1 -j $((i * 40 + 16)) -N24 "$tmp/raw24" | tr -d ' \n' >>"$secrets"
	echo >>"$secrets"
done
ok "key add --raw --key-len 24" "$q" key add t3 --raw --key-len 24 - <"$tmp/raw24"

# take, del, flush.  t1 holds keys 1..10, low watermark 6.
run "$q" -j key take t1
jqok "key take -j: the oldest" ".pool == \"t1\" and .id == \"$(kid 1)\" and .index == 1001 and .len == 32"
run "$q" key take t1 "$(kid 7)"
outok "key take ID (text)" "^key $(kid 7) index 1007 len 32 pool t1$"
fails "key take of a key already taken: extack" '^qktls: key take: .*no key with this ID.* \(No such file or directory\)$' \
	"$q" key take t1 "$(kid 7)"
fails "key del with an unknown ID: extack" "^qktls: key del: .*no key with this ID.* at ID $(kid 99) \\(No such file or directory\\)$" \
	"$q" key del t1 "$(kid 2)" "$(kid 99)"
[ "$(count t1)" = 8 ] && tap_ok "key del is all or nothing" || tap_fail "key del is all or nothing" "count $(count t1)"
ok "key del two keys" "$q" key del t1 "$(kid 2)" "$(kid 3)"
run "$q" -j key list t1
jqok "they are gone, the rest in order" "[.[].id] == [\"$(kid 4)\", \"$(kid 5)\", \"$(kid 6)\", \"$(kid 8)\", \"$(kid 9)\", \"$(kid 10)\"]"
for i in 1 2 3 4 5 6; do run "$q" key take t1; done
[ "$rc" -eq 0 ] && [ "$(count t1)" = 0 ] && tap_ok "take until empty" || tap_fail "take until empty" "count $(count t1)"
fails "key take from an empty pool: extack" '^qktls: key take: .*empty.* \(.+\)$' "$q" key take t1
ok "key flush t3" "$q" key flush t3
[ "$(count t3)" = 0 ] && tap_ok "flush empties the pool" || tap_fail "flush empties the pool" "count $(count t3)"
fails "key flush of an unknown pool: extack" '^qktls: key flush: .*no such pool.* \(No such file or directory\)$' \
	"$q" key flush nope
fails "key list of an unknown pool: extack" '^qktls: key list: .*no such pool.* \(No such file or directory\)$' \
	"$q" key list nope
run "$q" -j key list t3
jqok "key list of an empty pool is []" '. == []'

# --- stats ------------------------------------------------------------------------
run "$q" -j stats
jqok "stats -j" '.pools == 3 and .keys == 5 and .key_bytes == 160 and
	.stats.keys_added == 31 and .stats.keys_consumed == 8 and .stats.keys_dropped == 18 and
	(.mem_limit | type) == "number"'
run "$q" stats
outok "stats (text)" '^pools 3 keys 5 key-bytes 160 mem-bytes [0-9]+ mem-limit [0-9]+$'

# --- privileges and namespaces -----------------------------------------------------
fails "without CAP_NET_ADMIN: refused" '^qktls: pool list: Operation not permitted' \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$q" pool list
run unshare -n "$q" -j pool list
[ "$rc" -eq 0 ] && jqok "a new netns sees no pools" '. == []' || tap_fail "a new netns sees no pools" "$(show_err)"

# --- many keys: several 64 KiB batches, a multi-part dump -----------------------------
ok "pool add t5 capacity 5000" "$q" pool add t5 capacity 5000
od -An -tx1 -v -w32 -N$((3000 * 32)) /dev/urandom | tr -d ' ' >"$tmp/k5.hex"
cat "$tmp/k5.hex" >>"$secrets"
awk 'BEGIN { for (i = 100000; i < 103000; i++) printf "%08x-0000-4000-8000-%012x\n", i, i }' >"$tmp/k5.ids"
paste -d' ' "$tmp/k5.ids" "$tmp/k5.hex" >"$tmp/k5"
ok "key add 3000 keys" "$q" key add t5 --file "$tmp/k5"
run "$q" -j key list t5
if [ "$rc" -eq 0 ] && jq -r '.[].id' "$tmp/out" | cmp -s - "$tmp/k5.ids"; then
	tap_ok "key list -j of 3000 keys: all, in order"
else
	tap_fail "key list -j of 3000 keys: all, in order" "exit $rc, $(jq length "$tmp/out" 2>&1) keys"
fi
ok "pool del t5 with 3000 keys" "$q" pool del t5

# --- delete ----------------------------------------------------------------------------
ok "pool del t1" "$q" pool del t1
fails "pool del t1 again: extack" '^qktls: pool del: .*no such pool.* \(No such file or directory\)$' "$q" pool del t1
ok "pool del t2 (with keys)" "$q" pool del t2
ok "pool del t3" "$q" pool del t3
# Expiry: keys outlive a 1 s lifetime; the events are what we wait for.
mkfifo "$tmp/ready4"
timeout 300 "$q" monitor pool t4 count 4 >"$tmp/mon4.txt" 2>"$tmp/ready4" &
mon4_pid=$!
exec 5<"$tmp/ready4"
read -r -t 60 -u 5 line
ok "pool add t4 lifetime 1" "$q" pool add t4 capacity 4 low 1 lifetime 1
k1=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
k2=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
printf '%s\n' "$k1" "$k2" >>"$secrets"
printf '%s %s 7\nffeeddccbbaa99887766554433221100 %s\n' "$(kid 60)" "$k1" "$k2" >"$tmp/k4"
ok "key add to t4 (UUID and plain hex IDs)" "$q" key add t4 --file "$tmp/k4"
wait "$mon4_pid" && rc=0 || rc=$?
mon4_pid=
cat "$tmp/mon4.txt" >>"$all"
if [ "$rc" -eq 0 ] && [ "$(cut -d' ' -f1,2 "$tmp/mon4.txt")" = "$(printf '%s\n' 'pool-created t4' 'keys-expired t4' 'pool-low t4' 'pool-empty t4')" ] &&
   grep -Eq '^keys-expired t4 id [0-9]+ keys 0 low 1 capacity 4 expired 2$' "$tmp/mon4.txt"; then
	tap_ok "keys expire: keys-expired, pool-low, pool-empty"
else
	tap_fail "keys expire: keys-expired, pool-low, pool-empty" "exit $rc: $(tr '\n' '|' <"$tmp/mon4.txt")"
fi
run "$q" -j pool show t4
jqok "expired keys are counted and gone" '.[0].key_count == 0 and .[0].stats.keys_expired == 2 and .[0].key_lifetime == 1'
ok "pool del t4" "$q" pool del t4
ok "pool add zz-end" "$q" pool add zz-end
ok "pool del zz-end" "$q" pool del zz-end

# --- the events ------------------------------------------------------------------------
wait "$mon_pid" && rc=0 || rc=$?
mon_pid=
cat "$tmp/mon.json" >>"$all"
[ "$rc" -eq 0 ] && tap_ok "monitor -j saw ${#expected_events[@]} events and ended" ||
	tap_fail "monitor -j saw ${#expected_events[@]} events and ended" "exit status $rc: $(cat <&3)"
got=$(jq -r '.event + " " + .name' "$tmp/mon.json" 2>&1)
want=$(printf '%s\n' "${expected_events[@]}")
[ "$got" = "$want" ] && tap_ok "events came in order" ||
	tap_fail "events came in order" "got: $(echo $got) want: $(echo $want)"
jq -e -s 'map(select(.event == "pool-low"))[0] | .key_count == 5 and .low_watermark == 6 and .capacity == 16' \
	"$tmp/mon.json" >/dev/null && tap_ok "pool-low event carries counts" ||
	tap_fail "pool-low event carries counts" "$(grep pool-low "$tmp/mon.json")"
wait "$tmon_pid" && rc=0 || rc=$?
tmon_pid=
cat "$tmp/mon.txt" >>"$all"
if [ "$rc" -eq 0 ] && [ "$(cut -d' ' -f1,2 "$tmp/mon.txt")" = "$(printf '%s\n' 'pool-created t1' 'pool-low t1' 'pool-empty t1' 'pool-deleted t1')" ] &&
   grep -Eq '^pool-low t1 id [0-9]+ keys 5 low 6 capacity 16$' "$tmp/mon.txt"; then
	tap_ok "monitor pool t1 (text) saw only t1's events"
else
	tap_fail "monitor pool t1 (text) saw only t1's events" "exit $rc: $(tr '\n' '|' <"$tmp/mon.txt")"
fi

# --- attached sockets -------------------------------------------------------------------------
# After the event checks above: the pair's pools make events of their own.
# qktls-bench-rekey --hold attaches a loopback kTLS pair (QKD policy
# preferred; a rekey policy of 16 MiB where kTLS can rekey, none elsewhere:
# the module refuses a policy it cannot honour), prints its socket IDs,
# rekeys TX once each way when told (QKD client to server, standard back;
# each peer follows inside a plain read(), there is no RX rekey request; on
# a kernel without kTLS rekey, such as 6.12, the module refuses the
# client's TX rekey, and that refusal is what is checked), and holds the
# sockets until its stdin closes.  Both ends are FIFOs, so every step waits
# for a real line, never for time.
sock_tests() {
	local pbytes=0 ptext=none
	if grep -q '^TlsTxRekeyOk' /proc/net/tls_stat 2>/dev/null; then
		pbytes=16777216 ptext=16MiB
	fi
	run "$q" -j sock show
	jqok "sock show -j lists both sockets" "[.[].id] | contains([$cid, $sid])"
	jqok "sock show -j: the client's fields" "map(select(.id == $cid))[0] |
		.link == \"bench\" and .cipher == \"TLS_AES_256_GCM_SHA384\" and .cipher_id == 4866 and
		.tx_pool == \"qkbench-c.c2s\" and .rx_pool == \"qkbench-c.s2c\" and .qkd_update == true and
		.qkd_policy == \"preferred\" and
		.rekey_bytes == $pbytes and .rekey_seconds == 0 and .rekey_due == false and
		.rekey_records == 16777216 and
		.stats.tx_rekeys == 0 and .stats.rx_rekeys == 0 and .stats.rekey_errors == 0 and
		.stats.tickets_dropped == 0 and .stats.alerts == 0 and .stats.rx_errors == 0 and
		(.stats.tx_records | type) == \"number\" and (.stats | keys | length) == 18"
	run "$q" sock show "$cid"
	if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] &&
	   grep -Eq '^ID +LINK +CIPHER +TX-POOL +RX-POOL +QKD-UPDATE +QKD-POLICY +POLICY +DUE +TX-REKEYS +RX-REKEYS +ERRORS$' "$tmp/out" &&
	   grep -Eq "^$cid +bench +TLS_AES_256_GCM_SHA384 +qkbench-c.c2s +qkbench-c.s2c +yes +preferred +$ptext +no +0 +0 +0$" "$tmp/out"; then
		tap_ok "sock show ID (table)"
	else
		tap_fail "sock show ID (table)" "exit $rc: $(tr '\n' '|' <"$tmp/out") $(show_err)"
	fi
	run "$q" -s sock show "$(printf '0x%x' "$cid")"
	if [ "$rc" -eq 0 ] && grep -Eq '^ID +LINK .* +ERRORS +TX-QKD +RX-QKD +KEYS-USED +LAST-ERROR +DUE-COUNT +OVERDUE +TX-BYTES +KEY-AGE-MS +STD-FALLBACKS +TX-REFUSED +UPDATES-REQ +TICKETS +ALERTS +RX-ERRORS$' "$tmp/out" &&
	   [ "$(awk -v id="$cid" '$1 == id { print NF }' "$tmp/out")" = 26 ]; then
		tap_ok "sock show -s 0xID: every counter"
	else
		tap_fail "sock show -s 0xID: every counter" "exit $rc: $(tr '\n' '|' <"$tmp/out") $(show_err)"
	fi
	fails "sock show of an unknown socket" '^qktls: sock show: .*\(No such file or directory\)$' \
		"$q" sock show 18446744073709551615
	fails "sock show without CAP_NET_ADMIN: refused" '^qktls: sock show: .*Operation not permitted' \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$q" sock show

	# The rekey events of each socket, through monitors filtered by socket:
	# two each where the kernel rekeys kTLS (it counts TlsTxRekeyOk, Linux
	# 6.14 and later); elsewhere the client's refused TX rekey alone.
	has_rekey=no
	grep -q '^TlsTxRekeyOk' /proc/net/tls_stat 2>/dev/null && has_rekey=yes
	timeout 300 "$q" -j monitor sock "$cid" count "$([ $has_rekey = yes ] && echo 2 || echo 1)" \
		>"$tmp/smon.json" 2>"$tmp/smon.ready" &
	smon_pid=$!
	exec 5<"$tmp/smon.ready"
	read -r -t 60 -u 5 line
	if [ $has_rekey = yes ]; then
		timeout 300 "$q" monitor sock "$sid" count 2 >"$tmp/smon2.txt" 2>"$tmp/smon2.ready" &
		smon2_pid=$!
		exec 6<"$tmp/smon2.ready"
		read -r -t 60 -u 6 line
	fi
	echo go >&7
	read -r -t 120 -u 8 what || what="nothing ($(cat "$tmp/hold.err"))"
	if [ "$has_rekey $what" = "yes rekeyed" ]; then
		wait "$smon_pid" && rc=0 || rc=$?
		cat "$tmp/smon.json" >>"$all"
		ref=$(jq -r -s '.[0].key_ref' "$tmp/smon.json" 2>/dev/null)
		if [ "$rc" -eq 0 ] && jq -e -s "length == 2 and
			(.[0] | .event == \"sock-rekey\" and .id == $cid and .link == \"bench\" and
			 .direction == \"tx\" and (.key_ref | test(\"^[0-9a-f-]{36}$\")) and .error == 0) and
			(.[1] | .event == \"sock-rekey\" and .direction == \"rx\" and (has(\"key_ref\") | not) and .error == 0)" \
			"$tmp/smon.json" >/dev/null; then
			tap_ok "monitor -j sock ID: QKD TX rekey with its key, then the standard RX one inside a read"
		else
			tap_fail "monitor -j sock ID: QKD TX rekey with its key, then the standard RX one inside a read" "exit $rc: $(tr '\n' '|' <"$tmp/smon.json")"
		fi
		wait "$smon2_pid" && rc=0 || rc=$?
		cat "$tmp/smon2.txt" >>"$all"
		if [ "$rc" -eq 0 ] && [ "$(cat "$tmp/smon2.txt")" = "$(printf '%s\n' \
			"sock-rekey id $sid link bench dir rx key-ref $ref result ok" \
			"sock-rekey id $sid link bench dir tx result ok")" ]; then
			tap_ok "monitor sock ID (text): the server followed inside its read with the same key"
		else
			tap_fail "monitor sock ID (text): the server followed inside its read with the same key" "exit $rc, ref $ref: $(tr '\n' '|' <"$tmp/smon2.txt")"
		fi
		run "$q" -j sock show
		jqok "the counters moved" "(map(select(.id == $cid))[0].stats | .tx_rekeys == 1 and
			.tx_qkd_rekeys == 1 and .rx_rekeys == 1 and .rx_qkd_rekeys == 0 and .keys_used == 1) and
			(map(select(.id == $sid))[0].stats | .rx_rekeys == 1 and .rx_qkd_rekeys == 1 and
			.tx_rekeys == 1 and .tx_qkd_rekeys == 0 and .keys_used == 1)"
		run "$q" sock show "$sid"
		outok "sock show: rekeys in the table" "^$sid +bench .* +1 +1 +0$"
	elif [ $has_rekey = no ] && [ "${what%% *}" = no-rekey ]; then
		case $what in
		*"kernel has no kTLS rekey"*) tap_ok "no kTLS rekey: the module refuses a rekey and says why" ;;
		*) tap_fail "no kTLS rekey: the module refuses a rekey and says why" "got: $what" ;;
		esac
		wait "$smon_pid" && rc=0 || rc=$?
		cat "$tmp/smon.json" >>"$all"
		if [ "$rc" -eq 0 ] && jq -e -s "length == 1 and (.[0] | .event == \"sock-rekey\" and
			.id == $cid and .link == \"bench\" and .direction == \"tx\" and (has(\"key_ref\") | not) and
			.error == -95 and (.error_name | test(\"^E(OPNOTSUPP|NOTSUP)$\")))" "$tmp/smon.json" >/dev/null; then
			tap_ok "monitor -j sock ID: the refused TX rekey, EOPNOTSUPP"
		else
			tap_fail "monitor -j sock ID: the refused TX rekey, EOPNOTSUPP" "exit $rc: $(tr '\n' '|' <"$tmp/smon.json")"
		fi
		run "$q" -j sock show
		jqok "the counters moved: one rekey error, no rekey" "(map(select(.id == $cid))[0].stats |
			.rekey_errors == 1 and .last_error == 95 and .tx_rekeys == 0 and .rx_rekeys == 0 and
			.keys_used == 0) and (map(select(.id == $sid))[0].stats | .rekey_errors == 0 and .last_error == 0)"
		run "$q" sock show "$cid"
		outok "sock show: the error in the table" "^$cid +bench .* +0 +0 +1$"
	else
		kill "$smon_pid" "$smon2_pid" 2>/dev/null
		for t in "monitor -j sock ID" "monitor sock ID (text)" "the counters moved" "sock show: rekeys in the table"; do
			tap_fail "$t" "the pair did not rekey: $what"
		done
	fi
	smon_pid= smon2_pid=
	ok "sock detach ID" "$q" sock detach "$sid"
	run "$q" -j sock show
	jqok "the detached socket is gone, the other stays" "([.[].id] | index($sid) == null) and ([.[].id] | index($cid) != null)"
	fails "sock detach of a detached socket" '^qktls: sock detach: .*\(No such file or directory\)$' \
		"$q" sock detach "$sid"
}
# QKTLS_BENCH_REKEY names another build of it.
bench=${QKTLS_BENCH_REKEY:-$top/build/bin/qktls-bench-rekey}
trap '' PIPE	# a pair that died must fail tests, not end the script
run "$q" sock show
if [ "$rc" -ne 0 ] && grep -q 'Operation not supported' "$tmp/err"; then
	# The generic netlink core's answer to a command the family lacks.
	for i in $(seq 15); do
		tap_skip "attached socket test $i" "this qktls.ko has no attached sockets (QKTLS_CMD_SOCK_GET unknown)"
	done
else
mkfifo "$tmp/hold.in" "$tmp/hold.out" "$tmp/smon.ready" "$tmp/smon2.ready"
timeout 560 "$bench" --hold <"$tmp/hold.in" >"$tmp/hold.out" 2>"$tmp/hold.err" &
hold_pid=$!
exec 7>"$tmp/hold.in" 8<"$tmp/hold.out"
cid= sid=
if read -r -t 120 -u 8 w1 cid w2 sid && [ "$w1 $w2" = "client server" ]; then
	tap_ok "a kTLS pair is attached (client $cid, server $sid)"
	sock_tests
else
	tap_fail "a kTLS pair is attached" "$(cat "$tmp/hold.err")"
	for i in $(seq 13); do
		tap_fail "attached socket test $i" "no attached pair"
	done
fi
exec 7>&- 8<&-
wait "$hold_pid" && rc=0 || rc=$?
hold_pid=
[ "$rc" -eq 0 ] && tap_ok "the pair ends cleanly" || tap_fail "the pair ends cleanly" "exit $rc: $(cat "$tmp/hold.err")"
fi

# --- no key material anywhere ---------------------------------------------------------------
n=$(wc -l <"$secrets")
if [ "$n" -ge 40 ] && ! grep -qiF -f "$secrets" "$all"; then
	tap_ok "no output carried any of the $n keys added"
else
	tap_fail "no output carried any of the $n keys added" "$(grep -ciF -f "$secrets" "$all") lines matched"
fi
echo "# took ${SECONDS}s"
tap_done
