#!/usr/bin/env bash
# run.sh - `make bench`: every benchmark, each against a peer measured in
# the same run; results printed and written to bench/results/*.json
# together with a description of this machine.  Not part of `make test`.
#
#   core.json    guest library cost per event (vs snprintf of the event),
#                host drain rate (vs the producer), writer throughput
#   e2e.json     demo guest frames/s and commands/s: untraced, vqscope
#                attached, QEMU's own trace events, per-frame serial log
#   record.json  sustained zero-loss recording rate (vs the producer's
#                maximum), bytes per event
#   tui.json     CPU of the live view (vs top -b at the same refresh)
#   tracer.json  in-guest tracer: per-hook cost, read-loop overhead vs
#                ftrace (bench/tracer.sh)
#   exporter.json  CPU of vqscope exporter on 8 VMs at 100k events/s,
#                scraped every second (vs one vqscope top per VM)
#   tracer-net.json  in-guest tracer: CPU in an idle guest (vs busybox
#                top), ping-loop rate over virtio-net vs untraced and
#                ftrace (bench/tracer-net.sh)
#
# BENCH_QUICK=1 shortens every run (for checking the scripts work).
set -euo pipefail
cd "$(dirname "$0")/.."
export O=${O:-build}
results=bench/results
mkdir -p "$results"
quick=${BENCH_QUICK:-0}
start=$(date +%s)

json_escape() { sed 's/\\/\\\\/g; s/"/\\"/g' <<<"$1"; }

# The machine, recorded next to every result.
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
perf_ok=false
if perf stat -e instructions true >/dev/null 2>&1 &&
	! perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
	perf_ok=true
fi
cat >"$results/machine.json" <<EOF
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "cpu": "$(json_escape "$cpu")",
 "cores": $(nproc),
 "memory_kb": $(awk '/MemTotal/ { print $2 }' /proc/meminfo),
 "kernel": "$(uname -r)",
 "qemu": "$(qemu-system-x86_64 --version | head -1)",
 "gcc": "$(gcc --version | head -1)",
 "kvm": $([ -c /dev/kvm ] && echo true || echo false),
 "perf_counters": $perf_ok,
 "git": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"}
EOF
echo "Machine: $cpu, $(nproc) cores, kernel $(uname -r); absolute times are this machine's."
echo

# Quick runs take 3 repetitions, too few for a 95% interval (bench/lib.sh
# says the coverage they give); full runs take at least 7.
if [ "$quick" = 1 ]; then
	reps=3 frames=100 tracer_opts=(--reads 200) net_opts=(--pings 200 --idle 6)
else
	reps=7 frames=400 tracer_opts=() net_opts=()
fi

echo "== 1, 2, 5a. hot paths"
bash bench/core.sh --reps "$( [ "$quick" = 1 ] && echo 3 || echo 9 )" \
	--seconds "$( [ "$quick" = 1 ] && echo 0.2 || echo 0.5 )" --json "$results/core.json"
echo

echo "== 3. end-to-end on the demo guest"
bash bench/e2e.sh --reps "$reps" --frames "$frames" --json "$results/e2e.json"
echo

echo "== 5b. recording through QMP"
bash bench/record.sh --reps "$reps" --seconds "$( [ "$quick" = 1 ] && echo 1 || echo 2 )" \
	--json "$results/record.json"
echo

if [ -f bench/tui.sh ]; then
	echo "== 4. live view refresh cost"
	bash bench/tui.sh --reps "$reps" --seconds "$( [ "$quick" = 1 ] && echo 2 || echo 5 )" \
		--json "$results/tui.json"
	echo
fi

if [ -f bench/tracer.sh ]; then
	echo "== 6. in-guest tracer"
	bash bench/tracer.sh --reps "$reps" "${tracer_opts[@]}" --json "$results/tracer.json" ||
		echo "(tracer benchmark failed; see above)"
	echo
	echo "== 6b. in-guest tracer on virtio-net, and idle"
	bash bench/tracer-net.sh --reps "$reps" "${net_opts[@]}" \
		--json "$results/tracer-net.json" ||
		echo "(tracer-net benchmark failed; see above)"
	echo
fi

if [ -f bench/exporter.sh ]; then
	echo "== 7. Prometheus exporter"
	bash bench/exporter.sh --reps "$reps" --seconds "$( [ "$quick" = 1 ] && echo 2 || echo 5 )" \
		--json "$results/exporter.json"
	echo
fi

echo "make bench: done in $(( $(date +%s) - start )) s; results in $results/"
