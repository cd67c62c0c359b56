#!/usr/bin/env bash
# test-tui-ring.sh - the ring view (screen 2) reads the demo guest's rings
# from guest RAM itself and labels every number by its source, live, with
# several commands in flight: a packed ring (packed=on depth=4) shows each
# position's state over its AVAIL and USED bits (virtio 1.2, 2.8.1) in
# agreement with the driver's position and wrap counter, and the driver
# and device event suppression structures; a split ring with event idx
# (event_idx=on depth=8) shows both rings' flags with used_event and
# avail_event.  With the guest held in step mode QEMU's sample (QMP) comes
# to agree with guest RAM, and no stuck finding comes up, live or from
# `vqscope doctor` on a recording made meanwhile.  The screen
# stays whole at 80x24 and 200x60.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

check_size() {
	local cols=$1 rows=$2 lines long
	lines=$(screen | wc -l)
	long=$(screen | awk -v c="$cols" 'length($0) > c' | wc -l)
	[ "$lines" -eq "$rows" ] && [ "$long" -eq 0 ] || {
		screen >&2
		fail "screen is not ${cols}x$rows"
	}
}

# The ring screen of the control queue, in step mode, stepped one event
# at a time until the trace has at least two commands in flight.
in_flight() {
	screen | sed -nE 's/^(heads|ids) +\. free [0-9]+ +a available ([0-9]+) +D in device ([0-9]+) +U used, not reaped ([0-9]+).*/\2 \3 \4/p' |
		awk '{ print $1 + $2 + $3 }'
}
hold_with_commands_in_flight() {
	local want n
	keys 2
	wait_screen 20 '^gpu0\.control +slot 0 +size 64 +live'
	keys s
	wait_screen 20 ' STEP '
	wait_step_still
	for i in $(seq 1 80); do
		n=$(in_flight)
		[ -n "$n" ] && [ "$n" -ge 2 ] && return 0
		keys s
		want=$((STEP_STILL + i))
		wait_for 30 screen_has "events $want \\|" ||
			fail "step $i: the event count did not reach $want ($(step_events))"
	done
	screen >&2
	fail "never two commands in flight in 80 steps"
}

# ---- packed ring ------------------------------------------------------------------------
guest_start p "packed=on depth=4 flush=line log=off uart=fast"
tui_start 80 24 "'$VQSCOPE' top '$GUEST_QMP'"
wait_screen 60 '^gpu0\.control +[0-9]+ +[0-9]+/[0-9]+ '
hold_with_commands_in_flight
wait_screen 10 '^gpu0\.control +slot 0 +size 64 +live +packed ring, event idx$'
wait_screen 10 '^trace events +driver avail [0-9]+ used [0-9]+ \(buffers\), [0-9]+ in flight in [0-9]+ descs$'
wait_screen 10 '^guest RAM +driver at [0-9]+ wrap [01] \(AVAIL bits\), device used to [0-9]+ wrap [01]$'
event='(ENABLE|DISABLE|DESC at [0-9]+ wrap [01])'
wait_screen 10 "^guest RAM +driver event $event \\| device event $event\$"
wait_screen 10 '^QMP [0-9]+\.[0-9] s ago +device last_avail [0-9]+ used [0-9]+ in use [0-9]+ \(offsets\)$'
wait_screen 10 '^positions +\. free +a available +U used, not taken'
pass "packed: the numbers name trace events, guest RAM and QMP"

# The positions: a state row, then the AVAIL and USED bits as read.  The
# device goes on completing what the guest made available before it was
# held, so every number below comes from one capture of one frame (one
# sample of guest RAM), not from captures a redraw apart: the first whose
# ring lines stay the same over two captures.
ring_lines() { grep -E '^(positions|A bit|U bit| +0 |guest RAM|avail|used) ' <<<"$1"; }
for _ in $(seq 1 50); do
	snap=$(screen)
	sleep 0.3
	[ "$(ring_lines "$snap")" = "$(ring_lines "$(screen)")" ] && break
done
snap_number() { sed -nE "s/.*$1.*/\\1/p" <<<"$snap" | head -1; }
rows() { grep -A3 '^positions ' <<<"$snap"; }
state_row=$(rows | sed -n 2p | sed -nE 's/^ +0 ([.aU?>]{64})$/\1/p')
a_bits=$(rows | sed -n 3p | sed -nE 's/^A bit ([01]{64})$/\1/p')
u_bits=$(rows | sed -n 4p | sed -nE 's/^U bit ([01]{64})$/\1/p')
[ -n "$state_row" ] && [ -n "$a_bits" ] && [ -n "$u_bits" ] || {
	printf '%s\n' "$snap" >&2
	fail "no row of 64 positions with their AVAIL and USED bits"
}
busy=$(printf '%s' "$state_row" | tr -d '.>' | wc -c)
[ "$busy" -ge 4 ] || fail "fewer than two 2-descriptor buffers in flight among the positions: $state_row"
# 2.8.1: AVAIL is the driver's wrap counter before its position, the
# inverse from there on (the lap before).
off=$(snap_number '^guest RAM +driver at ([0-9]+) wrap')
wrap=$(snap_number '^guest RAM +driver at [0-9]+ wrap ([01])')
expect=$(for p in $(seq 0 63); do
	if [ "$p" -lt "$off" ]; then printf '%s' "$wrap"; else printf '%s' $((1 - wrap)); fi
done)
[ "$a_bits" = "$expect" ] || fail "AVAIL bits $a_bits disagree with the driver at $off wrap $wrap"
# The buffers in flight start where the avail and used lines say
# (position:id/...): available ones with USED != AVAIL (the driver's
# inverse), used ones with USED == AVAIL (the device's counter, 2.8.1).
starts() { sed -nE "s/^$1 +([0-9].*) >\$/\\1/p" <<<"$snap" | grep -oE '(^| )[0-9]+:' | tr -d ' :'; }
checked=0
for p in $(starts avail); do
	[ "${state_row:$p:1}" = a ] && [ "${a_bits:$p:1}" != "${u_bits:$p:1}" ] ||
		fail "available buffer at $p: state ${state_row:$p:1}, AVAIL ${a_bits:$p:1} USED ${u_bits:$p:1}"
	checked=$((checked + 1))
