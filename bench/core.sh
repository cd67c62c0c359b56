#!/usr/bin/env bash
# core.sh - the hot paths, from bench_core (see bench/bench_core.c), each
# against a peer measured in the same repetition, with the modes
# interleaved (bench/lib.sh):
#
#   guest library   ns per event over the rdtsc floor (target <= 1.5x),
#                   alone (into the demo's 4 MiB region, and into one
#                   whose ring stays in the L2 cache) and with a consumer
#                   draining; peer: snprintf of the event as text
#   drain           records/s of draining the ring, with the model, and
#                   with the model's diagnosis off: the diagnosis keeps
#                   >= 0.90 of the rate without it; peer: the producer's
#                   maximum rate (the host must never fall behind it); and
#                   into a bare model that keeps only the overview's
#                   columns (bench/bare_model.h), the least any model does
#   drain-live      producer and consumer at full speed, records lost
#   record          the .vqt writer; peer: write(2) of the raw records
#
# and, without the clock, instructions per event under callgrind: the
# guest library, and drain + model (target <= 60); peer: the same drain
# into a bare model that keeps only the overview's columns
# (bench/bare_model.h).
#
#   bench/core.sh [--reps N] [--seconds S] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
O=${O:-build}
reps=9
seconds=0.5
json=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--json) json=$2; shift 2 ;;
	*) echo "usage: bench/core.sh [--reps N] [--seconds S] [--json FILE]" >&2; exit 2 ;;
	esac
done
bench_core=$O/bench/bench_core
[ -x "$bench_core" ] || { echo "core.sh: $bench_core is missing (make bench builds it)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-core.XXXXXX")
chmod 0700 "$work"
trap 'rm -rf "$work"' EXIT

# One mode, one repetition: its figure.  The threaded modes pin
# themselves (producer on core 0, consumer on core 1).
declare -A extra
run_mode() {
	local line
	line=$("$bench_core" "$1" --seconds "$seconds" --dir "$work")
	extra["$1 $2"]=$line
	awk '{ print $2 }' <<<"$line"
}
modes=(floor guest guest-cached guest-drained snprintf drain model model-nofindings model-bare memcpy drain-live record write)
echo "bench_core: ${#modes[@]} modes interleaved, $reps repetitions of ${seconds}s each (load $(bench_load))"
bench_interleave "$reps" run_mode "${modes[@]}"

# field MODE KEY: KEY=value of MODE's lines, one per repetition.
field() {
	local r out=
	for ((r = 1; r <= reps; r++)); do
		out+="$(tr ' ' '\n' <<<"${extra["$1 $r"]}" | sed -n "s/^$2=//p") "
	done
	echo "$out"
}
# The producer's maximum rate, events/s, from the guest mode's ns/event.
for ((r = 1; r <= reps; r++)); do
	bench_sample producer "$r" "$(awk -v ns="${BENCH_SAMPLES["guest $r"]}" 'BEGIN { printf "%.0f", 1e9 / ns }')"
	bench_sample produced-live "$r" "$(field drain-live produced | cut -d' ' -f"$r")"
done

floor=$(bench_stats $(bench_values floor))
guest=$(bench_stats $(bench_values guest))
guest_x=$(bench_stats $(bench_ratios guest floor))
cached=$(bench_stats $(bench_values guest-cached))
cached_x=$(bench_stats $(bench_ratios guest-cached floor))
drained=$(bench_stats $(bench_values guest-drained))
drained_x=$(bench_stats $(bench_ratios guest-drained floor))
peer=$(bench_stats $(bench_values snprintf))
peer_x=$(bench_stats $(bench_ratios guest snprintf))
drain=$(bench_stats $(bench_values drain))
drain_x=$(bench_stats $(bench_ratios drain producer))
model=$(bench_stats $(bench_values model))
model_x=$(bench_stats $(bench_ratios model producer))
nofind=$(bench_stats $(bench_values model-nofindings))
findings_x=$(bench_stats $(bench_ratios model model-nofindings))
bare=$(bench_stats $(bench_values model-bare))
bare_x=$(bench_stats $(bench_ratios model model-bare))
copy=$(bench_stats $(bench_values memcpy))
live=$(bench_stats $(bench_values drain-live))
live_x=$(bench_stats $(bench_ratios drain-live produced-live))
lost=$(bench_stats $(field drain-live lost_fraction))
record=$(bench_stats $(bench_values record))
record_x=$(bench_stats $(bench_ratios record write))
bpe=$(bench_stats $(field record bytes_per_event))

