#!/usr/bin/env bash
# tracer.sh - what vqscope-trace costs a Linux guest, against the kernel's
# own function tracer (ftrace) on the same functions, all in one run on
# this machine.  One boot of the Linux test guest (Debian's cloud kernel,
# tests/tracer/linux-guest.sh) runs every phase and prints the results on
# its serial console:
#
#   per-hook    one read loop with `vqscope-trace --stats`: each BPF
#               program's runs and run time as the kernel measures them
#               (kernel.bpf_stats: the program body, ring-buffer reserve
#               and commit included, the trampoline itself not), and its
#               length; from them the figures that need no clock: hooked
#               calls, program runs and BPF instructions per read (each
#               run counted at its program's xlated length)
#   untraced    the read loop with no tracing at all
#   vqscope     the read loop with `vqscope-trace --shm auto` attached
#               (its user space draining to ivshmem included)
#   ftrace      the read loop with current_tracer=function and
#               set_ftrace_filter = the functions vqscope-trace hooked
#               (recording into ftrace's ring buffer, nobody reading it)
#
# The read loop (bench/tracer_readloop.c) is READS reads of 4 KiB from the
# virtio-blk disk with O_DIRECT, each timed with the guest's clock; a loop
# gives its reads/s, its median read latency and its fastest read (the
# floor, the figure least disturbed by other load on the host, which only
# ever adds time).  Each rep runs each mode once, in an order that rotates
# from rep to rep, so drift hits every mode alike; the three are taken as
# ratios to the untraced loop of the same rep, and the median over the
# reps is reported with its 95% interval (bench/lib.sh).  The floor
# latency a method adds, over the hooked calls per read, is its cost per
# hooked call, trampoline included, again per rep.
#
# The guest runs under TCG (or KVM with VQ_ACCEL=kvm): an emulated CPU, so
# absolute ns are this machine's TCG figures, many times native ones.  The
# ratios are the result, and they overstate native overhead: the CPU work
# is emulated, the disk's I/O time is not.  TCG's speed follows the host's
# load, hence ratios within a rep and medians over reps.  No hardware
# instruction counts: perf has no hardware counters here, and under QEMU's
# -icount the guest's clock left out the disk's I/O time and the run
# overran; the BPF side's work is counted instead (per-hook above).
#
#   bench/tracer.sh [--reps N] [--reads N] [--json FILE] [--serial FILE]
#                   [--tracer-args ARGS]
#
# --serial keeps the guest's console (every loop's figures, timestamps);
# --tracer-args replaces the vqscope mode's "--shm auto" (e.g. "-f -o
# /tmp/t.vqt" to measure the recording output instead).  Defaults: 7 reps
# of 1000 reads, one to three minutes here.  Exits 77 when Debian's kernel
# package cannot be fetched.
#
# Environment: O (build dir), VQ_ACCEL (tcg, or kvm when it works).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
VQ_ACCEL=${VQ_ACCEL:-tcg}
reps=7
reads=1000
json=
serial=
tracer_args="--shm auto"
usage() {
	echo "usage: bench/tracer.sh [--reps N] [--reads N] [--json FILE] [--serial FILE] [--tracer-args ARGS]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
	--reads) [ $# -ge 2 ] || usage; reads=$2; shift 2 ;;
	--json) [ $# -ge 2 ] || usage; json=$2; shift 2 ;;
	--serial) [ $# -ge 2 ] || usage; serial=$2; shift 2 ;;
	--tracer-args) [ $# -ge 2 ] || usage; tracer_args=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "tracer.sh: --reps $reps: not a positive number" >&2; exit 2; }
[[ "$reads" =~ ^[1-9][0-9]*$ ]] || { echo "tracer.sh: --reads $reads: not a positive number" >&2; exit 2; }

trace=$O/vqscope-trace
readloop=$O/bench/tracer_readloop
make --no-print-directory -s O="$O" "$trace" "$readloop" >&2 ||
	{ echo "tracer.sh: cannot build $trace and $readloop" >&2; exit 1; }

. bench/lib.sh
bench_linux_setup tracer.sh

# ---- the guest's script ------------------------------------------------------

linux_guest_init_head vqbench >"$work/init"
cat >>"$work/init" <<'EOF'
say() { echo "vqbench-time: $(cut -d" " -f1 /proc/uptime)"; echo "vqbench: $*"; }
finish() { say "done"; poweroff -f; }
guest_wait 10 "error: no /dev/vda" test -b /dev/vda || finish
say "kernel $(uname -r)"
T=/sys/kernel/tracing
loop() {
	out=$(tracer_readloop /dev/vda @READS@) || { say "error: read loop $1 $2 failed"; finish; }
	say "loop $1 $2 $out"
}
# guest-lib.sh's, bounded; a tracer that does not start or stop cleanly
# is an error of the run.
bench_tracer_start() {
	tracer_start @TRACER_ARGS@ "$@" || { say "error: vqscope-trace did not start"; finish; }
}
bench_tracer_stop() {
	tracer_stop_clean || say "error: vqscope-trace did not exit cleanly"
}
tracer_readloop /dev/vda @READS@ >/dev/null || { say "error: read loop failed"; finish; }

bench_tracer_start --stats
loop stats 0
bench_tracer_stop
sed 's/^/vqbench-trace: /' /tmp/trace.err

# ftrace on the functions vqscope-trace hooked, never on everything.
sed -n 's|^vqscope-trace: stats: [a-z_]*/\([a-z_0-9]*\): .*|\1|p' /tmp/trace.err | sort -u >/tmp/funcs
[ -s /tmp/funcs ] || { say "error: no hooked functions in the --stats output"; finish; }
cat /tmp/funcs >$T/set_ftrace_filter || { say "error: set_ftrace_filter refused the functions"; finish; }
grep -q . $T/set_ftrace_filter || { say "error: set_ftrace_filter is empty"; finish; }
say "ftrace-filter $(tr '\n' ' ' <$T/set_ftrace_filter)"

# One rep runs each mode once, in an order that rotates from rep to rep;
# the guest settles for a second after hooks come off.
run_mode() {
	case $1 in
	untraced) loop untraced $2 ;;
	vqscope)
		bench_tracer_start
		loop vqscope $2
		bench_tracer_stop
		sleep 1
		;;
	ftrace)
		echo >$T/trace
		echo function >$T/current_tracer
		loop ftrace $2
		# Count before the switch to nop, which empties the buffer.
		echo 0 >$T/tracing_on
		say "ftrace-stats $2 $(cat $T/per_cpu/cpu*/stats | awk '/^entries:/ { e += $2 } /^overrun:/ { o += $2 } END { print "entries=" e, "overrun=" o }')"
		echo nop >$T/current_tracer
		echo 1 >$T/tracing_on
		sleep 1
		;;
	esac
}
rotate_reps @REPS@ run_mode untraced vqscope ftrace
finish
EOF
sed -i -e "s/@READS@/$reads/g" -e "s/@REPS@/$reps/g" -e "s|@TRACER_ARGS@|$tracer_args|" "$work/init"

