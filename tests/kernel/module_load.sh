#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# qktls.ko and tls load and unload cleanly, twice (in the VM).
. "$(dirname "$0")/../lib/tap.sh"
ko=${QKTLS_KO:?QKTLS_KO names the module to test}

gone() { [ ! -e /sys/module/qktls ]; }
live() { [ "$(cat /sys/module/qktls/initstate 2>/dev/null)" = live ]; }

tap_plan 8
tap_check "tls module loads" modprobe tls
tap_check "tls is registered as a TCP ULP" grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp
gone && tap_ok "qktls not loaded before the test" || tap_fail "qktls not loaded before the test"
tap_check "insmod qktls.ko" insmod "$ko"
tap_check "qktls is live" live
tap_check "rmmod qktls" rmmod qktls
tap_check "qktls is gone after rmmod" gone
tap_check "qktls loads and unloads a second time" sh -c "insmod '$ko' && rmmod qktls && [ ! -e /sys/module/qktls ]"
tap_done
