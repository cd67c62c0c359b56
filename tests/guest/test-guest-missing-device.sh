#!/usr/bin/env bash
# test-guest-missing-device.sh - without the ivshmem-plain device (no
# trace region) or without virtio-gpu-pci, the demo guest says which
# device is missing over the serial port and exits non-zero
# (isa-debug-exit code 2: QEMU status 5).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

# boot_without NAME DEVICE-ARGS...: the demo kernel with only these devices.
boot_without() {
	local name=$1
	shift
	qemu_start "$name" -machine q35 -m 64M -no-reboot -display none \
		-kernel "$DEMO_KERNEL" -append "frames=1" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-serial "file:$T/$name.serial" "$@"
	qemu_wait "$QEMU_PID" "$DEMO_TIMEOUT" || true
	DEMO_STATUS=$QEMU_STATUS
}

# expect_missing NAME "MESSAGE FRAGMENT"
expect_missing() {
	if [ "$DEMO_STATUS" != 5 ]; then
		cat "$T/$1.serial" "$T/$1.stderr" >&2 || true
		fail "$1: QEMU exit status $DEMO_STATUS, expected 5"
	fi
	grep -qF "vqdemo: error: $2" "$T/$1.serial" || {
		cat "$T/$1.serial" >&2
		fail "$1: no serial message 'vqdemo: error: $2'"
	}
	pass "$1"
}

boot_without no-ivshmem -vga none -device virtio-gpu-pci
expect_missing no-ivshmem "no ivshmem-plain device (PCI 1af4:1110) for the trace region"

boot_without no-gpu \
	-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$T/trace.region,share=on" \
	-device ivshmem-plain,memdev=vqtrace
expect_missing no-gpu "no virtio-gpu-pci device (PCI 1af4:1050)"
