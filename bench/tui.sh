#!/usr/bin/env bash
# tui.sh - CPU cost of the live view: `vqscope top` (interactive, in a
# tmux pane) at its default refresh, measured from /proc/PID/stat over a
# fixed interval, in two situations:
#
#   demo        the demo guest rendering flat out (flush=line, the
#               motivating configuration), a few thousand events/s
#   synthetic   1 M events/s from bench/synth_producer through QMP and
#               ivshmem, the issue's target load (<= 2% of a core)
#
# Peer: procps `top -b -d 1` watching the same machine for the same time,
# the tool whose refresh a user compares it with.
#
#   bench/tui.sh [--seconds S] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
seconds=10
json=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/tui.sh [--seconds S] [--json FILE]" >&2; exit 2 ;;
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
hz=$(getconf CLK_TCK)

# CPU seconds (user + system) used so far by PID.
cpu_of() { awk -v hz="$hz" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# Percent of one core PID used over the next $seconds.
measure() {
	local pid=$1 a b
	a=$(cpu_of "$pid")
	sleep "$seconds"
	b=$(cpu_of "$pid")
	awk -v a="$a" -v b="$b" -v s="$seconds" 'BEGIN { printf "%.2f", (b - a) * 100 / s }'
}

# Start `vqscope top SOCKET` in a tmux pane; prints its PID.
start_top() {
	local sock=$1
	tmux -S "$work/tmux" new-session -d -x 120 -y 40 "exec $vqscope top $sock"
	local pid=
	for _ in $(seq 50); do
		pid=$(tmux -S "$work/tmux" list-panes -F '#{pane_pid}' 2>/dev/null | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	sleep 2 # attach, first frames
	echo "$pid"
}

# Stop the view and wait until it has let go of the QMP socket.
stop_top() {
	local pid=$1
	tmux -S "$work/tmux" kill-server 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

peer_top() {
	top -b -d 1 >/dev/null &
	local p=$!
	pids+=("$p")
	sleep 1
	measure "$p"
	kill "$p"
}

# 1. The demo guest at full speed.
out=$(bash scripts/run-demo-guest.sh --background --dir "$work/demo" --frames 0 \
	--append "barrier=on-progress flush=line log=off")
qemu=${out##*pid=}
pids+=("$qemu")
top_pid=$(start_top "$work/demo/qmp.sock")
demo=$(measure "$top_pid")
stop_top "$top_pid"
# The event rate it was watching (QEMU takes one QMP client at a time, so
# this comes after the view has gone).
# QEMU takes a moment to let go of the view's QMP connection.
for _ in 1 2 3; do
	sleep 1
	"$vqscope" record -q --no-device --only-new -f -o "$work/d.vqt" -d 3 \
		"$work/demo/qmp.sock" >/dev/null 2>&1 && break
done
demo_rate=$("$vqscope" report --json "$work/d.vqt" 2>/dev/null |
	awk -F: '/^  "events":/ { e = $2 + 0 } /^  "duration_ns":/ { d = $2 + 0 }
		END { printf "%.0f", (d > 0 ? e * 1e9 / d : 0) }' || echo 0)
kill "$qemu"

# 2. One million events per second from the synthetic producer.
synthetic_vm "$work"
pids+=("$SYNTH_VM_PID")
"$producer" "$work/region" 1000000 $((seconds + 6)) >"$work/synth.json" &
pids+=("$!")
sleep 0.5
top_pid=$(start_top "$work/qmp.sock")
synth=$(measure "$top_pid")
stop_top "$top_pid"

peer=$(peer_top)

echo "Live view CPU at the default 1 s refresh (% of one core, over ${seconds}s):"
printf "  %-40s %8s%%\n" "vqscope top, demo guest (~${demo_rate%.*} events/s)" "$demo"
printf "  %-40s %8s%%\n" "vqscope top, 1 M events/s synthetic" "$synth"
printf "  %-40s %8s%%\n" "peer: top -b -d 1" "$peer"
echo "  target: <= 2% at 1 M events/s; ratio to top -b: $(awk -v a="$synth" -v b="$peer" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x"
if [ -n "$json" ]; then
	cat >"$json" <<EOF
{"seconds": $seconds, "demo_percent": $demo, "demo_events_per_s": ${demo_rate:-0},
 "synthetic_1m_percent": $synth, "top_b_percent": $peer, "target_percent": 2}
EOF
fi
