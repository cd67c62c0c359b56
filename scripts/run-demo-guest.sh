#!/usr/bin/env bash
# run-demo-guest.sh - boot the vqscope demo guest in QEMU.
#
#   scripts/run-demo-guest.sh [--dir DIR] [--accel tcg|kvm] [--frames N]
#       [--append "OPTIONS"] [--region-size 4M] [--resolution 640x480]
#       [--memory 128M] [--display none|gtk|sdl] [--kernel PATH]
#       [--background] [-- EXTRA-QEMU-ARGS...]
#
# The runtime directory DIR (created 0700 if missing, else a new private
# one under $XDG_RUNTIME_DIR or /tmp; refused while the QEMU started in it
# still runs) holds:
#
#   qmp.sock      QMP socket
#   qmp2.sock     a second QMP socket: QEMU serves one client per socket, so
#                 `vqscope record` can run beside `vqscope top`
#   trace.region  the trace region (ivshmem-plain memory backend, shared)
#   guest.ram     guest RAM (shared, so the host can read descriptor tables)
#   serial.log    the guest's serial console
#   qemu.log      QEMU's own stdout/stderr (--background only)
#   qemu.args     the QEMU command line, one argument per line
#
# The first line printed is "dir=DIR".  In the foreground the script then
# becomes QEMU (same PID), so its exit status is QEMU's: 0 when the guest
# powered off after frames=N, (code << 1) | 1 when it failed with
# isa-debug-exit code `code` (see docs/guest.md).  With --background it
# prints "pid=PID" once the QMP socket exists and returns.
#
# The QEMU command line (what `vqscope run` starts too):
#
#   qemu-system-x86_64 -accel tcg -nodefaults -no-user-config -no-reboot \
#     -machine q35,memory-backend=ram -m 128M \
#     -object memory-backend-file,id=ram,size=128M,mem-path=DIR/guest.ram,share=on \
#     -kernel vqdemo.elf -append "frames=N OPTIONS" \
#     -vga none -device virtio-gpu-pci,xres=640,yres=480,packed=on \
#     -object memory-backend-file,id=vqtrace,size=4M,mem-path=DIR/trace.region,share=on \
#     -device ivshmem-plain,memdev=vqtrace \
#     -device isa-debug-exit,iobase=0xf4,iosize=4 \
#     -serial file:DIR/serial.log \
#     -qmp unix:DIR/qmp.sock,server=on,wait=off \
#     -qmp unix:DIR/qmp2.sock,server=on,wait=off \
#     -display none
#
# With --accel kvm (or VQ_ACCEL=kvm): -accel kvm -cpu host.
#
# packed=on makes the GPU offer VIRTIO_F_RING_PACKED; the guest uses it
# only with its own packed=on option (docs/guest.md), split rings
# otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${O:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

usage() {
	sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
}

die() {
	echo "run-demo-guest.sh: $*" >&2
	exit 2
}

# needs_value OPTION [VALUE...]: the option is followed by its value.
needs_value() {
	[ $# -ge 2 ] || die "$1 needs a value (try --help)"
}

# The PID of a QEMU that still serves DIR/qmp.sock (started by this
# script), if there is one: its sockets and files must not be removed from
# under it, which would leave it running with no way to reach it.
qemu_serving_dir() {
	local proc comm arg

	for proc in /proc/[0-9]*; do
		{ read -r comm <"$proc/comm"; } 2>/dev/null || continue
		[[ $comm == qemu-system-* ]] || continue
		while IFS= read -r -d '' arg; do
			if [ "$arg" = "unix:$dir/qmp.sock,server=on,wait=off" ]; then
				echo "${proc#/proc/}"
				return 0
			fi
		done 2>/dev/null <"$proc/cmdline" || true
	done
	return 1
}

dir=
accel=${VQ_ACCEL:-tcg}
frames=
append=
region_size=4M
resolution=640x480
memory=128M
display=none
kernel=$BUILD/guest-driver/demo/vqdemo.elf
background=0
extra=()

while [ $# -gt 0 ]; do
	case "$1" in
	--dir) needs_value "$@"; dir=$2; shift 2 ;;
	--accel) needs_value "$@"; accel=$2; shift 2 ;;
	--frames) needs_value "$@"; frames=$2; shift 2 ;;
	--append) needs_value "$@"; append=$2; shift 2 ;;
	--region-size) needs_value "$@"; region_size=$2; shift 2 ;;
	--resolution) needs_value "$@"; resolution=$2; shift 2 ;;
	--memory) needs_value "$@"; memory=$2; shift 2 ;;
	--display) needs_value "$@"; display=$2; shift 2 ;;
	--kernel) needs_value "$@"; kernel=$2; shift 2 ;;
	--background) background=1; shift ;;
	-h | --help) usage ;;
	--) shift; extra=("$@"); break ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done

