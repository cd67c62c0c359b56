#!/usr/bin/env bash
# linux-guest.sh - a stock Debian Linux guest for the tracer's tests, its
# benchmarks and `make linux-demo`: the kernel of Debian's
# linux-image-*-cloud-amd64 package with its modules, and a busybox
# initramfs around an init script.
#
# Source it (tests, scripts) or run it:
#
#   linux-guest.sh fetch CACHE_DIR      download and unpack the kernel once
#   linux-guest.sh modules CACHE_DIR MODULE...
#                                       print the modules to load for
#                                       MODULE... with their dependencies,
#                                       in load order (from modules.dep)
#   linux-guest.sh initramfs CACHE_DIR OUT INIT [FILE...]
#                                       build OUT (cpio newc, gzip): busybox,
#                                       the modules, INIT as /init, FILEs in
#                                       /bin, and guest-lib.sh (the inits'
#                                       shared steps) as /lib/guest-lib.sh
#
# The package comes from Debian's archive with apt-get download.  The .deb
# stays in CACHE_DIR (the tests use $O/linux-guest) next to the unpacked
# kernel and module tree, so only the first run needs the network.  The
# package has no modules.dep (Debian's postinst makes it), so fetch runs
# depmod (kmod's, or busybox's) on the unpacked tree once.  fetch exits 77
# when the archive cannot be reached.
#
# The initramfs holds the modules named in LINUX_GUEST_MODULES (an array;
# set it before calling initramfs to change it) and their dependencies as
# /lib/modules/NAME.ko, and /lib/modules/order listing NAMEs in the order
# to insmod them.

# What the guests load by default: virtio over PCI, the block, entropy and
# network drivers.  virtio_net needs net_failover and failover, which
# modules.dep supplies.
LINUX_GUEST_MODULES=(virtio_pci virtio_blk virtio-rng virtio_net)
LINUX_GUEST_META=linux-image-cloud-amd64
# The kernel command line: the console on the first serial port, a panic
# ends QEMU (with -no-reboot), and no boot-time check of the IO-APIC timer,
# which an emulated CPU on a busy host can fail ("IO-APIC + timer doesn't
# work!" and a panic).
LINUX_GUEST_APPEND="console=ttyS0 quiet panic=-1 no_timer_check"

_lg_die() {
	echo "linux-guest: $*" >&2
	return 1
}

# Name of the versioned kernel package the metapackage points at.
_lg_package() {
	apt-cache depends "$LINUX_GUEST_META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1
}

# _lg_depmod ROOT VERSION: write ROOT/lib/modules/VERSION/modules.dep.
_lg_depmod() {
	local depmod
	depmod=$(PATH=$PATH:/sbin:/usr/sbin command -v depmod || true)
	if [ -n "$depmod" ]; then
		"$depmod" -b "$1" "$2"
	else
		busybox depmod -b "$1" "$2"
	fi
}

