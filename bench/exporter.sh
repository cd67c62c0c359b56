#!/usr/bin/env bash
# exporter.sh - CPU cost of `vqscope exporter` watching 8 VMs that each
# trace 100k events/s, scraped once a second, from the scheduler's run time
# of its threads (bench_cpu_ns) over a fixed interval.  The VMs are paused
# QEMUs whose ivshmem-plain region bench/synth_producer fills (paced, so 8
# producers fit on a small machine).
#
# Peer, on the same load in the same repetitions: the live view, `vqscope
# top`, once per VM (8 of them in tmux panes, what watching 8 VMs takes
# without the exporter), again with --no-device (the exporter reads the
# trace region only, the view also samples QEMU's device view), and one
# `vqscope top` on one VM against the exporter's cost per VM.  Each
# repetition runs the four modes once, in an order that rotates
# (bench/lib.sh); the figures are medians over the repetitions with their
# 95% intervals, the ratios taken within each repetition.
#
#   bench/exporter.sh [--reps N] [--seconds S] [--vms N] [--rate EVENTS_PER_S]
#                     [--region SIZE] [--json FILE]
#
# --region is each VM's trace region (default 16M: 2.6 s of 100k events/s,
# so that a machine shared with other work, where a producer that was not
# scheduled for a while writes what it owes in a burst, still measures the
# whole load; the demo guest's 4M holds 0.65 s).  Records the exporter could
# not read in time are reported as lost.  Defaults: 7 repetitions of 5 s
# per mode.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
reps=$BENCH_MIN_REPS
seconds=5
vms=8
rate=100000
region=16M
json=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--vms) vms=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--region) region=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/exporter.sh [--reps N] [--seconds S] [--vms N] [--rate EVENTS_PER_S] [--region SIZE] [--json FILE]" >&2; exit 2 ;;
	esac
done
vqscope=$(realpath "$O/vqscope")
producer=$(realpath "$O/bench/synth_producer")
command -v tmux >/dev/null || { echo "exporter.sh: needs tmux" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-exporter.XXXXXX")
chmod 0700 "$work"
pids=()
cleanup() {
	tmux -S "$work/tmux" kill-server 2>/dev/null || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# Percent of one core the PIDs' threads used together over the next
# $seconds.
measure() {
	local a b t0 t1
	a=$(bench_cpu_ns "$@")
	t0=$EPOCHREALTIME
	sleep "$seconds"
	b=$(bench_cpu_ns "$@")
	t1=$EPOCHREALTIME
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.4f\n", (b - a) / ((t1 - t0) * 1e9) * 100 }'
}

# The VMs and their load, for the whole run: each mode takes $seconds
# and up to 10 s to start and stop.
socks=()
for i in $(seq "$vms"); do
	mkdir "$work/vm$i"
	synthetic_vm "$work/vm$i" "$region"
	pids+=("$SYNTH_VM_PID")
	"$producer" "$work/vm$i/region" "$rate" $((reps * 4 * (seconds + 10) + 40)) --pace-us 1000 \
		>"$work/vm$i/producer.json" &
	pids+=("$!")
	socks+=("vm$i=$work/vm$i/qmp.sock")
done
sleep 1

# Totals over all VMs of a counter in a scrape.
total() { awk -v m="$1" '$1 ~ "^" m "{" { n += $2 } END { printf "%d", n }' "$2"; }
scrape() { # URL, every second until killed
	while :; do
		curl -s -o /dev/null "$1"
		sleep 1
	done
}

# exporter_cpu REP: the exporter, scraped every second; the events it
# read per second, the records lost and the size of a scrape go to the
# samples.
exporter_cpu() {
	local rep=$1 exporter scraper url t0 t1 cpu
	sleep 2 # QEMU lets go of the previous QMP connections
	"$vqscope" exporter --listen 127.0.0.1:0 "${socks[@]}" 2>"$work/exporter.err" &
	exporter=$!
	pids+=("$exporter")
	for _ in $(seq 100); do grep -q 'serving http' "$work/exporter.err" && break; sleep 0.1; done
	url=$(sed -n 's|.*serving \(http://.*\)$|\1|p' "$work/exporter.err")
	[ -n "$url" ] || { echo "exporter.sh: the exporter did not serve: $(cat "$work/exporter.err")" >&2; exit 1; }
	for _ in $(seq 100); do
		[ "$(curl -s "$url" | grep -c '^vqscope_region_ready{.*} 1$')" = "$vms" ] && break
		sleep 0.1
	done
	scrape "$url" &
	scraper=$!
	pids+=("$scraper")
	sleep 3 # past the backlog of the first drain
	curl -s -o "$work/before" "$url"
	t0=$EPOCHREALTIME
	cpu=$(measure "$exporter")
	curl -s -o "$work/after" "$url"
	t1=$EPOCHREALTIME
	bench_sample read "$rep" "$(awk -v a="$(total vqscope_events_total "$work/before")" \
		-v b="$(total vqscope_events_total "$work/after")" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }')"
	bench_sample lost "$rep" $(($(total vqscope_lost_records_total "$work/after") -
		$(total vqscope_lost_records_total "$work/before")))
	bench_sample scrape-bytes "$rep" "$(wc -c <"$work/after")"
	bench_sample scrape-samples "$rep" "$(grep -vc '^#' "$work/after")"
	kill "$scraper" "$exporter"
	wait "$exporter" 2>/dev/null || true
	echo "$cpu"
}

# The live view: one `vqscope top` per VM, or one alone.  Each pane ends
# if its top does, so the count of panes says they all attached.
top_cmd() { echo "exec $vqscope top ${2-} $work/vm$1/qmp.sock 2>$work/top$1.err"; }
panes() { tmux -S "$work/tmux" list-panes -a -F '#{pane_pid}' 2>/dev/null; }
all_attached() { # N: N panes, each still there after the attach
	sleep 3
	[ "$(panes | wc -l)" = "$1" ] && return 0
	echo "exporter.sh: a vqscope top ended: $(cat "$work"/top*.err)" >&2
	exit 1
}
# tops_cpu N [OPTION]: start `vqscope top [OPTION]` on VMs 1..N, measure
# them together, stop them.
tops_cpu() {
	local n=$1 i tops
	sleep 2 # QEMU lets go of the previous QMP connections
	tmux -S "$work/tmux" new-session -d -x 120 -y 40 "$(top_cmd 1 "${2-}")"
	for i in $(seq 2 "$n"); do
		tmux -S "$work/tmux" new-window -d "$(top_cmd "$i" "${2-}")"
	done
	all_attached "$n"
	mapfile -t tops < <(panes)
	measure "${tops[@]}"
	tmux -S "$work/tmux" kill-server
}

# run_mode MODE REP: percent of a core.  tops-nodev leaves out the device
# view, which the exporter does not sample.
run_mode() {
	case $1 in
	exporter) exporter_cpu "$2" ;;
	tops) tops_cpu "$vms" ;;
	tops-nodev) tops_cpu "$vms" --no-device ;;
	one-top) tops_cpu 1 ;;
	esac
}

