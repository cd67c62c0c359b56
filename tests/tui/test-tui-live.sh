#!/usr/bin/env bash
# test-tui-live.sh - drive `vqscope top` in tmux against the demo guest:
# the overview lists gpu0.control with moving counters; p pauses the VM
# and c resumes it (checked with query-status on a second QMP monitor);
# step mode lets exactly one event through per key; the ring view shows
# every slot state (used-but-not-reaped live, available and in-device
# when walking back through the history); r records a valid .vqt; the
# screen stays whole at 80x24 and 200x60; q restores the terminal.  Then
# replay the recording: n/N step forward and back to the same states.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

guest_start g "frames=0 flush=line log=frame uart=115200 barrier=on-progress"
tui_start 120 40 "'$VQSCOPE' top '$GUEST_QMP'"

# ---- overview: the control queue with moving counters ---------------------------------
wait_screen 60 '^gpu0\.control +[0-9]+ +[0-9]+/[0-9]+ '
wait_screen 30 'vqdemo .* gen 1'
events_now() { screen_number 'events ([0-9]+) \|'; }
events_above() { [ "$(events_now)" -gt "$1" ]; }
first=$(events_now)
wait_for 30 events_above "$first" || fail "the event count stayed at $first"
screen_has 'NAME +INFL +AVAIL/USED +DEV A/U +ADD/s .*IRQ/s' || fail "no column titles (with IRQ/s)"
pass "overview lists gpu0.control and its counters move"

# ---- p pauses the VM, c resumes it --------------------------------------------------------
vm_is() { qmp "$GUEST_DIR/mon.qmp" query-status | grep -q "\"status\": \"$1\""; }
keys p
wait_for 20 vm_is paused || fail "p did not pause the VM"
wait_screen 10 ' VM paused '
keys c
wait_for 20 vm_is running || fail "c did not resume the VM"
wait_screen 10 ' VM running '
pass "p pauses the VM and c resumes it (query-status)"

# ---- step mode: one event per key; the ring view's states -------------------------------
keys 2
wait_screen 10 '^gpu0\.control +slot 0 +size 64 +live'
keys s
wait_screen 10 ' STEP '
# Whatever was under way when step mode came on ends; then nothing moves.
wait_step_still
stable=$STEP_STILL
states=
grid() { screen | sed -nE 's/^ +0 ([.aDU]+)$/\1/p'; }
for i in $(seq 1 12); do
	keys s
	want=$((stable + i))
	wait_for 30 screen_has "events $want \\|" ||
		fail "step $i: the event count did not reach $want ($(step_events))"
	sleep 0.3
	[ "$(step_events)" = "$want" ] || fail "step $i let more than one event through ($(step_events))"
	states+=$(grid)
done
pass "step mode: 12 keys, 12 events"
keys S
no_step_badge() { ! screen_has ' STEP '; }
wait_for 10 no_step_badge || fail "S did not leave step mode"

# Walk back through the history frozen: the driver-side states.
keys ' '
wait_screen 10 ' FROZEN '
wait_screen 10 'after event #[0-9]+'
for _ in $(seq 1 12); do
	keys N
	sleep 0.2
	states+=$(grid)
done
for s in . a D U; do
	[[ "$states" == *"$s"* ]] || fail "the ring view never showed a slot in state '$s' (saw '$states')"
done
screen_has '^chain of head 0 ' || fail "no descriptor chain in the ring view"
keys ' '
wait_screen 10 'gpu0\.control +slot 0 +size 64 +live'
pass "the ring view shows free, available, in-device and used slots"

# ---- r records a valid file ------------------------------------------------------------
keys r
wait_screen 10 'recording to vqscope-[0-9-]+\.vqt'
rec=$(screen | sed -nE 's/.*recording to (vqscope-[0-9-]+\.vqt).*/\1/p' | head -1)
wait_screen 10 ' REC '
sleep 2
keys r
wait_screen 10 "saved $rec"
"$VQSCOPE" report "$T/$rec" >"$T/report.txt" || fail "vqscope report rejects $rec"
grep -q 'ended: stopped from the TUI' "$T/report.txt" || fail "the recording did not end in order"
grep -Eq 'gpu0\.control +64 +[1-9]' "$T/report.txt" || fail "the recording has no commands"
pass "r records $rec, which vqscope report reads"

