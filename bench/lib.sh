# lib.sh - what every bench script shares; source it.  A figure here is
# never one run's number on a machine whose load comes and goes:
#
#   - modes are interleaved within each repetition, in an order that
#     rotates (A B C D, then B C D A, ...), so drift hits every mode alike
#     (bench_order, bench_interleave);
#   - a figure is the median over at least BENCH_MIN_REPS repetitions of
#     a ratio taken within each repetition, with a distribution-free 95%
#     confidence interval of that median (bench_stats, bench_ratios);
#   - a target is met or missed only when the whole interval says so, and
#     is "not resolved" when the interval straddles it (bench_verdict);
#   - QEMU's vCPU threads and the measured process run on different cores
#     where there are two (bench_pin_*);
#   - CPU time comes from the scheduler's nanosecond counters
#     (bench_cpu_ns), and counts that do not depend on the clock sit next
#     to times: instructions under callgrind (bench_icount).
#
# Also: synthetic_vm, a QEMU with no guest whose trace region
# bench/synth_producer fills.

BENCH_MIN_REPS=7

# ---- repetitions -----------------------------------------------------------------

# bench_order REP MODE...: the modes in the order repetition REP (from 1)
# runs them, rotated by REP - 1.
bench_order() {
	local r=$1 i
	shift
	local modes=("$@") n=$#
	for ((i = 0; i < n; i++)); do
		printf '%s ' "${modes[(i + r - 1) % n]}"
	done
	echo
}

# Samples by "MODE REP" (bench_sample, bench_interleave).
declare -gA BENCH_SAMPLES=()

# bench_sample MODE REP VALUE: keep one measurement.
bench_sample() { BENCH_SAMPLES["$1 $2"]=$3; }

# bench_interleave REPS FUNC MODE...: call `FUNC MODE REP` for every mode
# of every repetition, interleaved, and keep what each call prints (one
# number) as the sample of MODE in REP.  FUNC runs in this shell (its
# output goes through a file), so the PIDs it starts stay known to the
# caller's clean-up.  Progress goes to stderr.
bench_interleave() {
	local reps=$1 func=$2 r m out
	shift 2
	out=$(mktemp "${TMPDIR:-/tmp}/vqbench-sample.XXXXXX")
	for ((r = 1; r <= reps; r++)); do
		for m in $(bench_order "$r" "$@"); do
			"$func" "$m" "$r" >"$out"
			bench_sample "$m" "$r" "$(tail -n 1 "$out")"
			printf '  rep %d %-18s %s\n' "$r" "$m" "$(tail -n 1 "$out")" >&2
		done
	done
	rm -f "$out"
}

