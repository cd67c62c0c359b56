#!/usr/bin/env bash
# test-doctor-bugs.sh - every bug= of the demo guest, and the seed story's
# two habits, give vqscope doctor exactly the findings expected: live,
# and again from a recording made at the same time (through a second QMP
# monitor), on the right queue, with evidence that names the values read
# and where.  The bugs that stop the guest use on-error=halt, so QEMU stays
# up with the rings, the trace and the device as the bug left them: a real
# stuck state.  Pausing the VM through QMP is not a stuck queue.
. "$(dirname "$0")/../lib/common.sh"

VQSCOPE=$BUILD/vqscope
[ -x "$VQSCOPE" ] || fail "$VQSCOPE is missing (run make)"
[ -r "$BUILD/guest-driver/demo/vqdemo.elf" ] || fail "the demo kernel is missing (run make)"

# boot NAME "GUEST OPTIONS": the demo guest in $T/NAME with a second QMP
# monitor at $T/NAME/mon.qmp; sets DIR and PID.
boot() {
	DIR=$T/$1
	O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --dir "$DIR" --resolution 320x240 --frames 0 \
		--append "$2" -- -qmp "unix:$DIR/mon.qmp,server=on,wait=off" \
		>"$T/$1.stdout" 2>"$T/$1.stderr" &
	PID=$!
	track_pid "$PID"
	wait_for 30 test -S "$DIR/mon.qmp" || {
		cat "$T/$1.stderr" >&2
		fail "$1: the demo guest did not start"
	}
	wait_for 30 grep -Eqs "^vqdemo: (running: |error: )" "$DIR/serial.log" || {
		cat "$DIR/serial.log" >&2
		fail "$1: the demo guest did not start its driver"
	}
}

stop() {
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
}

# codes FILE: the codes of doctor --json's findings, sorted, one line.
codes() {
	python3 -c 'import json, sys
print(" ".join(sorted(json.loads(l)["code"] for l in open(sys.argv[1]) if l.strip())))' "$1"
}

# evidence FILE CODE WHAT FROM: the finding CODE (on gpu0.control, or the
# session for LOG-DOMINATES) has evidence WHAT read from a place that
# starts with FROM, with a value.
evidence() {
	python3 - "$@" <<'EOF' || { cat "$1" >&2; fail "$(basename "$1"): $2 has no evidence '$3' from '$4'"; }
import json, sys
path, code, what, source = sys.argv[1:5]
for line in open(path):
    f = json.loads(line)
    if f["code"] != code:
        continue
    want = "" if code == "LOG-DOMINATES" else "gpu0.control"
    assert f["queue_name"] == want, f["queue_name"]
    assert f["spec"] and f["text"] and f["first_ns"] <= f["last_ns"]
    for e in f["evidence"]:
        if e["what"] == what and e["from"].startswith(source) and e["value"]:
            sys.exit(0)
sys.exit(1)
EOF
}

# expect NAME "GUEST OPTIONS" SECONDS "CODES" [WHAT FROM]...: doctor
# watches live for SECONDS while record writes NAME.vqt from the second
# monitor; both must find exactly CODES (sorted), and each WHAT FROM pair
# is evidence of the first code.
expect() {
	local name=$1 options=$2 seconds=$3 want=$4 got rc first
	shift 4
	boot "$name" "$options"
	"$VQSCOPE" record -q -o "$T/$name.vqt" -d "$seconds" "$DIR/mon.qmp" 2>"$T/$name.rec.err" &
	local rec=$!
	rc=0
	"$VQSCOPE" doctor --json -d "$seconds" "$DIR/qmp.sock" >"$T/$name.live" 2>"$T/$name.err" || rc=$?
	wait "$rec" || { cat "$T/$name.rec.err" >&2; fail "$name: record failed"; }
	stop
	got=$(codes "$T/$name.live")
	[ "$got" = "$want" ] || {
		cat "$T/$name.live" "$T/$name.err" >&2
		tail -3 "$DIR/serial.log" >&2
		fail "$name live: found '$got', expected '$want'"
	}
	if grep -q '"severity":"error"' "$T/$name.live"; then
		[ "$rc" = 1 ] || fail "$name live: exit status $rc with an error finding"
	else
		[ "$rc" = 0 ] || fail "$name live: exit status $rc without an error finding"
	fi
	rc=0
	"$VQSCOPE" doctor --json "$T/$name.vqt" >"$T/$name.file" 2>"$T/$name.ferr" || rc=$?
	got=$(codes "$T/$name.file")
	[ "$got" = "$want" ] || {
		cat "$T/$name.file" "$T/$name.ferr" >&2
		fail "$name recording: found '$got', expected '$want'"
	}
	first=${want%% *}
	case $want in *STUCK*) first=$(printf '%s\n' $want | grep STUCK | head -1) ;; esac
	while [ $# -ge 2 ]; do
		evidence "$T/$name.live" "$first" "$1" "$2"
		evidence "$T/$name.file" "$first" "$1" "$2"
		shift 2
	done
	pass "$name: $want, live and from the recording"
}

H="on-error=halt timeout=3 log=off uart=fast"

expect lost-kick "bug=lost-kick $H" 8 "MISSED-NOTIFY STUCK-NOT-NOTIFIED" \
	"avail.idx" "guest RAM" "device's last_avail_idx" "QMP" "avail_event" "guest RAM" \
	"last kick decision" "trace"
evidence "$T/lost-kick.live" MISSED-NOTIFY avail_event "trace: KICK_SUPPRESSED"

