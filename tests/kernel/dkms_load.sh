#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The qktls.ko that DKMS built and installed for this kernel in the build
# root (tests/unit/dkms.sh keeps it in build/dkms/ko/KVER/) passes
# module_load.sh: it loads, its installer thread runs, it unloads, twice.
# Run by tests/kernel/run while qktls is not loaded.
top=$(cd "$(dirname "$0")/../.." && pwd)
ko=$(ls "$top/build/dkms/ko/$(uname -r)/"qktls.ko* 2>/dev/null | head -n1)
if [ -z "$ko" ]; then
	. "$top/tests/lib/tap.sh"
	tap_plan 1
	tap_skip "the DKMS-built qktls.ko loads" \
		"no build/dkms/ko/$(uname -r)/qktls.ko*: run tests/unit/dkms.sh in the build root first"
	tap_done
fi
echo "# $ko (dkms install in the build root)"
QKTLS_KO=$ko exec "$top/tests/kernel/module_load.sh"
