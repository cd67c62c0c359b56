#!/usr/bin/env bash
# test-tui-replay-long.sh - going back in a long replay: gen_golden's long
# session (2000 frames of 242 events, 484 001 in all, tests/lib/synthetic.c)
# replayed paused.  A jump to frame 1900; steps back (the first plays the
# file again from its start and leaves a checkpoint behind the cursor,
# the next start from that checkpoint), forward and back again; a jump
# back to frame 1000, before the checkpoint; frames and a time it does not
# have.
# After each, the cursor is on the event it should be, the header is the
# session just after it (with the recording's rates there, though paused),
# and the ring view shows the same state whichever way the cursor came.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

"$BUILD/tests/golden/gen_golden" --long 2000 "$T/long.vqt" || fail "gen_golden --long failed"
tui_start 120 30 "'$VQSCOPE' replay --paused '$T/long.vqt'"
wait_screen 20 ' PAUSED '
keys 2
# Event 0 registers the queue; frame f begins at event (f - 1) * 242 + 1.
begins() { echo $((($1 - 1) * 242 + 1)); }
# at EVENT FRAMES WHAT: the cursor on EVENT, FRAMES frames ended before it.
at() {
	wait_screen 20 "replay paused x1, event #$1 at "
	replay_header_at_cursor "$3"
	screen_has "\\| frames $2 \\|" ||
		fail "$3: the header counts $(screen_number 'frames ([0-9]+) ') frames, not $2"
}
ring() { screen | sed -n '3,12p'; }

# rates WHAT: the recording's rates over the 250 ms of it before the
# cursor (the replay's refresh interval), though nothing plays: 242 events
# and 60 completions every 5 ms.
rates() {
	screen_has '^48400 ev/s \|' ||
		fail "$1: the header is not the recording's 48400 ev/s: $(screen | sed -n 2p)"
	keys 1
	wait_screen 10 '^NAME +INFL'
	screen_has '^blk0\.requests .* 12\.0k +[0-9.]+ +1\.0 ' ||
		fail "$1: the queue's CMPL/s is not the recording's 12.0k: $(screen | grep '^blk0')"
	keys 2
	wait_screen 10 '^blk0\.requests +slot 0'
}

f1900=$(begins 1900)
replay_go_to 1900
at "$f1900" 1899 "g 1900"
rates "g 1900"
at_begin=$(ring)
keys N
at $((f1900 - 1)) 1898 "a step back from frame 1900"
rates "a step back from frame 1900"
before_begin=$(ring)
keys N
at $((f1900 - 2)) 1898 "a second step back"
keys n
at $((f1900 - 1)) 1898 "a step forward again"
[ "$(ring)" = "$before_begin" ] || fail "the ring differs at event #$((f1900 - 1)) the second time"
keys n
at "$f1900" 1899 "a second step forward"
[ "$(ring)" = "$at_begin" ] || fail "the ring differs at event #$f1900 the second time"
for _ in 1 2 3 4 5; do keys N; done
at $((f1900 - 5)) 1898 "five steps back"
pass "steps back and forth around frame 1900 of 484 001 events: the cursor's event, the header, the rates and the ring agree"

replay_go_to 1000
at "$(begins 1000)" 999 "g 1000"
keys N
at $(($(begins 1000) - 1)) 998 "a step back from frame 1000"
replay_go_to 1900
at "$f1900" 1899 "g 1900 again"
[ "$(ring)" = "$at_begin" ] || fail "the ring differs at frame 1900 the second time"
pass "a jump back before the checkpoint, and forward to the same state again"

replay_go_to 0
wait_screen 10 'no frame 0 in the recording: at frame 1, the next one'
at 1 0 "g 0"
replay_go_to 99999
wait_screen 10 'no frame 99999 in the recording: at its end'
pass "a frame the recording does not have: the next one, or its end, and it says so"
replay_go_to 1s
wait_screen 10 'replay paused x1, event #'
replay_go_to 99s
wait_screen 10 "99\.000000 s is after the recording's last event \(10\.[0-9]+ s\): at its end"
pass "a time after the recording's end: at its end, and it says so"
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "vqscope replay exited with $TUI_EXIT"
