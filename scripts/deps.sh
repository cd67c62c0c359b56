#!/usr/bin/env bash
# deps.sh - check (and as root, install) the Debian packages vqscope needs.
#
# Fast path: one dpkg-query call; when everything is installed it exits 0
# without touching the network.  As root it runs `apt-get update` once and
# installs what is missing; otherwise it prints the exact apt-get line and
# exits 1.
set -euo pipefail

packages=(
	build-essential clang llvm lld pkg-config clang-format
	libncurses-dev libjson-c-dev libbpf-dev libelf-dev zlib1g-dev libzstd-dev
	libcmocka-dev libclang-rt-14-dev
	bpftool qemu-system-x86 qemu-utils
	tmux cpio busybox-static valgrind python3
	rustc # Debian's 1.63: the Rust binding (guest-driver/rust) and its tests
	libmicrohttpd-dev prometheus # vqscope exporter, and the real Prometheus its tests scrape with
	man-db groff-base # the man pages' test (man -l, groff -ww)
	libvirt-dev libvirt-daemon-system libvirt-clients # libvirt:DOMAIN sources and their test
)

missing=()
# dpkg-query prints one "name status" line per known package; unknown
# packages go to stderr and count as missing.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
	if ! grep -qE "^${p} ii" <<<"$installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
	echo "deps.sh: run as root:  apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done" >&2