# ---- resize --------------------------------------------------------------------------------
check_size() {
	local cols=$1 rows=$2 lines long
	lines=$(screen | wc -l)
	long=$(screen | awk -v c="$cols" 'length($0) > c' | wc -l)
	[ "$lines" -eq "$rows" ] && [ "$long" -eq 0 ] || fail "screen is not ${cols}x$rows"
}
keys 1
tui_resize 80 24
wait_screen 10 '^NAME +INFL +AVAIL/USED +ADD/s +CMPL/s +SPIN/C +P99 +MAX +STALL'
wait_screen 10 '^gpu0\.control '
wait_screen 10 '^ q:quit '
check_size 80 24
screen_has ' VM running ' || fail "no VM state in the header at 80x24"
screen >"$T/overview-80x24.txt"
keys 2
wait_screen 10 '^ +0 [.aDU]{64}$'
screen >"$T/ring-80x24.txt"
check_size 80 24
tui_resize 200 60
wait_screen 10 '^chain of head'
keys 1
wait_screen 10 '^SLOT NAME +SIZE +INFL +AVAIL/USED +DEV A/U +ADD/s +KICK/s +IRQ/s +CMPL/s'
check_size 200 60
wait_screen 10 '^ q:quit '
pass "the screen redraws whole at 80x24 and 200x60"

# ---- q restores the terminal ----------------------------------------------------------------
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "vqscope top exited with $TUI_EXIT"
check_terminal_restored
screen_has 'gpu0\.control' && fail "the TUI is still on the screen after q"
pass "q quits with status 0 and restores the terminal"

# ---- replay the recording: forward and back to the same states ---------------------------
# The header is the session just after the cursor's event: it counts
# cursor + 1 events, whichever way the cursor came there.
tui_stop
tui_start 100 30 "'$VQSCOPE' replay --paused '$T/$rec'"
wait_screen 20 ' PAUSED '
keys 2
for _ in 1 2 3 4 5 6 7 8 9 10; do keys n; done
wait_screen 10 'after event #9 '
replay_header_at_cursor "10 steps"
ring() { screen | sed -n '3,10p'; }
at10=$(ring)
keys n
wait_screen 10 'after event #10 '
at11=$(ring)
keys N
wait_screen 10 'after event #9 '
[ "$(ring)" = "$at10" ] || fail "N did not come back to the state of event #9"
replay_header_at_cursor "a step back"
keys n
wait_screen 10 'after event #10 '
[ "$(ring)" = "$at11" ] || fail "n did not reach the same state of event #10 again"
replay_go_to 0.5s
wait_screen 10 'after event #[0-9]+ \(0\.[45][0-9]+ s\)'
replay_header_at_cursor "g 0.5s"
# The recording's 12th frame, then its 4th: the cursor is on the frame's
# FRAME_BEGIN, and the header counts the frames that ended before it.
frames=$("$VQSCOPE" dump "$T/$rec" | awk '$3 == "FRAME_BEGIN" { sub("frame=", "", $6); print $6 }')
[ "$(wc -l <<<"$frames")" -ge 12 ] || fail "the recording has fewer than 12 frames"
for nth in 12 4; do
	f=$(sed -n ${nth}p <<<"$frames")
	replay_go_to "$f"
	keys 4
	wait_screen 10 "FRAME_BEGIN +frame=$f +seq "
	replay_header_at_cursor "g $f"
	screen_has "\| frames $((nth - 1)) \|" ||
		fail "g $f: the header counts $(screen_number 'frames ([0-9]+) ') frames, not $((nth - 1))"
	keys 2
done
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "vqscope replay exited with $TUI_EXIT"
check_terminal_restored
pass "replay steps forward and back to the same ring states, jumps to 0.5s and to frames, and its header is the session at the cursor"
