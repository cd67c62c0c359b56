#!/usr/bin/env bash
# demo.sh - what `make demo` runs after building: boot the demo guest in
# QEMU and open vqscope's live view on it (vqscope run).  q quits and
# stops QEMU.
#
#   scripts/demo.sh [VQSCOPE-RUN-OPTIONS...]      e.g. --accel kvm
#
# It uses the build in $O (default build/, the one `make demo` just
# built): $O/vqscope and the demo kernel $O/guest-driver/demo/vqdemo.elf.
# The demo guest runs with vqscope run's default command line
# "frames=0 flush=line log=frame uart=115200 barrier=on-progress"
# (--append replaces it; docs/guest.md lists the options).  TCG unless
# --accel kvm or VQ_ACCEL=kvm.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${O:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

die() {
	echo "demo.sh: $*" >&2
	exit 2
}

vqscope=$BUILD/vqscope
kernel=$BUILD/guest-driver/demo/vqdemo.elf
[ -x "$vqscope" ] || die "no $vqscope (run make O=$BUILD first)"
[ -r "$kernel" ] || die "no demo kernel at $kernel (run make O=$BUILD first)"
if ! [ -t 0 ] || ! [ -t 1 ]; then
	die "the live view needs a terminal; without one, try: $vqscope run --batch --count 5"
fi

# --accel from the arguments wins over VQ_ACCEL.
accel=(--accel "${VQ_ACCEL:-tcg}")
for arg in "$@"; do
	case "$arg" in --accel | --accel=* | -a*) accel=() ;; esac
done

echo "demo.sh: booting the demo guest ($kernel) under QEMU; q quits, ? lists the keys"
export VQSCOPE_DEMO_KERNEL=$kernel
exec "$vqscope" run ${accel[@]+"${accel[@]}"} "$@"
