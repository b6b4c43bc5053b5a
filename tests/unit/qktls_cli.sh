#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The qktls admin tool without the module: help, version, argument errors
# (clear message, exit status 2), key input errors (file and line named,
# exit status 1, nothing sent, key material never echoed).
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
# The tool built with ASan/UBSan; a sanitizer report exits 86, which no
# check accepts.
q=${QKTLS_TOOL:-$top/build/tools/qktls-san}
export ASAN_OPTIONS=exitcode=86:detect_leaks=1 LSAN_OPTIONS=exitcode=86
export UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A key whose hex must never appear in any output.
secret=5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2
id=00112233445566778899aabbccddeeff

# expect DESC STATUS PATTERN CMD...: CMD exits with STATUS and its stderr
# matches the extended regex PATTERN.  stdin is /dev/null unless given.
expect() {
	local desc=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		tap_fail "$desc" "exit status $rc, want $want: $(head -c 300 "$tmp/err")"
	elif ! grep -Eq -- "$pat" "$tmp/err"; then
		tap_fail "$desc" "stderr does not match /$pat/: $(head -c 300 "$tmp/err")"
	elif grep -qi "$secret" "$tmp/out" "$tmp/err"; then
		tap_fail "$desc" "key material in the output"
	else
		tap_ok "$desc"
	fi
}
# expect_in DESC FILE STATUS PATTERN CMD...: the same with FILE on stdin.
expect_in() {
	local desc=$1 in=$2
	shift 2
	expect "$desc" "$@" <"$in"
}
# out_has DESC PATTERN CMD...: CMD succeeds and its stdout matches PATTERN.
out_has() {
	local desc=$1 pat=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tap_fail "$desc" "exit status $rc: $(head -c 300 "$tmp/err")"
	elif ! grep -Eq -- "$pat" "$tmp/out"; then
		tap_fail "$desc" "stdout does not match /$pat/"
	else
		tap_ok "$desc"
	fi
}

tap_plan 80

[ -x "$q" ] || { tap_fail "qktls is built" "missing $q"; tap_done; }

# --- help and version --------------------------------------------------------
out_has "qktls help lists the objects" '^  pool .*add' "$q" help
out_has "qktls --help" 'OPTIONS' "$q" --help
out_has "qktls pool help" 'qktls pool add NAME' "$q" pool help
out_has "qktls key help documents the hex format" 'ID KEY \[INDEX\]' "$q" key help
out_has "qktls stats help" 'qktls \[-j \[-p\]\] stats' "$q" stats help
out_has "qktls monitor help" 'qktls \[-j\] monitor' "$q" monitor help
out_has "qktls help key" 'qktls key flush POOL' "$q" help key
out_has "qktls help lists sock" '^  sock .*show \| detach' "$q" help
out_has "qktls sock help" 'qktls sock detach ID' "$q" sock help
out_has "qktls help sock" 'qktls \[-j \[-p\] \| -s\] sock show \[ID\]' "$q" help sock
out_has "qktls monitor help names the socket events" 'sock ID' "$q" monitor help
out_has "qktls pool add help" 'qktls pool add NAME' "$q" pool add help
out_has "qktls --version" '^qktls [0-9][^ ]* \(qktls generic netlink family version 1\)$' "$q" --version
out_has "qktls -V" '^qktls ' "$q" -V
out_has "the installed build runs too" '^qktls ' "$top/build/bin/qktls" --version

