#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tools/vm/boot's choice of accelerator, against a fake vng: KVM only after
# a probe boot under it ran a command and came back, else TCG with a
# one-line reason; one probe per run through QKTLS_VM_ACCEL_CACHE; a KVM
# boot that dies early (KVM internal error, no start by the boot deadline)
# killed and retried once under TCG; explicit kvm failing fast; tcg never
# touching KVM; CMD's status passed through; every boot bounded by its
# deadlines, not by the run's limit, and no fake QEMU left behind.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Nothing from a surrounding `make check` (its cache, its accelerator).
for v in $(compgen -e | grep '^QKTLS_VM_' || true); do unset "$v"; done
img=$tmp/vmlinuz-fake$$
kver=fake$$
: > "$img"
: > "$tmp/kvm"
export QKTLS_VM_VNG=$tmp/vng QKTLS_VM_LOGS=$tmp/logs QKTLS_VM_KVM_DEV=$tmp/kvm
export QKTLS_VM_PROBE_LIMIT=5 QKTLS_VM_BOOT_DEADLINE=5 QKTLS_VM_TCG_BOOT_DEADLINE=5
export FAKE_LOG=$tmp/calls FAKE_PIDS=$tmp/pids
limit=60

# The fake vng.  FAKE_KVM and FAKE_TCG list what its successive boots under
# that accelerator do, the last one repeating:
#   works          the guest does what tools/vm/guest does and returns
#   hang           QEMU never gets the guest to the command
#   error          QEMU prints a KVM internal error and stays paused
#   error-started  the same, after the command started
# Each boot logs "ACCEL CMD" to FAKE_LOG; a hanging one its pids to
# FAKE_PIDS, to prove they were killed.
cat > "$tmp/vng" <<'EOF'
#!/bin/bash
accel=kvm dir= exec=
while [ $# -gt 0 ]; do
	case $1 in
	--disable-kvm) accel=tcg ;;
	--rwdir=*) dir=${1#--rwdir=}; dir=${dir#*=} ;;
	--exec) exec=$2; shift ;;
	esac
	shift
done
eval "set -- $exec"
top=$3
shift 3
n=$(grep -c "^$accel " "$FAKE_LOG" 2>/dev/null || true)
echo "$accel $*" >> "$FAKE_LOG"
plan=FAKE_${accel^^}
read -ra plan <<< "${!plan}"
[ "$n" -lt "${#plan[@]}" ] || n=$(( ${#plan[@]} - 1 ))
hang() { sleep 1000 & echo "$! $$" >> "$FAKE_PIDS"; wait; }
kvm_error() {
	echo "KVM internal error. Suberror: 1" >&2
	echo "extra data[0]: 0x0000000000000000" >&2
	echo "emulation failure" >&2
	hang
}
case ${plan[$n]} in
works)
	: > "$dir/started"
	(cd "$top" && "$@") > "$dir/output" 2>&1 && rc=0 || rc=$?
	: > "$dir/dmesg"
	echo 0 > "$dir/tainted"
	echo "$rc" > "$dir/rc"
	exit "$rc" ;;
hang) hang ;;
error) kvm_error ;;
error-started) : > "$dir/started"; echo partial > "$dir/output"; kvm_error ;;
esac
EOF
chmod +x "$tmp/vng"

# fresh: a new run (no boots yet, no cached verdict).
fresh() { rm -f "$FAKE_LOG" "$FAKE_PIDS" "$tmp/cache"; : > "$FAKE_LOG"; unset QKTLS_VM_ACCEL_CACHE; }
# boot KVM TCG ACCEL CMD...: tools/vm/boot through the fake; sets rc and
# took (seconds), its output in $tmp/out and $tmp/err.
boot() {
	local t0=$SECONDS
	FAKE_KVM=$1 FAKE_TCG=$2 "$top/tools/vm/boot" "$img" "$3" "$limit" "${@:4}" \
		>"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
	took=$((SECONDS - t0))
}
# vmrun KVM TCG ARGS...: the same through tools/vm/run (enter runs it here).
vmrun() {
	local t0=$SECONDS
	FAKE_KVM=$1 FAKE_TCG=$2 QKTLS_NATIVE=1 "$top/tools/vm/run" --kernel "$img" "${@:3}" \
		>"$tmp/out" 2>"$tmp/err" && rc=0 || rc=$?
	took=$((SECONDS - t0))
}

