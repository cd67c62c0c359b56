#!/usr/bin/env bash
# test-guest-bugs.sh - each bug= of the demo guest says so at boot and
# shows its symptom: in the guest's own report, in the trace and guest
# RAM (check_trace names the violated rule) and, for the descriptor-table
# bugs, in QEMU, which marks the device broken (QMP x-query-virtio-status,
# with on-error=halt keeping QEMU up).  The bugs that hang the queue are
# ended by timeout=3, which also shows that timeout= works.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

# bug NAME STATUS FRAMES "OPTIONS" [run-demo-guest.sh args]: boot with
# bug=NAME, expect QEMU exit STATUS and the banner; leaves the checker's
# output in $T/NAME.check.
bug() {
	local name=$1 status=$2 frames=$3 options=$4
	shift 4
	demo_boot "$name" "$frames" "bug=$name log=off uart=fast timeout=3 $options" "$@"
	if [ "$DEMO_STATUS" != "$status" ]; then
		demo_serial "$name"
		fail "bug=$name: QEMU exit status $DEMO_STATUS, expected $status"
	fi
	grep -q "^vqdemo: bug=$name is on: " "$T/$name/serial.log" || {
		demo_serial "$name"
		fail "bug=$name: no boot banner naming the bug"
	}
	check_trace check "$T/$name/trace.region" --ram "$T/$name/guest.ram" \
		>"$T/$name.check" 2>&1 && fail "bug=$name: check_trace found nothing wrong"
	return 0
}

# says NAME TEXT: the guest's serial log has TEXT (a fixed string).
says() {
	grep -qF "$2" "$T/$1/serial.log" || {
		demo_serial "$1"
		fail "bug=$1: the guest did not say '$2'"
	}
}

# finds NAME TEXT: check_trace reported TEXT (a fixed string).
finds() {
	grep -qF "$2" "$T/$1.check" || {
		cat "$T/$1.check" >&2
		fail "bug=$1: check_trace did not report '$2'"
	}
}

bug lost-kick 7 4 "flush=line event_idx=on"
says lost-kick "vqdemo: error: gpu0.control: no used buffer within 3 s"
finds lost-kick "KICK_SUPPRESSED at avail index 8, but the state read (event 0x0007, flags 0x0000, driver 0x0000) asked for a notification"
finds lost-kick "1 buffers added but never used"
pass "bug=lost-kick: the 8th needed notification is skipped and the queue stalls"

# Suppressed decisions need event idx, a split ring and commands in
# flight: some 120 of 2405 decisions here (timing decides how many).
bug kick-always 0 10 "depth=64 flush=line lines=1" --region-size 8M
finds kick-always "kick decisions go against the suppression state read"
finds kick-always "said no notification was needed"
pass "bug=kick-always: notifications the device declined are sent anyway"

bug no-irq-rearm 7 4 "complete=irq"
says no-irq-rearm "no used-buffer notification within 3 s: used.idx is 2, the driver took 1; 1 in flight; notifications off"
finds no-irq-rearm "1 used buffers wait (used.idx 2) with notifications off"
pass "bug=no-irq-rearm: notifications stay off and the driver waits for nothing"

bug stale-used-event 7 4 "complete=irq"
says stale-used-event "no used-buffer notification within 3 s: used.idx is 2, the driver took 1; 1 in flight; notifications on"
finds stale-used-event "1 used buffers wait (used.idx 2) and notifications were on at used_event 1, yet no interrupt came"
pass "bug=stale-used-event: used_event lands after the device passed it, no interrupt"

bug leak 7 20 "flush=line"
says leak "the ring ran dry: 0 of 64 descriptors free, nothing in flight to wait for"
finds leak "USED at used index 8, expected 7"
finds leak "32 buffers added but never used"
pass "bug=leak: heads stay in flight while others complete, until the ring runs dry"

bug double-reap 7 4 "flush=line"
says double-reap "used element 7 names id 0, which is not in flight"
finds double-reap "USED head 0 was not in flight"
finds double-reap "USED at used index 7, expected 8"
pass "bug=double-reap: one used element is processed twice"

# The 8th completion's chain is credited twice: the driver's count, which
# it publishes in the queue table, says 2 more are free than there are.
bug free-miscount 9 4 ""
says free-miscount "self-check: 0 buffers in flight, 66 of 64 descriptors free"
finds free-miscount "66 of 64 descriptors free with nothing in flight"
pass "bug=free-miscount: the driver counts a freed chain twice"