done
for p in $(starts used); do
	[ "${state_row:$p:1}" = U ] && [ "${a_bits:$p:1}" = "${u_bits:$p:1}" ] ||
		fail "used buffer at $p: state ${state_row:$p:1}, AVAIL ${a_bits:$p:1} USED ${u_bits:$p:1}"
	checked=$((checked + 1))
done
[ "$checked" -ge 2 ] || fail "fewer than two buffers listed in flight"
pass "packed: $busy positions in flight, each state agrees with its AVAIL/USED bits ($state_row)"

# QEMU's sample comes to agree with guest RAM while the guest is held.
device_off=$(screen_number '^guest RAM .*device used to ([0-9]+) wrap')
wait_screen 20 "^QMP [0-9.]+ s ago +device last_avail [0-9]+ used $device_off in use"
keys f
wait_screen 10 '^chain of id [0-9]+ at position [0-9]+ \((available|in device|used)\) from guest RAM$'
wait_screen 10 '^ +pos +addr +len +flags +id$'
pass "packed: QMP's used offset is guest RAM's ($device_off); f shows a buffer's chain by position"

check_size 80 24
tui_resize 200 60
wait_screen 10 '^A bit [01]{64}$'
wait_screen 10 '^chain of id '
check_size 200 60
tui_resize 80 24
wait_screen 10 '^U bit [01]{64}$'
check_size 80 24
pass "packed: the ring view is whole at 80x24 and 200x60"
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "vqscope top exited with $TUI_EXIT"
tui_stop
qemu_stop "$GUEST_PID"

# ---- split ring with event idx ----------------------------------------------------------
guest_start s "event_idx=on depth=8 flush=line log=off uart=fast"
tui_start 80 24 "'$VQSCOPE' top '$GUEST_QMP'"
wait_screen 60 '^gpu0\.control +[0-9]+ +[0-9]+/[0-9]+ '
keys 2
wait_screen 20 '^QMP [0-9]+\.[0-9] s ago +device last_avail [0-9]+ used [0-9]+ in use [0-9]+'
# Recorded, running and then held, for doctor below.
keys r
wait_screen 10 'recording to vqscope-[0-9-]+\.vqt'
rec=$(screen | sed -nE 's/.*recording to (vqscope-[0-9-]+\.vqt).*/\1/p' | head -1)
hold_with_commands_in_flight
wait_screen 10 '^gpu0\.control +slot 0 +size 64 +live +split ring, event idx$'
wait_screen 10 '^trace events +driver avail [0-9]+ used [0-9]+, [0-9]+ in flight$'
wait_screen 10 '^guest RAM +avail ring: idx [0-9]+ flags (0|NO_INTERRUPT|0x[0-9a-f]+) used_event [0-9]+$'
wait_screen 10 '^guest RAM +used ring: +idx [0-9]+ flags (0|NO_NOTIFY|0x[0-9a-f]+) avail_event [0-9]+$'
grid=$(screen | sed -nE 's/^ +0 ([.aDU]{64})$/\1/p' | head -1)
cells=$(printf '%s' "$grid" | tr -d '.' | wc -c)
[ "$cells" -ge 2 ] || fail "fewer than two heads in flight in the grid: $grid"
pass "split: event idx fields of both rings from guest RAM, $cells heads in flight ($grid)"

used_idx=$(screen_number '^guest RAM +used ring: +idx ([0-9]+)')
wait_screen 20 "^QMP [0-9.]+ s ago +device last_avail [0-9]+ used $used_idx in use [0-9]+\$"
screen_has 'behind RAM' && fail "QMP is still behind guest RAM with the guest held"
pass "split: QMP's used index is guest RAM's ($used_idx) while the guest is held"

# vqscope itself holds the guest in step mode: its queues standing still
# for seconds is no stuck queue (no STUCK finding in the status line).
sleep 4
if screen_has '^(error|warning) STUCK-'; then
	screen >&2
	fail "a stuck finding while step mode holds the guest"
fi
pass "split: held in step mode for 4 s with commands in flight, not stuck"
keys r
wait_screen 10 "saved $rec"

check_size 80 24
tui_resize 200 60
wait_screen 10 '^chain of head '
check_size 200 60
pass "split: the ring view is whole at 80x24 and 200x60"
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "vqscope top exited with $TUI_EXIT"
check_terminal_restored
qemu_stop "$GUEST_PID"

# The recording says the guest was held, so doctor judges it as the live
# view did: no stuck queue.
"$VQSCOPE" dump -a "$T/$rec" >"$T/rec.dump" || fail "vqscope dump rejects $rec"
holds=$(sed -nE 's/.* ANNOT - - kind=hold text="([a-z]+)"$/\1/p' "$T/rec.dump" | tr '\n' ' ')
[ "$holds" = "running step " ] || fail "the recording's hold annotations are '$holds', not 'running step '"
rc=0
"$VQSCOPE" doctor "$T/$rec" >"$T/doctor.txt" 2>&1 || rc=$?
if [ "$rc" != 0 ] || grep -q 'STUCK-' "$T/doctor.txt"; then
	cat "$T/doctor.txt" >&2
	fail "doctor on a recording held in step mode: exit $rc"
fi
pass "split: the recording holds running then step, and doctor finds nothing stuck in it"