# linux_guest_fetch CACHE: fills CACHE/vmlinuz, CACHE/lib/modules/VERSION
# (with modules.dep) and CACHE/version, and keeps the .deb in CACHE/deb/.
# Returns 77 when the archive is out of reach, 1 on other errors.
linux_guest_fetch() {
	local cache=$1 pkg deb tries unpack version
	mkdir -p "$cache"
	cache=$(realpath "$cache") # the fetch below runs inside it
	if [ -s "$cache/ready-2" ] && [ -s "$cache/vmlinuz" ]; then
		return 0
	fi
	(
		# One fetch at a time per cache directory.
		flock 9
		[ -s "$cache/ready-2" ] && exit 0
		mkdir -p "$cache/deb"
		deb=$(ls "$cache"/deb/linux-image-*.deb 2>/dev/null | head -n 1)
		if [ -z "$deb" ]; then
			pkg=$(_lg_package)
			if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
				apt-get update -qq >/dev/null 2>&1 || true
				pkg=$(_lg_package)
			fi
			if [ -z "$pkg" ]; then
				echo "linux-guest: cannot resolve $LINUX_GUEST_META with apt-cache (no package lists?)" >&2
				exit 77
			fi
			for tries in 1 2 3; do
				(cd "$cache/deb" && apt-get download -q "$pkg" >/dev/null 2>"$cache/download.log") && break
				sleep $((tries * 2))
			done
			deb=$(ls "$cache"/deb/"$pkg"_*.deb 2>/dev/null | head -n 1)
			if [ -z "$deb" ]; then
				echo "linux-guest: apt-get download $pkg failed (Debian archive unreachable?):" >&2
				tail -n 3 "$cache/download.log" >&2
				exit 77
			fi
		fi
		unpack=$(mktemp -d "$cache/unpack.XXXXXX")
		dpkg-deb -x "$deb" "$unpack" || exit 1
		version=$(ls "$unpack/lib/modules" | head -n 1)
		[ -n "$version" ] || { rm -rf "$unpack"; _lg_die "no lib/modules in $deb"; exit 1; }
		_lg_depmod "$unpack" "$version" || { rm -rf "$unpack"; _lg_die "depmod failed"; exit 1; }
		rm -rf "$cache/lib" "$cache/modules" "$cache/ready"
		mkdir -p "$cache/lib/modules"
		mv "$unpack/lib/modules/$version" "$cache/lib/modules/"
		cp "$unpack"/boot/vmlinuz-* "$cache/vmlinuz" || exit 1
		rm -rf "$unpack"
		echo "$version" >"$cache/version"
		basename "$deb" >"$cache/ready-2"
	) 9>"$cache/.lock"
}

# _lg_resolve DIR MODULE: MODULE's dependencies (from modules.dep), then
# MODULE, as paths relative to DIR, depth first.
_lg_resolve() {
	local dir=$1 name=$2 line path dep
	line=$(grep -m 1 -E "(^|/)$name\.ko(\.[a-z]+)?:" "$dir/modules.dep") ||
		_lg_die "module $name is not in $dir/modules.dep" || return 1
	path=${line%%:*}
	for dep in ${line#*:}; do
		dep=$(basename "$dep")
		_lg_resolve "$dir" "${dep%%.ko*}" || return 1
	done
	echo "$path"
}

# linux_guest_modules CACHE MODULE...: the module files to load, in order.
linux_guest_modules() {
	local cache=$1 dir name
	shift
	dir=$cache/lib/modules/$(cat "$cache/version")
	for name in "$@"; do
		_lg_resolve "$dir" "$name" || return 1
	done | awk '!seen[$0]++'
}

# linux_guest_init_head TAG: the first lines of an init script for these
# guests: busybox's commands, guest-lib.sh with TAG as the prefix of the
# console lines, and guest_boot (file systems and modules).
linux_guest_init_head() {
	printf '#!/bin/busybox sh\n/bin/busybox --install -s /bin\nTAG=%s\n. /lib/guest-lib.sh\nguest_boot\n' "$1"
}

# linux_guest_initramfs CACHE OUT INIT [FILE...]
linux_guest_initramfs() {
	local cache=$1 out=$2 init=$3 root f files dir
	shift 3
	dir=$cache/lib/modules/$(cat "$cache/version")
	files=$(linux_guest_modules "$cache" "${LINUX_GUEST_MODULES[@]}") || return 1
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
	cp /bin/busybox "$root/bin/busybox" || { rm -rf "$root"; return 1; }
	for f in $files; do
		cp "$dir/$f" "$root/lib/modules/" || { rm -rf "$root"; return 1; }
		f=$(basename "$f")
		echo "${f%%.ko*}" >>"$root/lib/modules/order"
	done
	cp "$init" "$root/init"
	chmod 0755 "$root/init"
	cp "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh" "$root/lib/guest-lib.sh"
	for f in "$@"; do
		cp "$f" "$root/bin/"
	done
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out"
	rm -rf "$root"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	fetch) linux_guest_fetch "$2" ;;
	modules) shift; linux_guest_modules "$@" ;;
	initramfs) shift; linux_guest_initramfs "$@" ;;
	*)
		echo "usage: $0 fetch CACHE_DIR | modules CACHE_DIR MODULE... | initramfs CACHE_DIR OUT INIT [FILE...]" >&2
		exit 2
		;;
	esac
fi