expect no-irq-rearm "bug=no-irq-rearm complete=irq $H" 8 "STUCK-NOT-REAPED" \
	"used.idx" "guest RAM" "used_event" "guest RAM" "driver's last used index" "trace"

expect stale-used-event "bug=stale-used-event complete=irq event_idx=on $H" 8 \
	"STUCK-NO-INTERRUPT" "used.idx" "guest RAM" "used_event" "guest RAM" \
	"interrupts since" "trace"

expect leak "bug=leak depth=8 $H" 10 "LEAK STUCK-NOT-REAPED"
evidence "$T/leak.live" LEAK head "trace: ADD"
evidence "$T/leak.file" LEAK "completed since" "trace: USED"

expect double-reap "bug=double-reap $H" 6 "DOUBLE-COMPLETE" \
	"used index taken" "trace: USED" "driver's next used index" "trace"

expect chain-loop "bug=chain-loop $H" 8 "BAD-CHAIN DEVICE-BROKEN" \
	"problem" "guest RAM" "descriptor" "guest RAM"
grep -q '"value":"loop"' "$T/chain-loop.live" || fail "chain-loop: the problem is not 'loop'"
evidence "$T/chain-loop.file" DEVICE-BROKEN broken "QMP: x-query-virtio-status"

expect bad-next "bug=bad-next $H" 8 "BAD-CHAIN DEVICE-BROKEN" "value read" "guest RAM"
grep -q '"value":"64 (0x40)"' "$T/bad-next.live" || fail "bad-next: next 64 is not the value read"

expect len-overflow "bug=len-overflow log=off uart=fast" 6 "USED-LEN-OVERFLOW" \
	"written" "trace: USED" "chain bytes" "trace: its ADD"

expect packed-stale-wrap "bug=packed-stale-wrap packed=on $H" 8 \
	"PACKED-WRAP STUCK-DEVICE-NOT-FETCHED" "device's last_avail_idx" "QMP"
evidence "$T/packed-stale-wrap.file" PACKED-WRAP "position expected" "derived"
grep -q "available for the wrong lap (PACKED-WRAP on this queue)" "$T/packed-stale-wrap.live" ||
	fail "packed-stale-wrap: the stuck finding does not point at the wrap counter"

expect stale-used-id "bug=stale-used-id depth=8 $H" 6 "USED-NOT-IN-FLIGHT" \
	"head" "trace: USED" "head's last event" "trace" "id the device wrote" "guest RAM: used ring"
# Which side got the id wrong: the device wrote another id there.
grep -q "the driver's side read the element wrong" "$T/stale-used-id.file" ||
	fail "stale-used-id: the finding does not say the driver misread the element"

expect free-miscount "bug=free-miscount log=off uart=fast" 6 "ACCOUNTING" \
	"free descriptors" "queue table" "descriptors in flight" "trace"

# The info codes: nothing wrong enough to fail, and said all the same.
expect kick-always "bug=kick-always event_idx=on depth=64 flush=line lines=1 log=off uart=fast" 6 \
	"SPURIOUS-NOTIFY" "avail_event" "trace: KICK"
python3 -c 'import json, sys
f = json.loads(open(sys.argv[1]).readline())
sys.exit(0 if f["count"] > 1 and f["rate_per_s"] > 0 else 1)' "$T/kick-always.live" ||
	fail "kick-always: SPURIOUS-NOTIFY has no count and rate"

expect poll-no-barrier "bug=poll-no-barrier log=off uart=fast" 6 "POLL-NO-FENCE" \
	"polls: progress, no fence" "trace: POLL"

expect fence-per-spin "barrier=seqcst-every log=off uart=fast" 6 "FENCE-PER-SPIN" \
	"barriers" "trace: POLL" "spins" "trace: POLL"

# The seed story: a log line per frame over a 115200-baud UART.
expect log-dominates "log=frame uart=115200" 6 "LOG-DOMINATES" \
	"share of frame time" "trace" "log time per frame" "trace: LOG"

# A paused VM stands still on purpose: no stuck finding while doctor
# watches it paused with commands in flight, and none after it runs again.
boot paused "depth=64 flush=line lines=1 log=off uart=fast"
"$VQSCOPE" doctor --json -d 15 "$DIR/qmp.sock" >"$T/paused.live" 2>"$T/paused.err" &
doc=$!
sleep 1
caught=
for _ in $(seq 1 20); do
	qmp "$DIR/mon.qmp" stop >/dev/null || fail "paused: QMP stop failed"
	"$VQSCOPE" top --batch --json -n 1 -i 100ms --no-ram "$DIR/mon.qmp" >"$T/paused.top" ||
		fail "paused: top failed"
	if python3 -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["queues"][0]["in_flight"] > 0 else 1)' "$T/paused.top"; then
		caught=1
		break
	fi
	qmp "$DIR/mon.qmp" cont >/dev/null || fail "paused: QMP cont failed"
	sleep 0.2
done
[ -n "$caught" ] || fail "paused: never caught the VM with commands in flight"
sleep 3
qmp "$DIR/mon.qmp" cont >/dev/null || fail "paused: QMP cont failed"
wait "$doc" || { cat "$T/paused.live" "$T/paused.err" >&2; fail "paused: doctor failed"; }
stop
[ ! -s "$T/paused.live" ] || { cat "$T/paused.live" >&2; fail "paused: findings on a paused VM"; }
pass "a VM paused for 3 s through QMP with commands in flight is not stuck"