# Conditions on the last boot.
status() { [ "$rc" = "$1" ]; }
failed() { [ "$rc" != 0 ]; }
says() { grep -qxF -- "$1" "$tmp/err"; }	# a whole line of its stderr
mentions() { grep -qF -- "$1" "$tmp/err"; }
calls() { [ "$(cat "$FAKE_LOG")" = "$(printf '%s\n' "$@")" ]; }
accel_is() { [ "$(grep '^vm: accelerator: ' "$tmp/err")" = "vm: accelerator: $1" ]; }
# bounded: well before the run's limit, so a deadline ended it.
bounded() { [ "$took" -lt $((limit / 2)) ]; }
# A killed process may linger as a zombie until whoever adopted it reaps
# it; only a live one is a stray.
no_strays() {
	local p st
	for p in $(cat "$FAKE_PIDS" 2>/dev/null); do
		st=$(ps -o stat= -p "$p" 2>/dev/null) || continue
		case $st in Z*) ;; *) return 1 ;; esac
	done
}
# ok_if DESC COND...: one TAP result; on failure, what the boot did.
ok_if() {
	local desc=$1
	shift
	if "$@"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "[$*] status $rc after ${took}s; calls: $(paste -sd, "$FAKE_LOG"); stderr: $(paste -sd'|' "$tmp/err")"
	fi
}

tap_plan 54

fresh
QKTLS_VM_KVM_DEV=$tmp/none boot works works auto echo hi
ok_if "no KVM device: runs the command" status 0
ok_if "no KVM device: TCG without a probe" calls "tcg echo hi"
ok_if "no KVM device: says why" says "vm: no writable $tmp/none; using TCG"
ok_if "no KVM device: reports TCG" accel_is TCG

fresh
boot works works tcg echo hi
ok_if "tcg: runs the command" status 0
ok_if "tcg: never touches KVM, though it works" calls "tcg echo hi"
ok_if "tcg: reports TCG" accel_is TCG

fresh
boot works works auto echo hi
ok_if "auto, KVM works: runs the command" status 0
ok_if "auto, KVM works: one probe with true, then the boot, both KVM" calls "kvm true" "kvm echo hi"
ok_if "auto, KVM works: reports KVM" accel_is KVM
ok_if "auto, KVM works: the command's output is shown" grep -qx hi "$tmp/out"

fresh
boot works works auto sh -c 'exit 3'
ok_if "auto, KVM works, the command fails: its status 3 passes through" status 3
ok_if "auto, KVM works, the command fails: reports KVM" accel_is KVM

fresh
boot hang works auto echo hi
ok_if "auto, KVM guest hangs: runs the command" status 0
ok_if "auto, KVM guest hangs: one line says why" \
	says "vm: KVM present but unusable (guest did not start within 5 s); using TCG"
ok_if "auto, KVM guest hangs: the probe, then TCG" calls "kvm true" "tcg echo hi"
ok_if "auto, KVM guest hangs: reports TCG" accel_is TCG
ok_if "auto, KVM guest hangs: bounded by the probe limit" bounded
ok_if "auto, KVM guest hangs: its QEMU is killed" no_strays

# Long probe limit and deadline: only watching the console ends it early.
fresh
QKTLS_VM_PROBE_LIMIT=$limit QKTLS_VM_BOOT_DEADLINE=$limit boot error works auto echo hi
ok_if "auto, KVM internal error: runs the command" status 0
ok_if "auto, KVM internal error: one line says why" \
	says "vm: KVM present but unusable (KVM internal error); using TCG"
ok_if "auto, KVM internal error: the probe, then TCG" calls "kvm true" "tcg echo hi"
ok_if "auto, KVM internal error: probe aborted at once, not after its limit" bounded
ok_if "auto, KVM internal error: its QEMU is killed" no_strays

fresh
export QKTLS_VM_ACCEL_CACHE=$tmp/cache
boot hang works auto echo one && boot hang works auto echo two
ok_if "cached verdict, KVM hangs: second boot runs" status 0
ok_if "cached verdict, KVM hangs: one probe for two boots" calls "kvm true" "tcg echo one" "tcg echo two"
ok_if "cached verdict, KVM hangs: the second boot still says why" \
	says "vm: KVM present but unusable (guest did not start within 5 s); using TCG"

