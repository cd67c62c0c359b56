#!/usr/bin/env bash
# test-doctor-long.sh - a minute or more of a correct driver at full
# speed (64 commands in flight, a flush per line, event idx: about 100k
# events a second under TCG on an idle machine) gives vqscope doctor at
# least a million events and not one finding above info.  On a loaded
# machine the guest runs slower: the watch is made long enough for a
# million events at the rate measured first (up to 4 minutes).
. "$(dirname "$0")/../lib/common.sh"

VQSCOPE=$BUILD/vqscope
[ -x "$VQSCOPE" ] || fail "$VQSCOPE is missing (run make)"
[ -r "$BUILD/guest-driver/demo/vqdemo.elf" ] || fail "the demo kernel is missing (run make)"
SECONDS_LIVE=${DOCTOR_LONG_SECONDS:-60}

DIR=$T/guest
O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --dir "$DIR" --resolution 320x240 --frames 0 \
	--append "depth=64 flush=line lines=1 event_idx=on log=off uart=fast" \
	-- -qmp "unix:$DIR/mon.qmp,server=on,wait=off" >"$T/guest.stdout" 2>"$T/guest.stderr" &
track_pid $!
wait_for 60 grep -qs "^vqdemo: running: " "$DIR/serial.log" || {
	cat "$T/guest.stderr" "$DIR/serial.log" >&2
	fail "the demo guest did not start"
}
# The guest's event rate now, over 3 s, from the second monitor.
"$VQSCOPE" top --batch --json -n 4 -i 1s "$DIR/mon.qmp" >"$T/rate.json" || fail "top failed"
rate=$(python3 -c 'import json, sys
print(int(json.loads(open(sys.argv[1]).read().splitlines()[-1])["events_per_s"]))' "$T/rate.json")
[ "$rate" -gt 0 ] || fail "the guest makes no events"
need=$((1200000 / rate + 1))
[ "$need" -le 240 ] || fail "the guest makes only $rate events/s: a million would take ${need}s"
[ "$need" -le "$SECONDS_LIVE" ] || SECONDS_LIVE=$need
echo "the guest makes $rate events/s: watching for ${SECONDS_LIVE}s"
rc=0
"$VQSCOPE" doctor -d "$SECONDS_LIVE" "$DIR/qmp.sock" >"$T/doctor.txt" 2>"$T/doctor.err" || rc=$?
cat "$T/doctor.txt"
[ "$rc" = 0 ] || { cat "$T/doctor.err" >&2; fail "doctor exit status $rc"; }
events=$(sed -n 's/.*a live watch of events (\([0-9]*\) events.*/\1/p' "$T/doctor.txt")
[ -n "$events" ] || fail "no event count in doctor's first line"
[ "$events" -ge 1000000 ] || fail "only $events events in $SECONDS_LIVE s (at least 1000000 expected)"
if grep -Eq '^(error|warning) ' "$T/doctor.txt"; then
	fail "findings above info on a correct driver"
fi
pass "$events events in $SECONDS_LIVE s of a correct driver: no finding above info"
