#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The benchmark programs' arguments, without a VM (milliseconds): --help,
# and bad options refused with a message naming them and exit status 2
# before anything is measured.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$top/build/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect DESC STATUS PATTERN CMD...: CMD exits with STATUS, stderr (or,
# for status 0, stdout) matches the extended regex PATTERN.
expect() {
	local desc=$1 want=$2 pat=$3 rc f=err
	shift 3
	[ "$want" = 0 ] && f=out
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null && rc=0 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		tap_fail "$desc" "exit status $rc, want $want: $(head -c 300 "$tmp/err")"
	elif ! grep -Eq -- "$pat" "$tmp/$f"; then
		tap_fail "$desc" "$f does not match /$pat/: $(head -c 300 "$tmp/$f")"
	else
		tap_ok "$desc"
	fi
}

tap_plan 16
expect "bulk --help" 0 "^Usage: qktls-bench-bulk" "$b/qktls-bench-bulk" --help
expect "bulk: --seconds out of range" 2 "--seconds: \"0\" is not a number" "$b/qktls-bench-bulk" --seconds 0
expect "bulk: --streams 65" 2 "--streams: \"65\" is not a number from 1 to 64" "$b/qktls-bench-bulk" --streams 1,65
expect "bulk: unknown suite" 2 "unknown cipher suite \"TLS_NULL\"" "$b/qktls-bench-bulk" --suite TLS_NULL
expect "bulk: --netns without a comma" 2 "--netns: \"a\" is not CLIENT,SERVER" "$b/qktls-bench-bulk" --netns a
expect "bulk: a bad --addr" 2 "--addr: \"10.0.0\" is not an IPv4 address" "$b/qktls-bench-bulk" --addr 10.0.0 --runs 1
expect "handshake --help" 0 "^Usage: qktls-bench-handshake server" "$b/qktls-bench-handshake" --help
expect "handshake: no mode" 2 "^Usage:" "$b/qktls-bench-handshake" --count 3
expect "handshake: a bad target kind" 2 "the kind is openssl, plain or qkd" \
	"$b/qktls-bench-handshake" client --target x=tls:1
expect "handshake: a target without a port" 2 "plain:LINK:PORT" \
	"$b/qktls-bench-handshake" client --target x=plain:link
expect "handshake: baseline first" 2 "the first --target must be openssl:PORT" \
	"$b/qktls-bench-handshake" client --agent /nonexistent --target a=plain:l:1 --target b=qkd:l:2
expect "handshake: --clients 0" 2 "--clients: \"0\" is not a number from 1 to 256" \
	"$b/qktls-bench-handshake" client --clients 1,0
expect "handshake: a server needs a link or openssl" 2 "--agent and --link, or --openssl" \
	"$b/qktls-bench-handshake" server --port 1
expect "scale --help" 0 "^Usage: qktls-bench-scale" "$b/qktls-bench-scale" --help
expect "scale: --active above --conns" 2 "--active \(20\) is more than --conns \(10\)" \
	"$b/qktls-bench-scale" --conns 10 --active 20
expect "scale: --rekey not a multiple of 16K" 2 "--rekey must be a multiple of 16K" \
	"$b/qktls-bench-scale" --rekey 1000
tap_done
