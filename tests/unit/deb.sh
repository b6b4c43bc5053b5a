#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make deb in the build root: dpkg-buildpackage with debhelper builds the
# five packages into build/deb/ and lintian finds no error in them.  The
# packages stay there for tests/kernel/deb_link.sh, which installs them in
# the VM (make check runs this suite before the kernel suites).
#
#   1  make deb succeeds: lintian ran and reported no error; nothing was
#      written beside the source tree (dpkg-buildpackage's habit)
#   2  the five packages, at debian/changelog's version, which is the
#      version make install and dkms.conf use
#   3  each package holds what it should (dpkg-deb -c): qktls-dkms the
#      sources with dkms.conf, qktlsd the agent, unit, sysusers file,
#      example configuration and man pages, libqktls1 the shared library
#      only, libqktls-dev headers, .so link, .pc and man3, qktls-tools the
#      three programs, their man pages and completions
#   4  maintainer scripts: qktls-dkms's run DKMS for this version, qktlsd's
#      create the user (sysusers) and neither enable nor start the unit
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
cd "$top" || exit 1

tap_plan 4
if ! command -v dpkg-buildpackage >/dev/null || ! command -v lintian >/dev/null; then
	for i in 1 2 3 4; do tap_skip "make deb $i" "no dpkg-buildpackage or lintian (the build root has them)"; done
	tap_done
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
show() { sed 's/^/# /' "$@"; }
deb=build/deb
ver=$(sed -n 's/^QKTLS_VERSION *:= *//p' tools/build/install.mk)

# 1
before=$(ls -A .. | sort)
if make --no-print-directory deb >"$tmp/make.out" 2>&1; then
	after=$(ls -A .. | sort)
	grep -E '^[EW]: ' "$deb/lintian.txt" | show
	if [ "$before" = "$after" ] && [ -s "$deb/qktls_${ver}_amd64.changes" ] &&
	   ! grep -q '^E: ' "$deb/lintian.txt"; then
		tap_ok "make deb: dpkg-buildpackage and lintian (no errors; warnings above), nothing beside the tree"
	else
		diff <(echo "$before") <(echo "$after") | show
		tap_fail "make deb: dpkg-buildpackage and lintian (no errors; warnings above), nothing beside the tree"
	fi
else
	tail -n 40 "$tmp/make.out" | show
	tap_fail "make deb: dpkg-buildpackage and lintian (no errors; warnings above), nothing beside the tree"
fi

# 2
cver=$(dpkg-parsechangelog -l debian/changelog -S Version)
bad=
for p in qktls-dkms_${ver}_all qktlsd_${ver}_amd64 libqktls1_${ver}_amd64 \
	 libqktls-dev_${ver}_amd64 qktls-tools_${ver}_amd64; do
	[ -f "$deb/$p.deb" ] || bad="$bad missing:$p.deb"
done
if [ -z "$bad" ] && [ "$cver" = "$ver" ]; then
	tap_ok "five packages at version $ver (debian/changelog, make install, dkms.conf)"
else
	ls "$deb" | show
	tap_fail "five packages at version $ver" "changelog $cver;$bad"
fi

# 3: contents.
# files PKG: the package's files and links, sorted.
files() {
	dpkg-deb -c "$deb/$1.deb" 2>/dev/null | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./||' | sort
}
# expect PKG REGEX...: every file matches one REGEX, every REGEX one file.
expect() {
	local pkg=$1 f r list
	shift
	list=$(files "$pkg")
	[ -n "$list" ] || { bad="$bad $pkg:empty"; return; }
	for f in $list; do
		for r; do [[ $f =~ ^($r)$ ]] && continue 2; done
		bad="$bad $pkg:extra:$f"
	done
	for r; do
		grep -q -E "^($r)$" <<<"$list" || bad="$bad $pkg:missing:$r"
	done
}
bad=
ma=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
doc='usr/share/doc/PKG/(changelog\.gz|copyright)'
src=usr/src/qktls-$ver
expect "qktls-dkms_${ver}_all" "${doc//PKG/qktls-dkms}" "$src/dkms\.conf" "$src/Kbuild" \
	"$src/kernel/Kbuild" "$src/kernel/[a-z_]+\.[ch]" "$src/uapi/linux/qktls\.h" \
	"$src/tests/vectors/keysched\.h"