echo "Exporter CPU: $reps repetitions of 4 modes, ${seconds}s each, interleaved (load $(bench_load))" >&2
bench_interleave "$reps" run_mode exporter tops tops-nodev one-top
for ((r = 1; r <= reps; r++)); do
	bench_sample per-vm "$r" "$(awk -v a="${BENCH_SAMPLES["exporter $r"]}" -v n="$vms" 'BEGIN { printf "%.4f", a / n }')"
done

exporter=$(bench_stats $(bench_values exporter))
tops_pct=$(bench_stats $(bench_values tops))
tops_nodev=$(bench_stats $(bench_values tops-nodev))
one_top=$(bench_stats $(bench_values one-top))
per_vm=$(bench_stats $(bench_values per-vm))
x_tops=$(bench_stats $(bench_ratios exporter tops))
x_nodev=$(bench_stats $(bench_ratios exporter tops-nodev))
x_one=$(bench_stats $(bench_ratios per-vm one-top))
read_rate=$(bench_stats $(bench_values read))
bytes=$(bench_range $(bench_values scrape-bytes))
samples=$(bench_range $(bench_values scrape-samples))
lost=$(bench_values lost | awk '{ for (i = 1; i <= NF; i++) s += $i } END { printf "%d", s }')

echo "Exporter CPU, $vms VMs at $rate events/s each, scraped every second (% of one core)."
echo "Median [95% interval] over $reps repetitions of ${seconds}s; x: ratio within each repetition."
bench_line "vqscope exporter, all $vms VMs" "$exporter"
bench_line "  events/s it read" "$read_rate" "" "" "%.4g"
bench_line "peer: $vms x vqscope top, one per VM" "$tops_pct"
bench_line "peer: $vms x vqscope top --no-device" "$tops_nodev"
bench_line "exporter x $vms tops" "$x_tops"
bench_line "exporter x $vms tops --no-device" "$x_nodev"
bench_line "vqscope exporter per VM" "$per_vm"
bench_line "peer: one vqscope top on one VM" "$one_top"
bench_line "exporter per VM x one top" "$x_one"
bench_count_line "scrape, bytes" "$bytes" "bytes of one scrape"
bench_count_line "scrape, samples" "$samples" "samples in one scrape"
echo "  records lost while measured: $lost (count, all repetitions)"
if [ -n "$json" ]; then
	cat >"$json" <<EOF
{"reps": $reps, "seconds": $seconds, "vms": $vms, "events_per_s_per_vm": $rate, "region": "$region",
 "stats": "median and 95% order-statistic interval over reps; ratios within each rep",
 "events_per_s_read": $(bench_json "$read_rate"),
 "exporter_percent": $(bench_json "$exporter"), "tops_percent": $(bench_json "$tops_pct"),
 "tops_no_device_percent": $(bench_json "$tops_nodev"),
 "exporter_per_vm_percent": $(bench_json "$per_vm"), "one_top_percent": $(bench_json "$one_top"),
 "ratio_to_tops": $(bench_json "$x_tops"), "ratio_to_tops_no_device": $(bench_json "$x_nodev"),
 "per_vm_ratio_to_one_top": $(bench_json "$x_one"),
 "scrape_bytes": $(bench_count_json "$bytes" "bytes of one scrape"),
 "scrape_samples": $(bench_count_json "$samples" "samples in one scrape"),
 "lost_records": $lost}
EOF
fi
