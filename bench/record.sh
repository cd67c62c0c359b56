#!/usr/bin/env bash
# record.sh - sustained recording: the highest event rate `vqscope record`
# keeps up with without losing a record, and bytes per event on disk.
#
# A QEMU (paused, no guest) provides the QMP socket and an ivshmem-plain
# device whose memory backend is a 64 MiB region file; bench/synth_producer
# writes events into that file with the guest library at a fixed rate
# while `vqscope record` attaches through QMP as it would to a real guest.
#
# Each repetition runs two modes, in an order that rotates from one
# repetition to the next (bench/lib.sh):
#
#   search    rates double from 1 M events/s until records are lost (up
#             to 64 M/s, past the producer's own maximum), then two
#             bisection steps between the last rate without loss and the
#             first with it; the figure is the most the producer offered
#             in a run without loss (none lost, and every event the
#             producer wrote in the recording), 0 when even 1 M/s loses
#   producer  the peer: the producer alone, unpaced (synth_producer max):
#             the most events it can offer, which the recorder must keep
#             up with
#
# The figures are the median over the repetitions, with its 95% interval,
# of the zero-loss rate and of its ratio to the producer's maximum in the
# same repetition.  The producer runs on one core, the recorder on the
# other.  Bytes per event is a count (file bytes over events recorded),
# the same in every run but for the file's header.
#
#   bench/record.sh [--reps N] [--seconds S] [--json FILE]
#
# Defaults: 7 repetitions of 2 s per rate; BENCH_QUICK=1 makes them 3 of
# 1 s (too few for a 95% interval: lib.sh says what they cover).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
if [ "${BENCH_QUICK:-0}" = 1 ]; then reps=3 seconds=1; else reps=$BENCH_MIN_REPS seconds=2; fi
json=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/record.sh [--reps N] [--seconds S] [--json FILE]" >&2; exit 2 ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "record.sh: --reps $reps: not a positive number" >&2; exit 2; }
vqscope=$O/vqscope
producer=$O/bench/synth_producer
for f in "$vqscope" "$producer"; do
	[ -x "$f" ] || { echo "record.sh: $f is missing (make bench builds it)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-rec.XXXXXX")
chmod 0700 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

synthetic_vm "$work"
pids+=("$SYNTH_VM_PID")

# The producer's rate and its events, from its JSON line.
offered_of() { sed 's/.*"rate": \([0-9.]*\).*/\1/'; }
produced_of() { sed 's/.*"events": \([0-9]*\).*/\1/'; }
# A region the recorder can attach to before the first run.
"$producer" "$work/region" 1000 0.1 >/dev/null

# measure RATE: one run at RATE events/s with the recorder attached;
# prints "produced offered recorded lost bytes".
measure() {
	local rate=$1 out=$work/rec.vqt rec p j events lost
	bench_on "$BENCH_HOST_CORE" "$vqscope" record -q --no-device --only-new -f -o "$out" \
		"$work/qmp.sock" 2>"$work/rec.err" &
	rec=$!
	pids+=("$rec")
	# Attached once the recording exists; then let it reach the ring.
	for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
	sleep 0.3
	p=$(bench_on "$BENCH_GUEST_CORE" "$producer" "$work/region" "$rate" "$seconds")
	sleep 0.3
	kill -INT "$rec"
	wait "$rec" || true
	j=$("$vqscope" report --json "$out")
	events=$(grep -m1 '"events"' <<<"$j" | tr -dc 0-9)
	lost=$(grep -m1 '"lost"' <<<"$j" | tr -dc 0-9)
	echo "$(produced_of <<<"$p") $(offered_of <<<"$p") $events $lost $(stat -c %s "$out")"
	rm -f "$out"
}

# Every run, for the JSON: "rep rate offered produced recorded lost bpe".
: >"$work/runs"

