#!/usr/bin/env bash
# test-golden.sh - vqscope's text output on fixed recordings, compared with
# tests/golden/NAME.expected (like json-c's tests): dump, report (text and
# JSON), export --format chrome and top --batch on the recordings of
# gen_golden (tests/lib/synthetic.c), one of them with a receive queue.  A difference fails with the diff.
#
# GOLDEN_UPDATE=1 (`make golden`) writes the .expected files instead;
# review `git diff tests/golden` before committing them.
. "$(dirname "$0")/../lib/common.sh"

VQSCOPE=$BUILD/vqscope
GEN=$BUILD/tests/golden/gen_golden
GOLDEN=$ROOT/tests/golden
[ -x "$VQSCOPE" ] && [ -x "$GEN" ] || fail "build first (make)"

cd "$T" || fail "no temp dir"
"$GEN" . || fail "gen_golden failed"

# golden NAME COMMAND...: run COMMAND in $T (stdout and stderr, then the
# exit status) and compare with NAME.expected.
golden() {
	local name=$1 rc=0
	shift
	"$@" >"$T/$name.out" 2>&1 || rc=$?
	echo "exit status $rc" >>"$T/$name.out"
	# top --batch prints the wall clock: the only thing not fixed.
	sed -i -E 's/^vqscope top - [0-9]{2}:[0-9]{2}:[0-9]{2} /vqscope top - HH:MM:SS /' \
		"$T/$name.out"
	if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
		cp "$T/$name.out" "$GOLDEN/$name.expected"
		echo "wrote tests/golden/$name.expected"
		return
	fi
	[ -f "$GOLDEN/$name.expected" ] || fail "$name.expected is missing (make golden)"
	if ! diff -u "$GOLDEN/$name.expected" "$T/$name.out" >&2; then
		fail "$name differs from tests/golden/$name.expected (make golden rewrites it)"
	fi
	pass "$name"
}

golden dump-session "$VQSCOPE" dump session.vqt
golden dump-session-all "$VQSCOPE" dump --all session.vqt
golden dump-frames-filtered "$VQSCOPE" dump --type FRAME_END,LOG --since 60ms frames.vqt
golden report-session "$VQSCOPE" report session.vqt
golden report-frames "$VQSCOPE" report frames.vqt
golden report-frames-json "$VQSCOPE" report --json frames.vqt
golden export-session "$VQSCOPE" export --format chrome -q session.vqt
golden top-batch-frames "$VQSCOPE" top --batch --interval 25ms --count 5 frames.vqt
golden top-batch-frames-json "$VQSCOPE" top --batch --json --interval 50ms --count 3 frames.vqt
golden diff-session-frames "$VQSCOPE" diff session.vqt frames.vqt
golden report-receive "$VQSCOPE" report receive.vqt
golden report-receive-json "$VQSCOPE" report --json receive.vqt
golden export-receive "$VQSCOPE" export --format chrome -q receive.vqt
golden top-batch-receive "$VQSCOPE" top --batch --interval 500ms --count 6 receive.vqt
golden top-batch-receive-json "$VQSCOPE" top --batch --json --interval 1s --count 3 receive.vqt
