#!/usr/bin/env bash
# test-guest-regions.sh - the demo guest works with any trace-region size
# wherever the firmware puts the BAR: the smallest region (64K), a 1G one
# whose 64-bit BAR lands above 4 GiB, and long runs whose ring indices
# wrap past 2^16 (flush=line with one-line bands: 480 commands a frame,
# 67,200 in 140 frames) with every invariant still holding: one command
# at a time on a split ring with event idx (avail_event and used_event
# wrap too), and four in flight on a packed ring (its buffer counts wrap,
# its wrap counters flip every 64 descriptors).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

demo_boot small 2 "" --region-size 64K
demo_expect_done small
grep -q "trace region: ivshmem BAR2 at 0x[0-9a-f]*, 64 KiB" "$T/small/serial.log" ||
	fail "64K: the guest did not report a 64 KiB region"
check_trace check "$T/small/trace.region" --frames 2 --ram "$T/small/guest.ram" ||
	fail "64K: trace invariants violated"
pass "64 KiB region"

demo_boot large 2 "" --region-size 1G
demo_expect_done large
grep -Eq "trace region: ivshmem BAR2 at 0x[1-9a-f][0-9a-f]{8,}, 1048576 KiB, 64-bit BAR" \
	"$T/large/serial.log" || {
	demo_serial large
	fail "1G: the region's BAR is not a 64-bit BAR above 4 GiB"
}
check_trace check "$T/large/trace.region" --frames 2 ||
	fail "1G: trace invariants violated"
pass "1 GiB region in a 64-bit BAR above 4 GiB"

# 140 frames * 480 commands * 4 events (ADD, KICK, POLL, USED) plus frames
# and setup: ~270,000 records, which a 32M region's ring (524,288) holds.
demo_boot wrap 140 "flush=line lines=1 barrier=acquire-every" --region-size 32M
demo_expect_done wrap
check_trace check "$T/wrap/trace.region" --demo --frames 140 --commands 480 \
	--policy acquire-every --ram "$T/wrap/guest.ram" --event-idx on ||
	fail "wrap: trace invariants violated"
grep -q "done: 140 frames, 672[0-9][0-9] commands" "$T/wrap/serial.log" ||
	fail "wrap: the guest did not send more than 65,536 commands"
pass "ring indices wrap past 2^16"

demo_boot packed-wrap 140 "flush=line lines=1 packed=on depth=4 complete=irq" --region-size 32M
demo_expect_done packed-wrap
check_trace check "$T/packed-wrap/trace.region" --demo --frames 140 --commands 480 --irq \
	--ram "$T/packed-wrap/guest.ram" --packed on --event-idx on --depth 4 ||
	fail "packed-wrap: trace invariants violated"
grep -q "done: 140 frames, 672[0-9][0-9] commands" "$T/packed-wrap/serial.log" ||
	fail "packed-wrap: the guest did not send more than 65,536 commands"
pass "packed ring buffer counts wrap past 2^16 with 4 commands in flight"
