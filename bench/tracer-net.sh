#!/usr/bin/env bash
# tracer-net.sh - what vqscope-trace costs a Linux guest on virtio-net, and
# what it costs when nothing happens, each against a peer measured in the
# same run.  One boot of the Linux test guest (Debian's cloud kernel with
# virtio-net on QEMU's user network, tests/tracer/linux-guest.sh) runs:
#
#   idle      vqscope-trace --shm auto in a guest doing nothing for IDLE
#             seconds, in REPS windows: its CPU time (/proc/PID/schedstat,
#             in ns) over the time passed, as a share of a core; the peer,
#             running alongside, is busybox `top -b -d 1` (refreshing once
#             a second) measured the same way in the same windows
#   delay     how long events take to reach the trace region, at a slow
#             rate (a ping every 200 ms for 5 s) and flat out (the ping
#             loop), REPS runs each: bench/region_latency reads the region
#             in the guest every millisecond and compares each record's
#             kernel timestamp with the time it could be read (target:
#             100 ms; under TCG the host's own load adds to it)
#   per-hook  the ping loop with `vqscope-trace --stats`: hooked calls,
#             BPF program runs and BPF instructions per round trip, counted
#             (each run at its program's xlated length), no clock involved
#   untraced  the ping loop with no tracing
#   vqscope   the ping loop with vqscope-trace --shm auto attached
#   ftrace    the ping loop with current_tracer=function on the functions
#             vqscope-trace hooked (recording into ftrace's buffer)
#
# The ping loop (bench/tracer_pingloop.c) sends PINGS ICMP echo requests
# to the user network's gateway one after the other, each when the last
# reply came: every round trip is a tx buffer, an rx buffer and their
# interrupts.  It gives the pings per second and the median round trip.
# Each rep runs each mode once, in an order that rotates from rep to rep;
# rates are taken as ratios to the same rep's untraced loop, and the
# median over reps is reported with its 95% interval (bench/lib.sh), as
# are the idle windows and the delay runs.  The floor, a loop's fastest
# round trip, is the figure least disturbed by other load on the host
# (which only ever adds time); the time a mode adds to it, in the same
# rep, is its cost per round trip.
#
# Under TCG the guest's CPU is emulated: its times are this machine's TCG
# figures, and the ratios are the result (the user network's work in QEMU
# is not emulated, which understates the tracer's native share).
#
#   bench/tracer-net.sh [--reps N] [--pings N] [--idle SECONDS] [--json FILE]
#                       [--serial FILE]
#
# --serial keeps the guest's console (every loop's figures, the tracer's
# per-program --stats).
# Defaults: 7 reps of 2000 pings, 30 s idle; about six minutes here.  Exits
# 77 when Debian's kernel package cannot be fetched.
#
# Environment: O (build dir), VQ_ACCEL (tcg, or kvm when it works).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
VQ_ACCEL=${VQ_ACCEL:-tcg}
reps=7
pings=2000
idle=30
json=
serial=
usage() {
	echo "usage: bench/tracer-net.sh [--reps N] [--pings N] [--idle SECONDS] [--json FILE] [--serial FILE]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
	--pings) [ $# -ge 2 ] || usage; pings=$2; shift 2 ;;
	--idle) [ $# -ge 2 ] || usage; idle=$2; shift 2 ;;
	--json) [ $# -ge 2 ] || usage; json=$2; shift 2 ;;
	--serial) [ $# -ge 2 ] || usage; serial=$2; shift 2 ;;
	*) usage ;;
	esac
done
for v in "$reps" "$pings" "$idle"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "tracer-net.sh: $v: not a positive number" >&2; exit 2; }
done

trace=$O/vqscope-trace
pingloop=$O/bench/tracer_pingloop
latency=$O/bench/region_latency
make --no-print-directory -s O="$O" "$trace" "$pingloop" "$latency" >&2 ||
	{ echo "tracer-net.sh: cannot build $trace, $pingloop and $latency" >&2; exit 1; }

. bench/lib.sh
bench_linux_setup tracer-net.sh

# ---- the guest's script ------------------------------------------------------