linux_guest_initramfs "$cache" "$work/initrd" "$work/init" "$trace" "$readloop" ||
	{ echo "tracer.sh: cannot build the initramfs" >&2; exit 1; }
dd if=/dev/urandom of="$work/disk" bs=1M count=16 status=none
: >"$work/region"

# ---- boot ----------------------------------------------------------------------

bench_linux_run tracer.sh $((240 + reps * (30 + reads / 100))) "$serial" \
	-object "memory-backend-file,id=trace,size=4M,mem-path=$work/region,share=on" \
	-device ivshmem-plain,memdev=trace,addr=0x8 \
	-drive "file=$work/disk,if=virtio,format=raw"

# ---- figures -------------------------------------------------------------------

# field KEY LINE: the value of KEY=value in LINE.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

modes=(untraced vqscope ftrace)
# Per loop, as samples of its rep (bench/lib.sh): "rate-MODE" (reads/s),
# "med-MODE" (median read ns), "fast-MODE" (its fastest read, the figure
# least disturbed by other load on the host, which only ever adds time).
declare -A runs_json
for m in "${modes[@]}"; do
	while read -r r line; do
		bench_sample "med-$m" "$r" "$(field median_ns "$line")"
		bench_sample "fast-$m" "$r" "$(field min_ns "$line")"
		bench_sample "rate-$m" "$r" "$(calc %.1f "$(field reads "$line") * 1e9 / $(field total_ns "$line")")"
		runs_json[$m]+="${runs_json[$m]:+, }{\"reads_per_s\": ${BENCH_SAMPLES["rate-$m $r"]}, \"min_ns\": ${BENCH_SAMPLES["fast-$m $r"]}, \"p10_ns\": $(field p10_ns "$line"), \"median_ns\": ${BENCH_SAMPLES["med-$m $r"]}, \"mean_ns\": $(field mean_ns "$line"), \"p90_ns\": $(field p90_ns "$line")}"
	done < <(sed -n "s/^vqbench: loop $m \([0-9]*\) /\1 /p" "$work/out")
