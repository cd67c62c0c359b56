#!/usr/bin/env bash
# test-exporter-prometheus.sh - Debian's real Prometheus scrapes `vqscope
# exporter` attached to the demo guest every half second:
#   - promtool accepts the exposition, Prometheus's scrape is healthy
#     (it asks for OpenMetrics first, so that is what it parses);
#   - rate(vqscope_queue_completions_total) of gpu0.control is above 0
#     and within 10% of `vqscope top --batch --json` over the same
#     seconds, through a second QMP monitor;
#   - the VM stops: vqscope_up 0; it starts again on the same socket: the
#     exporter attaches again by itself and no counter went backwards in
#     Prometheus's eyes (resets() is 0).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/../host/lib.sh"
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null || skip "prometheus is not installed (scripts/deps.sh)"
command -v promtool >/dev/null || skip "promtool is not installed (scripts/deps.sh)"
WINDOW=15 # seconds of the rate comparison
Q='vm="demo",queue="gpu0.control"'

ctl=$T/ctl.sock
guest_args=(-- -qmp "unix:$ctl,server=on,wait=off")
host_demo_start guest "log=off" "${guest_args[@]}"
exporter_start --retry 500ms "demo=$SOCK"
wait_for 30 metrics_have 'vqscope_region_ready{vm="demo"} 1' ||
	{ cat "$T/exporter.err" >&2; fail "the exporter never saw the trace region"; }

# ---- the exposition itself -----------------------------------------------------------------
metrics >"$T/metrics.txt" || fail "GET /metrics"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
	{ cat "$T/promtool.out" >&2; fail "promtool check metrics failed"; }
[ ! -s "$T/promtool.out" ] || { cat "$T/promtool.out" >&2; fail "promtool has remarks"; }
grep -q "^vqscope_queue_completions_total{$Q,slot=\"0\",kind=\"request\"} [1-9]" "$T/metrics.txt" ||
	fail "no completions of gpu0.control: $(grep completions "$T/metrics.txt")"
metrics 'application/openmetrics-text; version=1.0.0' >"$T/metrics.om" || fail "GET OpenMetrics"
[ "$(tail -1 "$T/metrics.om")" = "# EOF" ] || fail "OpenMetrics without # EOF"
grep -qx '# TYPE vqscope_queue_completions counter' "$T/metrics.om" || fail "OpenMetrics TYPE"
pass "promtool accepts the exposition ($(wc -c <"$T/metrics.txt") bytes, $(grep -vc '^#' "$T/metrics.txt") samples); OpenMetrics on request"

# ---- Prometheus ------------------------------------------------------------------------------
prometheus_start

scrapes() { [ "$(http query "$PROM" "count_over_time(vqscope_up{vm=\"demo\"}[5m])")" -ge "$1" ] 2>/dev/null; }
wait_for 60 scrapes 2 || { tail -20 "$T/prometheus.log" >&2; fail "Prometheus did not scrape twice"; }
http targets "$PROM" >"$T/targets.txt"
[ "$(cat "$T/targets.txt")" = "up -" ] || fail "scrape target: $(cat "$T/targets.txt")"
pass "Prometheus scrapes the exporter (health up, no error)"

# ---- rate() against top --batch over the same seconds ---------------------------------------------
# top's first update counts the whole ring it found; its second is a
# clean window of WINDOW seconds, from the first line to the second, each
# stamped as it arrives.  rate() then looks at exactly those seconds.
"$VQSCOPE" top --batch --json --interval "${WINDOW}s" --count 2 "$ctl" </dev/null 2>"$T/top.err" |
	while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$T/top.json" || true
[ "$(wc -l <"$T/top.json")" = 2 ] || fail "top --batch: $(cat "$T/top.err")"
start=$(sed -n '1s/ .*//p' "$T/top.json")
end=$(sed -n '2s/ .*//p' "$T/top.json")
window_ms=$(python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$start" "$end")
sleep 2 # the scrape that closes the window
rate=$(http query "$PROM" "rate(vqscope_queue_completions_total{$Q}[${window_ms}ms])" "$end")
python3 - "$T/top.json" "$rate" "$window_ms" <<'EOF' || fail "Prometheus and top disagree"
import json, sys
line = open(sys.argv[1]).read().splitlines()[1].split(" ", 1)[1]
top = [q for q in json.loads(line)["queues"] if q["name"] == "gpu0.control"][0]["completions_per_s"]
prom = float(sys.argv[2])
print("gpu0.control completions/s over %s ms: Prometheus rate() %.1f, top --batch %.1f (%+.1f%%)"
      % (sys.argv[3], prom, top, (prom - top) * 100 / top))
assert prom > 0 and top > 0
assert abs(prom - top) <= 0.10 * top
EOF
p50=$(http query "$PROM" "histogram_quantile(0.5, rate(vqscope_queue_command_latency_seconds_bucket{$Q}[${WINDOW}s]))")
python3 -c "import sys; v = float(sys.argv[1]); assert 0 < v < 10, v" "$p50" ||
	fail "median latency from the histogram: $p50"
pass "rate() agrees with top within 10%; histogram_quantile gives a median latency of ${p50}s"

# ---- the VM goes away and comes back on the same socket ------------------------------------------
before=$(http query "$PROM" "vqscope_queue_completions_total{$Q}")
qemu_stop "$DEMO_PID"
up_is() { [ "$(http query "$PROM" "vqscope_up{vm=\"demo\"}")" = "$1" ]; }
wait_for 30 up_is 0 || fail "vqscope_up did not drop to 0"
wait_for 10 metrics_have 'vqscope_up{vm="demo"} 0' || fail "the exporter still says up"
metrics | grep -q '^vqscope_queue_' && fail "a VM that is down still has queue metrics"
kill -0 "$EXPORTER_PID" || fail "the exporter ended with the VM"
pass "a VM that stops reports vqscope_up 0"

demo_start guest "log=off" "${guest_args[@]}"
grown() {
	local now
	now=$(http query "$PROM" "vqscope_queue_completions_total{$Q}")
	[ "$now" != none ] && python3 -c "import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))" "$now" "$before"
}
wait_for 90 grown || { demo_serial guest; cat "$T/exporter.err" >&2; fail "the counters did not go on after the restart"; }
up_is 1 || fail "vqscope_up is not 1 again"
sleep 3 # a few more scrapes
# Every counter series, and the histogram's: resets() counts decreases.
series=$(awk '$1 == "#" && $2 == "TYPE" && $4 == "counter" { print $3 }
	$1 == "#" && $2 == "TYPE" && $4 == "histogram" { print $3 "_bucket"; print $3 "_count"; print $3 "_sum" }' "$T/metrics.txt")
for name in $series; do
	grep -q "^$name{" "$T/metrics.txt" || continue # no series (findings of a healthy guest)
	resets=$(http query "$PROM" "sum(resets($name{vm=\"demo\"}[10m]))")
	[ "$resets" = 0 ] || fail "Prometheus saw $resets resets of $name"
done
resyncs=$(http query "$PROM" "vqscope_resyncs_total{vm=\"demo\"}")
[ "$resyncs" -ge 1 ] || fail "vqscope_resyncs_total is $resyncs"
grep -q 'demo: attached' "$T/exporter.err" || fail "no 'attached' note"
pass "the restarted VM is attached again and its counters go on ($before completions before, no resets)"

kill "$PROM_PID"
exporter_stop
qemu_stop "$DEMO_PID"
pass "the exporter ends with status 0 on SIGTERM"
