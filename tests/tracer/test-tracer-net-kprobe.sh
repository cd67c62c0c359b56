#!/usr/bin/env bash
# test-tracer-net-kprobe.sh - test-tracer-net.sh with vqscope-trace forced
# onto kprobes (--method kprobe): the same live and counting checks, with
# the interrupts the kernel skipped (which the tracer reports) allowed for.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/net.sh"

net_guest_test netkp --method kprobe
pass "kprobe-traced Linux guest with virtio-net, watched live"