# size_bytes 4M -> 4194304; empty on a malformed size.
size_bytes() {
	local n=${1%[KkMmGg]} unit=${1:${#1}-1}
	[[ "$n" =~ ^[0-9]+$ ]] || return 0
	case "$unit" in
	[Kk]) echo $((n << 10)) ;;
	[Mm]) echo $((n << 20)) ;;
	[Gg]) echo $((n << 30)) ;;
	*) [[ "$1" =~ ^[0-9]+$ ]] && echo "$1" ;;
	esac
}

case "$accel" in
tcg) accel_args=(-accel tcg) ;;
kvm) accel_args=(-accel kvm -cpu host) ;;
*) die "bad --accel '$accel' (expected tcg or kvm)" ;;
esac
case "$display" in
none | gtk | sdl) ;;
*) die "bad --display '$display' (expected none, gtk or sdl)" ;;
esac
if [ -n "$frames" ] && ! [[ "$frames" =~ ^[0-9]+$ ]]; then
	die "bad --frames '$frames' (expected a number, 0 for no limit)"
fi
region=$(size_bytes "$region_size")
if [ -z "$region" ] || [ "$region" -lt 65536 ] || [ "$region" -gt 1073741824 ] ||
	[ $((region & (region - 1))) -ne 0 ]; then
	die "bad --region-size '$region_size' (expected a power of two from 64K to 1G)"
fi
if ! [[ "$resolution" =~ ^([0-9]+)x([0-9]+)$ ]]; then
	die "bad --resolution '$resolution' (expected WIDTHxHEIGHT)"
fi
xres=${BASH_REMATCH[1]}
yres=${BASH_REMATCH[2]}
ram=$(size_bytes "$memory")
if [ -z "$ram" ] || [ "$ram" -lt $((32 << 20)) ] || [ $((ram & ((1 << 20) - 1))) -ne 0 ]; then
	die "bad --memory '$memory' (expected whole MiB, at least 32M)"
fi
[ -r "$kernel" ] || die "no demo kernel at $kernel (run make first)"

if [ -z "$dir" ]; then
	dir=$(mktemp -d "${XDG_RUNTIME_DIR:-/tmp}/vqscope.XXXXXX")
elif [ ! -d "$dir" ]; then
	(umask 077 && mkdir -p "$dir")
fi
chmod 0700 "$dir"
[ -O "$dir" ] || die "runtime dir $dir is not owned by $(id -un)"
dir=$(cd "$dir" && pwd)
if running=$(qemu_serving_dir); then
	die "$dir is in use by QEMU pid $running: stop it first (kill $running) or choose another --dir"
fi
rm -f "$dir/qmp.sock" "$dir/qmp2.sock" "$dir/trace.region" "$dir/guest.ram" "$dir/serial.log"

cmdline=$append
[ -n "$frames" ] && cmdline="frames=$frames${cmdline:+ $cmdline}"

# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64 "${accel_args[@]}" -nodefaults -no-user-config -no-reboot
	-machine q35,memory-backend=ram -m "$((ram >> 20))M"
	-object "memory-backend-file,id=ram,size=$ram,mem-path=$dir/guest.ram,share=on"
	-kernel "$kernel" -append "$cmdline"
	-vga none -device "virtio-gpu-pci,xres=$xres,yres=$yres,packed=on"
	-object "memory-backend-file,id=vqtrace,size=$region,mem-path=$dir/trace.region,share=on"
	-device ivshmem-plain,memdev=vqtrace
	-device isa-debug-exit,iobase=0xf4,iosize=4
	-serial "file:$dir/serial.log"
	-qmp "unix:$dir/qmp.sock,server=on,wait=off"
	-qmp "unix:$dir/qmp2.sock,server=on,wait=off"
	-display "$display"
	"${extra[@]}")
printf '%s\n' "${qemu[@]}" >"$dir/qemu.args"

echo "dir=$dir"
if [ "$background" = 0 ]; then
	exec "${qemu[@]}"
fi

"${qemu[@]}" >"$dir/qemu.log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 100); do
	[ -S "$dir/qmp.sock" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$dir/qemu.log" >&2
		die "QEMU exited before creating $dir/qmp.sock"
	fi
	sleep 0.1
done
[ -S "$dir/qmp.sock" ] || die "QEMU (pid $pid) did not create $dir/qmp.sock"
echo "pid=$pid"