done
# Medians over the reps with their intervals; ratios within each rep
# (loops close in time), against untraced, and vqscope against ftrace
# ("vs").
declare -A st
for m in "${modes[@]}" vs; do
	a=$m b=untraced
	[ "$m" = vs ] && a=vqscope b=ftrace
	for k in rate med fast; do
		st[$k-x-$m]=$(bench_stats $(bench_ratios "$k-$a" "$k-$b"))
		[ "$m" = vs ] || st[$k-$m]=$(bench_stats $(bench_values "$k-$m"))
	done
done

# Per-program cost while the --stats loop ran.
stats=$(sed -n 's/^vqbench-trace: vqscope-trace: stats: //p' "$work/out")
ran=$(grep -v -e '^all' -e ': 0 runs' <<<"$stats")
programs_json=
while IFS= read -r line; do
	read -r runs ns per insns <<<"$(sed 's/.*: \([0-9]*\) runs, \([0-9]*\) ns, \([0-9.]*\) ns\/run, \([0-9]*\) insns$/\1 \2 \3 \4/' <<<"$line")"
	programs_json+="${programs_json:+, }\"${line%%:*}\": {\"runs\": $runs, \"ns\": $ns, \"ns_per_run\": $per, \"insns\": $insns}"
done <<<"$ran"
# The median program body, with the 95% interval of that median over the
# programs (each program's mean over its runs in the --stats loop).
prog=$(bench_stats $(sed 's/.* \([0-9.]*\) ns\/run, .*/\1/' <<<"$ran"))
all=$(grep '^all' <<<"$stats")
prog_mean=$(sed 's/.* \([0-9.]*\) ns\/run, .*/\1/' <<<"$all")
prog_runs=$(sed 's/.*: \([0-9]*\) runs.*/\1/' <<<"$all")
# The clock-free figures of the --stats loop (bench_counts, lib.sh):
# hooked calls, program runs and BPF instructions per read.
read -r calls_per_read runs_per_read insns_per_read <<<"$(bench_counts "$stats" "$reads")"
entries_per_read=$(sed -n 's/^vqbench: ftrace-stats [0-9]* entries=\([0-9]*\).*/\1/p' "$work/out" |
	median | awk -v r="$reads" '{ printf "%.2f", $1 / r }')
overrun=$(sed -n 's/^vqbench: ftrace-stats [0-9]* .*overrun=\([0-9]*\)$/\1/p' "$work/out" | median)
# Per hooked call, per rep: the fastest read's added ns over the calls
# (or ftrace's entries) per read.
for ((r = 1; r <= reps; r++)); do
	for m in vqscope ftrace; do
		c=$calls_per_read
		[ "$m" = ftrace ] && c=${entries_per_read:-0}
		bench_sample "call-$m" "$r" "$(awk -v a="${BENCH_SAMPLES["fast-$m $r"]}" \
			-v u="${BENCH_SAMPLES["fast-untraced $r"]}" -v c="$c" \
			'BEGIN { if (c > 0) printf "%.1f", (a - u) / c; else print "nan" }')"
	done
done
call_vq=$(bench_stats $(bench_values call-vqscope))
call_ft=$(bench_stats $(bench_values call-ftrace))
call_x=$(bench_stats $(bench_ratios call-vqscope call-ftrace))
kernel=$(sed -n 's/^vqbench: kernel //p' "$work/out")
filter=$(sed -n 's/^vqbench: ftrace-filter //p' "$work/out" | sed 's/ \[virtio_ring\]//g; s/ *$//')

echo "vqscope-trace in the Linux test guest ($VQ_ACCEL, kernel $kernel): $reps reps of $reads"
echo "4 KiB O_DIRECT reads per mode.  Median [95% interval] over the reps; x: ratio to the"
echo "same rep's untraced loop; fastest: the fastest read of a loop.  ns are this machine's"
echo "$VQ_ACCEL figures; the ratios are the result."
for m in "${modes[@]}"; do
	bench_line "$m, reads/s" "${st[rate-$m]}" "" "" "%.4g"
	bench_line "$m, median read ns" "${st[med-$m]}" "" "" "%.4g"
	bench_line "$m, fastest read ns" "${st[fast-$m]}" "" "" "%.4g"
	[ "$m" = untraced ] && continue
	if [ "$m" = vqscope ]; then
		bench_line "$m, reads/s x untraced" "${st[rate-x-$m]}" ge 0.97
	else
		bench_line "$m, reads/s x untraced" "${st[rate-x-$m]}"
	fi
	bench_line "$m, median read x untraced" "${st[med-x-$m]}"
	bench_line "$m, fastest read x untraced" "${st[fast-x-$m]}"