# With commands in flight, a used element is taken with the id of the one
# before it, whose chain is free already.
bug stale-used-id 7 20 "depth=8 flush=line"
says stale-used-id "which is not in flight"
finds stale-used-id "was not in flight"
pass "bug=stale-used-id: a used element names a chain that is already free"

# broken NAME QEMU-MESSAGE CHECK-TEXT: boot with on-error=halt, wait for
# the guest's verdict, ask QEMU whether it marked the device broken.
broken() {
	local name=$1 path status
	demo_start "$name" "bug=$name log=off uart=fast timeout=3 on-error=halt" --frames 4
	wait_for 60 grep -qs "^vqdemo: halted (on-error=halt" "$DEMO_DIR/serial.log" || {
		demo_serial "$name"
		fail "bug=$name: the guest did not halt after its error"
	}
	grep -q "^vqdemo: bug=$name is on: " "$DEMO_DIR/serial.log" || fail "bug=$name: no banner"
	says "$name" "device set DEVICE_NEEDS_RESET (status 0x4f) with 1 buffers in flight"
	path=$(qmp "$DEMO_DIR/qmp.sock" x-query-virtio | python3 -c \
		'import json, sys; print([d["path"] for d in json.load(sys.stdin) if d["name"] == "virtio-gpu"][0])') ||
		fail "bug=$name: no virtio-gpu in x-query-virtio"
	status=$(qmp "$DEMO_DIR/qmp.sock" x-query-virtio-status "{\"path\": \"$path\"}") ||
		fail "bug=$name: x-query-virtio-status failed"
	python3 -c 'import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if s["broken"] and any("NEEDS_RESET" in x for x in s["status"]["statuses"]) else 1)' \
		"$status" || fail "bug=$name: QEMU does not report the device broken: $status"
	qmp "$DEMO_DIR/qmp.sock" quit >/dev/null || true
	demo_wait "$name"
	grep -qF "$2" "$T/$name.stderr" || {
		cat "$T/$name.stderr" >&2
		fail "bug=$name: QEMU did not say '$2'"
	}
	check_trace check "$DEMO_DIR/trace.region" --ram "$DEMO_DIR/guest.ram" >"$T/$name.check" 2>&1 &&
		fail "bug=$name: check_trace found nothing wrong"
	finds "$name" "$3"
}

broken chain-loop "Looped descriptor" "the chain of head 0 is longer than the ring: its next fields loop (descriptor 0 links to 0)"
pass "bug=chain-loop: QEMU marks the device broken (Looped descriptor)"

broken bad-next "Desc next is 64" "the chain of head 0 links descriptor 0 to 64, past the table of 64"
pass "bug=bad-next: QEMU marks the device broken (Desc next is 64)"

bug len-overflow 0 4 ""
says len-overflow "GET_DISPLAY_INFO: the device wrote 408 bytes into a 24-byte response buffer whose descriptor said 408"
finds len-overflow "4 USED events report more bytes than their chain; first:"
finds len-overflow "reports 408 bytes written, its chain posted 48"
pass "bug=len-overflow: the device writes more than the buffer holds"

bug packed-stale-wrap 7 4 "packed=on"
says packed-stale-wrap "no used buffer within 3 s ("
says packed-stale-wrap "descriptor 2 has flags 0x81 (used wrap 0)"
finds packed-stale-wrap "KICK puts the driver at 0x8002, the chains added put it at 0x0002"
finds packed-stale-wrap "descriptor 2 (the last chain's head, id 0) has flags 0x0081: its AVAIL/USED bits belong to lap 1, the chains before it put it in lap 0"
pass "bug=packed-stale-wrap: the next chain is marked available in the wrong lap"

# poll-no-barrier is barrier=none's code path, whatever barrier= says.
demo_boot poll-no-barrier 4 "bug=poll-no-barrier barrier=on-progress log=off uart=fast flush=line"
demo_expect_done poll-no-barrier
says poll-no-barrier "vqdemo: bug=poll-no-barrier is on: "
says poll-no-barrier "running: barrier=none "
check_trace check "$T/poll-no-barrier/trace.region" --policy none --frames 4 >/dev/null ||
	fail "bug=poll-no-barrier: the trace is not barrier=none's"
check_trace check "$T/poll-no-barrier/trace.region" --policy on-progress \
	>"$T/poll-no-barrier.check" 2>&1 && fail "bug=poll-no-barrier: the polls have fences"
finds poll-no-barrier "executed 0 barriers, barrier=on-progress executes 1"
pass "bug=poll-no-barrier: no fence between seeing progress and reading the used element"
