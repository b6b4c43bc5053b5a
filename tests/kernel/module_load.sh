#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# qktls.ko and tls load and unload cleanly, twice (in the VM), in a guest
# where a kernel warning panics (tools/vm/boot), and the key installer
# thread runs while the module is loaded on a kernel that can rekey.
. "$(dirname "$0")/../lib/tap.sh"
ko=${QKTLS_KO:?QKTLS_KO names the module to test}

gone() { [ ! -e /sys/module/qktls ]; }
live() { [ "$(cat /sys/module/qktls/initstate 2>/dev/null)" = live ]; }

tap_plan 10
tap_check "a kernel warning panics this guest (panic_on_warn=1)" \
	grep -qx 1 /proc/sys/kernel/panic_on_warn
tap_check "tls module loads" modprobe tls
tap_check "tls is registered as a TCP ULP" grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp
gone && tap_ok "qktls not loaded before the test" || tap_fail "qktls not loaded before the test"
tap_check "insmod qktls.ko" insmod "$ko"
tap_check "qktls is live" live
if grep -q TlsTxRekeyOk /proc/net/tls_stat; then
	tap_check "the key installer thread runs" pgrep -x qktls_install
else
	tap_skip "the key installer thread runs" "kernel has no kTLS rekey"
fi
tap_check "rmmod qktls" rmmod qktls
tap_check "qktls is gone after rmmod" gone
tap_check "qktls loads and unloads a second time" sh -c "insmod '$ko' && rmmod qktls && [ ! -e /sys/module/qktls ]"
tap_done
