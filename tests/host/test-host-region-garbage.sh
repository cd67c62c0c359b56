#!/usr/bin/env bash
# test-host-region-garbage.sh - the trace region is untrusted: random bytes
# written over it while `vqscope record` reads it must not crash the
# recorder, the damage must be counted (lost records, protocol violations)
# and the recording must stay valid.
#
# While the guest runs it rewrites what it owns within microseconds, so
# random bytes over its ring mostly go unseen; with the VM stopped (through
# a second QMP monitor: the recorder holds the first) they stay: random
# queue-table slots, a ring head moved 500 records ahead over stale and
# random slots, then a random ring head.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/lib.sh"

ctl=$T/ctl.sock
host_demo_start guest "log=off" -- -qmp "unix:$ctl,server=on,wait=off"
region=$DEMO_DIR/trace.region
size=$(stat -c %s "$region")

random_over() { # OFFSET BYTES
	dd if=/dev/urandom of="$region" bs=1 count="$2" seek="$1" conv=notrunc status=none
}

# The recorder has been round its loop at least once since now: it writes
# device samples (5 a second) even while the VM is stopped.
recorder_polled() {
	local size
	size=$(stat -c %s "$T/garbage.vqt")
	wait_for 20 bigger_than "$T/garbage.vqt" "$size" || fail "the recorder stopped writing"
	size=$(stat -c %s "$T/garbage.vqt")
	wait_for 20 bigger_than "$T/garbage.vqt" "$size" || fail "the recorder stopped writing"
}

# Until SIGINT: the steps below take their time on a loaded machine.
"$VQSCOPE" record -o "$T/garbage.vqt" "$SOCK" 2>"$T/record.err" &
rec=$!
track_pid "$rec"
wait_for 30 bigger_than "$T/garbage.vqt" 8192 || fail "record wrote nothing"
for _ in 1 2 3 4; do
	# 64 KiB somewhere in the event ring (the second half), while it runs.
	dd if=/dev/urandom of="$region" bs=65536 count=1 conv=notrunc status=none \
		seek=$((size / 2 / 65536 + RANDOM % (size / 2 / 65536)))
	sleep 0.1
done
qmp "$ctl" stop >/dev/null
random_over $((0x2000)) 512 # queue-table slots 0 and 1
python3 - "$region" <<'EOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0x100)
    head, = struct.unpack("<Q", f.read(8))
    f.seek(0x100)
    f.write(struct.pack("<Q", head + 500))
EOF
recorder_polled
random_over $((0x100)) 8 # the ring head
recorder_polled
qmp "$ctl" cont >/dev/null
sleep 0.5
kill -INT "$rec"
expect_exit "$rec" 0 "$T/record.err"
kill -0 "$DEMO_PID" || fail "the guest died"
qemu_stop "$DEMO_PID"

vq report --json "$T/garbage.vqt" >"$T/report.json" || fail "report of the recording"
events=$(json "$T/report.json" '["events"]')
lost=$(json "$T/report.json" '["lost"]')
violations=$(json "$T/report.json" '["violations"]')
echo "events $events, lost $lost, violations $violations"
[ "$events" -gt 0 ] || fail "no events recorded"
[ "$lost" -ge 500 ] || fail "$lost lost records; the 500 slots read past the real head are lost"
[ "$violations" -ge 2 ] || fail "$violations violations: random queue slots and head not counted"
vq export -q -o "$T/garbage.json" "$T/garbage.vqt" || fail "export"
check_export "$T/garbage.json" >/dev/null || fail "export of the damaged session is not well-formed"
vq dump "$T/garbage.vqt" >"$T/dump.txt" || fail "dump"
grep -Eq '^lost [0-9]+ records$' "$T/dump.txt" || fail "dump shows no lost records"
grep -Eq '^violations [0-9]+: .+$' "$T/dump.txt" || fail "dump shows no violations"
grep -E '^violations' "$T/dump.txt" | sort | uniq -c | head -5
pass "random bytes over the region: no crash, $lost lost and $violations violations counted"