# _bench_last_rep MODE: the highest repetition with a sample of MODE (a
# repetition may lack one: a run that failed).
_bench_last_rep() {
	local k n=0
	for k in "${!BENCH_SAMPLES[@]}"; do
		[ "${k% *}" = "$1" ] && [ "${k##* }" -gt "$n" ] && n=${k##* }
	done
	echo "$n"
}

# bench_values MODE: its samples, in repetition order, one line.
bench_values() {
	local r out= n
	n=$(_bench_last_rep "$1")
	for ((r = 1; r <= n; r++)); do
		[ -n "${BENCH_SAMPLES["$1 $r"]+x}" ] || continue
		out+="${BENCH_SAMPLES["$1 $r"]} "
	done
	echo "$out"
}

# bench_ratios A B: A / B within each repetition (both measured in it).
bench_ratios() {
	local r out= n
	n=$(_bench_last_rep "$1")
	for ((r = 1; r <= n; r++)); do
		[ -n "${BENCH_SAMPLES["$1 $r"]+x}" ] && [ -n "${BENCH_SAMPLES["$2 $r"]+x}" ] || continue
		out+="$(awk -v a="${BENCH_SAMPLES["$1 $r"]}" -v b="${BENCH_SAMPLES["$2 $r"]}" \
			'BEGIN { if (b != 0) printf "%.6g", a / b; else printf "nan" }') "
	done
	echo "$out"
}

# ---- statistics ---------------------------------------------------------------------

# _bench_sorted VALUE...: the numbers, one a line, smallest first.
_bench_sorted() { printf '%s\n' "$@" | { grep -v -e '^$' -e nan || true; } | sort -g; }

# bench_stats VALUE...: "median low high coverage n".  The interval is the
# order-statistic confidence interval of the median: [x(k), x(n+1-k)] for
# the largest k whose coverage, 1 - 2 P(Binomial(n, 1/2) < k), is at least
# 95% (n = 7: the extremes, 98.4%; n = 9: the second from each end,
# 96.1%).  It assumes nothing about the distribution, which on a shared
# machine has a long tail.  Fewer than 6 values cannot give 95%: the
# interval is then the extremes with its (lower) coverage.
bench_stats() {
	_bench_sorted "$@" | awk '
		{ v[++n] = $1 }
		END {
			if (n == 0) { print "nan nan nan 0 0"; exit }
			med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			# cdf[k] = P(B < k), B ~ Binomial(n, 1/2)
			p = 0.5 ^ n; c = 0; k = 1; cov = 1 - 2 * p
			for (i = 0; i < n; i++) {
				c += p  # P(B <= i)
				if (1 - 2 * c >= 0.95) { k = i + 1; cov = 1 - 2 * c } else break
				p = p * (n - i) / (i + 1)
			}
			if (k > (n + 1) / 2) k = int((n + 1) / 2)
			printf "%.6g %.6g %.6g %.4f %d\n", med, v[k], v[n + 1 - k], cov, n
		}'
}

# bench_verdict STATS le|ge TARGET: whether "median low high ..." meets a
# target of at most (le) or at least (ge) TARGET: "meets", "misses", or
# "not resolved" when the interval straddles it.
bench_verdict() {
	local med lo hi rest
	read -r med lo hi rest <<<"$1"
	awk -v lo="$lo" -v hi="$hi" -v op="$2" -v t="$3" 'BEGIN {
		if (lo == "nan") { print "not measured"; exit }
		if (op == "le") print (hi <= t ? "meets" : lo > t ? "misses" : "not resolved")
		else print (lo >= t ? "meets" : hi < t ? "misses" : "not resolved")
	}'
}

# bench_fmt STATS [PRINTF-FORMAT]: "median [low, high]".
bench_fmt() {
	local med lo hi rest
	read -r med lo hi rest <<<"$1"
	awk -v m="$med" -v l="$lo" -v h="$hi" -v f="${2:-%.3g}" \
		'BEGIN { printf f " [" f ", " f "]", m, l, h }'
}

# bench_json STATS: {"median": .., "ci95": [low, high], "coverage": .., "reps": n}
bench_json() {
	local med lo hi cov n
	read -r med lo hi cov n <<<"$1"
	[ "$med" = nan ] && { echo null; return; }
	echo "{\"median\": $med, \"ci95\": [$lo, $hi], \"coverage\": $cov, \"reps\": $n}"
}

# bench_line LABEL STATS [le|ge TARGET [PRINTF-FORMAT]]: one figure, its
# interval and, with a target, the verdict.
bench_line() {
	local label=$1 stats=$2 op=${3-} target=${4-} fmt=${5:-%.3g} v=
	if [ -n "$op" ]; then
		v=$(bench_verdict "$stats" "$op" "$target")
		v="  target $([ "$op" = le ] && echo "<=" || echo ">=") $target: $v"
	fi
	printf '  %-44s %s%s\n' "$label" "$(bench_fmt "$stats" "$fmt")" "$v"
}

# ---- counts ---------------------------------------------------------------------------

# A count (events per frame, bytes per event) is not a time: it hardly
# moves between runs, so it gets no interval, only its range.

# bench_range VALUE...: "median min max n" (n = 0: "nan nan nan 0").
bench_range() {
	local sorted med n
	sorted=$(_bench_sorted "$@")
	read -r med _ _ _ n <<<"$(bench_stats "$@")"
	if [ "$n" = 0 ]; then echo "nan nan nan 0"; else echo "$med $(head -n 1 <<<"$sorted") $(tail -n 1 <<<"$sorted") $n"; fi
}

# bench_count_line LABEL RANGE WHAT: one count, what it counts, its range.
bench_count_line() {
	local med lo hi n
	read -r med lo hi n <<<"$2"
	printf '  %-44s %s (count: %s; %s to %s over %d runs)\n' "$1" "$med" "$3" "$lo" "$hi" "$n"
}

