#!/usr/bin/env bash
# test-tui-readonly.sh - r (record) in the live view when the working
# directory cannot be written (a read-only tmpfs, or /sys if mounting is
# not allowed): one clear message naming the file and why, no recording
# badge, and the view keeps running; q exits with status 0.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

ro=$T/ro
mkdir -p "$ro"
if mount -t tmpfs -o ro,size=64k tmpfs "$ro" 2>/dev/null; then
	at_exit "umount '$ro'"
	why="Read-only file system"
else
	ro=/sys
	why="Permission denied"
fi

guest_start g "log=off"
tui_start 120 40 "cd '$ro' && '$VQSCOPE' top '$GUEST_QMP'"
wait_screen 60 '^gpu0\.control +[0-9]+ +[0-9]+/[0-9]+ '
keys r
wait_screen 10 "cannot record: vqscope-[0-9-]+\.vqt: $why"
screen_has ' REC ' && fail "a REC badge without a recording"
events_now() { screen_number 'events ([0-9]+) \|'; }
events_above() { [ "$(events_now)" -gt "$1" ]; }
first=$(events_now)
wait_for 20 events_above "$first" || fail "the view stopped after the failed r"
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "exit status $TUI_EXIT"
check_terminal_restored
pass "r in a read-only directory: '$why', and the view goes on"
