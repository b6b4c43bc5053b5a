#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make install and make uninstall (tools/build/install.mk) into temporary
# DESTDIRs: the tree (programs, libqktls.so with its soname and links,
# headers, libqktls.pc, man pages, the systemd unit with the layout's paths,
# the sysusers file, bash completions, the example configuration); pkg-config
# on the staged tree; a program built against the installed headers and
# shared library only, run with LD_LIBRARY_PATH into the DESTDIR; the
# provider module qktls.so; exactly the
# functions of the installed headers exported; the completions; the example
# configuration passing --check-config; uninstall leaving nothing, but a
# configuration that was there before; and the refusal to install into the
# build root itself.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"

tap_plan 16
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
show() { sed 's/^/# /' "$@"; }
# mk DESTDIR ARGS...: make ARGS (install or uninstall, variables) in the tree.
mk() {
	local dest=$1
	shift
	make -C "$top" --no-print-directory DESTDIR="$dest" "$@" >"$tmp/make.out" 2>&1 ||
		{ show "$tmp/make.out"; return 1; }
}
# files DIR: every file and symbolic link under DIR, relative, sorted.
files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }

d=$tmp/d1
headers="error handshake keysched ktls qkd sock stream"
expect="usr/sbin/qktlsd usr/sbin/qktls usr/bin/qktls-kme usr/bin/qktls-kme-sim
usr/lib/libqktls.so.1.0.0 usr/lib/libqktls.so.1 usr/lib/libqktls.so
usr/lib/ossl-modules/qktls.so
usr/lib/pkgconfig/libqktls.pc usr/include/linux/qktls.h
$(for h in $headers; do echo "usr/include/qktls/$h.h"; done)
usr/share/man/man1/qktls-kme.1 usr/share/man/man1/qktls-kme-sim.1
usr/share/man/man3/libqktls.3 usr/share/man/man5/qktlsd.conf.5
usr/share/man/man7/qktls-provider.7
usr/share/man/man8/qktlsd.8 usr/share/man/man8/qktls.8
usr/lib/systemd/system/qktlsd.service usr/lib/sysusers.d/qktlsd.conf
usr/share/bash-completion/completions/qktls
usr/share/bash-completion/completions/qktls-kme etc/qktls/qktlsd.conf"

# 1: the tree, PREFIX=/usr (configuration in /etc).
if ! mk "$d" install PREFIX=/usr; then
	tap_fail "make install DESTDIR PREFIX=/usr installs the tree" "make install failed"
else
	bad=
	for f in $expect; do
		[ -e "$d/$f" ] || bad="$bad missing:$f"
	done
	# Beyond those, only the man pages of libqktls's functions.
	for f in $(files "$d"); do
		case " $(echo $expect) " in *" $f "*) continue ;; esac
		[[ $f == usr/share/man/man3/qktls_*.3 ]] &&
			[ "$(cat "$d/$f")" = ".so man3/libqktls.3" ] && continue
		bad="$bad extra:$f"
	done
	for f in usr/share/man/man3/qktls_handshake.3 usr/share/man/man3/qktls_stream_open.3 \
		 usr/share/man/man3/qktls_sock_rekey_rx.3; do
		[ -e "$d/$f" ] || bad="$bad missing:$f"
	done
	for f in usr/sbin/qktlsd usr/sbin/qktls usr/bin/qktls-kme usr/bin/qktls-kme-sim; do
		[ "$(stat -c %a "$d/$f")" = 755 ] || bad="$bad mode:$f"
	done
	for f in usr/lib/libqktls.so.1.0.0 usr/include/qktls/sock.h usr/lib/pkgconfig/libqktls.pc \
		 usr/lib/systemd/system/qktlsd.service etc/qktls/qktlsd.conf; do
		[ "$(stat -c %a "$d/$f")" = 644 ] || bad="$bad mode:$f"
	done
	[ "$(readlink "$d/usr/lib/libqktls.so.1")" = libqktls.so.1.0.0 ] || bad="$bad link:so.1"
	[ "$(readlink "$d/usr/lib/libqktls.so")" = libqktls.so.1 ] || bad="$bad link:so"
	if [ -z "$bad" ]; then
		tap_ok "make install DESTDIR PREFIX=/usr installs the tree"
	else
		files "$d" | show
		tap_fail "make install DESTDIR PREFIX=/usr installs the tree" "$bad"
	fi
