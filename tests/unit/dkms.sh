#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# DKMS in the build root: `make dkms-source` puts qktls.ko's sources and
# dkms.conf in /usr/src/qktls-VERSION, then the stock dkms commands add,
# build and install the module for every kernel with headers (7.3 and
# 6.12), as on a host.  The build root is shared and cached, so all of it
# happens in a mount namespace of its own where /usr/src and /lib/modules
# are overlays whose upper layers, and /var/lib/dkms, are directories under
# build/dkms: the root itself is never written.  The modules dkms installed
# are kept in build/dkms/ko/KVER/ for tests/kernel/dkms_load.sh, which loads
# them in the VM boot of each kernel, and DKMS's builds in
# build/dkms/built/KVER/ for tests/kernel/deb_link.sh (make check runs this
# suite before the kernel suites).
#
#   1  make dkms-source: exactly the sources and dkms.conf, with the version
#   2  dkms add: qktls/VERSION added from /usr/src
#   3  dkms build, per kernel: built
#   4  dkms install, per kernel: installed in updates/dkms, for that kernel
#      (vermagic), from the same sources as make's build (srcversion), and
#      found by depmod/modinfo under its name
#   5  dkms remove --all: no module left, dkms knows none
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
cd "$top" || exit 1
kvers=$(cd /lib/modules && for k in *; do [ -e "$k/build/include" ] && echo "$k"; done)
nk=$(echo "$kvers" | wc -w)
ntests=$((3 + 2 * nk))

# Outside the namespace: set it up and run this script again in it.
if [ "${QKTLS_DKMS_NS:-}" != 1 ]; then
	if ! command -v dkms >/dev/null || [ "$nk" = 0 ] || [ "$(id -u)" != 0 ]; then
		tap_plan "$ntests"
		for _ in $(seq "$ntests"); do
			tap_skip "dkms" "needs root, dkms and kernel headers (the build root)"
		done
		tap_done
	fi
	w=$top/build/dkms
	rm -rf "$w"
	mkdir -p "$w"/{src,src.work,modules,modules.work,var}
	# The namespace (its mounts private already: tools/buildroot/enter):
	# overlays on /usr/src and /lib/modules (the real
	# directory, not the /lib symlink), /var/lib/dkms bound to build/dkms.
	modules=$(realpath /lib/modules)
	exec unshare --mount --propagation unchanged -- /bin/bash -c '
		set -e
		w=$1 modules=$2
		shift 2
		mount -t overlay -o "lowerdir=/usr/src,upperdir=$w/src,workdir=$w/src.work" qktls-dkms /usr/src
		mount -t overlay -o "lowerdir=$modules,upperdir=$w/modules,workdir=$w/modules.work" qktls-dkms "$modules"
		mkdir -p /var/lib/dkms
		mount --bind "$w/var" /var/lib/dkms
		QKTLS_DKMS_NS=1 exec "$@"' dkms "$w" "$modules" "$0"
fi

tap_plan "$ntests"
w=$top/build/dkms
show() { sed 's/^/# /' "$@"; }
ver=$(sed -n 's/^QKTLS_VERSION *:= *//p' tools/build/install.mk)
src=/usr/src/qktls-$ver
mod=qktls/$ver

# 1: the source tree.
if make -s --no-print-directory dkms-source DESTDIR=/ >"$w/make.out" 2>&1; then
	expect=$( (echo Kbuild kernel/Kbuild uapi/linux/qktls.h tests/vectors/keysched.h dkms.conf
		   ls kernel/*.c kernel/*.h) | tr ' ' '\n' | sort)
	got=$(cd "$src" && find . -type f | sed 's|^\./||' | sort)
	if [ "$got" = "$expect" ] && [ -n "$ver" ] &&
	   grep -qx "PACKAGE_VERSION=\"$ver\"" "$src/dkms.conf" &&
	   cmp -s kernel/main.c "$src/kernel/main.c"; then
		tap_ok "make dkms-source: the module's sources and dkms.conf in $src"
	else
		diff <(echo "$expect") <(echo "$got") | show
		tap_fail "make dkms-source: the module's sources and dkms.conf in $src" \
			"version '$ver'; dkms.conf: $(grep VERSION "$src/dkms.conf")"
	fi
else
	show "$w/make.out"
	tap_fail "make dkms-source: the module's sources and dkms.conf in $src" "make failed"
fi

# status KVER: dkms status of the module for one kernel (", installed" ...).
status() { dkms status -m qktls -v "$ver" -k "$1" 2>&1; }

# 2: add.
if dkms add "$mod" >"$w/add.out" 2>&1 && dkms status -m qktls -v "$ver" | grep -q ': added$'; then
	tap_ok "dkms add $mod"
else
	show "$w/add.out"
	tap_fail "dkms add $mod"
fi

# 3, 4: build and install for each kernel.
for k in $kvers; do
	if dkms build "$mod" -k "$k" >"$w/build-$k.out" 2>&1 && status "$k" | grep -q ': built$'; then
		tap_ok "dkms build $mod for $k"
	else
		tail -n 30 "$w/build-$k.out" | show
		show "/var/lib/dkms/qktls/$ver/build/make.log" 2>/dev/null | tail -n 30
		tap_fail "dkms build $mod for $k"
	fi
	if dkms install "$mod" -k "$k" >"$w/install-$k.out" 2>&1 &&
	   status "$k" | grep -q ': installed$' && [ -n "$(ls "/lib/modules/$k/updates/dkms/"qktls.ko* 2>/dev/null)" ]; then
		ko=$(ls "/lib/modules/$k/updates/dkms/"qktls.ko*)
		vm=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
		sv=$(modinfo -F srcversion "$ko")
		sv_make=$(modinfo -F srcversion "build/ko/$k/kernel/qktls.ko" 2>/dev/null)
		found=$(modinfo -k "$k" -n qktls 2>&1)
		if [ "$vm" = "$k" ] && [ "$sv" = "$sv_make" ] && [ "$found" = "$ko" ]; then
			tap_ok "dkms install $mod for $k: $ko"
		else
			tap_fail "dkms install $mod for $k: $ko" \
				"vermagic '$vm', srcversion '$sv' (make: '$sv_make'), modinfo finds '$found'"
		fi
	else
		tail -n 30 "$w/install-$k.out" | show
		tap_fail "dkms install $mod for $k"
	fi
done

# Keep the installed modules for the VM (tests/kernel/dkms_load.sh), and
# DKMS's build of each kernel (its tree in /var/lib/dkms) for
# tests/kernel/deb_link.sh: copies, since remove deletes both.
for k in $kvers; do
	mkdir -p "$w/ko/$k" "$w/built"
	cp /lib/modules/"$k"/updates/dkms/qktls.ko* "$w/ko/$k/" 2>/dev/null
	cp -a "/var/lib/dkms/qktls/$ver/$k" "$w/built/" 2>/dev/null
done

# 5: remove.
if dkms remove "$mod" --all >"$w/remove.out" 2>&1 &&
   [ -z "$(ls /lib/modules/*/updates/dkms/qktls.ko* 2>/dev/null)" ] &&
   [ -z "$(dkms status -m qktls)" ]; then
	tap_ok "dkms remove $mod --all: no module left"
else
	show "$w/remove.out"
	tap_fail "dkms remove $mod --all: no module left"
fi
tap_done
