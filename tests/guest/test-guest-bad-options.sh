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
expect_rejected "event_idx=yes" "bad value 'yes' for event_idx= (expected on or off)"
expect_rejected "packed=1" "bad value '1' for packed= (expected on or off)"
expect_rejected "depth=0" "bad value '0' for depth="
# The queue's size is known once the device is: 64 entries.
expect_rejected "depth=65" "bad value '65' for depth= (gpu0.control has 64 entries)"
expect_rejected "timeout=-1" "bad value '-1' for timeout="
expect_rejected "on-error=stop" "bad value 'stop' for on-error= (expected exit or halt)"
expect_rejected "bug=typo" "bad value 'typo' for bug= (expected none, lost-kick, kick-always,"
expect_rejected "bug=no-irq-rearm" "bug=no-irq-rearm needs complete=irq"
expect_rejected "bug=stale-used-event complete=irq event_idx=off" "bug=stale-used-event needs event_idx"
expect_rejected "bug=chain-loop packed=on" "bug=chain-loop needs packed=off"
expect_rejected "bug=bad-next packed=on" "bug=bad-next needs packed=off"
expect_rejected "bug=packed-stale-wrap" "bug=packed-stale-wrap needs packed=on"
