# lib.sh - helpers for the tmux tests of vqscope's interactive view
# (tests/tui/test-*.sh); source it after tests/lib/common.sh.
#
#   guest_start NAME "GUEST OPTIONS"
#       boot the demo guest (scripts/run-demo-guest.sh, TCG unless
#       VQ_ACCEL=kvm) in $T/NAME with a second QMP monitor at
#       $T/NAME/mon.qmp for the test's own questions; sets GUEST_DIR,
#       GUEST_PID (QEMU) and GUEST_QMP (the socket vqscope attaches to).
#   tui_start COLS ROWS COMMAND
#       run COMMAND (a shell line) in a private tmux server, in a pane of
#       COLS x ROWS with TERM=screen; $T/exit gets its exit status and
#       $T/stty.after the terminal settings once it ends.
#   keys KEY...           tmux send-keys to the pane
#   screen                print the pane
#   screen_has REGEX      the pane matches (grep -E)
#   wait_screen SECONDS REGEX   or fail, showing the pane
#   screen_number REGEX   the first number captured by REGEX's group
#   tui_resize COLS ROWS
#   tui_wait_exit SECONDS       wait for COMMAND to end; sets TUI_EXIT
#   step_events           the event count in step mode's status line
#   wait_step_still       once step mode is on: wait until what was under
#                         way ends and the count stands still; sets
#                         STEP_STILL to it

# shellcheck shell=bash
VQSCOPE=$BUILD/vqscope
DEMO_KERNEL=$BUILD/guest-driver/demo/vqdemo.elf
TMUX_SOCK=
TMUX_SERVERS=0

command -v tmux >/dev/null || skip "tmux is not installed"
[ -x "$VQSCOPE" ] || fail "$VQSCOPE is missing (run make)"
[ -r "$DEMO_KERNEL" ] || fail "demo kernel $DEMO_KERNEL is missing (run make)"

tmx() {
	tmux -S "$TMUX_SOCK" "$@"
}

guest_start() {
	local name=$1 options=$2
	GUEST_DIR=$T/$name
	O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --dir "$GUEST_DIR" --resolution 320x240 \
		--append "$options" -- -qmp "unix:$GUEST_DIR/mon.qmp,server=on,wait=off" \
		>"$T/$name.stdout" 2>"$T/$name.stderr" &
	GUEST_PID=$!
	track_pid "$GUEST_PID"
	# shellcheck disable=SC2034 # for the tests
	GUEST_QMP=$GUEST_DIR/qmp.sock
	wait_for 30 test -S "$GUEST_DIR/mon.qmp" || {
		cat "$T/$name.stderr" >&2
		fail "the demo guest did not start"
	}
}

tui_start() {
	local cols=$1 rows=$2 command=$3
	# A new server each time: one being killed may still hold its socket.
	TMUX_SERVERS=$((TMUX_SERVERS + 1))
	TMUX_SOCK=$T/tmux.$TMUX_SERVERS.sock
	rm -f "$T/exit" "$T/stty.after"
	# A login-free shell that records how the command ended and the
	# terminal settings it left behind.
	tmx -f /dev/null new-session -d -x "$cols" -y "$rows" -s vq \
		"cd '$T' && TERM=screen $command; echo \$? >'$T/exit'; stty -a >'$T/stty.after'; exec sleep 3600"
	track_pid "$(tmx display-message -p '#{pid}')"
}

tui_stop() {
	[ -z "$TMUX_SOCK" ] || tmx kill-server 2>/dev/null || true
}

keys() {
	tmx send-keys -t vq "$@"
}

screen() {
	tmx capture-pane -p -t vq
}

screen_has() {
	screen | grep -Eq -- "$1"
}

wait_screen() {
	local limit=$1 regex=$2
	if ! wait_for "$limit" screen_has "$regex"; then
		echo "--- screen (waited ${limit}s for /$regex/):" >&2
		screen >&2
		[ -s "$T/exit" ] && echo "--- the command had ended, status $(cat "$T/exit")" >&2
		fail "the screen never showed /$regex/"
	fi
}

screen_number() {
	screen | sed -nE "s/.*$1.*/\\1/p" | head -1
}

# g: go to a frame number or a time.
replay_go_to() {
	keys g
	keys -l "$1"
	keys Enter
}

# A paused replay: the event count in the header, the cursor's event in
# the status line, and that the header is the session just after it
# (cursor + 1 events); WHAT names the step in the failure.
replay_header_events() { screen_number 'events ([0-9]+) \|'; }
replay_cursor_event() { screen_number 'replay paused x1, event #([0-9]+) at '; }
replay_header_at_cursor() {
	local c
	c=$(replay_cursor_event)
	[ -n "$c" ] && [ "$(replay_header_events)" = "$((c + 1))" ] ||
		fail "$1: the header counts $(replay_header_events) events at the cursor's event #$c"
}

tui_resize() {
	tmx resize-window -t vq -x "$1" -y "$2"
}

tui_wait_exit() {
	wait_for "$1" test -s "$T/exit" || fail "vqscope did not end within $1 s"
	# shellcheck disable=SC2034 # for the tests
	TUI_EXIT=$(cat "$T/exit")
}

step_events() {
	screen_number 'step: granted [0-9]+, events ([0-9]+)'
}

wait_step_still() {
	local a b
	STEP_STILL=
	for _ in $(seq 1 50); do
		a=$(step_events)
		sleep 0.4
		b=$(step_events)
		if [ -n "$a" ] && [ "$a" = "$b" ]; then
			# shellcheck disable=SC2034 # for the tests
			STEP_STILL=$a
			return 0
		fi
	done
	echo "--- screen (step mode, the count never stood still for 0.4 s):" >&2
	screen >&2
	fail "events kept flowing in step mode"
}

# The terminal is back in cooked mode with echo (what curses turned off).
check_terminal_restored() {
	wait_for 10 test -s "$T/stty.after" || fail "no stty output after vqscope ended"
	grep -Eq '(^| )icanon( |$)' "$T/stty.after" || fail "terminal left without icanon"
	grep -Eq '(^| )echo( |$)' "$T/stty.after" || fail "terminal left without echo"
}