done
bench_line "vqscope / ftrace, reads/s" "${st[rate-x-vs]}"
bench_line "vqscope / ftrace, median read" "${st[med-x-vs]}"
bench_line "vqscope / ftrace, fastest read" "${st[fast-x-vs]}"
echo "  per read, counted (no clock): $calls_per_read hooked calls, $runs_per_read BPF program runs,"
echo "    $insns_per_read BPF instructions (each run counted at its program's xlated length)"
echo "  per hooked call, trampoline included (fastest read's added ns / calls per read, per rep):"
bench_line "vqscope, ns ($calls_per_read calls per read)" "$call_vq"
bench_line "ftrace, ns (${entries_per_read:-0} entries per read)" "$call_ft"
bench_line "vqscope x ftrace" "$call_x"
echo "  per BPF program run (kernel.bpf_stats: body with ring-buffer reserve/commit, no trampoline;"
echo "  the --stats loop, each program's mean over its runs; interval over the programs):"
bench_line "median program, ns" "$prog" "" "" "%.4g"
echo "    mean over all $prog_runs runs: $prog_mean ns; target: <= 60 ns native (not measured under $VQ_ACCEL)"
sed 's/^/      /' <<<"$ran"
echo "  (guest run: $elapsed s)"

if [ -n "$json" ]; then
	cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	note="ns are this machine's; compare the ratios"
	[ "$VQ_ACCEL" = kvm ] || note="the guest CPU is emulated (tcg): $note"
	modes_json=
	for m in "${modes[@]}"; do
		modes_json+="${modes_json:+,
  }\"$m\": {\"reads_per_s\": $(bench_json "${st[rate-$m]}"), \"reads_ratio\": $(bench_json "${st[rate-x-$m]}"),
   \"median_read_ns\": $(bench_json "${st[med-$m]}"), \"median_ratio\": $(bench_json "${st[med-x-$m]}"),
   \"floor_read_ns\": $(bench_json "${st[fast-$m]}"), \"floor_ratio\": $(bench_json "${st[fast-x-$m]}"),
   \"runs\": [${runs_json[$m]}]}"
	done
	mkdir -p "$(dirname "$json")"
	cat >"$json" <<EOF
{"machine": {"cpu": "$cpu", "cores": $(nproc), "host_kernel": "$(uname -r)",
  "qemu": "$(qemu-system-x86_64 --version | head -1)", "accel": "$VQ_ACCEL",
  "guest_kernel": "$kernel", "guest_cpus": 1, "note": "$note"},
 "reads_per_loop": $reads, "block_bytes": 4096, "reps": $reps, "tracer_args": "$tracer_args",
 "stats": "median and 95% order-statistic interval over reps; ratios within each rep, against its untraced loop; floor: each loop's fastest read",
 "modes": {
  $modes_json},
 "vqscope_vs_ftrace": {"reads_ratio": $(bench_json "${st[rate-x-vs]}"), "median_ratio": $(bench_json "${st[med-x-vs]}"),
  "floor_ratio": $(bench_json "${st[fast-x-vs]}")},
 "per_hooked_call": {"from": "per rep: fastest read's added ns / calls per read", "vqscope_calls_per_read": $calls_per_read,
  "ftrace_entries_per_read": ${entries_per_read:-0}, "ftrace_overrun": ${overrun:-0},
  "vqscope_ns": $(bench_json "$call_vq"), "ftrace_ns": $(bench_json "$call_ft"), "vqscope_vs_ftrace": $(bench_json "$call_x")},
 "counts_per_read": {"from": "vqscope-trace --stats over one loop: runs from kernel.bpf_stats, length from bpf_prog_info.xlated_prog_len",
  "hooked_calls": $calls_per_read, "program_runs": $runs_per_read, "bpf_insns": $insns_per_read},
 "per_program_run": {"from": "kernel.bpf_stats run_time_ns / run_cnt; median over programs, interval over programs",
  "median_ns": $(bench_json "$prog"), "mean_ns": $prog_mean, "runs": $prog_runs, "programs": {$programs_json}},
 "ftrace_filter": "$filter",
 "guest_seconds": $elapsed}
EOF
	echo "  written to $json"
fi
