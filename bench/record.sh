#!/usr/bin/env bash
# record.sh - sustained recording: the highest event rate `vqscope record`
# keeps up with without losing a record, and bytes per event on disk.
#
# A QEMU (paused, no guest) provides the QMP socket and an ivshmem-plain
# device whose memory backend is a 64 MiB region file; bench/synth_producer
# writes events into that file with the guest library at a fixed rate
# while `vqscope record` attaches through QMP as it would to a real guest.
# Rates double until records are lost.  The peer is the producer itself:
# how many events it could offer (the recorder must keep up with it).
#
#   bench/record.sh [--seconds S] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
seconds=3
json=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/record.sh [--seconds S] [--json FILE]" >&2; exit 2 ;;
	esac
done
vqscope=$O/vqscope
producer=$O/bench/synth_producer
for f in "$vqscope" "$producer"; do
	[ -x "$f" ] || { echo "record.sh: $f is missing (make bench builds it)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-rec.XXXXXX")
chmod 0700 "$work"
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

synthetic_vm "$work"
qemu_pid=$SYNTH_VM_PID

# One rate: prints "offered delivered lost bytes".
measure() {
	local rate=$1 out=$work/r-$1.vqt
	"$vqscope" record -q --no-device --only-new -f -o "$out" "$work/qmp.sock" 2>"$work/rec.err" &
	local rec=$!
	sleep 0.5
	local offered
	offered=$("$producer" "$work/region" "$rate" "$seconds" | sed 's/.*"rate": \([0-9.]*\).*/\1/')
	sleep 0.3
	kill -INT "$rec"
	wait "$rec" || true
	local j
	j=$("$vqscope" report --json "$out")
	local events lost
	events=$(grep -m1 '"events"' <<<"$j" | tr -dc 0-9)
	lost=$(grep -m1 '"lost"' <<<"$j" | tr -dc 0-9)
	echo "$offered $events $lost $(stat -c %s "$out")"
	rm -f "$out"
}

echo "Recording (synthetic producer through QMP + ivshmem, ${seconds}s per rate):"
printf "  %12s %12s %10s %10s\n" "offered/s" "recorded" "lost" "bytes/ev"
best=0
best_bpe=0
rows=
for rate in 1000000 2000000 4000000 8000000 16000000 32000000; do
	measure "$rate" >"$work/m"
	read -r offered events lost bytes <"$work/m"
	bpe=$(awk -v b="$bytes" -v e="$events" 'BEGIN { printf "%.2f", e ? b / e : 0 }')
	printf "  %12.0f %12s %10s %10s\n" "$offered" "$events" "$lost" "$bpe"
	rows+="${rows:+, }{\"offered_per_s\": $offered, \"recorded\": $events, \"lost\": $lost, \"bytes_per_event\": $bpe}"
	if [ "$lost" = 0 ]; then
		best=$offered
		best_bpe=$bpe
	else
		break
	fi
done
echo "  sustained with zero loss: $(awk -v b="$best" 'BEGIN { printf "%.1f", b / 1e6 }') M events/s at $best_bpe bytes/event"
if [ -n "$json" ]; then
	echo "{\"seconds_per_rate\": $seconds, \"rates\": [$rows], \"zero_loss_events_per_s\": $best, \"bytes_per_event\": $best_bpe}" >"$json"
fi
