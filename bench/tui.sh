#!/usr/bin/env bash
# tui.sh - CPU cost of the live view: `vqscope top` (interactive, in a
# tmux pane) at its default refresh, from the scheduler's run time of its
# threads (bench_cpu_ns) over a fixed interval, in two situations:
#
#   synthetic   1 M events/s from bench/synth_producer through QMP and
#               ivshmem, the target load (<= 1% of a core)
#   demo        the demo guest rendering flat out (flush=line, the
#               motivating configuration)
#
# Peer, in the same repetitions: procps `top -b -d 1` watching the same
# machine for the same time, the tool whose refresh a user compares it
# with.  The modes alternate within each repetition (bench/lib.sh); the
# view runs on one core, the load (the producer, the demo guest's vCPU)
# on the other.  Each repetition also reads how many events the producer
# wrote meanwhile (the region's ring head), so the view's cost per event
# and its share of a core at exactly 1 M events/s come out too.
#
#   bench/tui.sh [--reps N] [--seconds S] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
reps=$BENCH_MIN_REPS
seconds=5
json=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/tui.sh [--reps N] [--seconds S] [--json FILE]" >&2; exit 2 ;;
	esac
done
vqscope=$(realpath "$O/vqscope")
producer=$(realpath "$O/bench/synth_producer")
command -v tmux >/dev/null || { echo "tui.sh: needs tmux" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-tui.XXXXXX")
chmod 0700 "$work"
pids=()
cleanup() {
	tmux -S "$work/tmux" kill-server 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# Events written so far into the region file (its ring_head, 0x100).
ring_head() { od -An -t u8 -j 256 -N 8 "$1" | tr -d ' '; }

# measure PID REGION: "percent events_per_s ns_per_event" over $seconds.
measure() {
	local pid=$1 region=$2 a b h0 h1 t0 t1
	a=$(bench_cpu_ns "$pid")
	h0=$(ring_head "$region")
	t0=$EPOCHREALTIME
	sleep "$seconds"
	b=$(bench_cpu_ns "$pid")
	h1=$(ring_head "$region")
	t1=$EPOCHREALTIME
	awk -v a="$a" -v b="$b" -v h0="$h0" -v h1="$h1" -v t0="$t0" -v t1="$t1" 'BEGIN {
		s = t1 - t0; e = h1 - h0
		printf "%.4f %.0f %.3f\n", (b - a) / (s * 1e9) * 100, e / s, (e > 0 ? (b - a) / e : 0) }'
}

# Start `vqscope top SOCKET` in a tmux pane on the host core; prints its
# PID once it has attached and drawn its first frames.
start_top() {
	local sock=$1 pid=
	tmux -S "$work/tmux" new-session -d -x 120 -y 40 \
		"exec taskset -c $BENCH_HOST_CORE $vqscope top $sock 2>$work/top.err"
	for _ in $(seq 50); do
		pid=$(tmux -S "$work/tmux" list-panes -F '#{pane_pid}' 2>/dev/null | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	sleep 2 # attach, the backlog, first frames
	kill -0 "$pid" 2>/dev/null || { echo "tui.sh: vqscope top ended: $(cat "$work/top.err")" >&2; exit 1; }
	echo "$pid"
}

# Stop the view and wait until it has let go of the QMP socket.
stop_top() {
	local pid=$1
	tmux -S "$work/tmux" kill-server 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	sleep 1 # QEMU lets go of the connection
}

# One mode of one repetition, against SOCK and REGION (set per group).
declare -A detail
run_mode() {
	local mode=$1 rep=$2 pid out
	case $mode in
	view)
		pid=$(start_top "$sock")
		out=$(measure "$pid" "$region")
		stop_top "$pid"
		;;
	top-b)
		bench_on "$BENCH_HOST_CORE" top -b -d 1 >/dev/null &
		pid=$!
		pids+=("$pid")
		sleep 1
		out=$(measure "$pid" "$region")
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		;;
	esac
	detail["$group $mode $rep"]=$out
	echo "${out%% *}"
}