fi

# 2: the unit and the example configuration name the layout's paths.
unit=$d/usr/lib/systemd/system/qktlsd.service
if grep -qx "ExecStart=/usr/sbin/qktlsd -c /etc/qktls/qktlsd.conf" "$unit" &&
   grep -qx "User=qktlsd" "$unit" && grep -qx "CapabilityBoundingSet=CAP_NET_ADMIN" "$unit" &&
   grep -qx "AmbientCapabilities=CAP_NET_ADMIN" "$unit" &&
   grep -q 'certificate = "/etc/qktls/dc1.pem";' "$d/etc/qktls/qktlsd.conf" &&
   grep -q '^u qktlsd ' "$d/usr/lib/sysusers.d/qktlsd.conf"; then
	tap_ok "the unit runs /usr/sbin/qktlsd on /etc/qktls/qktlsd.conf as qktlsd with CAP_NET_ADMIN"
else
	show "$unit"
	tap_fail "the unit runs /usr/sbin/qktlsd on /etc/qktls/qktlsd.conf as qktlsd with CAP_NET_ADMIN"
fi

# 3: libqktls.so's soname, and its dependencies.
lib=$d/usr/lib/libqktls.so.1.0.0
readelf -d "$lib" >"$tmp/dyn" 2>&1
if grep -q "(SONAME).*\[libqktls.so.1\]" "$tmp/dyn" && grep -q "NEEDED.*libcrypto" "$tmp/dyn"; then
	tap_ok "libqktls.so.1.0.0 has the soname libqktls.so.1"
else
	show "$tmp/dyn"
	tap_fail "libqktls.so.1.0.0 has the soname libqktls.so.1"
fi

# 4: pkg-config on the staged tree.
export PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_PATH=$d/usr/lib/pkgconfig
cflags=$(pkg-config --cflags libqktls 2>"$tmp/pc.err") &&
	libs=$(pkg-config --libs libqktls 2>>"$tmp/pc.err") &&
	version=$(pkg-config --modversion libqktls 2>>"$tmp/pc.err")
if [[ " $cflags " == *" -I$d/usr/include "* ]] && [[ " $libs " == *" -L$d/usr/lib -lqktls "* ]] &&
   [ "$version" = 0.1 ]; then
	tap_ok "pkg-config --cflags --libs libqktls: $cflags $libs (version $version)"
else
	show "$tmp/pc.err"
	tap_fail "pkg-config --cflags --libs libqktls" "'$cflags' '$libs' '$version'"
fi

# 5-6: a program against the installed headers and library alone.
cat >"$tmp/prog.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <qktls/error.h>
#include <qktls/handshake.h>
#include <qktls/keysched.h>
#include <qktls/ktls.h>
#include <qktls/qkd.h>
#include <qktls/sock.h>
#include <qktls/stream.h>

int main(int argc, char **argv)
{
	const struct qktls_suite_info *si = qktls_suite_by_name("TLS_AES_256_GCM_SHA384");
	struct qktls_result r;
	int ret;

	if (argc != 2 || !si)
		return 1;
	printf("suite %#x\n", (unsigned int)si->suite);
	printf("strerror %s\n", qktls_strerror(-QKTLS_E_NOMODULE));
	ret = qktls_handshake_at(argv[1], 0, "l1", QKTLS_ROLE_CLIENT, &r);
	printf("handshake %d %s\n", ret, r.error);
	return ret == -ENOENT ? 0 : 1;
}
EOF
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror -pedantic $cflags -o "$tmp/prog" "$tmp/prog.c" $libs \
	>"$tmp/cc.out" 2>&1 && readelf -d "$tmp/prog" | grep -q "NEEDED.*\[libqktls.so.1\]"; then
	tap_ok "a program builds against the installed headers and links libqktls.so.1"
else
	show "$tmp/cc.out"
	tap_fail "a program builds against the installed headers and links libqktls.so.1"
