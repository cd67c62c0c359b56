#!/usr/bin/env bash
# test-guest-launcher-dir.sh - scripts/run-demo-guest.sh with a --dir whose
# QEMU still runs refuses, naming that QEMU, and leaves it reachable
# (before, it removed the running QEMU's sockets and files and started a
# second one beside it); once that QEMU is gone the same --dir is reused.
# An option without its value is one line naming the option, status 2.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

launch() { # DIR: a demo guest in the background; sets LAUNCH_PID
	local out
	out=$(O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --background --dir "$1" --frames 0 \
		--resolution "$DEMO_RESOLUTION" --append "log=off" 2>"$T/launch.err") ||
		fail "run-demo-guest.sh --dir $1: $(cat "$T/launch.err")"
	LAUNCH_PID=$(sed -n 's/^pid=//p' <<<"$out")
	[ -n "$LAUNCH_PID" ] || fail "run-demo-guest.sh printed no pid: $out"
	track_pid "$LAUNCH_PID"
}

dir=$T/vm
launch "$dir"
first=$LAUNCH_PID
rc=0
O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --background --dir "$dir" --frames 0 \
	>"$T/second.out" 2>"$T/second.err" || rc=$?
second=$(sed -n 's/^pid=//p' "$T/second.out")
[ -z "$second" ] || track_pid "$second"
[ "$rc" = 2 ] && [ -z "$second" ] ||
	fail "a second guest in a busy --dir: status $rc, pid '$second', expected status 2 and none"
grep -qxF "run-demo-guest.sh: $dir is in use by QEMU pid $first: stop it first (kill $first) or choose another --dir" \
	"$T/second.err" || fail "the busy --dir's error: $(cat "$T/second.err")"
"$BUILD/vqscope" attach "$dir/qmp.sock" >"$T/attach.out" 2>"$T/attach.err" ||
	fail "the first guest is no longer reachable: $(cat "$T/attach.err")"
pass "a --dir whose QEMU runs is refused with one line naming it; that QEMU stays reachable"

kill "$first"
wait_for 30 bash -c "! kill -0 $first 2>/dev/null" || fail "QEMU $first did not stop"
launch "$dir"
"$BUILD/vqscope" attach "$dir/qmp.sock" >"$T/attach.out" 2>"$T/attach.err" ||
	fail "the guest in the reused --dir: $(cat "$T/attach.err")"
kill "$LAUNCH_PID"
pass "the --dir of a QEMU that ended is reused"

rc=0
"$ROOT/scripts/run-demo-guest.sh" --frames >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && [ "$(cat "$T/err")" = "run-demo-guest.sh: --frames needs a value (try --help)" ] ||
	fail "--frames without a value: status $rc: $(cat "$T/err")"
pass "an option without its value: status 2, one line naming it"
