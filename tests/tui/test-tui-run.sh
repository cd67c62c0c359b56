#!/usr/bin/env bash
# test-tui-run.sh - what `make demo` runs (scripts/demo.sh, which is
# `vqscope run` on the demo guest), in tmux at 80x24: the live view comes
# up with the control queue in colour and the free QMP socket in its
# status line, ? shows the help, Ctrl-C ends it
# with the terminal restored, QEMU stopped and its runtime directory
# removed; meanwhile the second QMP socket serves a vqscope top beside
# the view.  Then a guest that ends by itself (frames=N), with NO_COLOR
# set: no colour, vqscope names the second QMP socket on stderr, says
# how QEMU ended and exits with status 3; and the same with --batch, whose
# messages all name `vqscope run`.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/run"
tui_start 80 24 "XDG_RUNTIME_DIR='$T/run' O='$BUILD' bash '$ROOT/scripts/demo.sh'"
runtime_made() { compgen -G "$T/run/vqscope.*" >/dev/null; }
wait_for 60 runtime_made || fail "no runtime directory under $T/run"
runtime=$(ls -d "$T"/run/vqscope.* | head -1)
# The status line's first 30 s; the path is long here, so the whole line
# shows on a wider terminal.
tui_resize 200 24
wait_screen 30 "free QMP socket for record or doctor: $runtime/qmp2\\.sock"
tui_resize 80 24
wait_screen 60 '^gpu0\.control '
wait_screen 10 ' VM running '
qemu_pid=$(pgrep -f -- "mem-path=$runtime/guest.ram" | head -1)
[ -n "$qemu_pid" ] || fail "no QEMU running for $runtime"
track_pid "$qemu_pid"
esc=$(printf '\033')
colours() { tmx capture-pane -e -p -t vq | grep -Eq "$esc\\[(3|4)[0-7]m"; }
colours || fail "no colours without NO_COLOR"
"$VQSCOPE" top --batch --count 1 --interval 200ms "$runtime/qmp2.sock" >"$T/beside.out" \
	2>"$T/beside.err" || fail "top on $runtime/qmp2.sock beside the view: $(cat "$T/beside.err")"
grep -q '^   0 gpu0\.control' "$T/beside.out" || fail "top beside the view: $(cat "$T/beside.out")"
keys '?'
wait_screen 10 '^vqscope keys'
keys x
wait_screen 10 '^NAME +INFL'
keys C-c
tui_wait_exit 30
[ "$TUI_EXIT" = 0 ] || fail "Ctrl-C: exit status $TUI_EXIT"
check_terminal_restored
wait_for 10 bash -c "! kill -0 $qemu_pid 2>/dev/null" || fail "QEMU $qemu_pid still runs"
[ ! -e "$runtime" ] || fail "$runtime was left behind"
pass "make demo's live view comes up, a second QMP socket beside it; Ctrl-C restores the terminal and stops QEMU"

tui_stop
tui_start 80 24 "NO_COLOR=1 XDG_RUNTIME_DIR='$T/run' VQSCOPE_DEMO_KERNEL='$DEMO_KERNEL' '$VQSCOPE' run --append 'frames=20 log=off' 2>'$T/run.err'"
# The view stays up to be looked at, saying so.
wait_for 120 screen_has 'the VM went away' || {
	echo "--- vqscope run's stderr:" >&2
	cat "$T/run.err" >&2
	wait_screen 1 'the VM went away'
}
colours && fail "colours despite NO_COLOR"
tmx capture-pane -e -p -t vq | grep -q "$esc\\[7m" || fail "no reverse video without colours"
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 3 ] || fail "after QEMU ended: exit status $TUI_EXIT"
grep -q 'QEMU exited with status 0' "$T/run.err" || fail "no word on how QEMU ended: $(cat "$T/run.err")"
grep -q "^vqscope run: record at the same time with: vqscope record -o FILE.vqt $T/run/vqscope\.[^/]*/qmp2\.sock\$" \
	"$T/run.err" || fail "no word of the second QMP socket: $(cat "$T/run.err")"
check_terminal_restored
pass "NO_COLOR: monochrome; a guest that powers off ends the session with status 3"

tui_stop
rc=0
XDG_RUNTIME_DIR="$T/run" VQSCOPE_DEMO_KERNEL="$DEMO_KERNEL" timeout 120 "$VQSCOPE" run --batch \
	--append 'frames=20 log=off uart=fast' >"$T/batch.out" 2>"$T/batch.err" || rc=$?
[ "$rc" = 3 ] || fail "run --batch after QEMU ended: exit status $rc: $(cat "$T/batch.err")"
grep -q '^   0 gpu0\.control' "$T/batch.out" || fail "run --batch: no queue row: $(cat "$T/batch.out")"
grep -q '^vqscope run: QEMU exited (SHUTDOWN: guest-shutdown)$' "$T/batch.err" ||
	fail "run --batch: no word from vqscope run on how the VM went: $(cat "$T/batch.err")"
grep -q '^vqscope top' "$T/batch.err" && fail "run --batch names another command: $(cat "$T/batch.err")"
grep -q 'QEMU exited with status 0' "$T/batch.err" || fail "run --batch: no exit status of QEMU"
pass "run --batch: a guest that powers off ends it with status 3, in vqscope run's words"