# try REP RATE: measure, keep the row; succeeds when nothing was lost
# and every event the producer wrote was recorded.  Sets tried_offered.
try() {
	local produced offered events lost bytes bpe
	measure "$2" >"$work/m"
	read -r produced offered events lost bytes <"$work/m"
	bpe=$(awk -v b="$bytes" -v e="$events" 'BEGIN { printf "%.3f", e ? b / e : 0 }')
	echo "$1 $2 $offered $produced $events $lost $bpe" >>"$work/runs"
	printf '  rep %d %9d/s asked, %9.0f/s offered: %9s written, %9s recorded, %8s lost\n' \
		"$1" "$2" "$offered" "$produced" "$events" "$lost" >&2
	tried_offered=$offered
	[ "$lost" = 0 ] && [ "$events" -ge "$produced" ]
}

# search REP: the zero-loss rate of this repetition, the most the
# producer offered in a run without loss (a producer the machine's load
# kept from its rate offers less than it was asked).
search() {
	local rep=$1 rate good=0 good_rate=0 bad=0 mid
	keep() { awk -v a="$good" -v b="$tried_offered" 'BEGIN { print (b > a ? b : a) }'; }
	for rate in 1000000 2000000 4000000 8000000 16000000 32000000 64000000; do
		if try "$rep" "$rate"; then
			good=$(keep) good_rate=$rate
		else
			bad=$rate
			break
		fi
	done
	if [ "$bad" != 0 ] && [ "$good_rate" != 0 ]; then
		for _ in 1 2; do
			mid=$(((good_rate + bad) / 2))
			if try "$rep" "$mid"; then good=$(keep) good_rate=$mid; else bad=$mid; fi
		done
	fi
	echo "$good"
}

run_mode() {
	case $1 in
	search) search "$2" ;;
	producer) bench_on "$BENCH_GUEST_CORE" "$producer" "$work/region" max "$seconds" | offered_of ;;
	esac
}

echo "Recording: $reps repetitions of a zero-loss search and the producer alone, interleaved, ${seconds}s per run (load $(bench_load))" >&2
bench_interleave "$reps" run_mode search producer

rate=$(bench_stats $(bench_values search))
peer=$(bench_stats $(bench_values producer))
ratio=$(bench_stats $(bench_ratios search producer))
# Bytes per event of every run without loss: a count, the spread is the
# header's share.
bpe=$(bench_range $(awk '$6 == 0 && $5 >= $4 { print $7 }' "$work/runs"))
bpe_what="file bytes / events recorded, runs without loss"
echo "Recording (synthetic producer through QMP + ivshmem, ${seconds}s per run)."
echo "Median [95% interval] over $reps repetitions; x: ratio within each repetition."
bench_line "sustained with zero loss, events/s" "$rate" "" "" "%.4g"
bench_line "peer: the producer's maximum, events/s" "$peer" "" "" "%.4g"
bench_line "zero-loss rate x the producer's maximum" "$ratio"
bench_count_line "bytes per event on disk" "$bpe" "$bpe_what"
if [ -n "$json" ]; then
	rows=$(awk '{ printf "%s{\"rep\": %d, \"requested_per_s\": %d, \"offered_per_s\": %.0f, \"produced\": %d, \"recorded\": %d, \"lost\": %d, \"bytes_per_event\": %s}",
		(NR > 1 ? ", " : ""), $1, $2, $3, $4, $5, $6, $7 }' "$work/runs")
	cat >"$json" <<EOF
{"seconds_per_rate": $seconds, "reps": $reps,
 "stats": "median and 95% order-statistic interval over reps; ratios within each rep",
 "zero_loss_events_per_s": $(bench_json "$rate"),
 "producer_max_events_per_s": $(bench_json "$peer"),
 "zero_loss_x_producer_max": $(bench_json "$ratio"),
 "bytes_per_event": $(bench_count_json "$bpe" "$bpe_what"),
 "rates": [$rows]}
EOF
fi
