# lib.sh - helpers for the host system tests (tests/host/test-*.sh); source
# it after tests/lib/common.sh and tests/guest/lib.sh.
#
#   host_demo_start NAME "GUEST OPTIONS" [run-demo-guest.sh args...]
#       boots the demo guest (frames=0: until stopped) in $T/NAME, waits
#       for its QMP socket and for its trace-region producer; sets
#       DEMO_DIR, DEMO_PID and SOCK
#   vq ARGS...               the vqscope under test (in the background,
#                            start "$VQSCOPE" itself so that $! is its PID)
#   check_export FILE.json   the Trace Event Format checker (check_export.c)
#   json FILE EXPR           print a value of a JSON file (python3), e.g.
#                            json r.json '["verdict"]["dominant"]'
#   expect_status WANT CMD...  run CMD, fail unless it exits with WANT
#   expect_exit PID WANT ERRFILE  wait for a background vqscope, show its
#                            stderr, fail unless it exited with WANT
#   bigger_than FILE BYTES   FILE exists and has more than BYTES (for
#                            wait_for: a recording has its first chunks)
#   region_generation FILE   the generation in a trace region's header

# shellcheck shell=bash
VQSCOPE=$BUILD/vqscope
CHECK_EXPORT=$BUILD/tests/host/check_export
[ -x "$VQSCOPE" ] || fail "$VQSCOPE is missing (run make)"
[ -x "$CHECK_EXPORT" ] || fail "$CHECK_EXPORT is missing (run make)"

vq() {
	"$VQSCOPE" "$@"
}

check_export() {
	"$CHECK_EXPORT" "$@"
}

json() {
	python3 -c 'import json, sys; print(eval("json.load(open(sys.argv[1]))" + sys.argv[2]))' "$1" "$2"
}

expect_status() {
	local want=$1 got=0
	shift
	"$@" || got=$?
	[ "$got" = "$want" ] || fail "$* exited with $got, expected $want"
}

# A process that ran on is a failure, not a hang: 60 s, then SIGKILL.
expect_exit() {
	local pid=$1 want=$2 errfile=$3 got=0
	running() { case $(ps -o stat= -p "$1") in '' | Z*) return 1 ;; esac; }
	wait_for 60 eval '! running '"$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" || got=$?
	cat "$errfile"
	[ "$got" = "$want" ] || fail "vqscope (pid $pid) exited with $got, expected $want"
}

bigger_than() {
	[ -f "$1" ] && [ "$(stat -c %s "$1")" -gt "$2" ]
}

region_generation() {
	od -An -tu4 -j 16 -N4 "$1" | tr -d ' '
}

host_demo_start() {
	local name=$1
	demo_start "$@"
	SOCK=$DEMO_DIR/qmp.sock
	wait_for 30 test -S "$SOCK" || { demo_serial "$name"; fail "$name: no QMP socket"; }
	vq attach --wait 30s "$SOCK" >"$T/$name.attach" 2>&1 ||
		{ cat "$T/$name.attach" >&2; fail "$name: vqscope attach failed"; }
	grep -q '^producer ' "$T/$name.attach" ||
		{ cat "$T/$name.attach" >&2; demo_serial "$name"; fail "$name: no producer in the region"; }
}
