#!/usr/bin/env bash
# test-tracer-net.sh - a stock Linux guest with virtio-net, virtio-blk and
# virtio-rng traced by vqscope-trace with the method it picks itself
# (fentry), watched live from the host: vqscope top sees each disk read
# within a second while the guest runs, 100 pings show as their tx adds
# and rx reaps, interrupts match the guest's /proc/interrupts, rx is a
# receive queue, and the producer's state and losses reach the region
# (tests/tracer/net.sh, net_session.py).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/net.sh"

net_guest_test net
pass "traced Linux guest with virtio-net, watched live"