expect "qktlsd_${ver}_amd64" "${doc//PKG/qktlsd}" usr/sbin/qktlsd etc/qktls/qktlsd\.conf \
	usr/lib/systemd/system/qktlsd\.service usr/lib/sysusers\.d/qktlsd\.conf \
	usr/share/man/man5/qktlsd\.conf\.5\.gz usr/share/man/man8/qktlsd\.8\.gz
expect "libqktls1_${ver}_amd64" "${doc//PKG/libqktls1}" "usr/lib/$ma/libqktls\.so\.1(\.0\.0)?"
expect "libqktls-dev_${ver}_amd64" "${doc//PKG/libqktls-dev}" "usr/include/qktls/[a-z]+\.h" \
	usr/include/linux/qktls\.h "usr/lib/$ma/libqktls\.so" "usr/lib/$ma/pkgconfig/libqktls\.pc" \
	"usr/share/man/man3/(libqktls|qktls_[a-z0-9_]+)\.3\.gz"
expect "qktls-tools_${ver}_amd64" "${doc//PKG/qktls-tools}" usr/sbin/qktls usr/bin/qktls-kme \
	usr/bin/qktls-kme-sim usr/share/man/man8/qktls\.8\.gz \
	"usr/share/man/man1/qktls-kme(-sim)?\.1\.gz" "usr/share/bash-completion/completions/qktls(-kme)?" \
	"usr/lib/$ma/ossl-modules/qktls\.so" usr/share/man/man7/qktls-provider\.7\.gz
# The shared library exports what the -dev headers declare (install.sh
# checks the symbols); here: its soname is the package's.
dpkg-deb --fsys-tarfile "$deb/libqktls1_${ver}_amd64.deb" |
	tar -xOf - "./usr/lib/$ma/libqktls.so.1.0.0" >"$tmp/libqktls.so" 2>/dev/null
so=$(objdump -p "$tmp/libqktls.so" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
[ "$so" = libqktls.so.1 ] || bad="$bad soname:'$so'"
if [ -z "$bad" ]; then
	tap_ok "each package holds its files (dpkg-deb -c)"
else
	tap_fail "each package holds its files (dpkg-deb -c)" "$bad"
fi

# 4
mkdir -p "$tmp/dkms" "$tmp/qktlsd"
dpkg-deb -e "$deb/qktls-dkms_${ver}_all.deb" "$tmp/dkms" 2>/dev/null
dpkg-deb -e "$deb/qktlsd_${ver}_amd64.deb" "$tmp/qktlsd" 2>/dev/null
bad=
grep -q "common.postinst qktls \"$ver\"" "$tmp/dkms/postinst" 2>/dev/null || bad="$bad dkms-postinst"
grep -q "dkms remove -m qktls -v \"$ver\" --all" "$tmp/dkms/prerm" 2>/dev/null || bad="$bad dkms-prerm"
grep -q 'systemd-sysusers.*qktlsd\.conf' "$tmp/qktlsd/postinst" 2>/dev/null || bad="$bad sysusers"
# Not started; enabled only again on upgrades where the admin had it enabled
# (debhelper's no-enable snippet: "debian-installed" guards "enable").
grep -E -q 'deb-systemd-invoke|systemctl .*start' "$tmp/qktlsd/postinst" 2>/dev/null && bad="$bad starts-unit"
grep -q "deb-systemd-helper debian-installed 'qktlsd.service'" "$tmp/qktlsd/postinst" 2>/dev/null ||
	bad="$bad enables-unit"
if [ -z "$bad" ]; then
	tap_ok "maintainer scripts: DKMS add/build/install and remove; user from sysusers; unit neither enabled nor started"
else
	for f in "$tmp"/dkms/postinst "$tmp"/dkms/prerm "$tmp"/qktlsd/postinst; do
		[ -f "$f" ] && { echo "# --- $f"; show "$f"; }
	done
	tap_fail "maintainer scripts: DKMS add/build/install and remove; user from sysusers; unit neither enabled nor started" "$bad"
fi
tap_done