fi
LD_LIBRARY_PATH=$d/usr/lib "$tmp/prog" "$tmp/no-agent.sock" >"$tmp/prog.out" 2>&1
rc=$?
ldd "$tmp/prog" >"$tmp/ldd.out" 2>&1
if [ "$rc" -eq 0 ] && grep -qx "suite 0x1302" "$tmp/prog.out" &&
   grep -q "^strerror qktls.ko is not loaded" "$tmp/prog.out" &&
   grep -q "^handshake -2 cannot reach qktlsd at $tmp/no-agent.sock" "$tmp/prog.out" &&
   grep -q "libqktls.so.1 => not found" "$tmp/ldd.out"; then
	tap_ok "it runs on the DESTDIR's library (LD_LIBRARY_PATH; none on the system)"
else
	show "$tmp/prog.out" "$tmp/ldd.out"
	tap_fail "it runs on the DESTDIR's library" "exit status $rc"
fi

# 7: the library exports exactly the functions the installed headers declare.
printf '#include <qktls/%s.h>\n' $headers >"$tmp/all.c"
# shellcheck disable=SC2086
cc -E -P $cflags "$tmp/all.c" | grep -oE '\bqktls_[a-z0-9_]+ *\(' | sed 's/ *($//' |
	sort -u >"$tmp/declared"
nm -D --defined-only "$lib" >"$tmp/nm"
awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" | sort -u >"$tmp/exported"
others=$(awk '!($2 == "T" && $3 ~ /^qktls_/) && !($2 == "A" && $3 == "LIBQKTLS_1")' "$tmp/nm")
if [ -s "$tmp/declared" ] && cmp -s "$tmp/declared" "$tmp/exported" && [ -z "$others" ]; then
	tap_ok "nm -D: the $(wc -l <"$tmp/exported") functions of the headers, version LIBQKTLS_1, nothing else"
else
	diff "$tmp/declared" "$tmp/exported" | show
	echo "$others" | show
	tap_fail "nm -D: exactly the functions of the installed headers"
fi

# 8-9: the bash completions, with a qktls on PATH that lists two pools.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\n[ "$*" = "pool list" ] && printf "alpha keys 3 capacity 8\\nbeta keys 0 capacity 4 peer x\\n"\n' \
	>"$tmp/bin/qktls"
chmod +x "$tmp/bin/qktls"
# comp FILE FUNC WORD...: what FUNC offers for the last WORD (may be empty).
comp() {
	PATH=$tmp/bin:$PATH bash -c '. "$1" || exit 1; f=$2; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		echo "${COMPREPLY[*]}"' _ "$@"
}
bc=$d/usr/share/bash-completion/completions
got1=$(comp "$bc/qktls" _qktls qktls po)
got2=$(comp "$bc/qktls" _qktls qktls pool "")
got3=$(comp "$bc/qktls" _qktls qktls -j key flush "")
got4=$(comp "$bc/qktls" _qktls qktls key add alpha --r)
if [ "$got1" = pool ] && [ "$got2" = "add set del show list help" ] &&
   [ "$got3" = "alpha beta" ] && [ "$got4" = "--raw" ]; then
	tap_ok "bash completion of qktls: objects, verbs, pool names, options"
else
	tap_fail "bash completion of qktls" "'$got1' '$got2' '$got3' '$got4'"
