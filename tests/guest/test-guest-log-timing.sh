#!/usr/bin/env bash
# test-guest-log-timing.sh - the case study's real cause: with log=frame
# and a UART paced like real hardware at 115200 baud, the per-frame
# [VIRTIO PERF] line makes frames measurably slower than log=off.  The
# FRAME_END - FRAME_BEGIN durations from the two traces are compared as a
# ratio of medians (never against the machine's absolute speed).  Every
# log write is also a LOG event inside the frame.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

frames=20
min_ratio=1.5

demo_boot quiet "$frames" "log=off uart=115200"
demo_expect_done quiet
check_trace check "$T/quiet/trace.region" --frames "$frames" --no-log-in-frames ||
	fail "log=off: trace invariants violated"

demo_boot logged "$frames" "log=frame uart=115200"
demo_expect_done logged
check_trace check "$T/logged/trace.region" --frames "$frames" --log-per-frame ||
	fail "log=frame: trace invariants violated"
lines=$(grep -c '^\[VIRTIO PERF\] fences=[0-9]* spins=[0-9]* completions=2' "$T/logged/serial.log" || true)
[ "$lines" -eq "$frames" ] ||
	fail "log=frame: $lines [VIRTIO PERF] lines with 2 completions, expected $frames"

quiet_ns=$(check_trace frame-ns "$T/quiet/trace.region" | sed -n 's/.*median_ns=\([0-9]*\).*/\1/p')
logged_ns=$(check_trace frame-ns "$T/logged/trace.region" | sed -n 's/.*median_ns=\([0-9]*\).*/\1/p')
if [ -z "$quiet_ns" ] || [ -z "$logged_ns" ] || [ "$quiet_ns" -eq 0 ]; then
	fail "could not read frame durations ('$quiet_ns' / '$logged_ns')"
fi
ratio=$(awk -v a="$logged_ns" -v b="$quiet_ns" 'BEGIN { printf "%.2f", a / b }')
echo "median frame: log=off ${quiet_ns} ns, log=frame uart=115200 ${logged_ns} ns, ratio $ratio"
awk -v r="$ratio" -v m="$min_ratio" 'BEGIN { exit !(r > m) }' ||
	fail "log=frame uart=115200 frames are only ${ratio}x log=off, expected > ${min_ratio}x"
pass "per-frame serial log at 115200 baud slows frames ${ratio}x"
