#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What qktlsd does for its keys by itself, whoever starts it: started with
# SSLKEYLOGFILE, proxy variables and CURL_SSL_BACKEND in its environment,
# it drops them (also from /proc/PID/environ) and logs their names; it is
# not dumpable (its /proc entries belong to root, and its own user cannot
# read its environment, while it can read that of another process of that
# user); it locks its memory as root and, like the unit's user qktlsd, as an
# unprivileged user with RLIMIT_MEMLOCK unlimited (or, where the test cannot
# raise the limit, with CAP_IPC_LOCK); under a finite limit it warns, locks
# nothing and serves on; --check-config locks nothing.
# Documentation/qktls/agent.rst, "Privileges".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
# The sanitizer build when there is one; a sanitizer report exits 86.
qktlsd=$top/build/tests/helpers/qktlsd-san
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd
export ASAN_OPTIONS=exitcode=86 LSAN_OPTIONS=exitcode=86
export UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1

cases=13
tap_plan $cases
if [ ! -x "$qktlsd" ] || ! command -v openssl >/dev/null || ! command -v setpriv >/dev/null ||
   ! command -v prlimit >/dev/null || [ "$(id -u)" -ne 0 ]; then
	for i in $(seq $cases); do
		tap_skip "privileges $i" "needs qktlsd, openssl, setpriv, prlimit and root"
	done
	tap_done
fi
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT

# The user the second agent runs as (the unit's qktlsd stands for it).
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

. "$top/tests/lib/qktlsd.sh"
mkcert a a.test || { cat "$tmp/req.err"; exit 1; }
cp "$tmp/a.pem" "$tmp/ca.pem"
(umask 077; echo "$(openssl rand -hex 16) $(openssl rand -hex 32)" >"$tmp/qkd.keys")
# conf NAME CERT KEYS: one server link with a key file, the socket in $tmp.
conf() {
	{
		echo "socket = \"$tmp/$1.sock\";"
		echo "links = ("
		link l1 server b.test "$2" preferred "$3"
		echo ");"
	} >"$tmp/$1.conf"
}
conf a ra root.keys
conf b a qkd.keys
# Everything belongs to the second agent's user but root's own copies of the
# secrets: qktlsd accepts secrets only from root or its own user.
chown -R 65534:65534 "$tmp"
cp "$tmp/a.pem" "$tmp/ra.pem"
cp "$tmp/a.key" "$tmp/ra.key"
cp "$tmp/qkd.keys" "$tmp/root.keys"

# start NAME CMD...: run CMD (an agent with --ready-fd 3), wait for READY.
start() {
	local name=$1 line=
	shift
	mkfifo "$tmp/$name.ready"
	"$@" 3>"$tmp/$name.ready" 2>"$tmp/$name.log" &
	pids+=($!)
	eval "${name}_pid=$!"
	read -r -t 60 line <"$tmp/$name.ready"
	[ "$line" = READY ]
}
# stop NAME: SIGTERM; ok if the agent exits 0.
stop() {
	local pid rc=0
	eval "pid=\$${1}_pid"
	kill -TERM "$pid" && wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { show "$tmp/$1.log"; echo "# exit status $rc"; }
	return $rc
}

removed="SSLKEYLOGFILE https_proxy HTTPS_PROXY http_proxy ALL_PROXY no_proxy CURL_SSL_BACKEND"

# 1-5: as root, with the variables set.
if start a env SSLKEYLOGFILE="$tmp/keylog" https_proxy=http://127.0.0.9:3128 \
	HTTPS_PROXY=http://127.0.0.9:3128 http_proxy=http://127.0.0.9:3128 \
	ALL_PROXY=socks5://127.0.0.9:1080 no_proxy=kme.test CURL_SSL_BACKEND=gnutls \
	QKTLS_PRIV_KEEP=kept "$qktlsd" -c "$tmp/a.conf" --ready-fd 3; then
	tap_ok "the agent starts with SSLKEYLOGFILE and proxies in its environment"
else
	show "$tmp/a.log"
	tap_fail "the agent starts with SSLKEYLOGFILE and proxies in its environment"
fi

tr '\0' '\n' <"/proc/$a_pid/environ" >"$tmp/a.environ"
if ! grep -qx QKTLS_PRIV_KEEP=kept "$tmp/a.environ"; then
	show "$tmp/a.environ"
	tap_fail "/proc/PID/environ: the variables are gone" "QKTLS_PRIV_KEEP missing: nothing read?"
elif grep -Ei "SSLKEYLOG|_proxy|CURL_SSL|127\.0\.0\.9|kme\.test|keylog" "$tmp/a.environ"; then
	tap_fail "/proc/PID/environ: the variables are gone" "still there (above)"
else
	tap_ok "/proc/PID/environ: the variables are gone, names and values"
fi

line=$(grep "removed from the environment:" "$tmp/a.log")
missing=
for v in $removed; do
	[[ " ${line#*environment: } " == *" $v "* ]] || missing="$missing $v"
done
if [ -n "$line" ] && [ -z "$missing" ] && ! grep -q QKTLS_PRIV_KEEP "$tmp/a.log"; then
	tap_ok "the log names each variable removed, and only those"
else
	show "$tmp/a.log"
	tap_fail "the log names each variable removed, and only those" "missing:$missing"
fi

