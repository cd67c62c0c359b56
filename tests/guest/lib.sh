# lib.sh - helpers for the demo-guest system tests (tests/guest/test-*.sh);
# source it after tests/lib/common.sh.
#
#   demo_boot NAME FRAMES "GUEST OPTIONS" [run-demo-guest.sh args...]
#       boots the demo guest through scripts/run-demo-guest.sh with its
#       runtime dir in $T/NAME, waits (at most DEMO_TIMEOUT seconds) and
#       sets DEMO_DIR and DEMO_STATUS (QEMU's exit status or "timeout").
#   demo_wait NAME           wait for the guest demo_start started
#   demo_start NAME "GUEST OPTIONS" [args...]
#       the same without waiting (frames=0 runs until stopped); sets
#       DEMO_DIR and DEMO_PID.
#   demo_expect_done NAME    status 0 and the guest's "done" line
#   check_trace ARGS...      the host-side checker (tests/guest/check_trace.c)

# shellcheck shell=bash
DEMO_KERNEL=$BUILD/guest-driver/demo/vqdemo.elf
CHECK_TRACE=$BUILD/tests/guest/check_trace
DEMO_TIMEOUT=${DEMO_TIMEOUT:-120}
# Small screens keep TCG runs short; the checker knows the scene at any size.
DEMO_RESOLUTION=320x240

[ -r "$DEMO_KERNEL" ] || fail "demo kernel $DEMO_KERNEL is missing (run make)"
[ -x "$CHECK_TRACE" ] || fail "checker $CHECK_TRACE is missing (run make)"

check_trace() {
	"$CHECK_TRACE" "$@"
}

demo_start() {
	local name=$1 options=$2
	shift 2
	DEMO_DIR=$T/$name
	O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --dir "$DEMO_DIR" \
		--resolution "$DEMO_RESOLUTION" --append "$options" "$@" \
		>"$T/$name.stdout" 2>"$T/$name.stderr" &
	DEMO_PID=$!
	track_pid "$DEMO_PID"
}

demo_boot() {
	local name=$1 frames=$2 options=$3
	shift 3
	demo_start "$name" "$options" --frames "$frames" "$@"
	demo_wait "$name"
}

demo_wait() {
	qemu_wait "$DEMO_PID" "$DEMO_TIMEOUT" || true
	DEMO_STATUS=$QEMU_STATUS
}

# Show what the guest said when a check fails.
demo_serial() {
	echo "--- serial.log of $1:" >&2
	cat "$T/$1/serial.log" >&2 || true
	cat "$T/$1.stderr" >&2 || true
}

demo_expect_done() {
	local name=$1
	if [ "$DEMO_STATUS" != 0 ]; then
		demo_serial "$name"
		fail "$name: QEMU exit status $DEMO_STATUS, expected 0 (guest powered off)"
	fi
	if ! grep -q "^vqdemo: done: " "$T/$name/serial.log"; then
		demo_serial "$name"
		fail "$name: the guest did not print its done line"
	fi
}
