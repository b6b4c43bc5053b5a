#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian packages of `make deb` (build/deb/; tests/unit/deb.sh builds
# them) installed in the guest with dpkg, and the demo's two-namespace link
# (tools/demo/guest --installed) run from what they installed.  virtme-ng
# gives the guest writable overlays on /usr, /etc and /var, kept in the
# guest's memory, so dpkg installs into the guest's own root as on a host,
# maintainer scripts included, and the build root is never written.
# Run by tests/kernel/run while qktls is not loaded.
#
# Compiling qktls.ko in the guest, as qktls-dkms's postinst would, takes
# over ten minutes under TCG: DKMS's autoinstall is off during dpkg -i
# (/etc/dkms/no-autoinstall, DKMS's own switch), then DKMS adds the sources
# the package installed, is given the build that DKMS made in the build
# root (tests/unit/dkms.sh, build/dkms/built/KVER) from the same sources,
# compared file by file here, and installs it with dkms install (depmod
# included); modprobe then finds it.
#
#   1  dpkg -i of the five packages, then DKMS installs qktls.ko from
#      qktls-dkms's sources for this kernel (dkms status: installed)
#   2  the installed tree: the programs, libqktls.so.1 known to ldconfig,
#      the unit, the example configuration, the user qktlsd
#   3  the installed example configuration passes qktlsd --check-config
#      up to its certificate files, which the site must provide
#   4  the link between two network namespaces, with a KME simulator and an
#      agent per host, from the installed programs, qktls.ko from DKMS and
#      the demo's application built against libqktls-dev: DEMO OK
#   5  qktls.ko unloads after the link
#   6  dpkg --purge removes the packages: no file, no DKMS module left
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
kver=$(uname -r)
pkgs="qktls-dkms qktlsd libqktls1 libqktls-dev qktls-tools"

tap_plan 6
# Installing and running the link takes minutes under TCG: one boot is
# enough (QKTLS_DEB_KERNELS, series of uname -r, default 7.3); the other
# kernel loads DKMS's module in tests/kernel/dkms_load.sh.
run=no
for k in ${QKTLS_DEB_KERNELS:-7.3}; do
	case $kver in "$k".*) run=yes ;; esac
done
if [ $run = no ]; then
	for i in $(seq 6); do
		tap_skip "Debian packages $i" "runs in the boot of ${QKTLS_DEB_KERNELS:-7.3} only (QKTLS_DEB_KERNELS)"
	done
	tap_done
fi
debs=()
for p in $pkgs; do
	f=$(ls "$top"/build/deb/"${p}"_*.deb 2>/dev/null | head -n1)
	[ -n "$f" ] && debs+=("$f")
