#!/usr/bin/env bash
# test-tui-receive.sh - a receive queue in the interactive view: the
# recording of gen_golden with virtio-net's rx (tests/lib/synthetic.c)
# replayed to its end at 160x30.  The overview shows rx's posted buffers
# as INFL, no latency, and under the rows its fills, time to fill,
# starvation and the buffers posted before tracing; the anomaly with its
# text at the top; screen 5 shows rx's time to fill, not latency.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

"$BUILD/tests/golden/gen_golden" "$T" || fail "gen_golden failed"
tui_start 160 30 "'$VQSCOPE' replay --speed 8 '$T/receive.vqt'"
wait_screen 60 'end of the recording'
wait_screen 10 '^anomalies: 1, latest: net0\.rx: USED of head 0 which is not in flight'
wait_screen 10 '^ *0 +net0\.rx +8 +6 +20/14 .* - +- +- +0 *$'
wait_screen 10 '^receive net0\.rx: posted 6, fills [0-9.]+/s of 901 bytes, time to fill p50 805\.3ms p99 999\.5ms max 999\.5ms, starved 300\.0ms \(1 time\), 8 posted before tracing'
pass "overview: rx's posted buffers, no latency, its fills and starvation, the anomaly's text"
keys 5
wait_screen 10 '^time to fill of net0\.rx \(slot 0\), ADD to USED: 5 buffers filled'
pass "screen 5: rx's time to fill"
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "exit status $TUI_EXIT"