# bench_count_json RANGE WHAT: {"count": WHAT, "median": .., "min": .., "max": .., "runs": n}
bench_count_json() {
	local med lo hi n
	read -r med lo hi n <<<"$1"
	[ "$med" = nan ] && { echo null; return; }
	echo "{\"count\": \"$2\", \"median\": $med, \"min\": $lo, \"max\": $hi, \"runs\": $n}"
}

# ---- cores --------------------------------------------------------------------------

# bench_cores: online CPUs.
bench_cores() { getconf _NPROCESSORS_ONLN; }

# The two cores: QEMU's vCPUs (and a producer) on BENCH_GUEST_CORE, the
# measured host process on BENCH_HOST_CORE.  One core: both 0.
BENCH_GUEST_CORE=0
BENCH_HOST_CORE=$(($(bench_cores) > 1 ? 1 : 0))

# bench_on CORE CMD...: run CMD on CORE (exec; with one core, as it is).
bench_on() {
	local core=$1
	shift
	if [ "$(bench_cores)" -gt 1 ] && command -v taskset >/dev/null; then
		exec taskset -c "$core" "$@"
	fi
	exec "$@"
}

# bench_pin_pid PID CORE: every thread of PID onto CORE.
bench_pin_pid() {
	[ "$(bench_cores)" -gt 1 ] || return 0
	taskset -a -p -c "$2" "$1" >/dev/null 2>&1 || true
}

# bench_pin_vcpus QEMU_PID CORE: QEMU's vCPU threads ("CPU n/TCG" or
# "CPU n/KVM") onto CORE; waits up to 10 s for them to exist.
bench_pin_vcpus() {
	local pid=$1 core=$2 t found=0
	[ "$(bench_cores)" -gt 1 ] || return 0
	for _ in $(seq 100); do
		for t in /proc/"$pid"/task/*; do
			case $(cat "$t/comm" 2>/dev/null) in
			"CPU "*/TCG | "CPU "*/KVM)
				taskset -p -c "$core" "${t##*/}" >/dev/null 2>&1 && found=1
				;;
			esac
		done
		[ "$found" = 1 ] && return 0
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
}

# ---- CPU time and counts --------------------------------------------------------------

# bench_cpu_ns PID...: nanoseconds the PIDs' threads have run so far
# (/proc/PID/task/TID/schedstat, the scheduler's own clock: no 10 ms
# ticks).  Threads that already ended are not counted.
bench_cpu_ns() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# bench_icount [VALGRIND-OPTION...] -- CMD...: instructions CMD executes
# under callgrind (only inside --toggle-collect functions when given).
bench_icount() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "${opts[@]}" "$@" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

# bench_icount_per_event N1 N2 [VALGRIND-OPTION...] -- CMD...: instructions
# per event of `CMD N`, from runs with N1 and N2 events: the difference
# divided by N2 - N1, so set-up and tear-down cancel out.
bench_icount_per_event() {
	local n1=$1 n2=$2 a b
	shift 2
	a=$(bench_icount "$@" "$n1")
	b=$(bench_icount "$@" "$n2")
	awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.1f\n", (b - a) / (n2 - n1) }'
}

# ---- machine ------------------------------------------------------------------------------

# bench_load: the 1-minute load average.
bench_load() { cut -d' ' -f1 /proc/loadavg; }

# ---- a synthetic VM ---------------------------------------------------------------------

# synthetic_vm DIR [SIZE]: a QEMU with no guest (paused) whose
# ivshmem-plain device is backed by the file DIR/region of SIZE (default
# 64M), with its QMP socket at DIR/qmp.sock, for bench/synth_producer to
# fill and vqscope to attach to.  Sets SYNTH_VM_PID.
synthetic_vm() {
	local dir=$1 size=${2:-64M}
	truncate -s "$size" "$dir/region"
	qemu-system-x86_64 -M q35 -accel tcg -S -nodefaults -no-user-config -display none \
		-object "memory-backend-file,id=vqtrace,size=$size,mem-path=$dir/region,share=on" \
		-device ivshmem-plain,memdev=vqtrace \
		-qmp "unix:$dir/qmp.sock,server=on,wait=off" >"$dir/qemu.log" 2>&1 &
	SYNTH_VM_PID=$!
	for _ in $(seq 100); do [ -S "$dir/qmp.sock" ] && break; sleep 0.1; done
}

