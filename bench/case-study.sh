#!/usr/bin/env bash
# case-study.sh - the data behind docs/case-study.md: the demo guest in the
# three barrier policies the hobby-OS team tried, each with and without the
# per-frame serial log line, recorded with `vqscope record` and summarised
# with `vqscope report` and `vqscope diff`.
#
#   bench/case-study.sh OUTDIR [--seconds S] [--resolution WxH]
#
# OUTDIR gets one recording per configuration (POLICY-log.vqt,
# POLICY-nolog.vqt), their reports (.txt and .json), the diffs, an export
# summary, and summary.tsv with the figures the write-up quotes.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
out=${1:?usage: bench/case-study.sh OUTDIR [--seconds S] [--resolution WxH]}
shift
seconds=5
resolution=640x480
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--resolution) resolution=$2; shift 2 ;;
	*) echo "case-study.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
vqscope=$O/vqscope
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/vqcase.XXXXXX")
chmod 0700 "$work"
qemu=
cleanup() {
	[ -n "$qemu" ] && kill "$qemu" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

record() {
	local name=$1 append=$2
	local o
	o=$(bash scripts/run-demo-guest.sh --background --dir "$work/$name" --frames 0 \
		--resolution "$resolution" --append "$append")
	qemu=${o##*pid=}
	sleep 2 # boot and first frames: the recording starts in steady state
	"$vqscope" record -q --only-new -f -d "$seconds" -o "$out/$name.vqt" "$work/$name/qmp.sock"
	kill "$qemu"
	wait "$qemu" 2>/dev/null || true
	qemu=
	"$vqscope" report "$out/$name.vqt" >"$out/$name.report.txt"
	"$vqscope" report --json "$out/$name.vqt" >"$out/$name.report.json"
	echo "recorded $name: $append" >&2
}

for policy in seqcst-every on-progress acquire-every; do
	record "$policy-log" "barrier=$policy flush=line log=frame uart=115200"
	record "$policy-nolog" "barrier=$policy flush=line log=off"
done

# The comparisons the write-up walks through.
"$vqscope" diff "$out/on-progress-log.vqt" "$out/on-progress-nolog.vqt" >"$out/diff-logging.txt"
"$vqscope" diff "$out/seqcst-every-nolog.vqt" "$out/on-progress-nolog.vqt" >"$out/diff-seqcst-vs-onprogress.txt"
"$vqscope" diff "$out/acquire-every-nolog.vqt" "$out/on-progress-nolog.vqt" >"$out/diff-acquire-vs-onprogress.txt"
"$vqscope" export --format chrome -o "$out/on-progress-log.json" "$out/on-progress-log.vqt" 2>"$out/export-summary.txt"

# One line per configuration: frames/s, period p50, log/device/other
# shares, command latency p50/p99, spins and barriers per completion.
{
	printf "config\tframes_per_s\tperiod_p50_ms\tlog_pct\tdevice_pct\tother_pct\tlat_p50_us\tlat_p99_us\tspins_per_cmd\tbarriers_per_cmd\tdominant\n"
	for f in "$out"/*.report.json; do
		python3 - "$f" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
a = r["frames"]["attribution"]
t = a["total_ns"] or 1
q = next(q for q in r["queues"] if q["name"] == "gpu0.control")
print("\t".join([
    os.path.basename(sys.argv[1]).replace(".report.json", ""),
    "%.1f" % r["frames"]["per_s"],
    "%.2f" % (r["frames"]["period_p50_ns"] / 1e6),
    "%.1f" % (100 * a["log_ns"] / t),
    "%.1f" % (100 * a["device_ns"] / t),
    "%.1f" % (100 * a["other_ns"] / t),
    "%.1f" % (q["latency"]["p50_ns"] / 1e3),
    "%.1f" % (q["latency"]["p99_ns"] / 1e3),
    "%.1f" % q["spins_per_completion"],
    "%.2f" % q["barriers_per_completion"],
    r["verdict"]["dominant"],
]))
EOF
	done
} >"$out/summary.tsv"
column -t -s $'\t' "$out/summary.tsv"