linux_guest_init_head vqbench >"$work/init"
cat >>"$work/init" <<'EOF'
finish() { say "done"; poweroff -f; }
guest_wait 10 "error: no eth0" test -d /sys/class/net/eth0 || finish
guest_net_up
say "kernel $(uname -r)"
T=/sys/kernel/tracing
# cpu_ns PID: the CPU time PID has had, in ns.
cpu_ns() { cut -d" " -f1 /proc/$1/schedstat; }
# centiseconds since boot
now_cs() { tr -d . </proc/uptime | cut -d" " -f1; }
# measure_idle TRACER TOP: both one's CPU over @REPS@ quiet windows of
# @WINDOW@ seconds.
measure_idle() {
	sleep 2
	for k in $(seq @REPS@); do
		v0=$(cpu_ns $1) p0=$(cpu_ns $2) t0=$(now_cs)
		sleep @WINDOW@
		v1=$(cpu_ns $1) p1=$(cpu_ns $2) t1=$(now_cs)
		say "idle $k vqscope_ns=$((v1 - v0)) top_ns=$((p1 - p0)) wall_cs=$((t1 - t0))"
	done
}
loop() {
	out=$(tracer_pingloop 10.0.2.2 @PINGS@) || { say "error: ping loop $1 $2 failed"; finish; }
	say "loop $1 $2 $out"
}
tracer_pingloop 10.0.2.2 100 >/dev/null || { say "error: the gateway does not answer pings"; finish; }

bench_tracer_start() {
	tracer_start "$@" || { say "error: vqscope-trace did not start"; finish; }
}
bench_tracer_stop() {
	tracer_stop_clean || say "error: vqscope-trace did not exit cleanly"
}
bench_tracer_start --shm auto
busybox top -b -d 1 >/dev/null &
measure_idle $tracer $!
kill $!
bench_tracer_stop

# delay PHASE COMMAND...: the region's delivery delays while COMMAND runs.
delay() {
	phase=$1
	shift
	region_latency $region >/tmp/delay.out 2>&1 &
	probe=$!
	sleep 0.5
	"$@" >/dev/null 2>&1
	sleep 0.5
	kill -INT $probe
	wait $probe
	say "delay $phase $(cat /tmp/delay.out)"
}
bench_tracer_start --shm auto
region=$(sed -n 's/.*writing the trace region to \([^ ]*\) .*/\1/p' /tmp/trace.err)
for k in $(seq @REPS@); do
	delay slow ping -c 25 -i 0.2 10.0.2.2
	delay flood tracer_pingloop 10.0.2.2 @PINGS@
done
bench_tracer_stop

# The functions vqscope-trace hooks, for ftrace.
bench_tracer_start --shm auto --stats
loop stats 0
bench_tracer_stop
sed 's/^/vqbench-trace: /' /tmp/trace.err
sed -n 's|^vqscope-trace: stats: [a-z_]*/\([a-z_0-9]*\): .*|\1|p' /tmp/trace.err | sort -u >/tmp/funcs
cat /tmp/funcs >$T/set_ftrace_filter || { say "error: set_ftrace_filter refused the functions"; finish; }
say "ftrace-filter $(tr '\n' ' ' <$T/set_ftrace_filter)"

run_mode() {
	case $1 in
	untraced) loop untraced $2 ;;
	vqscope)
		bench_tracer_start --shm auto
		loop vqscope $2
		bench_tracer_stop
		sleep 1
		;;
	ftrace)
		echo >$T/trace
		echo function >$T/current_tracer
		loop ftrace $2
		echo nop >$T/current_tracer
		sleep 1
		;;
	esac
}
rotate_reps @REPS@ run_mode untraced vqscope ftrace
finish
EOF
window=$(awk -v i="$idle" -v r="$reps" 'BEGIN { printf "%.1f", i / r }')
sed -i -e "s/@PINGS@/$pings/g" -e "s/@REPS@/$reps/g" -e "s/@WINDOW@/$window/g" "$work/init"

linux_guest_initramfs "$cache" "$work/initrd" "$work/init" "$trace" "$pingloop" "$latency" ||
	{ echo "tracer-net.sh: cannot build the initramfs" >&2; exit 1; }
: >"$work/region"

# ---- boot ----------------------------------------------------------------------

bench_linux_run tracer-net.sh $((300 + idle * 2 + reps * (45 + pings / 25))) "$serial" \
	-object "memory-backend-file,id=trace,size=4M,mem-path=$work/region,share=on" \
	-device ivshmem-plain,memdev=trace \
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0

# ---- figures -------------------------------------------------------------------

field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# Idle: per window, each one's share of a core, and the ratio.
r=0
while read -r line; do
	r=$((r + 1))
	for who in vqscope top; do
		bench_sample "idle-$who" "$r" "$(calc %.4f "$(field "${who}_ns" "$line") / ($(field wall_cs "$line") * 1e7) * 100")"
	done