# --- usage errors: exit status 2 and a message -------------------------------
expect "no arguments" 2 'Usage: qktls' "$q"
expect "unknown option" 2 'unknown option "-x"' "$q" -x pool list
expect "unknown object" 2 'unknown object "pools"' "$q" pools
expect "help for an unknown object" 2 'unknown object "nope"' "$q" help nope
expect "pool without a command" 2 'pool: missing command' "$q" pool
expect "unknown pool command" 2 'pool: unknown command "grow"' "$q" pool grow a
expect "pool add without a name" 2 'pool add: missing pool name' "$q" pool add
expect "pool add, unknown keyword" 2 'unknown argument "size"' "$q" pool add a size 3
expect "pool add, keyword without value" 2 '"capacity" needs a value' "$q" pool add a capacity
expect "pool add, keyword twice" 2 '"low" given twice' "$q" pool add a low 1 low 2
expect "pool add, capacity not a number" 2 'capacity: "12x" is not a decimal number' "$q" pool add a capacity 12x
expect "pool add, negative number" 2 'low: "-1" is not a decimal number' "$q" pool add a low -1
expect "pool add, number with a sign" 2 'lifetime: "\+5" is not a decimal number' "$q" pool add a lifetime +5
expect "pool add, u32 overflow" 2 'capacity: 4294967296 is out of range' "$q" pool add a capacity 4294967296
expect "pool add, u64 overflow" 2 'out of range' "$q" pool add a capacity 99999999999999999999999
expect "pool add, key-len range backwards" 2 'minimum 48 is above maximum 16' "$q" pool add a key-len 48-16
expect "pool add, key-len range malformed" 2 'key-len \(maximum\): "" is not' "$q" pool add a key-len 16-
expect "pool set cannot change key-len" 2 'key length range of a pool cannot change' "$q" pool set a key-len 32
expect "pool set with nothing to change" 2 'nothing to change' "$q" pool set a
expect "pool add, rekey-bytes with a bad suffix" 2 'rekey-bytes: "16Q" is not a decimal number' "$q" pool add a rekey-bytes 16Q
expect "pool add, rekey-bytes suffix alone" 2 'rekey-bytes: "" is not a decimal number' "$q" pool add a rekey-bytes M
expect "pool set, rekey-bytes overflows with its suffix" 2 'rekey-bytes: 17179869184G is out of range' "$q" pool set a rekey-bytes 17179869184G
expect "pool set, rekey-seconds beyond u32" 2 'rekey-seconds: 4294967296 is out of range' "$q" pool set a rekey-seconds 4294967296
expect "pool del, extra argument" 2 'pool del: unknown argument "b"' "$q" pool del a b
expect "pool list takes no argument" 2 'pool list: unknown argument "a"' "$q" pool list a
expect "key add without a pool" 2 'key add: missing pool name' "$q" key add
expect "key add, --hex and --raw" 2 'exclude each other' "$q" key add p --hex --raw
expect "key add, --key-len without --raw" 2 '--key-len goes with --raw' "$q" key add p --key-len 32
expect "key add, --key-len out of range" 2 'keys are 16 to 64 bytes' "$q" key add p --raw --key-len 65
expect "key add, --batch 0" 2 'batch must be at least 1' "$q" key add p --batch 0
expect "key add, two inputs" 2 'more than one input' "$q" key add p --file a -
expect "key del, bad ID" 2 '"1234" is not a key ID' "$q" key del p 1234
expect "key take, bad ID" 2 'is not a key ID' "$q" key take p 0011-22
expect "stats takes no argument" 2 'stats: unknown argument "x"' "$q" stats x
expect "monitor, unknown argument" 2 'monitor: unknown argument "foo"' "$q" monitor foo
expect "monitor, count twice" 2 'monitor: "count" given twice' "$q" monitor count 1 count 2
expect "monitor, pool twice" 2 'monitor: "pool" given twice' "$q" monitor pool a pool b
expect "monitor, sock without a value" 2 'monitor: "sock" needs a value' "$q" monitor sock
expect "monitor, bad socket ID" 2 'monitor: "x1" is not a socket ID' "$q" monitor sock x1
expect "monitor, pool and sock together" 2 '"pool" and "sock" exclude each other' "$q" monitor pool a sock 1