# vmlck PID: its locked memory in kB.
vmlck() { sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
locked=$(vmlck "$a_pid")
if [ "${locked:-0}" -gt 0 ] && ! grep -Eq "mlockall|not locked" "$tmp/a.log"; then
	tap_ok "its memory is locked (VmLck ${locked} kB, on fault)"
else
	show "$tmp/a.log"
	tap_fail "its memory is locked" "VmLck '${locked}' kB"
fi

if stop a && [ ! -e "$tmp/keylog" ]; then
	tap_ok "it stops cleanly; no key log file was created"
else
	tap_fail "it stops cleanly; no key log file was created"
fi

# 6-10: as an unprivileged user, RLIMIT_MEMLOCK unlimited (the unit's
# case); where the hard limit cannot be raised (no CAP_SYS_RESOURCE in this
# environment), with CAP_IPC_LOCK, the other way to lock.
if prlimit --memlock=unlimited true 2>/dev/null; then
	lockable=(prlimit --memlock=unlimited "${nobody[@]}")
	how="RLIMIT_MEMLOCK unlimited"
else
	lockable=("${nobody[@]}" --inh-caps=+ipc_lock --ambient-caps=+ipc_lock)
	how="CAP_IPC_LOCK: RLIMIT_MEMLOCK cannot be raised here"
fi
if start b "${lockable[@]}" "$qktlsd" -c "$tmp/b.conf" --ready-fd 3; then
	tap_ok "the agent starts as an unprivileged user"
else
	show "$tmp/b.log"
	tap_fail "the agent starts as an unprivileged user"
fi
# A process of the same user and capabilities that did nothing to itself,
# for comparison, once it runs a program of its own (setpriv is not
# dumpable after its setresuid, until the exec).  The readers below have
# those capabilities too, so that only dumpability decides.
mkfifo "$tmp/ctl.ready"
"${lockable[@]}" sh -c 'echo READY; exec sleep 600' >"$tmp/ctl.ready" &
ctl=$!
pids+=($ctl)
read -r -t 60 line <"$tmp/ctl.ready"
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$b_pid/status")
owner=$(stat -c %u "/proc/$b_pid/status")
ctl_owner=$(stat -c %u "/proc/$ctl/status")
if [ "$uid" = 65534 ] && [ "$owner" = 0 ] && [ "$ctl_owner" = 65534 ]; then
	tap_ok "not dumpable: its /proc entries belong to root though it runs as uid 65534"
else
	tap_fail "not dumpable: its /proc entries belong to root" \
		"uid $uid, /proc/PID/status owner $owner, the other process's $ctl_owner"
fi

if "${lockable[@]}" cat "/proc/$b_pid/environ" >/dev/null 2>"$tmp/cat.err" ||
   ! grep -q "Permission denied" "$tmp/cat.err"; then
	show "$tmp/cat.err"
	tap_fail "its user cannot read its /proc/PID/environ"
elif ! "${lockable[@]}" cat "/proc/$ctl/environ" >/dev/null; then
	tap_fail "its user cannot read its /proc/PID/environ" "nor that of the other process"
else
	tap_ok "its user cannot read its /proc/PID/environ, but can another process's"
fi
kill "$ctl" 2>/dev/null

locked=$(vmlck "$b_pid")
if [ "${locked:-0}" -gt 0 ] && ! grep -Eq "mlockall|not locked" "$tmp/b.log"; then
	tap_ok "its memory is locked as an unprivileged user ($how; VmLck ${locked} kB)"
else
	show "$tmp/b.log"
	tap_fail "its memory is locked as an unprivileged user ($how)" "VmLck '${locked}' kB"
fi

if stop b; then
	tap_ok "the unprivileged agent stops cleanly"
else
	tap_fail "the unprivileged agent stops cleanly"
fi

# 11-12: with a finite RLIMIT_MEMLOCK (8 MiB), which MCL_FUTURE would turn
# into failing allocations later, it locks nothing and says why.
conf c a qkd.keys
chown 65534:65534 "$tmp/c.conf"
if start c prlimit --memlock=8388608 "${nobody[@]}" "$qktlsd" -c "$tmp/c.conf" --ready-fd 3 &&
   [ "$(vmlck "$c_pid")" = 0 ] &&
   grep -q "warning: memory not locked: RLIMIT_MEMLOCK is 8192 KiB and there is no CAP_IPC_LOCK; key material .* swap" \
	"$tmp/c.log"; then
	tap_ok "under a finite RLIMIT_MEMLOCK: nothing locked, a clear warning, and it serves"
else
	show "$tmp/c.log"
	tap_fail "under a finite RLIMIT_MEMLOCK: nothing locked, a clear warning, and it serves"
fi
if stop c; then
	tap_ok "that agent stops cleanly"
else
	tap_fail "that agent stops cleanly"
fi

# 13: --check-config cleans the environment too, and locks nothing.
if prlimit --memlock=0:0 "${nobody[@]}" env https_proxy=http://127.0.0.9:3128 \
	"$qktlsd" --check-config -c "$tmp/b.conf" >"$tmp/check.out" 2>&1 &&
   grep -q "removed from the environment: https_proxy " "$tmp/check.out" &&
   ! grep -Eq "mlockall|not locked" "$tmp/check.out"; then
	tap_ok "--check-config drops the variables and locks no memory"
else
	show "$tmp/check.out"
	tap_fail "--check-config drops the variables and locks no memory"
fi
tap_done
