#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every kernel source and the uapi header are checkpatch --strict clean.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
files=(kernel/*.c kernel/*.h uapi/linux/*.h)
existing=()
for f in "${files[@]}"; do [ -e "$f" ] && existing+=("$f"); done
tap_plan ${#existing[@]}
for f in "${existing[@]}"; do
	tap_check "checkpatch --strict $f" tools/build/checkpatch "$f"
done
tap_done
