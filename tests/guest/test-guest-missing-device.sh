#!/usr/bin/env bash
# test-guest-missing-device.sh - without the ivshmem-plain device (no
# trace region) or without virtio-gpu-pci, the demo guest says which
# device is missing over the serial port and exits non-zero
# (isa-debug-exit code 2: QEMU status 5).  A GPU that lacks a feature the
# command line insists on (packed=on, event_idx=on) is refused with a
# message naming it (status 7); event_idx left at its default follows
# what the device offers.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

# boot_without NAME DEVICE-ARGS...: the demo kernel with only these devices.
boot_without() {
	local name=$1
	shift
	qemu_start "$name" -machine q35 -m 64M -no-reboot -display none \
		-kernel "$DEMO_KERNEL" -append "frames=1 ${APPEND:-}" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-serial "file:$T/$name.serial" "$@"
	qemu_wait "$QEMU_PID" "$DEMO_TIMEOUT" || true
	DEMO_STATUS=$QEMU_STATUS
}

# expect_failure NAME STATUS "MESSAGE FRAGMENT"
expect_failure() {
	if [ "$DEMO_STATUS" != "$2" ]; then
		cat "$T/$1.serial" "$T/$1.stderr" >&2 || true
		fail "$1: QEMU exit status $DEMO_STATUS, expected $2"
	fi
	grep -qF "vqdemo: error: $3" "$T/$1.serial" || {
		cat "$T/$1.serial" >&2
		fail "$1: no serial message 'vqdemo: error: $3'"
	}
	pass "$1"
}

boot_without no-ivshmem -vga none -device virtio-gpu-pci
expect_failure no-ivshmem 5 "no ivshmem-plain device (PCI 1af4:1110) for the trace region"

boot_without no-gpu \
	-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$T/trace.region,share=on" \
	-device ivshmem-plain,memdev=vqtrace
expect_failure no-gpu 5 "no virtio-gpu-pci device (PCI 1af4:1050)"

# trace NAME: a trace region of its own for each boot.
trace() {
	echo "-object memory-backend-file,id=vqtrace,size=4M,mem-path=$T/$1.region,share=on" \
		"-device ivshmem-plain,memdev=vqtrace"
}

# shellcheck disable=SC2046 # trace's words are separate arguments
APPEND="packed=on" boot_without no-packed $(trace no-packed) -vga none -device virtio-gpu-pci
expect_failure no-packed 7 "gpu0: packed=on, but the device does not offer VIRTIO_F_RING_PACKED"

# shellcheck disable=SC2046
APPEND="event_idx=on" boot_without no-event-idx $(trace no-event-idx) -vga none \
	-device virtio-gpu-pci,event_idx=off
expect_failure no-event-idx 7 "gpu0: event_idx=on, but the device does not offer VIRTIO_RING_F_EVENT_IDX"

# shellcheck disable=SC2046
boot_without event-idx-default $(trace event-idx-default) -vga none \
	-device virtio-gpu-pci,event_idx=off
[ "$DEMO_STATUS" = 0 ] || fail "event-idx-default: QEMU exit status $DEMO_STATUS, expected 0"
grep -q "running: .* event_idx=off packed=off " "$T/event-idx-default.serial" ||
	fail "event-idx-default: the guest did not fall back to event_idx=off"
check_trace check "$T/event-idx-default.region" --demo --frames 1 --event-idx off ||
	fail "event-idx-default: trace invariants violated"
pass "event_idx follows the device's offer by default"
