#!/usr/bin/env bash
# test-tui-shrink.sh - the live view when mapped files shrink under it.
# The trace region cut to 4096 bytes (guest paused first, through a second
# QMP monitor, so that QEMU never touches the missing pages): the view
# stays up, says "trace region FILE shrank to 4096 bytes while attached",
# closes the recording it was making (a clean file), keeps the device-side
# view (QMP) and redrawing, and exits with status 4.  Guest RAM cut below
# the rings while the ring screen reads them: a message, no crash, and
# the view goes on.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

guest_start g "log=off"
tui_start 200 50 "'$VQSCOPE' top '$GUEST_QMP'"
wait_screen 60 '^ *0 gpu0\.control +64 '
keys r
wait_screen 10 'recording to vqscope-[0-9-]+\.vqt'
rec=$(screen | sed -nE 's/.*recording to (vqscope-[0-9-]+\.vqt).*/\1/p' | head -1)
sleep 1
qmp "$GUEST_DIR/mon.qmp" stop >/dev/null
wait_screen 10 ' VM paused '
truncate -s 4096 "$GUEST_DIR/trace.region"
wait_screen 10 "shrank to 4096 bytes while attached"
wait_screen 10 "is closed and valid"
"$VQSCOPE" report "$T/$rec" >"$T/report.txt" 2>"$T/report.warn" || fail "report of $rec"
[ ! -s "$T/report.warn" ] || fail "$rec is not clean: $(cat "$T/report.warn")"
grep -q 'ended: trace region shrank to 4096 bytes while attached' "$T/report.txt" ||
	fail "the recording does not say how it ended"
clock() { screen | head -1 | grep -oE '[0-9]{2}:[0-9]{2}:[0-9]{2} *$'; }
first=$(clock)
changed() { [ "$(clock)" != "$first" ]; }
wait_for 10 changed || fail "the view stopped redrawing"
# The device side: QEMU's indices of the control queue, sampled through QMP.
screen_has 'DEV A/U' || fail "no device-side column"
screen | grep -Eq '^ *0 gpu0\.control .* [0-9]+/[0-9]+ +[0-9]+/[0-9]+ ' ||
	fail "no device-side indices for gpu0.control"
pass "region cut to 4096 bytes: the view says so, $rec is closed and clean, the device side goes on"

keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 4 ] || fail "exit status $TUI_EXIT, expected 4"
check_terminal_restored
pass "q then exits with status 4 and restores the terminal"
qemu_stop "$GUEST_PID"
tui_stop

# ---- guest RAM cut below the rings while the ring screen reads them -------------------
guest_start g2 "log=off"
tui_start 120 40 "'$VQSCOPE' top --no-device '$GUEST_QMP'"
wait_screen 60 '^gpu0\.control +[0-9]+ +[0-9]+/[0-9]+ '
keys 2
wait_screen 10 '^guest RAM +used ring: +idx [0-9]+'
qmp "$GUEST_DIR/mon.qmp" stop >/dev/null
truncate -s 512K "$GUEST_DIR/guest.ram"
wait_screen 10 "guest RAM .*shrank to 524288 bytes while attached"
wait_screen 10 'guest RAM not mapped'
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "exit status $TUI_EXIT after guest RAM shrank"
check_terminal_restored
pass "guest RAM cut to 512 KiB: a message, the ring view without RAM, a clean exit"