fi
touch "$tmp/sae-cert.pem"
got1=$(comp "$bc/qktls-kme" _qktls_kme qktls-kme -p g)
got2=$(comp "$bc/qktls-kme" _qktls_kme qktls-kme --cert "$tmp/sae-c")
got3=$(comp "$bc/qktls-kme" _qktls_kme qktls-kme -u https://k:1 get "")
got4=$(comp "$bc/qktls-kme" _qktls_kme qktls-kme --ti)
if [ "$got1" = "get get-by-id" ] && [ "$got2" = "$tmp/sae-cert.pem" ] && [ -z "$got3" ] &&
   [ "$got4" = "--timeout" ]; then
	tap_ok "bash completion of qktls-kme: commands, files, options"
else
	tap_fail "bash completion of qktls-kme" "'$got1' '$got2' '$got3' '$got4'"
fi

# 10: the example configuration is valid once its files exist.
mkdir -p "$tmp/etc"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/etc/dc1.key" -out "$tmp/etc/dc1.pem" -subj /CN=dc1.example.net \
	-days 1 2>"$tmp/req.err" || show "$tmp/req.err"
for f in ca.pem kme-client.pem kme-ca.pem; do cp "$tmp/etc/dc1.pem" "$tmp/etc/$f"; done
cp "$tmp/etc/dc1.key" "$tmp/etc/kme-client.key"
sed -e "s|/etc/qktls/|$tmp/etc/|" -e 's|"replication"|"root"|' \
	"$d/etc/qktls/qktlsd.conf" >"$tmp/example.conf"
# The agent with the sanitizers when there is one (a report exits 86).
qktlsd=$top/build/tests/helpers/qktlsd-san
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd
if ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=exitcode=86:halt_on_error=1 \
   "$qktlsd" --check-config -c "$tmp/example.conf" >"$tmp/check.out" 2>&1; then
	tap_ok "the example configuration passes --check-config (with its files made)"
else
	show "$tmp/check.out"
	tap_fail "the example configuration passes --check-config"
fi

# 11: uninstall leaves no file behind.
if mk "$d" uninstall PREFIX=/usr && [ -z "$(files "$d")" ]; then
	tap_ok "make uninstall removes every file, the unchanged example configuration too"
else
	files "$d" | show
	tap_fail "make uninstall removes every file"
fi

# 12-13: a configuration that was there stays, through install and uninstall.
d=$tmp/d2
mkdir -p "$d/etc/qktls"
echo '# mine' >"$d/etc/qktls/qktlsd.conf"
if mk "$d" install PREFIX=/usr && [ "$(cat "$d/etc/qktls/qktlsd.conf")" = "# mine" ] &&
   grep -q "qktlsd.conf exists: left as it is" "$tmp/make.out"; then
	tap_ok "make install leaves an existing qktlsd.conf as it is"
else
	tap_fail "make install leaves an existing qktlsd.conf as it is"
fi
if mk "$d" uninstall PREFIX=/usr && [ "$(files "$d")" = etc/qktls/qktlsd.conf ] &&
   [ "$(cat "$d/etc/qktls/qktlsd.conf")" = "# mine" ]; then
	tap_ok "make uninstall removes everything else and keeps that qktlsd.conf"
else
	files "$d" | show
	tap_fail "make uninstall removes everything else and keeps that qktlsd.conf"
fi

# 14-15: the default PREFIX, /usr/local, configuration in /usr/local/etc.
d=$tmp/d3
if mk "$d" install && [ -x "$d/usr/local/sbin/qktlsd" ] && [ -e "$d/usr/local/lib/libqktls.so.1" ] &&
   unit=$(find "$d" -name qktlsd.service) && [ -n "$unit" ] &&
   grep -qx "ExecStart=/usr/local/sbin/qktlsd -c /usr/local/etc/qktls/qktlsd.conf" "$unit" &&
   grep -q 'ca = "/usr/local/etc/qktls/ca.pem";' "$d/usr/local/etc/qktls/qktlsd.conf"; then
	tap_ok "PREFIX defaults to /usr/local, the configuration to /usr/local/etc"
else
	files "$d" | show
	tap_fail "PREFIX defaults to /usr/local, the configuration to /usr/local/etc"
fi
if mk "$d" uninstall && [ -z "$(files "$d")" ]; then
	tap_ok "make uninstall with the default PREFIX leaves nothing"
else
	files "$d" | show
	tap_fail "make uninstall with the default PREFIX leaves nothing"
fi

# 16: no DESTDIR inside the build root is refused, before anything is copied.
if [ "${QKTLS_IN_ROOT:-}" != 1 ]; then
	tap_skip "make install without DESTDIR is refused in the build root" "not in the build root"
elif make -C "$top" --no-print-directory install >"$tmp/make.out" 2>&1; then
	tap_fail "make install without DESTDIR is refused in the build root" "it ran"
elif grep -q "inside the build root, name a DESTDIR" "$tmp/make.out" &&
     [ ! -e /usr/local/sbin/qktlsd ]; then
	tap_ok "make install without DESTDIR is refused in the build root"
else
	show "$tmp/make.out"
	tap_fail "make install without DESTDIR is refused in the build root"
fi
tap_done
