#!/usr/bin/env bash
# linux-demo.sh - what `make linux-demo` runs after building: boot a stock
# Debian cloud kernel in QEMU with virtio-net, virtio-blk and virtio-rng,
# run vqscope-trace and a small workload (ping and dd) inside it, and open
# vqscope's live view on it.  q quits and stops QEMU.  docs/tracer.md walks
# through it.
#
#   scripts/linux-demo.sh [--accel tcg|kvm] [--batch N] [--method M] [--keep]
#
#   --accel    tcg (default, or VQ_ACCEL) or kvm
#   --batch N  instead of the live view, print N updates of the overview as
#              JSON lines (vqscope top --batch --json), then stop
#   --method   the tracer's hook method (auto, fentry, kprobe, tracepoint)
#   --keep     keep the runtime directory afterwards
#
# It uses the build in $O (default build/): $O/vqscope, $O/vqscope-trace,
# and Debian's kernel package, fetched once with apt-get download into
# $O/linux-guest (tests/tracer/linux-guest.sh).  The runtime directory (a
# new private one under $XDG_RUNTIME_DIR or /tmp, printed first) holds:
#
#   qmp.sock       QMP for the live view
#   qmp2.sock      a second QMP socket, for `vqscope record` at the same time
#   trace.region   the trace region (ivshmem-plain memory backend)
#   guest.ram      guest RAM, shared, so vqscope can read the rings
#   disk.img       the virtio-blk disk (16 MiB of random bytes)
#   serial.log     the guest's console
#   qemu.log       QEMU's own output; qemu.args its command line
#
# The guest: 10.0.2.15/24 on QEMU's user network (gateway 10.0.2.2), the
# tracer writing to the first ivshmem-plain device (--shm auto), and a loop
# that pings the gateway, reads and writes the disk with O_DIRECT and
# reads the entropy device, pausing a second between rounds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${O:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

die() {
	echo "linux-demo.sh: $*" >&2
	exit 2
}

accel=${VQ_ACCEL:-tcg}
batch=
method=
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--accel) accel=${2?--accel needs a value}; shift 2 ;;
	--batch) batch=${2?--batch needs a count}; shift 2 ;;
	--method) method=${2?--method needs a value}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
done
case "$accel" in
tcg) accel_args=(-accel tcg) ;;
kvm) accel_args=(-accel kvm -cpu host) ;;
*) die "bad --accel '$accel' (expected tcg or kvm)" ;;
esac
if [ -n "$batch" ] && ! [[ "$batch" =~ ^[1-9][0-9]*$ ]]; then
	die "bad --batch '$batch' (expected a number of updates)"
fi
case "$method" in
"" | auto | fentry | kprobe | tracepoint) ;;
*) die "bad --method '$method' (expected auto, fentry, kprobe or tracepoint)" ;;
esac

vqscope=$BUILD/vqscope
trace=$BUILD/vqscope-trace
[ -x "$vqscope" ] && [ -x "$trace" ] || die "no $vqscope or $trace (run make O=$BUILD first)"
if [ -z "$batch" ] && { ! [ -t 0 ] || ! [ -t 1 ]; }; then
	die "the live view needs a terminal; without one, try: $0 --batch 5"
fi

. "$ROOT/tests/tracer/linux-guest.sh"
cache=$BUILD/linux-guest
rc=0
linux_guest_fetch "$cache" || rc=$?
[ "$rc" = 77 ] && die "Debian's kernel package is out of reach (see above)"
[ "$rc" = 0 ] || die "cannot prepare the Debian kernel in $cache"

dir=$(mktemp -d "${XDG_RUNTIME_DIR:-/tmp}/vqscope-linux.XXXXXX")
chmod 0700 "$dir"
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$qemu_pid" 2>/dev/null || true
	fi
	if [ "$keep" = 1 ]; then
		echo "linux-demo.sh: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "dir=$dir"

# ---- the guest ------------------------------------------------------------------

linux_guest_init_head vqdemo >"$dir/init"
cat >>"$dir/init" <<'EOF'
guest_wait 10 "no /dev/vda or eth0" test -b /dev/vda -a -d /sys/class/net/eth0
guest_net_up
tracer_start --shm auto @METHOD@
sed "s/^/vqdemo: /" /tmp/trace.err
say "workload: ping, dd and the entropy device, a round a second"
round=0
while :; do
	traffic_round $round
	round=$((round + 1))
	sleep 1
done
EOF
sed -i "s|@METHOD@|${method:+--method $method}|" "$dir/init"
linux_guest_initramfs "$cache" "$dir/initrd" "$dir/init" "$trace" ||
	die "cannot build the initramfs"
dd if=/dev/urandom of="$dir/disk.img" bs=1M count=16 status=none

# Every option, and what it is for, is in docs/tracer.md ("make linux-demo").
# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64 "${accel_args[@]}" -nodefaults -no-user-config -no-reboot
	-machine q35,memory-backend=ram -m 512M
	-object "memory-backend-file,id=ram,size=512M,mem-path=$dir/guest.ram,share=on"
	-kernel "$cache/vmlinuz" -initrd "$dir/initrd"
	-append "$LINUX_GUEST_APPEND"
	-serial "file:$dir/serial.log" -display none
	-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$dir/trace.region,share=on"
	-device ivshmem-plain,memdev=vqtrace
	-drive "file=$dir/disk.img,if=virtio,format=raw"
	-device virtio-rng-pci
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0
	-qmp "unix:$dir/qmp.sock,server=on,wait=off"
	-qmp "unix:$dir/qmp2.sock,server=on,wait=off")
printf '%s\n' "${qemu[@]}" >"$dir/qemu.args"
"${qemu[@]}" >"$dir/qemu.log" 2>&1 </dev/null &
qemu_pid=$!

echo "linux-demo.sh: booting Debian's kernel ($(cat "$cache/version")) with the tracer inside; the console is $dir/serial.log"
# The tracer's start-up lines tell it is tracing; give TCG time to boot.
for _ in $(seq 1200); do
	grep -q "vqdemo: workload" "$dir/serial.log" 2>/dev/null && break
	kill -0 "$qemu_pid" 2>/dev/null || { cat "$dir/qemu.log" >&2; die "QEMU exited"; }
	sleep 0.1
done
grep -q "vqdemo: workload" "$dir/serial.log" ||
	{ tail -n 20 "$dir/serial.log" >&2; die "the guest did not start its workload within 120 s"; }
sed -n 's/^vqdemo: //p' "$dir/serial.log" | tr -d '\r'
echo "linux-demo.sh: record at the same time with: $vqscope record -o linux.vqt $dir/qmp2.sock"

if [ -n "$batch" ]; then
	"$vqscope" top --batch --json --count "$batch" "$dir/qmp.sock"
else
	echo "linux-demo.sh: opening the live view; q quits and stops QEMU, ? lists the keys"
	sleep 1
	"$vqscope" top "$dir/qmp.sock"
fi