echo "Median [95% confidence interval] over $reps repetitions; x: ratio within each repetition."
echo "guest library, per event (the demo guest's mix, hosted build):"
bench_line "rdtsc alone (the floor), ns" "$floor"
bench_line "vqscope, ns" "$guest"
bench_line "  x floor" "$guest_x" le 1.5
bench_line "  ring in the L2 cache, ns" "$cached"
bench_line "  ring in the L2 cache, x floor" "$cached_x" le 1.5
bench_line "  with a consumer draining, ns" "$drained"
bench_line "  with a consumer draining, x floor" "$drained_x" le 1.5
bench_line "peer: snprintf of the event as text, ns" "$peer"
bench_line "vqscope x snprintf" "$peer_x"
echo "host drain (records/s):"
bench_line "drain" "$drain" ge 50e6
bench_line "  x the producer's maximum" "$drain_x" ge 1
bench_line "drain + model" "$model"
bench_line "  x the producer's maximum" "$model_x"
bench_line "drain + model, diagnosis off" "$nofind"
bench_line "peer: drain + a bare model (bare_model.h)" "$bare"
bench_line "  drain + model x the bare model" "$bare_x"
bench_line "diagnosis on x off" "$findings_x" ge 0.90
bench_line "memcpy of the same bytes" "$copy"
bench_line "drain-live: delivered" "$live"
bench_line "  x produced" "$live_x"
bench_line "  fraction lost" "$lost"
echo "recording:"
bench_line "events/s" "$record"
bench_line "  x write(2) of the raw records" "$record_x"
bench_line "bytes per event" "$bpe"

# Instruction counts: the same work without the clock.
icount_json=null
if command -v valgrind >/dev/null; then
	per_event() { # MODE [VALGRIND-OPTION...]
		local mode=$1
		shift
		bench_icount_per_event 200000 400000 "$@" -- "$bench_core" --icount "$mode"
	}
	drain_fns=(--toggle-collect=vqp_reader_drain --toggle-collect=model_feed)
	i_guest=$(per_event guest)
	i_peer=$(per_event snprintf)
	i_drain=$(per_event drain "${drain_fns[@]}")
	i_model=$(per_event model "${drain_fns[@]}")
	i_nofind=$(per_event model-nofindings "${drain_fns[@]}")
	i_bare=$(per_event model-bare --toggle-collect=vqp_reader_drain \
		'--toggle-collect=bare_model_feed*')
	verdict=$(awk -v i="$i_model" 'BEGIN { print (i <= 60 ? "meets" : "misses") }')
	echo "instructions per event (callgrind; counts, not times):"
	printf '  %-44s %s\n' "guest library" "$i_guest"
	printf '  %-44s %s (%sx)\n' "peer: snprintf" "$i_peer" \
		"$(awk -v a="$i_guest" -v b="$i_peer" 'BEGIN { printf "%.3f", a / b }')"
	printf '  %-44s %s\n' "drain" "$i_drain"
	printf '  %-44s %s  target <= 60: %s\n' "drain + model" "$i_model" "$verdict"
	printf '  %-44s %s\n' "drain + model, diagnosis off" "$i_nofind"
	printf '  %-44s %s\n' "peer: drain + a bare model (bare_model.h)" "$i_bare"
	icount_json="{\"guest\": $i_guest, \"snprintf\": $i_peer, \"drain\": $i_drain, \"drain_model\": $i_model, \"drain_model_no_findings\": $i_nofind, \"drain_bare_model\": $i_bare, \"drain_model_target\": 60}"
fi

if [ -n "$json" ]; then
	cat >"$json" <<EOF
{"reps": $reps, "seconds_per_mode": $seconds, "load_before": $(cut -d' ' -f1 /proc/loadavg),
 "stats": "median and 95% order-statistic interval over reps; ratios within each rep",
 "guest_event": {"rdtsc_floor_ns": $(bench_json "$floor"), "ns": $(bench_json "$guest"),
   "x_floor": $(bench_json "$guest_x"), "cached_ns": $(bench_json "$cached"),
   "cached_x_floor": $(bench_json "$cached_x"), "drained_ns": $(bench_json "$drained"),
   "drained_x_floor": $(bench_json "$drained_x"), "snprintf_ns": $(bench_json "$peer"),
   "x_snprintf": $(bench_json "$peer_x"), "target_x_floor": 1.5,
   "verdict": "$(bench_verdict "$guest_x" le 1.5)",
   "cached_verdict": "$(bench_verdict "$cached_x" le 1.5)",
   "drained_verdict": "$(bench_verdict "$drained_x" le 1.5)"},
 "drain": {"records_per_s": $(bench_json "$drain"), "x_producer": $(bench_json "$drain_x"),
   "model_records_per_s": $(bench_json "$model"), "model_x_producer": $(bench_json "$model_x"),
   "model_no_findings_records_per_s": $(bench_json "$nofind"),
   "findings_on_x_off": $(bench_json "$findings_x"), "findings_target": 0.90,
   "bare_model_records_per_s": $(bench_json "$bare"), "model_x_bare_model": $(bench_json "$bare_x"),
   "findings_verdict": "$(bench_verdict "$findings_x" ge 0.90)",
   "memcpy_records_per_s": $(bench_json "$copy"), "target_records_per_s": 50e6,
   "live_delivered_per_s": $(bench_json "$live"), "live_x_produced": $(bench_json "$live_x"),
   "live_lost_fraction": $(bench_json "$lost")},
 "record": {"events_per_s": $(bench_json "$record"), "x_write": $(bench_json "$record_x"),
   "bytes_per_event": $(bench_json "$bpe")},
 "instructions_per_event": $icount_json}
EOF
fi
