#!/usr/bin/env bash
# test-tracer-fallback.sh - vqscope-trace's fallbacks in a stock
# Linux guest.  The kernel boots with function tracing off
# (sysctl.kernel.ftrace_enabled=0): fentry trampolines and kprobes on
# function entries would attach and never run, so the tracer must find
# both unusable by itself, say why, and fall back to the irq_handler_entry
# tracepoint (interrupts only).  Then the guest turns ftrace back on and a
# run forced onto kprobes must trace as completely as fentry does, except
# for block reaps it reports it missed (the kernel runs one kprobe BPF
# program per CPU at a time, so an interrupt landing in another's run
# loses its hooks): those must be exactly the records counted lost and
# the block adds left without a reap.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/guest.sh"

traced_guest_prepare
traced_guest_run fallback "sysctl.kernel.ftrace_enabled=0" \
	"--shm auto" \
	"sh:echo 1 >/proc/sys/kernel/ftrace_enabled" \
	"--shm 0000:00:09.0 --method kprobe"
cat "$T/fallback.trace0.log" "$T/fallback.trace1.log"

grep -q "^vqscope-trace: method tracepoint .*: fentry unavailable: kernel.ftrace_enabled is 0.*; kprobe unavailable: kernel.ftrace_enabled is 0" \
	"$T/fallback.trace0.log" ||
	fail "with ftrace off the tracer did not fall back to the tracepoint and say why"
grep -q "^vqscope-trace: method kprobe .*: forced by --method" "$T/fallback.trace1.log" ||
	fail "--method kprobe was not honoured"
[ "$(grep -c "tracer exit 0" "$T/fallback.serial")" -eq 2 ] ||
	fail "the tracer did not exit cleanly on SIGINT"
"$BUILD/tests/tracer/check_region" "$T/fallback.region0" --irq-only \
	--blk-size "$GUEST_BLK_SIZE" --rng-size "$GUEST_RNG_SIZE" ||
	fail "the tracepoint trace does not match the guest's I/O"
missed=$(sed -n 's/.* \([0-9]*\) reaps missed .*/\1/p' "$T/fallback.trace1.log")
[ -n "$missed" ] || fail "the kprobe run did not say how many reaps it missed"
echo "kprobe run: $missed reaps missed"
"$BUILD/tests/tracer/check_region" "$T/fallback.region1" --blk-reads "$GUEST_BLK_READS" \
	--blk-size "$GUEST_BLK_SIZE" --rng-size "$GUEST_RNG_SIZE" --missed-reaps "$missed" ||
	fail "the kprobe trace does not match the guest's I/O"
pass "tracepoint fallback and kprobe method in a Linux guest"
