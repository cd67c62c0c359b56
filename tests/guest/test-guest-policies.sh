#!/usr/bin/env bash
# test-guest-policies.sh - the demo guest in each barrier policy and both
# flush modes renders a few frames and powers off; the trace region it
# leaves satisfies the protocol invariants (check_trace check): every ADD
# used exactly once with the same head, avail/used indices advancing by
# one modulo 2^16, queue-table counters equal to the events, frames
# paired, no errors, barrier counts matching the policy, and the rings in
# guest RAM agreeing with the queue table.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

frames=4
# 240 lines in bands of 16: 15 transfer + flush pairs per frame.
for flush in frame line; do
	if [ "$flush" = frame ]; then commands=2; else commands=30; fi
	for policy in seqcst-every on-progress acquire-every none; do
		name=$policy-$flush
		demo_boot "$name" "$frames" "barrier=$policy flush=$flush lines=16 log=off"
		demo_expect_done "$name"
		grep -q "running: barrier=$policy flush=$flush " "$T/$name/serial.log" ||
			fail "$name: the guest did not report barrier=$policy flush=$flush"
		check_trace check "$T/$name/trace.region" --frames "$frames" --policy "$policy" \
			--commands "$commands" --no-log-in-frames --ram "$T/$name/guest.ram" ||
			fail "$name: trace invariants violated (see above)"
		pass "$name"
	done
done