fresh
export QKTLS_VM_ACCEL_CACHE=$tmp/cache
boot works works auto echo one && boot works works auto echo two
ok_if "cached verdict, KVM works: one probe for two KVM boots" calls "kvm true" "kvm echo one" "kvm echo two"

fresh
export QKTLS_VM_ACCEL_CACHE=$tmp/cache
boot "works hang" works auto echo hi
ok_if "KVM boot hangs after a good probe: runs the command" status 0
ok_if "KVM boot hangs after a good probe: says it retries" \
	says "vm: KVM boot failed (guest did not start within 5 s); killed it, retrying once under TCG"
ok_if "KVM boot hangs after a good probe: one retry under TCG" calls "kvm true" "kvm echo hi" "tcg echo hi"
ok_if "KVM boot hangs after a good probe: reports TCG after KVM failed" accel_is "TCG after KVM failed"
ok_if "KVM boot hangs after a good probe: its QEMU is killed" no_strays
boot "works hang" works auto echo again
ok_if "KVM boot hangs after a good probe: later boots of the run go to TCG" \
	calls "kvm true" "kvm echo hi" "tcg echo hi" "tcg echo again"

fresh
QKTLS_VM_BOOT_DEADLINE=$limit boot "works error" works auto sh -c 'exit 3'
ok_if "KVM internal error after a good probe: the retry's status 3 passes through" status 3
ok_if "KVM internal error after a good probe: says it retries" \
	says "vm: KVM boot failed (KVM internal error); killed it, retrying once under TCG"
ok_if "KVM internal error after a good probe: reports TCG after KVM failed" accel_is "TCG after KVM failed"
ok_if "KVM internal error after a good probe: ended at once, not after the deadline" bounded

fresh
boot "works error-started" works auto echo hi
ok_if "KVM internal error after the command started: fails" failed
ok_if "KVM internal error after the command started: no retry (output would count twice)" \
	calls "kvm true" "kvm echo hi"
ok_if "KVM internal error after the command started: says so" mentions "KVM internal error after the command started"

fresh
QKTLS_VM_KVM_DEV=$tmp/none boot works works kvm echo hi
ok_if "kvm, no device: fails at once, no boot" eval 'failed && calls'
ok_if "kvm, no device: says so" says "vm: KVM requested, but $tmp/none is missing or not writable"

fresh
boot hang works kvm echo hi
ok_if "kvm, KVM guest hangs: fails after the probe, never TCG" eval 'failed && calls "kvm true" && bounded'
ok_if "kvm, KVM guest hangs: says why" says "vm: KVM requested, but it does not work here (guest did not start within 5 s)"

fresh
boot "works hang" works kvm echo hi
ok_if "kvm, KVM boot hangs after a good probe: fails, no TCG retry" eval 'failed && calls "kvm true" "kvm echo hi" && no_strays'

fresh
boot works hang tcg echo hi
ok_if "TCG guest never starts: fails by its boot deadline, not the limit" eval 'failed && bounded && no_strays'
ok_if "TCG guest never starts: says so" mentions "TCG boot failed (guest did not start within 5 s)"

fresh
boot works works bogus echo hi
ok_if "boot: an invalid accelerator is an error" eval 'status 2 && calls && mentions "must be auto, kvm or tcg"'

fresh
QKTLS_VM_ACCEL=bogus vmrun works works -- echo hi
ok_if "run: an invalid QKTLS_VM_ACCEL is an error" eval 'status 2 && calls && mentions "must be auto, kvm or tcg"'
QKTLS_VM_ACCEL=tcg vmrun works works -- echo hi
ok_if "run: QKTLS_VM_ACCEL=tcg is honoured" eval 'status 0 && calls "tcg echo hi"'
fresh
QKTLS_VM_ACCEL=kvm vmrun works works --no-kvm -- echo hi
ok_if "run: --no-kvm means tcg, over QKTLS_VM_ACCEL" eval 'status 0 && calls "tcg echo hi"'
fresh
QKTLS_VM_KVM_DEV=$tmp/none vmrun works works --kvm -- echo hi
ok_if "run: --kvm without a device fails at once" eval 'failed && calls && mentions "KVM requested"'

ok_if "no output directory left behind" eval '! ls -d "$top/build/vm-$kver".* >/dev/null 2>&1'
tap_done
