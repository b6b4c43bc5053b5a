#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Documentation/netlink/specs/qktls.yaml and uapi/linux/qktls.h describe
# the same family: the spec validates against the kernel's genetlink-c
# schema, and every command, attribute and constant the spec names has the
# same value in the header (checked by the C compiler).
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
spec=$top/Documentation/netlink/specs/qktls.yaml
schema=$top/build/linux-src/Documentation/netlink/genetlink-c.yaml
export PYTHONPATH=$top/build/linux-src/tools/net/ynl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tap_plan 3
tap_check "the spec validates against the genetlink-c schema" \
	python3 -m pyynl.cli --spec "$spec" --schema "$schema" --validate

python3 - "$spec" "$schema" >"$tmp/check.c" 2>"$tmp/err" <<'PY'
import sys
from pyynl.lib import SpecFamily

spec = SpecFamily(sys.argv[1], schema_path=sys.argv[2])
c = lambda s: s.upper().replace('-', '_')
print('#include <linux/qktls.h>')
print('#define SAME(a, b) _Static_assert((a) == (b), #a " differs")')
print('SAME(sizeof(QKTLS_GENL_NAME), sizeof("%s"));' % spec.name)
for name, const in spec.consts.items():
    if 'value' in const:
        print('SAME(QKTLS_%s, %s);' % (c(name), const['value']))
n = 0
for name, op in spec.msgs.items():
    print('SAME(QKTLS_CMD_%s, %d);' % (c(name), op.value))
    n += 1
for set_name, aset in spec.attr_sets.items():
    prefix = c(aset.yaml['name-prefix'])
    for name, attr in aset.items():
        print('SAME(%s%s, %d);' % (prefix, c(name), attr.value))
        n += 1
print('int main(void) { return 0; }')
print('/* %d values */' % n)
PY
if [ -s "$tmp/check.c" ] && grep -q "SAME(QKTLS_CMD_KEYS_EXPIRED_NTF" "$tmp/check.c"; then
	tap_ok "the spec lists every command and attribute set"
else
	tap_fail "the spec lists every command and attribute set" "$(cat "$tmp/err")"
fi
tap_check "the header gives every name of the spec the spec's value" \
	cc -std=gnu11 -Wall -Werror -I"$top/uapi" -o "$tmp/check" "$tmp/check.c"
tap_done