# median: the median of the numbers on stdin (spaces or newlines between).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- the Linux test guest (bench/tracer.sh, bench/tracer-net.sh) ----------

# bench_counts STATS REQUESTS: the work of vqscope-trace's BPF side per
# request, counted rather than timed, from its --stats lines over a loop
# of REQUESTS requests (without their "vqscope-trace: stats: " prefix:
# "fexit/virtqueue_add_sgs: 500 runs, 2487044 ns, 4974.1 ns/run, 123
# insns").  Prints three figures per request: hooked calls (per
# function, its busiest program's runs, as the entry and exit programs
# of one function run on the same call), program runs, and BPF
# instructions (each run counted at its program's xlated length).
bench_counts() {
	grep -v '^all ' <<<"$1" |
		sed -n 's|^[a-z_]*/\([a-z_0-9]*\): \([0-9]*\) runs, .*, \([0-9]*\) insns$|\1 \2 \3|p' |
		awk -v r="$2" '{ if ($2 > c[$1]) c[$1] = $2; runs += $2; insns += $2 * $3 }
			END { for (f in c) calls += c[f]; printf "%.2f %.2f %.0f\n", calls / r, runs / r, insns / r }'
}

# bench_linux_setup NAME: fetch Debian's kernel into $O/linux-guest (exit
# 77 when the archive is out of reach) and make a private work directory
# $work, removed on exit together with the guest ($qemu_pid).  Sets cache,
# work and qemu_pid.
bench_linux_setup() {
	local name=$1 rc=0
	. tests/tracer/linux-guest.sh
	cache=$O/linux-guest
	linux_guest_fetch "$cache" || rc=$?
	if [ "$rc" = 77 ]; then
		echo "$name: skipped: Debian's kernel package is out of reach (see above)" >&2
		exit 77
	fi
	[ "$rc" = 0 ] || { echo "$name: cannot prepare the Debian kernel in $cache" >&2; exit 1; }
	work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-$name.XXXXXX")
	chmod 0700 "$work"
	qemu_pid=
	trap _bench_linux_cleanup EXIT
}

_bench_linux_cleanup() {
	if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}

# bench_linux_run NAME LIMIT SERIAL QEMU-ARGS...: boot the kernel with
# $work/initrd (TCG, or KVM with VQ_ACCEL=kvm) and wait for it to power
# off, at most LIMIT seconds; keep its console in SERIAL unless that is
# empty.  Leaves the console's "vqbench" lines in $work/out and the
# seconds it ran in $elapsed; exits 1 unless the guest said "done" and no
# "error".
bench_linux_run() {
	local name=$1 limit=$2 serial=$3 start accel
	shift 3
	case ${VQ_ACCEL:-tcg} in
	kvm) accel=(-accel kvm -cpu host) ;;
	*) accel=(-accel tcg) ;;
	esac
	start=$(date +%s)
	qemu-system-x86_64 "${accel[@]}" -nodefaults -no-user-config -M q35 -m 512 \
		-display none -no-reboot -serial "file:$work/serial" \
		-kernel "$cache/vmlinuz" -initrd "$work/initrd" \
		-append "$LINUX_GUEST_APPEND" "$@" >"$work/qemu.log" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ $(($(date +%s) - start)) -ge "$limit" ]; then
			tail -n 20 "$work/serial" >&2
			if [ -n "$serial" ]; then cp "$work/serial" "$serial"; fi
			echo "$name: the guest did not finish within $limit s" >&2
			exit 1
		fi
		sleep 0.5
	done
	wait "$qemu_pid" || true
	qemu_pid=
	elapsed=$(($(date +%s) - start))
	if [ -n "$serial" ]; then cp "$work/serial" "$serial"; fi
	tr -d '\r' <"$work/serial" | grep -a "^vqbench" >"$work/out" || true
	if ! grep -q "^vqbench: done" "$work/out" || grep -q "^vqbench: error" "$work/out"; then
		cat "$work/qemu.log" >&2
		tail -n 30 "$work/serial" >&2
		echo "$name: the guest script failed (above)" >&2
		exit 1
	fi
}
