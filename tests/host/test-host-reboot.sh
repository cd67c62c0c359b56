#!/usr/bin/env bash
# test-host-reboot.sh - a guest reboot in the middle of a session: the demo
# guest initialises the trace region again with the next generation, and
# `vqscope record` follows it (resync) without losing what came before or
# reading anything twice.  The reset goes through a second QMP monitor
# (the recorder holds the first), with -action reboot=reset overriding the
# launcher's -no-reboot.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/lib.sh"

ctl=$T/ctl.sock
host_demo_start guest "log=off" -- -action reboot=reset -qmp "unix:$ctl,server=on,wait=off"

"$VQSCOPE" record -o "$T/reboot.vqt" "$SOCK" 2>"$T/record.err" &
rec=$!
track_pid "$rec"
wait_for 30 bigger_than "$T/reboot.vqt" 8192 || fail "record wrote nothing"
qmp "$ctl" system_reset >/dev/null
# Until the guest is back and tracing in its new generation.
second_generation() { [ "$(region_generation "$DEMO_DIR/trace.region")" = 2 ]; }
wait_for 60 second_generation || { demo_serial guest; fail "the guest did not start tracing again"; }
sleep 1
kill -INT "$rec"
expect_exit "$rec" 0 "$T/record.err"
qemu_stop "$DEMO_PID"

vq report --json "$T/reboot.vqt" >"$T/report.json" || fail "report"
vq report "$T/reboot.vqt" | head -4
[ "$(json "$T/report.json" '["generations"]')" = 2 ] || fail "the report does not see 2 generations"
vq dump "$T/reboot.vqt" >"$T/dump.txt" || fail "dump"
# Sequence numbers increase by one within each generation: nothing read
# twice, nothing skipped without a 'lost' line.
awk '/^lost / { skip = 1; next }
	{ split($2, id, ":")
	  if (id[1] == gen && id[2] != seq + 1 && !skip) { print "bad: " $0; exit 1 }
	  gen = id[1]; seq = id[2]; skip = 0; n[gen]++ }
	END { for (g in n) print "generation", g, n[g], "events" }' "$T/dump.txt" >"$T/gens.txt" ||
	{ cat "$T/gens.txt" >&2; fail "sequence numbers repeat or skip within a generation"; }
cat "$T/gens.txt"
grep -q '^generation 1 [1-9]' "$T/gens.txt" || fail "no events before the reboot"
grep -q '^generation 2 [1-9]' "$T/gens.txt" || fail "no events after the reboot"
grep -Eq '^[0-9.]+ 2:[0-9]+ FRAME_BEGIN ' "$T/dump.txt" || fail "no frames after the reboot"
# Time goes on across the restart.
awk '{ if ($1 + 0 < last) { print "time went back: " $0; exit 1 } last = $1 + 0 }' \
	<(grep -E '^[0-9]' "$T/dump.txt") || fail "session time went backwards"
pass "reboot: followed into generation 2, counting on"
