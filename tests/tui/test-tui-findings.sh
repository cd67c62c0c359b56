#!/usr/bin/env bash
# test-tui-findings.sh - the findings in the interactive view, while they
# happen: with the demo guest's bug=lost-kick the status line names the
# error, screen 6 lists MISSED-NOTIFY and STUCK-NOT-NOTIFIED with their
# evidence, and Enter on MISSED-NOTIFY shows the ring of gpu0.control
# frozen at the event it was first seen at.  Then a recording of the same
# VM in replay: the findings come as it plays, and Enter goes back to the
# moment (the replay plays the file again up to it).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

guest_start g "bug=lost-kick on-error=halt timeout=3 log=off uart=fast"
"$VQSCOPE" record -q -o "$T/lost.vqt" -d 8 "$GUEST_DIR/mon.qmp" &
rec=$!
track_pid "$rec"
tui_start 120 40 "'$VQSCOPE' top '$GUEST_QMP'"

# ---- live: the status line, screen 6, Enter ------------------------------------------------
wait_screen 60 '^error (MISSED-NOTIFY|STUCK-NOT-NOTIFIED) gpu0\.control'
pass "the status line names the error while it is there"
wait_screen 30 '^error STUCK-NOT-NOTIFIED gpu0\.control \(6: all findings\)'
keys 6
wait_screen 10 '^2 findings: 2 errors, 0 warnings, 0 info'
wait_screen 10 '^error +MISSED-NOTIFY +gpu0\.control '
wait_screen 10 '^error +STUCK-NOT-NOTIFIED +gpu0\.control '
# MISSED-NOTIFY came first: it is selected and shown in full.
wait_screen 10 '^error MISSED-NOTIFY on gpu0\.control +\(virtio 1\.2 2\.7\.10\)'
# Which kick is lost depends on when QEMU's bottom half ran: read the event
# number from the evidence, and expect Enter to go there.
wait_screen 10 '^ +avail_event +[0-9]+ +trace: KICK_SUPPRESSED 1:[0-9]+'
seq=$(screen_number 'trace: KICK_SUPPRESSED 1:([0-9]+)')
[[ $seq =~ ^[0-9]+$ ]] || fail "no event number in the evidence of MISSED-NOTIFY"
wait_screen 10 'Enter: the ring of gpu0\.control at 0\.[0-9]+ s'
pass "screen 6 lists both findings, with the evidence of the selected one"

keys Down
wait_screen 10 '^error STUCK-NOT-NOTIFIED on gpu0\.control'
wait_screen 10 "^ +device's last_avail_idx +7 +QMP: x-query-virtio-queue-status"
keys Up
wait_screen 10 '^error MISSED-NOTIFY on gpu0\.control'
keys Enter
wait_screen 10 ' FROZEN '
wait_screen 10 "^gpu0\\.control +slot 0 +size 64 +after event #$seq "
pass "Enter shows the ring of gpu0.control frozen at event #$seq, where MISSED-NOTIFY was first seen"
keys q
tui_wait_exit 20
wait "$rec" || fail "the recording failed"

# ---- replay: the findings come as it plays; Enter goes back -----------------------------------
tui_start 120 40 "'$VQSCOPE' replay '$T/lost.vqt'"
wait_screen 60 'end of the recording'
keys 6
wait_screen 10 '^error +MISSED-NOTIFY +gpu0\.control '
wait_screen 10 '^error +STUCK-NOT-NOTIFIED +gpu0\.control '
keys Enter
wait_screen 20 "^gpu0\\.control +slot 0 +size 64 +after event #$seq "
wait_screen 10 'replay paused'
pass "replay: the same findings, and Enter goes back to event #$seq"
keys q
tui_wait_exit 20
