#!/usr/bin/env bash
# test-tracer-fallback.sh - vqscope-trace's fallbacks in a stock
# Linux guest.  The kernel boots with function tracing off
# (sysctl.kernel.ftrace_enabled=0): fentry trampolines and kprobes on
# function entries would attach and never run, so the tracer must find
# both unusable by itself, say why, and fall back to the irq_handler_entry
# tracepoint (interrupts only).  Then the guest turns ftrace back on and a
# run forced onto kprobes must trace as completely as fentry does, except
# for what it reports it missed: the kernel runs one kprobe at a time per
# CPU, so an interrupt landing in one of the tracer's programs loses every
# hook inside it.  The tracer counts those from the kernel's own counts
# (kprobe_profile) and from the rings themselves; the region must show
# exactly the records it counted lost, and each queue exactly the adds
# and reaps it reported missed.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/guest.sh"

# bpf_busy makes the kprobe run lose hook runs for certain (see guest.sh).
GUEST_BPF_BUSY=1
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
grep -q "^vqscope-trace: hook runs the kernel skips are counted from hits and misses in kprobe_profile" \
	"$T/fallback.trace1.log" || fail "the kprobe run did not take the kernel's counts from kprobe_profile"
[ "$(grep -c "tracer exit 0" "$T/fallback.serial")" -eq 2 ] ||
	fail "the tracer did not exit cleanly on SIGINT"
"$BUILD/tests/tracer/check_region" "$T/fallback.region0" --irq-only \
	--blk-size "$GUEST_BLK_SIZE" --rng-size "$GUEST_RNG_SIZE" \
	--lost "$(traced_guest_lost "$T/fallback.trace0.log")" ||
	fail "the tracepoint trace does not match the guest's I/O"
log=$T/fallback.trace1.log
lost=$(traced_guest_lost "$log")
echo "kprobe run: $lost records lost; $(grep "reaps and .* adds missed$" "$log" | tr '\n' ' ')"
"$BUILD/tests/tracer/check_region" "$T/fallback.region1" --blk-reads "$GUEST_BLK_READS" \
	--blk-size "$GUEST_BLK_SIZE" --rng-size "$GUEST_RNG_SIZE" --lost "$lost" \
	--blk-missed "$(traced_guest_missed "$log" req.0)" \
	--rng-missed "$(traced_guest_missed "$log" input)" ||
	fail "the kprobe trace does not match the guest's I/O"
pass "tracepoint fallback and kprobe method in a Linux guest"
