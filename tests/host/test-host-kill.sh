#!/usr/bin/env bash
# test-host-kill.sh - endings that are not clean, and damaged files:
#  - `vqscope record` killed with SIGKILL: the file is readable up to its
#    last whole chunk, and every reader says it was not closed cleanly;
#  - QEMU killed with SIGKILL during `record`: record exits 3 and the file
#    is closed in order, its CLOSE chunk saying the source went away;
#  - that file with a flipped byte: a one-line error naming the offset and
#    the chunk from report, dump, export and diff (exit 1), and --salvage
#    reads the rest; cut short: a warning, exit 0; not a recording, empty,
#    missing: exit 1; bad command lines: exit 2.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/lib.sh"

host_demo_start guest "log=frame uart=115200"

# ---- the recorder killed
"$VQSCOPE" record -o "$T/killed.vqt" "$SOCK" 2>"$T/killed.err" &
rec=$!
track_pid "$rec"
# Some chunks written (events are flushed every 100 ms), then SIGKILL.
wait_for 30 bigger_than "$T/killed.vqt" 8192 || fail "record wrote nothing"
sleep 0.5
kill -KILL "$rec"
wait "$rec" && fail "record survived SIGKILL" || true
expect_status 0 vq report "$T/killed.vqt" >"$T/killed.txt" 2>"$T/killed.warn"
grep -q "^vqscope report: warning: $T/killed.vqt: not closed cleanly" "$T/killed.warn" ||
	{ cat "$T/killed.warn" >&2; fail "report: no 'not closed cleanly' warning"; }
events=$(vq report --json "$T/killed.vqt" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
[ "$events" -gt 0 ] || fail "killed recording: no events"
expect_status 0 vq dump "$T/killed.vqt" >/dev/null 2>"$T/killed.dump.warn"
grep -q "not closed cleanly" "$T/killed.dump.warn" || fail "dump: no warning"
expect_status 0 vq export -q -o "$T/killed.json" "$T/killed.vqt" 2>/dev/null
check_export "$T/killed.json" >/dev/null || fail "export of the killed recording is not well-formed"
pass "recorder killed: $events events readable, reported as not closed cleanly"

# ---- QEMU killed
"$VQSCOPE" record -o "$T/gone.vqt" "$SOCK" 2>"$T/gone.err" &
rec=$!
track_pid "$rec"
wait_for 30 bigger_than "$T/gone.vqt" 8192 || fail "record wrote nothing"
sleep 0.5
kill -KILL "$DEMO_PID"
expect_exit "$rec" 3 "$T/gone.err"
expect_status 0 vq report "$T/gone.vqt" >"$T/gone.txt" 2>"$T/gone.warn"
[ ! -s "$T/gone.warn" ] || { cat "$T/gone.warn" >&2; fail "report warns about a closed file"; }
vq dump --all --type CB "$T/gone.vqt" | grep -E '^[0-9.]+ - CLOSE - - reason=source_gone events=[1-9]' ||
	fail "no CLOSE chunk with reason source_gone"
pass "QEMU killed: record exited 3, the file is closed and says the source went away"

# ---- damaged copies of it
size=$(stat -c %s "$T/gone.vqt")
cp "$T/gone.vqt" "$T/flipped.vqt"
at=$((size / 2))
byte=$(od -An -tu1 -j "$at" -N1 "$T/flipped.vqt" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 0x40)))" | dd of="$T/flipped.vqt" bs=1 seek="$at" conv=notrunc status=none
for cmd in report dump export "diff $T/gone.vqt"; do
	# shellcheck disable=SC2086
	expect_status 1 vq $cmd "$T/flipped.vqt" >/dev/null 2>"$T/flipped.err"
	[ "$(wc -l <"$T/flipped.err")" = 1 ] || { cat "$T/flipped.err" >&2; fail "$cmd: not one line"; }
	grep -Eq "^vqscope ${cmd%% *}: $T/flipped.vqt: offset 0x[0-9a-f]+: chunk [0-9]+: CRC32C 0x[0-9a-f]{8} does not match its contents \(use --salvage\)$" \
		"$T/flipped.err" || { cat "$T/flipped.err" >&2; fail "$cmd: unexpected error"; }
done
cat "$T/flipped.err"
vq report --json --salvage "$T/flipped.vqt" >"$T/salvaged.json" || fail "report --salvage"
[ "$(json "$T/salvaged.json" '["violations"]')" -ge 1 ] || fail "--salvage: the damage is not counted"
[ "$(json "$T/salvaged.json" '["events"]')" -gt 0 ] || fail "--salvage: no events"
expect_status 0 vq dump --salvage "$T/flipped.vqt" >/dev/null
pass "flipped byte at $at: one-line error naming the offset; --salvage reads the rest"

head -c $((size * 2 / 3)) "$T/gone.vqt" >"$T/cut.vqt"
expect_status 0 vq report "$T/cut.vqt" >/dev/null 2>"$T/cut.err"
grep -Eq "^vqscope report: warning: $T/cut.vqt: not closed cleanly: cut short at offset 0x[0-9a-f]+ after [0-9]+ whole chunks$" \
	"$T/cut.err" || { cat "$T/cut.err" >&2; fail "cut short: unexpected warning"; }
pass "cut short: $(cat "$T/cut.err")"

head -c 4096 /dev/urandom >"$T/junk.vqt"
: >"$T/empty.vqt"
for f in junk empty missing; do
	expect_status 1 vq report "$T/$f.vqt" >/dev/null 2>"$T/$f.err"
	[ "$(wc -l <"$T/$f.err")" = 1 ] || { cat "$T/$f.err" >&2; fail "$f: not one line"; }
	cat "$T/$f.err"
done
grep -q "offset 0x0: not a vqscope recording (bad magic)" "$T/junk.err" || fail "junk: unexpected error"

expect_status 2 vq report >/dev/null 2>&1
expect_status 2 vq dump --type NOPE "$T/gone.vqt" >/dev/null 2>&1
expect_status 2 vq export --format json "$T/gone.vqt" >/dev/null 2>&1
expect_status 2 vq diff "$T/gone.vqt" >/dev/null 2>&1
expect_status 2 vq record "$T/gone.vqt" >/dev/null 2>&1
pass "bad files exit 1 with one line, bad command lines exit 2"
