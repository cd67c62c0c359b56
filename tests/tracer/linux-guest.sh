#!/usr/bin/env bash
# linux-guest.sh - a stock Debian Linux guest for the tracer's tests and
# benchmarks: the kernel of Debian's linux-image-*-cloud-amd64 package with
# its virtio modules, and a busybox initramfs around an init script.
#
# Source it (tests) or run it:
#
#   linux-guest.sh fetch CACHE_DIR      download and unpack the kernel once
#   linux-guest.sh initramfs CACHE_DIR OUT INIT [FILE...]
#                                       build OUT (cpio newc, gzip): busybox,
#                                       the modules, INIT as /init, FILEs in /bin
#
# The package comes from Debian's archive with apt-get download and is kept
# in CACHE_DIR (the tests use $O/linux-guest), so only the first run needs
# the network.  fetch exits 77 when the archive cannot be reached.

# Modules the guest loads, in dependency order (closure computed from the
# modules' own "depends=" fields).
LINUX_GUEST_MODULES=(virtio_pci virtio_blk virtio-rng)
LINUX_GUEST_META=linux-image-cloud-amd64

_lg_die() {
	echo "linux-guest: $*" >&2
	return 1
}

# Name of the versioned kernel package the metapackage points at.
_lg_package() {
	apt-cache depends "$LINUX_GUEST_META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1
}

# depends= of one module file, comma separated.
_lg_module_depends() {
	local info
	info=$(mktemp)
	objcopy --dump-section .modinfo="$info" "$1" /dev/null 2>/dev/null || true
	tr '\0' '\n' <"$info" | sed -n 's/^depends=//p'
	rm -f "$info"
}

# _lg_order DIR NAME: print NAME's dependencies, then NAME (depth first).
_lg_order() {
	local dir=$1 name=$2 dep file
	file=$(find "$dir" -name "$name.ko" | head -n 1)
	[ -n "$file" ] || _lg_die "module $name.ko is not in the package" || return 1
	for dep in $(_lg_module_depends "$file" | tr ',' ' '); do
		_lg_order "$dir" "$dep" || return 1
	done
	echo "$name"
}

# linux_guest_fetch CACHE: fills CACHE/vmlinuz and CACHE/modules/ (the .ko
# files and "order", one per line).  Returns 77 when the archive is out of
# reach, 1 on other errors.
linux_guest_fetch() {
	local cache=$1 pkg deb tries unpack name
	mkdir -p "$cache"
	cache=$(realpath "$cache") # the fetch below runs inside it
	if [ -s "$cache/ready" ] && [ -s "$cache/vmlinuz" ] && [ -s "$cache/modules/order" ]; then
		return 0
	fi
	(
		# One fetch at a time per cache directory.
		flock 9
		[ -s "$cache/ready" ] && exit 0
		pkg=$(_lg_package)
		if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
			apt-get update -qq >/dev/null 2>&1 || true
			pkg=$(_lg_package)
		fi
		if [ -z "$pkg" ]; then
			echo "linux-guest: cannot resolve $LINUX_GUEST_META with apt-cache (no package lists?)" >&2
			exit 77
		fi
		rm -f "$cache"/*.deb
		for tries in 1 2 3; do
			(cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>"$cache/download.log") && break
			sleep $((tries * 2))
		done
		deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | head -n 1)
		if [ -z "$deb" ]; then
			echo "linux-guest: apt-get download $pkg failed (Debian archive unreachable?):" >&2
			tail -n 3 "$cache/download.log" >&2
			exit 77
		fi
		unpack=$(mktemp -d "$cache/unpack.XXXXXX")
		dpkg-deb -x "$deb" "$unpack" || exit 1
		rm -rf "$cache/modules"
		mkdir -p "$cache/modules"
		cp "$unpack"/boot/vmlinuz-* "$cache/vmlinuz" || exit 1
		for name in "${LINUX_GUEST_MODULES[@]}"; do
			_lg_order "$unpack/lib/modules" "$name" || exit 1
		done | awk '!seen[$0]++' >"$cache/modules/order"
		while read -r name; do
			cp "$(find "$unpack/lib/modules" -name "$name.ko" | head -n 1)" "$cache/modules/"
		done <"$cache/modules/order"
		rm -rf "$unpack" "$deb"
		echo "$pkg" >"$cache/ready"
	) 9>"$cache/.lock"
}

# linux_guest_initramfs CACHE OUT INIT [FILE...]
linux_guest_initramfs() {
	local cache=$1 out=$2 init=$3 root f
	shift 3
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
	cp /bin/busybox "$root/bin/busybox" || { rm -rf "$root"; return 1; }
	cp "$cache"/modules/*.ko "$cache/modules/order" "$root/lib/modules/"
	cp "$init" "$root/init"
	chmod 0755 "$root/init"
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
	initramfs) shift; linux_guest_initramfs "$@" ;;
	*)
		echo "usage: $0 fetch CACHE_DIR | initramfs CACHE_DIR OUT INIT [FILE...]" >&2
		exit 2
		;;
	esac
fi