done < <(sed -n 's/^vqbench: idle [0-9]* //p' "$work/out")
idle_vq=$(bench_stats $(bench_values idle-vqscope))
idle_top=$(bench_stats $(bench_values idle-top))
idle_x=$(bench_stats $(bench_ratios idle-vqscope idle-top))

# Delays: per run its median, p99 and largest delay; medians over the runs
# with their intervals, the largest delay of all, records and losses
# (counts).
declare -A delay_json delay_stats
for phase in slow flood; do
	declare -A ds=()
	for k in median_ns p99_ns max_ns; do
		ds[$k]=$(bench_stats $(sed -n "s/^vqbench: delay $phase //p" "$work/out" | tr ' ' '\n' | sed -n "s/^$k=//p" |
			awk '{ printf "%.3f\n", $1 / 1e6 }'))
	done
	records=$(bench_range $(sed -n "s/^vqbench: delay $phase //p" "$work/out" | tr ' ' '\n' | sed -n 's/^records=//p'))
	worst=$(sed -n "s/^vqbench: delay $phase //p" "$work/out" | tr ' ' '\n' | sed -n 's/^max_ns=//p' | sort -g | tail -n 1)
	lost=$(sed -n "s/^vqbench: delay $phase //p" "$work/out" | tr ' ' '\n' | sed -n 's/^lost=//p' | awk '{ s += $1 } END { print s + 0 }')
	runs=$(grep -c "^vqbench: delay $phase " "$work/out" || true)
	delay_stats[$phase]="${ds[median_ns]}|${ds[p99_ns]}|${ds[max_ns]}|$records|$worst|$lost|$runs"
	delay_json[$phase]="{\"runs\": $runs, \"records\": $(bench_count_json "$records" "records a run"), \"median_ms\": $(bench_json "${ds[median_ns]}"), \"p99_ms\": $(bench_json "${ds[p99_ns]}"), \"max_ms\": $(bench_json "${ds[max_ns]}"), \"largest_ns\": ${worst:-0}, \"lost\": $lost}"
	unset ds
done

modes=(untraced vqscope ftrace)
# Per loop, as samples of its rep: "rate-MODE" (pings/s), "rtt-MODE"
# (median round trip ns), "fast-MODE" (its fastest round trip).
declare -A runs_json
for m in "${modes[@]}"; do
	while read -r r line; do
		bench_sample "rate-$m" "$r" "$(calc %.1f "$(field pings "$line") * 1e9 / $(field total_ns "$line")")"
		bench_sample "rtt-$m" "$r" "$(field median_ns "$line")"
		bench_sample "fast-$m" "$r" "$(field min_ns "$line")"
		runs_json[$m]+="${runs_json[$m]:+, }{\"pings_per_s\": ${BENCH_SAMPLES["rate-$m $r"]}, \"median_rtt_ns\": ${BENCH_SAMPLES["rtt-$m $r"]}, \"min_rtt_ns\": ${BENCH_SAMPLES["fast-$m $r"]}, \"lost\": $(field lost "$line")}"
	done < <(sed -n "s/^vqbench: loop $m \([0-9]*\) /\1 /p" "$work/out")
done
# The fastest round trip's added ns, per rep.
for ((r = 1; r <= reps; r++)); do
	for m in "${modes[@]}"; do
		bench_sample "added-$m" "$r" $((BENCH_SAMPLES["fast-$m $r"] - BENCH_SAMPLES["fast-untraced $r"]))
	done
done
declare -A st
for m in "${modes[@]}" vs; do
	a=$m b=untraced
	[ "$m" = vs ] && a=vqscope b=ftrace
	st[rate-x-$m]=$(bench_stats $(bench_ratios "rate-$a" "rate-$b"))
	[ "$m" = vs ] && continue
	for k in rate rtt fast added; do st[$k-$m]=$(bench_stats $(bench_values "$k-$m")); done
done
# The clock-free figures of the --stats loop: hooked calls, BPF program
# runs and BPF instructions per round trip (bench_counts, lib.sh).
stats=$(sed -n 's/^vqbench-trace: vqscope-trace: stats: //p' "$work/out")
read -r calls_per_ping runs_per_ping insns_per_ping <<<"$(bench_counts "$stats" "$pings")"
kernel=$(sed -n 's/^vqbench: kernel //p' "$work/out")
filter=$(sed -n 's/^vqbench: ftrace-filter //p' "$work/out" | sed 's/ \[virtio_ring\]//g; s/ *$//')

