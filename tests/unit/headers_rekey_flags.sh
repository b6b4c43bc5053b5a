#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# <qktls/sock.h> and the uapi header <linux/qktls.h> both name the rekey
# flags (QKTLS_REKEY_QKD, QKTLS_REKEY_REQUEST_UPDATE): an application that
# includes both, in either order, compiles with -Werror, whether the uapi
# header is installed (sock.h then takes the flags from it) or the
# application carries its own copy (sock.h's fallback definitions, which
# must be the same tokens, or the second definition is a redefinition
# error).  The fallback values are the uapi header's.  sock.h also compiles
# with an installed <linux/qktls.h> from before the QKD policy (enum
# qktls_qkd_policy): its policy fields are plain integers.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(-std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -fsyntax-only)
lib=-I"$top/userspace/include"
uapi_path=\"$top/uapi/linux/qktls.h\"

# compile DESC COMPILER FLAGS... -- LINE...: the lines as a source file.
compile() {
	local desc=$1 comp=$2 ext=c out rc
	shift 2
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	[ "$comp" = "$cxx" ] && ext=cc
	printf '%s\n' "$@" >"$tmp/t.$ext"
	out=$("$comp" "${args[@]}" "$tmp/t.$ext" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$(printf '%s\n' "$out" | head -n 20 | tr '\n' '|')"
	fi
}

use='int main(void) { return (int)(QKTLS_REKEY_QKD | QKTLS_REKEY_REQUEST_UPDATE) - 3; }'
tap_plan 9

# Installed: the uapi header is on the include path as <linux/qktls.h>.
compile "sock.h, then <linux/qktls.h> (installed)" "$cc" "${flags[@]}" \
	-I"$top/uapi" "$lib" -- '#include <qktls/sock.h>' '#include <linux/qktls.h>' "$use"
compile "<linux/qktls.h>, then sock.h (installed)" "$cc" "${flags[@]}" \
	-I"$top/uapi" "$lib" -- '#include <linux/qktls.h>' '#include <qktls/sock.h>' "$use"

# Not installed: sock.h defines the flags itself; the application includes
# its own copy of the uapi header by path.
compile "sock.h, then a copy of the uapi header" "$cc" "${flags[@]}" \
	"$lib" -- '#include <qktls/sock.h>' "#include $uapi_path" "$use"
compile "a copy of the uapi header, then sock.h" "$cc" "${flags[@]}" \
	"$lib" -- "#include $uapi_path" '#include <qktls/sock.h>' "$use"
compile "sock.h alone defines both flags" "$cc" "${flags[@]}" \
	"$lib" -- '#include <qktls/sock.h>' "$use"

# The fallback values are the uapi header's, whatever their spelling.
compile "sock.h's fallback values are the uapi header's" "$cc" "${flags[@]}" \
	"$lib" -- '#include <qktls/sock.h>' \
	'enum { QKD = QKTLS_REKEY_QKD, REQ = QKTLS_REKEY_REQUEST_UPDATE };' \
	'#undef QKTLS_REKEY_QKD' '#undef QKTLS_REKEY_REQUEST_UPDATE' \
	"#include $uapi_path" \
	'_Static_assert(QKD == QKTLS_REKEY_QKD, "QKTLS_REKEY_QKD");' \
	'_Static_assert(REQ == QKTLS_REKEY_REQUEST_UPDATE, "QKTLS_REKEY_REQUEST_UPDATE");' \
	"$use"

# An installed uapi header from before the QKD policy: no enum
# qktls_qkd_policy, no QKTLS_A_SOCK_QKD_POLICY.
mkdir -p "$tmp/old/linux"
sed -e '/^enum qktls_qkd_policy {/,/^};/d' -e '/QKTLS_A_SOCK_QKD_POLICY,/d' \
	"$top/uapi/linux/qktls.h" >"$tmp/old/linux/qktls.h"
policy='struct qktls_sock_attach a = { .qkd_policy_set = true, .qkd_policy = 2 };'
if grep -q '^enum qktls_qkd_policy\|^	QKTLS_A_SOCK_QKD_POLICY,' "$tmp/old/linux/qktls.h"; then
	tap_fail "sock.h with a uapi header from before the QKD policy" \
		"could not strip the policy from a copy of the uapi header"
else
	compile "sock.h with a uapi header from before the QKD policy" "$cc" \
		"${flags[@]}" -I"$tmp/old" "$lib" -- '#include <qktls/sock.h>' \
		"$policy" "$use"
fi
compile "sock.h's QKD policy takes the uapi header's enum values" "$cc" \
	"${flags[@]}" -I"$top/uapi" "$lib" -- '#include <qktls/sock.h>' \
	'struct qktls_sock_attach a = { .qkd_policy_set = true, .qkd_policy = QKTLS_QKD_REQUIRED };' \
	'_Static_assert(sizeof(a.qkd_policy) == 1, "u8, as QKTLS_A_SOCK_QKD_POLICY");' \
	"$use"

# A C++ application, the uapi header not installed.
if command -v "$cxx" >/dev/null; then
	compile "C++: sock.h, stream.h and a copy of the uapi header" "$cxx" \
		-std=gnu++17 -Wall -Wextra -Werror -fsyntax-only "$lib" -- \
		'#include <qktls/sock.h>' "#include $uapi_path" \
		'#include <qktls/stream.h>' "$use"
else
	tap_skip "C++: sock.h, stream.h and a copy of the uapi header" "no $cxx"
fi
tap_done