done
if [ ${#debs[@]} -ne 5 ]; then
	for i in $(seq 6); do
		tap_skip "Debian packages $i" "not all of $pkgs in build/deb: run make deb (tests/unit/deb.sh) first"
	done
	tap_done
fi

tmp=$(mktemp -d)
show() { sed 's/^/# /' "$@"; }
cleanup() {
	modprobe -r qktls 2>/dev/null
	dpkg --purge $pkgs >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# 1: install.  The guest has no systemd as init: the unit is installed, not
# run (it is not started on installation anyway).
ver=$(dpkg-deb -f "${debs[0]}" Version)
built=$top/build/dkms/built/$kver
step() { echo "\$ $*" >>"$tmp/dpkg.out"; "$@" >>"$tmp/dpkg.out" 2>&1; }
# virtme-ng bind-mounts single files over the guest's /etc (hosts, fstab,
# shadow...): dpkg, systemd-sysusers and ldconfig replace files by
# rename(), which fails on a mount point.  Each becomes a plain file in
# /etc's overlay, with the same contents.
for f in $(findmnt -rn -o TARGET | grep '^/etc/'); do
	[ -f "$f" ] || continue
	cp -p "$f" "$tmp/etc-file" && umount "$f" && cp -p "$tmp/etc-file" "$f" ||
		echo "# could not make $f a plain file"
	echo "# $f: was a mount point, now a file in /etc's overlay"
done
mkdir -p /etc/dkms
: >/etc/dkms/no-autoinstall
# man-db's trigger would rebuild the guest's whole manual database, minutes
# under TCG; its own switch turns that off (in the guest's overlay only).
rm -f /var/lib/man-db/auto-update
if step env DEBIAN_FRONTEND=noninteractive dpkg -i "${debs[@]}" &&
   step rm /etc/dkms/no-autoinstall &&
   step diff -r "$top/build/dkms/src/qktls-$ver" "/usr/src/qktls-$ver" &&
   step dkms add "qktls/$ver" &&
   step test -d "$built/$(uname -m)/module" &&
   step cp -a "$built" "/var/lib/dkms/qktls/$ver/" &&
   step dkms install "qktls/$ver" -k "$kver" &&
   dkms status -m qktls -k "$kver" | grep -q ': installed$'; then
	tap_ok "dpkg -i the packages; DKMS installed qktls.ko from qktls-dkms's sources for $kver"
else
	rm -f /etc/dkms/no-autoinstall
	tail -n 40 "$tmp/dpkg.out" | show
	tap_fail "dpkg -i the packages; DKMS installed qktls.ko from qktls-dkms's sources for $kver" \
		"(build/dkms/ comes from tests/unit/dkms.sh)"
fi

# 2: the tree.
bad=
for f in /usr/sbin/qktlsd /usr/sbin/qktls /usr/bin/qktls-kme /usr/bin/qktls-kme-sim; do
	[ -x "$f" ] || bad="$bad missing:$f"
done
for f in /usr/lib/systemd/system/qktlsd.service /etc/qktls/qktlsd.conf \
	 /usr/include/qktls/handshake.h /usr/share/man/man8/qktlsd.8.gz; do
	[ -e "$f" ] || bad="$bad missing:$f"
done
ldconfig -p | grep -E -q 'libqktls\.so\.1 .*=> (/usr)?/lib/' || bad="$bad ldconfig:libqktls.so.1"
getent passwd qktlsd >/dev/null || bad="$bad user:qktlsd"
if [ -z "$bad" ]; then
	tap_ok "the installed tree: programs, libqktls.so.1, unit, configuration, user qktlsd"
else
	tap_fail "the installed tree: programs, libqktls.so.1, unit, configuration, user qktlsd" "$bad"
fi

# 3: the example names certificates a site has yet to make; --check-config
# must get that far (the file parses, its settings are known) and say so.
/usr/sbin/qktlsd --check-config -c /etc/qktls/qktlsd.conf >"$tmp/check.out" 2>&1
# Every error is a file it cannot read or a group it cannot find.
if grep -q "'certificate': cannot read /etc/qktls/" "$tmp/check.out" &&
   ! grep -v -E ": cannot read /etc/qktls/|: no such group '|: [0-9]+ errors$" "$tmp/check.out" | grep -q .; then
	tap_ok "qktlsd --check-config on the installed example stops only at the site's files"
else
	show "$tmp/check.out"
	tap_fail "qktlsd --check-config on the installed example stops only at the site's files"
fi

# 4: the link, from the installed files only (PATH has no build tree).
if PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	"$top/tools/demo/guest" --installed --bytes 64M >"$tmp/demo.out" 2>&1 &&
   grep -qx 'DEMO OK' "$tmp/demo.out"; then
	grep -E '^    (qktls|qktlsd|kTLS)|^  (negotiated|QKD key reference|bytes through|rekeys)' "$tmp/demo.out" | show
	tap_ok "two-namespace link from the installed packages: DEMO OK"
else
	tail -n 60 "$tmp/demo.out" | show
	tap_fail "two-namespace link from the installed packages: DEMO OK"
fi

# 5: unload.
if modprobe -r qktls && [ ! -e /sys/module/qktls ]; then
	tap_ok "qktls.ko unloads after the link"
else
	tap_fail "qktls.ko unloads after the link"
fi

# 6: purge.
left=
if dpkg --purge $pkgs >"$tmp/purge.out" 2>&1; then
	for f in /usr/sbin/qktlsd /usr/sbin/qktls /usr/bin/qktls-kme /etc/qktls/qktlsd.conf \
		 /usr/src/qktls-*; do
		[ ! -e "$f" ] || left="$left $f"
	done
	left="$left$(ls /lib/modules/"$kver"/updates/dkms/qktls.ko* 2>/dev/null)"
	[ -z "$(dkms status -m qktls)" ] || left="$left dkms:$(dkms status -m qktls)"
	if [ -z "$left" ]; then
		tap_ok "dpkg --purge removes the packages, the DKMS module with them"
	else
		tap_fail "dpkg --purge removes the packages, the DKMS module with them" "left:$left"
	fi
else
	tail -n 20 "$tmp/purge.out" | show
	tap_fail "dpkg --purge removes the packages, the DKMS module with them"
fi
tap_done