echo "vqscope-trace in the Linux test guest ($VQ_ACCEL, kernel $kernel)"
echo "Median [95% interval] over the reps or runs; x: ratio within each rep."
echo "idle guest, $reps windows of $window s, both running (% of a core):"
bench_line "vqscope-trace" "$idle_vq" le 1 "%.3g"
bench_line "peer: busybox top -b -d 1" "$idle_top" "" "" "%.3g"
bench_line "vqscope-trace x top" "$idle_x"
echo "delay to the trace region, ms (target: 100 ms):"
for phase in slow flood; do
	IFS='|' read -r d_med d_p99 d_max records worst lost runs <<<"${delay_stats[$phase]}"
	label="a ping every 200 ms"
	[ "$phase" = flood ] && label="ping loop flat out"
	bench_line "$label, median delay" "$d_med"
	bench_line "$label, p99" "$d_p99"
	bench_line "$label, largest of a run" "$d_max" le 100
	bench_count_line "$label, records a run" "$records" "records the probe read"
	echo "    largest of all $runs runs: $(calc %.1f "${worst:-0} / 1e6") ms; lost: $lost (count)"
done
echo "ping loop, $reps reps of $pings round trips to the gateway over virtio-net; x: ratio to the"
echo "same rep's untraced loop; fastest: a loop's fastest round trip"
for m in "${modes[@]}"; do
	bench_line "$m, pings/s" "${st[rate-$m]}" "" "" "%.4g"
	bench_line "$m, median round trip ns" "${st[rtt-$m]}" "" "" "%.4g"
	bench_line "$m, fastest round trip ns" "${st[fast-$m]}" "" "" "%.4g"
	[ "$m" = untraced ] && continue
	bench_line "$m, pings/s x untraced" "${st[rate-x-$m]}"
	bench_line "$m, ns added to the fastest" "${st[added-$m]}" "" "" "%.4g"
done
bench_line "vqscope / ftrace, pings/s" "${st[rate-x-vs]}"
echo "  per round trip, counted (no clock): $calls_per_ping hooked calls, $runs_per_ping BPF program runs,"
echo "    $insns_per_ping BPF instructions (each run counted at its program's xlated length)"
echo "  (guest run: $elapsed s)"

if [ -n "$json" ]; then
	modes_json=
	for m in "${modes[@]}"; do
		modes_json+="${modes_json:+,
  }\"$m\": {\"pings_per_s\": $(bench_json "${st[rate-$m]}"), \"ratio\": $(bench_json "${st[rate-x-$m]}"),
   \"median_rtt_ns\": $(bench_json "${st[rtt-$m]}"), \"floor_rtt_ns\": $(bench_json "${st[fast-$m]}"),
   \"floor_added_ns\": $(bench_json "${st[added-$m]}"),
   \"runs\": [${runs_json[$m]}]}"
	done
	mkdir -p "$(dirname "$json")"
	cat >"$json" <<EOF
{"machine": {"cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')", "cores": $(nproc),
  "qemu": "$(qemu-system-x86_64 --version | head -1)", "accel": "$VQ_ACCEL", "guest_kernel": "$kernel",
  "guest_cpus": 1, "note": "guest times are this machine's $VQ_ACCEL figures; compare the ratios"},
 "stats": "median and 95% order-statistic interval over reps (or runs, or windows); ratios within each rep",
 "idle": {"seconds": $idle, "windows": $reps, "vqscope_cpu_pct": $(bench_json "$idle_vq"),
  "top_cpu_pct": $(bench_json "$idle_top"), "vqscope_x_top": $(bench_json "$idle_x"),
  "from": "/proc/PID/schedstat run time over /proc/uptime per window, both running in a guest doing nothing else",
  "target_pct": 1, "verdict": "$(bench_verdict "$idle_vq" le 1)"},
 "delay_to_region": {"from": "bench/region_latency in the guest: read time minus the record's kernel timestamp, polled every ms",
  "slow": ${delay_json[slow]}, "flood": ${delay_json[flood]}, "target_ms": 100},
 "ping": {"pings_per_loop": $pings, "reps": $reps,
  "ratios": "against the same rep's untraced loop; floor: each loop's fastest round trip",
  "modes": {
  $modes_json},
  "vqscope_vs_ftrace": $(bench_json "${st[rate-x-vs]}"),
  "counts_per_ping": {"from": "vqscope-trace --stats over one loop: runs from kernel.bpf_stats, length from bpf_prog_info.xlated_prog_len",
   "hooked_calls": $calls_per_ping, "program_runs": $runs_per_ping, "bpf_insns": $insns_per_ping}},
 "ftrace_filter": "$filter",
 "guest_seconds": $elapsed}
EOF
	echo "  written to $json"
fi