# group NAME: runs both modes interleaved; leaves the samples as
# "NAME-view" and "NAME-top-b", and per repetition the view's events/s
# and ns/event as "NAME-rate" and "NAME-ns".
run_group() {
	local r m
	bench_interleave "$reps" run_mode view top-b
	for ((r = 1; r <= reps; r++)); do
		for m in view top-b; do
			bench_sample "$group-$m" "$r" "${BENCH_SAMPLES["$m $r"]}"
		done
		read -r _ rate ns <<<"${detail["$group view $r"]}"
		bench_sample "$group-rate" "$r" "$rate"
		bench_sample "$group-ns" "$r" "$ns"
		# The share of a core at exactly 1 M events/s: ns per event / 10.
		bench_sample "$group-at1m" "$r" "$(awk -v n="$ns" 'BEGIN { printf "%.4f", n / 10 }')"
		unset 'BENCH_SAMPLES[view $r]' 'BENCH_SAMPLES[top-b $r]'
	done
}

echo "Live view CPU: $reps repetitions of ${seconds}s per mode, interleaved with top -b (load $(bench_load))"

# 1. One million events per second from the synthetic producer, on the
# guest core for the whole group.
mkdir "$work/synth"
synthetic_vm "$work/synth"
pids+=("$SYNTH_VM_PID")
bench_on "$BENCH_GUEST_CORE" "$producer" "$work/synth/region" 1000000 \
	$((reps * 2 * (seconds + 6) + 30)) >"$work/synth.json" &
pids+=("$!")
sleep 0.5
group=synth sock=$work/synth/qmp.sock region=$work/synth/region
run_group
kill "$SYNTH_VM_PID" "${pids[-1]}" 2>/dev/null || true

# 2. The demo guest at full speed, its vCPU on the guest core.
out=$(bash scripts/run-demo-guest.sh --background --dir "$work/demo" --frames 0 \
	--append "barrier=on-progress flush=line log=off")
qemu=${out##*pid=}
pids+=("$qemu")
bench_pin_vcpus "$qemu" "$BENCH_GUEST_CORE"
sleep 2
group=demo sock=$work/demo/qmp.sock region=$work/demo/trace.region
run_group
kill "$qemu"

synth=$(bench_stats $(bench_values synth-view))
synth_at1m=$(bench_stats $(bench_values synth-at1m))
synth_rate=$(bench_stats $(bench_values synth-rate))
synth_ns=$(bench_stats $(bench_values synth-ns))
synth_x=$(bench_stats $(bench_ratios synth-view synth-top-b))
demo=$(bench_stats $(bench_values demo-view))
demo_rate=$(bench_stats $(bench_values demo-rate))
demo_x=$(bench_stats $(bench_ratios demo-view demo-top-b))
peer=$(bench_stats $(bench_values synth-top-b) $(bench_values demo-top-b))

echo "Median [95% interval] over $reps repetitions (% of one core):"
bench_line "vqscope top, synthetic: % of a core" "$synth"
bench_line "  at its rate, events/s" "$synth_rate"
bench_line "  ns of CPU per event" "$synth_ns"
bench_line "  % of a core at exactly 1 M events/s" "$synth_at1m" le 1
bench_line "  x top -b" "$synth_x"
bench_line "vqscope top, demo guest: % of a core" "$demo"
bench_line "  at its rate, events/s" "$demo_rate"
bench_line "  x top -b" "$demo_x"
bench_line "peer: top -b -d 1, % of a core" "$peer"
if [ -n "$json" ]; then
	cat >"$json" <<EOF
{"reps": $reps, "seconds": $seconds, "load_before": $(bench_load),
 "stats": "median and 95% order-statistic interval over reps; ratios within each rep",
 "synthetic": {"percent": $(bench_json "$synth"), "events_per_s": $(bench_json "$synth_rate"),
   "ns_per_event": $(bench_json "$synth_ns"), "percent_at_1m": $(bench_json "$synth_at1m"),
   "x_top_b": $(bench_json "$synth_x"), "target_percent_at_1m": 1,
   "verdict": "$(bench_verdict "$synth_at1m" le 1)"},
 "demo": {"percent": $(bench_json "$demo"), "events_per_s": $(bench_json "$demo_rate"),
   "x_top_b": $(bench_json "$demo_x")},
 "top_b_percent": $(bench_json "$peer")}
EOF
fi
