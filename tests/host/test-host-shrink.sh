#!/usr/bin/env bash
# test-host-shrink.sh - the trace region's file cut short while vqscope has
# it mapped (truncate(1) to 0, 4096 bytes and 2 MiB): no SIGBUS death but
# "trace region FILE shrank to N bytes while attached", exit status 4, and
# a recording closed in order with everything it had.  The guest is paused
# first (through a second QMP monitor) so that QEMU itself never touches
# the missing pages; the 2 MiB case has no guest at all: a producer on the
# host writes the region of a QEMU started with -S.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/lib.sh"

PRODUCER=$BUILD/tests/host/hostile_producer

# ---- record, cut to 0 bytes ------------------------------------------------------
ctl=$T/ctl0.sock
host_demo_start g0 "log=off" -- -qmp "unix:$ctl,server=on,wait=off"
"$VQSCOPE" record -o "$T/zero.vqt" "$SOCK" 2>"$T/zero.err" &
rec=$!
track_pid "$rec"
wait_for 30 bigger_than "$T/zero.vqt" 8192 || fail "record wrote nothing"
qmp "$ctl" stop >/dev/null
truncate -s 0 "$DEMO_DIR/trace.region"
expect_exit "$rec" 4 "$T/zero.err"
grep -q "trace region $DEMO_DIR/trace.region shrank to 0 bytes while attached" "$T/zero.err" ||
	fail "record did not say the region shrank"
grep -q "is closed and valid" "$T/zero.err" || fail "record did not say the file is closed"
vq report --json "$T/zero.vqt" >"$T/zero.json" 2>"$T/zero.warn" || fail "report of the recording"
[ ! -s "$T/zero.warn" ] || fail "the recording is not clean: $(cat "$T/zero.warn")"
events=$(json "$T/zero.json" '["events"]')
[ "$events" -gt 100 ] || fail "only $events events in the recording"
json "$T/zero.json" '["end_reason"]' | grep -q "shrank to 0 bytes" || fail "CLOSE does not say why"
qemu_stop "$DEMO_PID"
pass "record: the region cut to 0 bytes ends it with status 4 and a clean file of $events events"

# ---- top --batch, cut to 4096 bytes ---------------------------------------------------
ctl=$T/ctl1.sock
host_demo_start g1 "log=off" -- -qmp "unix:$ctl,server=on,wait=off"
"$VQSCOPE" top --batch --interval 200ms "$SOCK" >"$T/top.out" 2>"$T/top.err" &
top=$!
track_pid "$top"
wait_for 30 grep -q '^   0 gpu0\.control' "$T/top.out" || fail "top printed nothing"
qmp "$ctl" stop >/dev/null
truncate -s 4096 "$DEMO_DIR/trace.region"
expect_exit "$top" 4 "$T/top.err"
grep -q "trace region $DEMO_DIR/trace.region shrank to 4096 bytes while attached" "$T/top.err" ||
	fail "top did not say the region shrank"
qemu_stop "$DEMO_PID"
pass "top --batch: the region cut to 4096 bytes ends it with status 4"

# ---- dump of a live producer, cut to 2 MiB (no guest: -S) --------------------------
qemu_start bare -S -machine q35 -m 64 -display none \
	-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$T/bare.region,share=on" \
	-device ivshmem-plain,memdev=vqtrace
wait_for 10 test -s "$T/bare.region" || fail "QEMU made no region file"
"$PRODUCER" "$T/bare.region" 30 0 >/dev/null 2>&1 &
producer=$!
track_pid "$producer"
"$VQSCOPE" dump "$T/bare.qmp" >"$T/dump.out" 2>"$T/dump.err" &
dump=$!
track_pid "$dump"
lines_above() { [ "$(wc -l <"$T/dump.out")" -gt "$1" ]; }
wait_for 30 lines_above 1000 || fail "dump printed nothing"
truncate -s 2M "$T/bare.region"
# The producer dies of SIGBUS writing the ring's second half; vqscope
# finds out reading it.
expect_exit "$dump" 4 "$T/dump.err"
{ wait "$producer" || true; } 2>/dev/null
grep -q "trace region $T/bare.region shrank to 2097152 bytes while attached" "$T/dump.err" ||
	fail "dump did not say the region shrank"
tail -n 1 "$T/dump.out" | grep -Eq '^[0-9]+\.[0-9]+ 1:[0-9]+ ' || fail "dump's last line is cut"
pass "dump: the region cut to 2 MiB under a live producer ends it with status 4, lines whole"
