#!/usr/bin/env bash
# test-tui-batch.sh - the non-interactive twin: `vqscope top --batch`
# prints the overview as text and as JSON lines with moving counters
# against the demo guest, then `vqscope run --batch` boots its own guest,
# prints, and leaves no QEMU and no runtime directory behind.  Plus the
# interactive commands' refusals without a terminal.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

# ---- top --batch, text and JSON -------------------------------------------------------------
guest_start g "frames=0 flush=line log=frame uart=115200 barrier=on-progress"
# On a loaded machine the guest under TCG takes seconds to register its
# queues: wait for them before asking for updates a moment apart.
guest_traced() { "$VQSCOPE" attach --no-device "$GUEST_QMP" 2>/dev/null | grep -q ' gpu0\.control '; }
wait_for 120 guest_traced || fail "the demo guest registered no gpu0.control"
"$VQSCOPE" top --batch --count 3 --interval 500ms "$GUEST_QMP" </dev/null >"$T/top.txt" ||
	fail "top --batch failed"
[ "$(grep -c '^vqscope top - ' "$T/top.txt")" -eq 3 ] || fail "not 3 updates: $(cat "$T/top.txt")"
grep -q '| VM running |' "$T/top.txt" || fail "no VM state in the header"
grep -Eq '^ +0 gpu0\.control +64 ' "$T/top.txt" || fail "no gpu0.control row: $(cat "$T/top.txt")"
grep -Eq '^SLOT NAME +SIZE INFL' "$T/top.txt" || fail "no column titles"
pass "top --batch prints 3 text updates with gpu0.control"

# 2 s apart, so that a guest starved of CPU for a moment still completes
# commands between updates.
"$VQSCOPE" top --batch --json --count 3 --interval 2s "$GUEST_QMP" </dev/null >"$T/top.json" ||
	fail "top --batch --json failed"
python3 - "$T/top.json" <<'EOF' || fail "JSON lines are wrong: $(cat "$T/top.json")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
done = []
for line in lines:
    o = json.loads(line)
    assert o["vm"] == "running", o["vm"]
    q = [q for q in o["queues"] if q["name"] == "gpu0.control"]
    assert q and q[0]["ring_size"] == 64, o["queues"]
    done.append(q[0]["completions"])
assert done[0] < done[1] < done[2], done
EOF
pass "top --batch --json prints 3 objects whose completions grow"

# ---- run --batch: its own QEMU, stopped and cleaned up ----------------------------------
# On a loaded machine the guest under TCG may take many seconds to
# register its queues: wait for an update that shows them, then stop run
# with SIGINT, as Ctrl-C would.
VQSCOPE_DEMO_KERNEL=$DEMO_KERNEL XDG_RUNTIME_DIR=$T \
	"$VQSCOPE" run --batch --count 600 --interval 500ms --json </dev/null >"$T/run.json" 2>"$T/run.err" &
run_pid=$!
track_pid "$run_pid"
wait_for 240 grep -q '"gpu0.control"' "$T/run.json" ||
	fail "run --batch saw no gpu0.control: $(tail -n 1 "$T/run.json") $(cat "$T/run.err")"
kill -INT "$run_pid"
rc=0
wait "$run_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "run --batch stopped by SIGINT exited $rc: $(cat "$T/run.err")"
ls -d "$T"/vqscope.* >/dev/null 2>&1 && fail "run left its runtime directory behind"
pass "run --batch boots the demo guest, prints, and stops QEMU"

# ---- without a terminal ---------------------------------------------------------------------
rc=0
"$VQSCOPE" top "$GUEST_QMP" </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'needs a terminal' "$T/err" || fail "top without a tty: $rc $(cat "$T/err")"
rc=0
"$VQSCOPE" run </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'needs a terminal' "$T/err" || fail "run without a tty: $rc $(cat "$T/err")"
rc=0
"$VQSCOPE" replay "$GUEST_QMP" </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'not a recording' "$T/err" || fail "replay of a socket: $rc $(cat "$T/err")"
rc=0
"$VQSCOPE" run --memory lots </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "memory: 'lots'" "$T/err" || fail "run --memory lots: $rc $(cat "$T/err")"
# The options run and replay share with top are refused in their own name,
# and replay, which has no --batch, names what prints a recording as text.
rc=0
"$VQSCOPE" run --interval 1ms </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "^vqscope run: --interval: '1ms'" "$T/err" ||
	fail "run --interval 1ms: $rc $(cat "$T/err")"
"$VQSCOPE" record -q -d 300ms -o "$T/s.vqt" "$GUEST_QMP" || fail "record for replay failed"
rc=0
"$VQSCOPE" replay "$T/s.vqt" </dev/null >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] &&
	grep -q "^vqscope replay: the interactive view needs a terminal (vqscope top --batch FILE.vqt prints text)$" \
		"$T/err" || fail "replay without a tty: $rc $(cat "$T/err")"
pass "the interactive commands refuse a missing terminal and bad options with status 2"
