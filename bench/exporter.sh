#!/usr/bin/env bash
# exporter.sh - CPU cost of `vqscope exporter` watching 8 VMs that each
# trace 100k events/s, scraped once a second, measured from /proc/PID/stat
# over a fixed interval.  The VMs are paused QEMUs whose ivshmem-plain
# region bench/synth_producer fills (paced, so 8 producers fit on a small
# machine).
#
# Peer, on the same load in the same run: the live view, `vqscope top`,
# once per VM (8 of them in tmux panes, what watching 8 VMs takes without
# the exporter), again with --no-device (the exporter reads the trace
# region only, the view also samples QEMU's device view), and one
# `vqscope top` on one VM against the exporter's cost per VM.
#
#   bench/exporter.sh [--seconds S] [--vms N] [--rate EVENTS_PER_S] [--region SIZE]
#                     [--json FILE]
#
# --region is each VM's trace region (default 16M: 2.6 s of 100k events/s,
# so that a machine shared with other work, where a producer that was not
# scheduled for a while writes what it owes in a burst, still measures the
# whole load; the demo guest's 4M holds 0.65 s).  Records the exporter could
# not read in time are reported as lost.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
seconds=10
vms=8
rate=100000
region=16M
json=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--vms) vms=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--region) region=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/exporter.sh [--seconds S] [--vms N] [--rate EVENTS_PER_S] [--region SIZE] [--json FILE]" >&2; exit 2 ;;
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
hz=$(getconf CLK_TCK)

# CPU seconds (user + system) used so far by the PIDs.
cpu_of() {
	local p total=0
	for p in "$@"; do
		total=$(awk -v hz="$hz" -v t="$total" '{ printf "%.3f", t + ($14 + $15) / hz }' "/proc/$p/stat")
	done
	echo "$total"
}
# Percent of one core the PIDs used together over the next $seconds.
measure() {
	local a b
	a=$(cpu_of "$@")
	sleep "$seconds"
	b=$(cpu_of "$@")
	awk -v a="$a" -v b="$b" -v s="$seconds" 'BEGIN { printf "%.2f", (b - a) * 100 / s }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# The VMs and their load, for the whole run.
socks=()
for i in $(seq "$vms"); do
	mkdir "$work/vm$i"
	synthetic_vm "$work/vm$i" "$region"
	pids+=("$SYNTH_VM_PID")
	"$producer" "$work/vm$i/region" "$rate" $((3 * seconds + 40)) --pace-us 1000 \
		>"$work/vm$i/producer.json" &
	pids+=("$!")
	socks+=("vm$i=$work/vm$i/qmp.sock")
done
sleep 1

# 1. The exporter, scraped every second.
"$vqscope" exporter --listen 127.0.0.1:0 "${socks[@]}" 2>"$work/exporter.err" &
exporter=$!
pids+=("$exporter")
for _ in $(seq 100); do grep -q 'serving http' "$work/exporter.err" && break; sleep 0.1; done
url=$(sed -n 's|.*serving \(http://.*\)$|\1|p' "$work/exporter.err")
for _ in $(seq 100); do
	[ "$(curl -s "$url" | grep -c '^vqscope_region_ready{.*} 1$')" = "$vms" ] && break
	sleep 0.1
done
scrape() { # every second until killed
	while :; do
		curl -s -o /dev/null "$url"
		sleep 1
	done
}
scrape &
scraper=$!
pids+=("$scraper")
sleep 3 # past the backlog of the first drain
# Totals over all VMs of a counter in a scrape.
total() { awk -v m="$1" '$1 ~ "^" m "{" { n += $2 } END { printf "%d", n }' "$2"; }
curl -s -o "$work/before" "$url"
t0=$EPOCHREALTIME
exporter_cpu=$(measure "$exporter")
curl -s -o "$work/after" "$url"
t1=$EPOCHREALTIME
scrape_bytes=$(wc -c <"$work/after")
scrape_samples=$(grep -vc '^#' "$work/after")
events_per_s=$(awk -v a="$(total vqscope_events_total "$work/before")" \
	-v b="$(total vqscope_events_total "$work/after")" -v t0="$t0" -v t1="$t1" \
	'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }')
lost=$(($(total vqscope_lost_records_total "$work/after") - $(total vqscope_lost_records_total "$work/before")))
kill "$scraper" "$exporter"
wait "$exporter" 2>/dev/null || true

# 2. The live view: one `vqscope top` per VM, then one alone.  Each pane
# ends if its top does, so the count of panes says they all attached.
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
tops_cpu=$(tops_cpu "$vms")
# The same without the device view, which the exporter does not sample.
tops_nodev_cpu=$(tops_cpu "$vms" --no-device)
one_top_cpu=$(tops_cpu 1)

per_vm=$(awk -v a="$exporter_cpu" -v n="$vms" 'BEGIN { printf "%.2f", a / n }')
echo "Exporter CPU, $vms VMs at $rate events/s each, scraped every second (% of one core, over ${seconds}s):"
printf "  %-52s %8s%%\n" "vqscope exporter, all $vms VMs (${events_per_s} events/s read)" "$exporter_cpu"
printf "  %-52s %8s%%\n" "peer: $vms x vqscope top, one per VM" "$tops_cpu"
printf "  %-52s %8s%%\n" "peer: $vms x vqscope top --no-device" "$tops_nodev_cpu"
printf "  %-52s %8s%%\n" "vqscope exporter per VM" "$per_vm"
printf "  %-52s %8s%%\n" "peer: one vqscope top on one VM" "$one_top_cpu"
echo "  ratio exporter / ${vms} tops: $(ratio "$exporter_cpu" "$tops_cpu")x (--no-device: $(ratio "$exporter_cpu" "$tops_nodev_cpu")x); per VM / one top: $(ratio "$per_vm" "$one_top_cpu")x"
echo "  scrape: $scrape_bytes bytes, $scrape_samples samples; records lost meanwhile: $lost"
if [ -n "$json" ]; then
	cat >"$json" <<EOF
{"seconds": $seconds, "vms": $vms, "events_per_s_per_vm": $rate, "region": "$region",
 "events_per_s_read": $events_per_s,
 "exporter_percent": $exporter_cpu, "tops_percent": $tops_cpu, "tops_no_device_percent": $tops_nodev_cpu,
 "exporter_per_vm_percent": $per_vm,
 "one_top_percent": $one_top_cpu, "ratio_to_tops": $(ratio "$exporter_cpu" "$tops_cpu"),
 "scrape_bytes": $scrape_bytes, "scrape_samples": $scrape_samples, "lost_records": $lost}
EOF
fi
