#!/usr/bin/env bash
# tracer-net.sh - what vqscope-trace costs a Linux guest on virtio-net, and
# what it costs when nothing happens, each against a peer measured in the
# same run.  One boot of the Linux test guest (Debian's cloud kernel with
# virtio-net on QEMU's user network, tests/tracer/linux-guest.sh) runs:
#
#   idle      vqscope-trace --shm auto in a guest doing nothing for IDLE
#             seconds: its CPU time (/proc/PID/schedstat, in ns) over the
#             time passed, as a share of a core; the peer is busybox
#             `top -b -d 1` (refreshing once a second) measured the same way
#   delay     how long events take to reach the trace region, at a slow
#             rate (a ping every 200 ms for 5 s) and flat out (the ping
#             loop), three runs each: bench/region_latency reads the region
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
# median over reps is reported.  The floor, the fastest round trip of all
# a mode's loops, is the figure least disturbed by other load on the host
# (which only ever adds time); the time a mode adds to it is its cost per
# round trip.
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
# Defaults: 5 reps of 2000 pings, 30 s idle; about four minutes here.  Exits
# 77 when Debian's kernel package cannot be fetched.
#
# Environment: O (build dir), VQ_ACCEL (tcg, or kvm when it works).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
VQ_ACCEL=${VQ_ACCEL:-tcg}
reps=5
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
# measure_idle NAME PID: PID's share of a core over @IDLE@ quiet seconds.
measure_idle() {
	sleep 2
	c0=$(cpu_ns $2) t0=$(now_cs)
	sleep @IDLE@
	c1=$(cpu_ns $2) t1=$(now_cs)
	say "idle $1 cpu_ns=$((c1 - c0)) wall_cs=$((t1 - t0))"
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
measure_idle vqscope $tracer
bench_tracer_stop
busybox top -b -d 1 >/dev/null &
measure_idle top $!
kill $!

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
for k in 1 2 3; do
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
sed -i -e "s/@PINGS@/$pings/g" -e "s/@REPS@/$reps/g" -e "s/@IDLE@/$idle/g" "$work/init"

linux_guest_initramfs "$cache" "$work/initrd" "$work/init" "$trace" "$pingloop" "$latency" ||
	{ echo "tracer-net.sh: cannot build the initramfs" >&2; exit 1; }
: >"$work/region"

# ---- boot ----------------------------------------------------------------------

bench_linux_run tracer-net.sh $((300 + idle * 2 + reps * (30 + pings / 50))) "$serial" \
	-object "memory-backend-file,id=trace,size=4M,mem-path=$work/region,share=on" \
	-device ivshmem-plain,memdev=trace \
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0

# ---- figures -------------------------------------------------------------------

field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

declare -A cpu_pct
for who in vqscope top; do
	line=$(sed -n "s/^vqbench: idle $who //p" "$work/out")
	cpu_pct[$who]=$(calc %.3f "$(field cpu_ns "$line") / ($(field wall_cs "$line") * 1e7) * 100")
done

# Three runs of each: the medians of their median, p99 and maximum, and
# the largest delay of all.
declare -A delay_json delay_text
ms() { calc %.1f "$(median <<<"${d[$1]}") / 1e6"; }
for phase in slow flood; do
	declare -A d=()
	while read -r line; do
		for k in records median_ns p99_ns max_ns lost; do d[$k]+="$(field $k "$line") "; done
	done < <(sed -n "s/^vqbench: delay $phase //p" "$work/out")
	worst=$(tr ' ' '\n' <<<"${d[max_ns]}" | grep -v '^$' | sort -g | tail -n 1)
	lost=$(tr ' ' '\n' <<<"${d[lost]}" | awk '{ s += $1 } END { print s + 0 }')
	delay_text[$phase]="$(median <<<"${d[records]}") records a run, median $(ms median_ns) ms, p99 $(ms p99_ns) ms, max $(ms max_ns) ms (largest of 3 runs $(calc %.1f "$worst / 1e6") ms), $lost lost"
	delay_json[$phase]="{\"runs\": 3, \"records\": $(median <<<"${d[records]}"), \"median_ns\": $(median <<<"${d[median_ns]}"), \"p99_ns\": $(median <<<"${d[p99_ns]}"), \"max_ns\": $(median <<<"${d[max_ns]}"), \"largest_ns\": $worst, \"lost\": $lost}"
	unset d
done

modes=(untraced vqscope ftrace)
declare -A rate rtt runs_json rate_x all_rate all_rtt all_min floor
for m in "${modes[@]}"; do
	while read -r r line; do
		rate[$m,$r]=$(calc %.1f "$(field pings "$line") * 1e9 / $(field total_ns "$line")")
		rtt[$m,$r]=$(field median_ns "$line")
		all_min[$m]+="$(field min_ns "$line") "
		runs_json[$m]+="${runs_json[$m]:+, }{\"pings_per_s\": ${rate[$m,$r]}, \"median_rtt_ns\": ${rtt[$m,$r]}, \"lost\": $(field lost "$line")}"
	done < <(sed -n "s/^vqbench: loop $m \([0-9]*\) /\1 /p" "$work/out")
done
for ((r = 1; r <= reps; r++)); do
	for m in "${modes[@]}" vs; do
		a=$m b=untraced
		[ "$m" = vs ] && a=vqscope b=ftrace
		rate_x[$m]+="$(calc %.4f "${rate[$a,$r]} / ${rate[$b,$r]}") "
		[ "$m" = vs ] && continue
		all_rate[$m]+="${rate[$m,$r]} "
		all_rtt[$m]+="${rtt[$m,$r]} "
	done
done
for m in "${modes[@]}"; do
	floor[$m]=$(tr ' ' '\n' <<<"${all_min[$m]}" | grep -v '^$' | sort -g | head -n 1)
done
# The clock-free figures of the --stats loop: hooked calls, BPF program
# runs and BPF instructions per round trip (bench_counts, lib.sh).
stats=$(sed -n 's/^vqbench-trace: vqscope-trace: stats: //p' "$work/out")
read -r calls_per_ping runs_per_ping insns_per_ping <<<"$(bench_counts "$stats" "$pings")"
kernel=$(sed -n 's/^vqbench: kernel //p' "$work/out")
filter=$(sed -n 's/^vqbench: ftrace-filter //p' "$work/out" | sed 's/ \[virtio_ring\]//g; s/ *$//')

echo "vqscope-trace in the Linux test guest ($VQ_ACCEL, kernel $kernel)"
echo "idle guest, $idle s: vqscope-trace ${cpu_pct[vqscope]}% of a core; busybox top -b -d 1 ${cpu_pct[top]}%   target: <= 1%"
echo "delay to the trace region, medians of 3 runs (target: 100 ms):"
echo "  a ping every 200 ms: ${delay_text[slow]}"
echo "  ping loop flat out:  ${delay_text[flood]}"
echo "ping loop, $reps reps of $pings round trips to the gateway over virtio-net; x: ratio to the"
echo "same rep's untraced loop, median over reps"
printf "  %-9s %10s %10s %14s %14s %11s\n" mode pings/s "pings/s x" "median rtt ns" "floor rtt ns" "floor added"
for m in "${modes[@]}"; do
	printf "  %-9s %10.1f %10s %14s %14s %11s\n" "$m" "$(median <<<"${all_rate[$m]}")" \
		"$(median <<<"${rate_x[$m]}")" "$(median <<<"${all_rtt[$m]}")" "${floor[$m]}" \
		"$((floor[$m] - floor[untraced]))"
done
printf "  %-20s %10s\n" "vqscope / ftrace" "$(median <<<"${rate_x[vs]}")"
echo "  per round trip, counted (no clock): $calls_per_ping hooked calls, $runs_per_ping BPF program runs,"
echo "    $insns_per_ping BPF instructions (each run counted at its program's xlated length)"
echo "  (guest run: $elapsed s)"

if [ -n "$json" ]; then
	modes_json=
	for m in "${modes[@]}"; do
		modes_json+="${modes_json:+,
  }\"$m\": {\"pings_per_s\": $(median <<<"${all_rate[$m]}"), \"ratio\": $(median <<<"${rate_x[$m]}"), \"median_rtt_ns\": $(median <<<"${all_rtt[$m]}"), \"floor_rtt_ns\": ${floor[$m]}, \"floor_added_ns\": $((floor[$m] - floor[untraced])),
   \"runs\": [${runs_json[$m]}]}"
	done
	mkdir -p "$(dirname "$json")"
	cat >"$json" <<EOF
{"machine": {"cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')", "cores": $(nproc),
  "qemu": "$(qemu-system-x86_64 --version | head -1)", "accel": "$VQ_ACCEL", "guest_kernel": "$kernel",
  "guest_cpus": 1, "note": "guest times are this machine's $VQ_ACCEL figures; compare the ratios"},
 "idle": {"seconds": $idle, "vqscope_cpu_pct": ${cpu_pct[vqscope]}, "top_cpu_pct": ${cpu_pct[top]},
  "from": "/proc/PID/schedstat run time over /proc/uptime, guest doing nothing", "target_pct": 1},
 "delay_to_region": {"from": "bench/region_latency in the guest: read time minus the record's kernel timestamp, polled every ms",
  "slow": ${delay_json[slow]}, "flood": ${delay_json[flood]}, "target_ns": 100000000},
 "ping": {"pings_per_loop": $pings, "reps": $reps,
  "ratios": "against the same rep's untraced loop, median over reps",
  "modes": {
  $modes_json},
  "vqscope_vs_ftrace": $(median <<<"${rate_x[vs]}"),
  "counts_per_ping": {"from": "vqscope-trace --stats over one loop: runs from kernel.bpf_stats, length from bpf_prog_info.xlated_prog_len",
   "hooked_calls": $calls_per_ping, "program_runs": $runs_per_ping, "bpf_insns": $insns_per_ping}},
 "ftrace_filter": "$filter",
 "guest_seconds": $elapsed}
EOF
	echo "  written to $json"
fi
