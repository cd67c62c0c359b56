#!/usr/bin/env bash
# test-tracer-linux-guest.sh - vqscope-trace in a stock Linux guest (Debian's
# cloud kernel, virtio_ring as a module) with the method it picks itself
# (fentry there): the host reads the trace region the guest wrote through
# ivshmem and checks it against the I/O the guest did, and checks that the
# recording the tracer wrote at the same time (--output) holds the same,
# that the lines it printed (--stdout) are the ones `vqscope dump` prints
# of that recording, and that --stats counted the hooks' runs.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/guest.sh"

traced_guest_prepare
traced_guest_run auto "" "--shm auto --output /tmp/trace.vqt --stdout --stats" \
	"sh:tar cf /tmp/trace.tar -C /tmp trace.vqt trace.out" "sh:export_file /tmp/trace.tar"
log=$T/auto.trace0.log
cat "$log"
mkdir "$T/exported"
tar xf "$T/auto.exported" -C "$T/exported" || fail "the guest's tar of its outputs does not unpack"

grep -q "^vqscope-trace: method fentry .*: the kernel supports it" "$log" ||
	fail "the tracer did not choose fentry on a kernel that has it"
grep -q "tracer exit 0" "$T/auto.serial" || fail "the tracer did not exit cleanly on SIGINT"
"$BUILD/tests/tracer/check_region" "$T/auto.region0" --blk-reads "$GUEST_BLK_READS" \
	--blk-size "$GUEST_BLK_SIZE" --rng-size "$GUEST_RNG_SIZE" --recording "$T/exported/trace.vqt" ||
	fail "the trace region does not match the guest's I/O"
# One virtqueue_add_sgs per disk read; the rng's adds are add_inbuf.
grep -q "^vqscope-trace: stats: fexit/virtqueue_add_sgs: $GUEST_BLK_READS runs, [1-9][0-9]* ns" "$log" ||
	fail "--stats did not count $GUEST_BLK_READS runs of the virtqueue_add_sgs exit hook"
grep -q "^vqscope-trace: stats: all [0-9]* programs: [1-9][0-9]* runs" "$log" ||
	fail "--stats printed no total"
# The same events in the same words, at the same times (from the first).
"$BUILD/vqscope" dump "$T/exported/trace.vqt" | grep -E '^[0-9]+\.[0-9]{9} [0-9]+:[0-9]+ ' \
	>"$T/dump.lines" || fail "vqscope dump of the tracer's recording failed"
[ "$(wc -l <"$T/dump.lines")" -gt "$GUEST_BLK_READS" ] || fail "dump printed too few events"
diff "$T/dump.lines" "$T/exported/trace.out" >"$T/lines.diff" || {
	head -n 20 "$T/lines.diff" >&2
	fail "--stdout and vqscope dump print the events differently"
}
pass "fentry tracer in a Linux guest"
