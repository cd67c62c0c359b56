#!/usr/bin/env bash
# test-guest-matrix.sh - the demo guest in every combination of
# event_idx (on, off) x packed (on, off) x depth (1, 4, the queue's 64) x
# barrier policy (4) x flush mode (2), polling, and of event_idx x
# packed x depth with complete=irq: each boot renders two frames, passes
# the driver's own self-check (its free list and indices, after its
# whole-ring self-test chain) and powers off, and its trace passes every
# check_trace invariant: kick decisions as the suppression state read
# asks, packed positions and wrap counters, used_event, depth, barrier
# counts per policy, the rings in guest RAM.  One boot takes about 0.2 s
# under TCG, so the 108 boots take well under a minute on an idle
# machine.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

frames=2
booted=0

# run NAME "GUEST OPTIONS" CHECK-ARGS...
run() {
	local name=$1 options=$2
	shift 2
	demo_boot "$name" "$frames" "log=off uart=fast $options"
	demo_expect_done "$name"
	grep -q "^vqdemo: self-check: gpu0.control: 64 of 64 descriptors free, nothing in flight" \
		"$T/$name/serial.log" || {
		demo_serial "$name"
		fail "$name: no self-check line"
	}
	grep -q "^vqdemo: gpu0.control: self-test: a chain of all 64 descriptors" \
		"$T/$name/serial.log" || fail "$name: no whole-ring self-test line"
	check_trace check "$T/$name/trace.region" --demo --frames "$frames" --ram "$T/$name/guest.ram" \
		--no-log-in-frames "$@" >"$T/$name.check" 2>&1 || {
		cat "$T/$name.check" >&2
		fail "$name: trace invariants violated (see above)"
	}
	booted=$((booted + 1))
	# Keep the temp dir small: 108 boots of 128M guest RAM each.
	rm -rf "${T:?}/$name"
}

for event_idx in on off; do
	for packed in off on; do
		for depth in 1 4 64; do
			common="event_idx=$event_idx packed=$packed depth=$depth"
			checks=(--event-idx "$event_idx" --packed "$packed" --depth "$depth")
			for flush in frame line; do
				# 240 lines in bands of 16: 15 transfer + flush pairs.
				if [ "$flush" = frame ]; then commands=2; else commands=30; fi
				for policy in seqcst-every on-progress acquire-every none; do
					run "ei-$event_idx-p-$packed-d$depth-$flush-$policy" \
						"$common flush=$flush lines=16 barrier=$policy" \
						"${checks[@]}" --policy "$policy" --commands "$commands" \
						--no-irq
				done
			done
			run "ei-$event_idx-p-$packed-d$depth-irq" \
				"$common flush=line lines=16 complete=irq" \
				"${checks[@]}" --policy on-progress --commands 30 --irq
		done
		pass "event_idx=$event_idx packed=$packed: depth 1, 4, 64 x 4 policies x 2 flush modes, and complete=irq"
	done
done
[ "$booted" = 108 ] || fail "$booted boots, expected 108"

# The suppression the trace checks is really there: with event idx on a
# split ring and commands in flight, the device's avail_event makes the
# driver skip notifications.  How many depends on timing (5 to 10% of
# 2405 decisions here, more on a loaded machine), so only that some are
# skipped, and that every skip was right.
demo_boot suppress 10 "log=off uart=fast depth=64 flush=line lines=1" --region-size 8M
demo_expect_done suppress
check_trace check "$T/suppress/trace.region" --demo --frames 10 --event-idx on --depth 64 \
	>"$T/suppress.check" || fail "suppress: trace invariants violated"
read -r decisions notified < <(sed -n 's/.*(\([0-9]*\) kick decisions, \([0-9]*\) notified.*/\1 \2/p' \
	"$T/suppress.check")
[ "${decisions:-0}" -ge 2000 ] || fail "suppress: ${decisions:-no} kick decisions, expected 2405"
[ "$notified" -lt "$decisions" ] || fail "suppress: all $decisions kick decisions notified"
pass "event idx suppressed $((decisions - notified)) of $decisions notifications, each as avail_event asked"