# --- sock: socket IDs are cookies, decimal or 0x hex, never 0 ------------------
expect "sock without a command" 2 'sock: missing command' "$q" sock
expect "unknown sock command" 2 'sock: unknown command "attach"' "$q" sock attach 1
expect "sock show, two IDs" 2 'sock show: unknown argument "2"' "$q" sock show 1 2
expect "sock show, not a number" 2 'sock show: "abc" is not a socket ID \(a decimal number, or 0x and hex digits\)' "$q" sock show abc
expect "sock show, a sign" 2 '"\+1" is not a socket ID' "$q" sock show +1
expect "sock show, 0x and nothing" 2 '"0x" is not a socket ID' "$q" sock show 0x
expect "sock show, bad hex digit" 2 '"0x1g" is not a socket ID' "$q" sock show 0x1g
expect "sock show, ID 0" 2 'socket ID 0 names no socket' "$q" sock show 0
expect "sock show, 65-bit hex" 2 'socket ID 0x10000000000000000 is out of range' "$q" sock show 0x10000000000000000
expect "sock show, 65-bit decimal" 2 'socket ID 18446744073709551616 is out of range' "$q" sock show 18446744073709551616
expect "sock show, -s with -j" 2 '-s and -j exclude each other' "$q" -j -s sock show
expect "sock detach without an ID" 2 'sock detach: missing socket ID' "$q" sock detach
expect "sock detach, extra argument" 2 'sock detach: unknown argument "2"' "$q" sock detach 1 2
expect "sock detach, negative ID" 2 'sock detach: "-5" is not a socket ID' "$q" sock detach -5

# --- key input errors: file:line, exit status 1, no key material echoed -----
printf '# keys\n\n%s %s\n%s\n' "$id" "$secret" "$id" >"$tmp/k1"
expect "hex: missing material names the line" 1 "k1:4: missing key material" "$q" key add p --file "$tmp/k1"
printf '%s %s7\n' "$id" "$secret" >"$tmp/k2"
expect "hex: odd number of digits" 1 'k2:1: key material must be an even number of hex digits' "$q" key add p --file "$tmp/k2"
printf '%s %s 1 2\n' "$id" "$secret" >"$tmp/k3"
expect "hex: too many fields" 1 'k3:1: too many fields' "$q" key add p --file "$tmp/k3"
printf '%s %s 18446744073709551616\n' "$id" "$secret" >"$tmp/k4"
expect "hex: index overflow" 1 'k4:1: index: .* out of range' "$q" key add p --file "$tmp/k4"
printf '%s %s\n0011-2233 %s\n' "$id" "$secret" "$secret" >"$tmp/k5"
expect_in "hex on stdin: bad ID on line 2" "$tmp/k5" 1 'stdin:2: key ID must be 32 hex digits or a UUID' "$q" key add p -
printf '%s %sxz\n' "$id" "${secret:0:62}" >"$tmp/k6"
expect "hex: a non-hex digit" 1 'k6:1: key material must be hex digits' "$q" key add p --file "$tmp/k6"
head -c 100 /dev/zero >"$tmp/raw"
expect "raw: a partial record" 1 '4 bytes left after 2 records' "$q" key add p --raw --key-len 32 --file "$tmp/raw"
printf '# only a comment\n' >"$tmp/empty"
expect "no keys in the input" 1 'no keys in the input' "$q" key add p --file "$tmp/empty"
expect "a missing file" 1 'nope.txt: No such file or directory' "$q" key add p --file "$tmp/nope.txt"

# --- the family is missing here (no qktls.ko in the build root's kernel) ---
if "$q" stats >"$tmp/out" 2>"$tmp/err"; then
	tap_skip "without the module: a clear error" "the qktls family is registered on this host"
else
	expect "without the module: a clear error" 1 'generic netlink family "qktls" not found: is the qktls module loaded\?' "$q" pool list
fi
# A valid hex ID passes the parser and reaches the (missing) family.
if "$q" stats >/dev/null 2>&1; then
	tap_skip "sock show 0x1f parses" "the qktls family is registered on this host"
else
	expect "sock show 0x1f parses" 1 'generic netlink family "qktls" not found' "$q" sock show 0x1F
fi

tap_done
