#!/usr/bin/env bash
# test-guest-bad-options.sh - a bad kernel command line stops the demo
# guest with a serial message naming the option and the value, and a
# non-zero exit (isa-debug-exit code 1: QEMU status 3), before it touches
# any device.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

n=0
# expect_rejected "OPTIONS" "MESSAGE FRAGMENT"
expect_rejected() {
	local name=bad$((n += 1))
	demo_boot "$name" 1 "$1"
	if [ "$DEMO_STATUS" != 3 ]; then
		demo_serial "$name"
		fail "'$1': QEMU exit status $DEMO_STATUS, expected 3"
	fi
	grep -qF "vqdemo: error: $2" "$T/$name/serial.log" || {
		demo_serial "$name"
		fail "'$1': no serial message 'vqdemo: error: $2'"
	}
	if grep -q "running:" "$T/$name/serial.log"; then
		fail "'$1': the guest started rendering anyway"
	fi
	pass "'$1' rejected"
}

expect_rejected "barrier=fast" "bad value 'fast' for barrier= (expected seqcst-every, on-progress, acquire-every or none)"
expect_rejected "flush=lines" "bad value 'lines' for flush="
expect_rejected "lines=0" "bad value '0' for lines="
expect_rejected "log=yes" "bad value 'yes' for log="
expect_rejected "uart=9600" "bad value '9600' for uart="
expect_rejected "complete=msi" "bad value 'msi' for complete="
expect_rejected "size=12x10000" "bad value '12x10000' for size="
expect_rejected "speed=11" "unknown option 'speed'"
expect_rejected "barrier" "option 'barrier' has no value"
# --frames puts frames=1 first; a later bad one must still be caught.
expect_rejected "frames=-2" "bad value '-2' for frames="
