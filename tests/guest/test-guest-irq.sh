#!/usr/bin/env bash
# test-guest-irq.sh - complete=irq: the demo guest waits for MSI-X
# interrupts instead of spinning; the trace has IRQ events, still
# satisfies every invariant, and the polling run has none.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

demo_boot irq 4 "complete=irq flush=line lines=16"
demo_expect_done irq
grep -q "MSI-X entry 0 -> vector" "$T/irq/serial.log" || fail "irq: MSI-X was not set up"
check_trace check "$T/irq/trace.region" --frames 4 --commands 30 --policy on-progress \
	--irq || fail "irq: trace invariants violated (see above)"
pass "complete=irq"

demo_boot poll 2 "complete=poll"
demo_expect_done poll
check_trace check "$T/poll/trace.region" --frames 2 --no-irq ||
	fail "poll: trace invariants violated (see above)"
pass "complete=poll has no interrupts"
