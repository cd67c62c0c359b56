#!/usr/bin/env bash
# test-exporter-findings.sh - the diagnosis through the exporter: the demo
# guest skips a notification the device asked for (bug=lost-kick, event
# idx) and its control queue stalls.  The exporter reports the findings by
# code (MISSED-NOTIFY from the trace; STUCK-NOT-NOTIFIED active, from the
# device view and the rings in guest RAM), and a real Prometheus loaded
# with the alert rules of docs/usage.md raises VirtqueueStuck for that
# queue.  With --no-device --no-ram only what the trace shows is left.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/../host/lib.sh"
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null || skip "prometheus is not installed (scripts/deps.sh)"
command -v promtool >/dev/null || skip "promtool is not installed (scripts/deps.sh)"

# The rules exactly as the documentation gives them.
sed -n '/^groups:/,/^```/p' "$ROOT/docs/usage.md" | sed '$d' >"$T/rules.yml"
promtool check rules "$T/rules.yml" >"$T/promtool.out" 2>&1 ||
	{ cat "$T/promtool.out" >&2; fail "the rules in docs/usage.md do not load"; }

host_demo_start guest "bug=lost-kick event_idx=on flush=line on-error=halt timeout=3"
CONTROL='queue="gpu0.control",slot="0"'
exporter_start --retry 500ms "demo=$SOCK"
finding() { # CODE SEVERITY: the labels of a finding on the control queue
	echo "{vm=\"demo\",code=\"$1\",severity=\"$2\",$CONTROL}"
}
stuck=$(finding STUCK-NOT-NOTIFIED error)
wait_for 60 metrics_have "vqscope_finding_active$stuck 1" ||
	{ demo_serial guest; metrics | grep -i find >&2; fail "no active STUCK-NOT-NOTIFIED"; }
metrics >"$T/metrics.txt"
grep -q "^vqscope_findings_total$(finding MISSED-NOTIFY error) [1-9]" "$T/metrics.txt" ||
	fail "no MISSED-NOTIFY: $(grep finding "$T/metrics.txt")"
grep -qxF "vqscope_queue_in_flight{vm=\"demo\",$CONTROL,kind=\"request\"} 1" "$T/metrics.txt" ||
	fail "the stuck command is not in flight"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 && [ ! -s "$T/promtool.out" ] ||
	{ cat "$T/promtool.out" >&2; fail "promtool check metrics with findings"; }
pass "the exporter reports MISSED-NOTIFY and an active STUCK-NOT-NOTIFIED on gpu0.control"

prometheus_start "$T/rules.yml"
alert() { # the VirtqueueStuck alert of the control queue, pending or firing
	[ "$(http query "$PROM" "count(ALERTS{alertname=\"VirtqueueStuck\",vm=\"demo\",queue=\"gpu0.control\",code=\"STUCK-NOT-NOTIFIED\"})")" = 1 ]
}
wait_for 60 alert || { tail -20 "$T/prometheus.log" >&2; fail "Prometheus raised no VirtqueueStuck"; }
[ "$(http query "$PROM" 'count(ALERTS{alertname="VqscopeDown"})')" = none ] ||
	fail "VqscopeDown for a VM that is up"
kill "$PROM_PID"
pass "Prometheus with the documented rules raises VirtqueueStuck for gpu0.control"

exporter_stop
exporter_start --no-device --no-ram "demo=$SOCK"
wait_for 30 metrics_have 'vqscope_region_ready{vm="demo"} 1' || fail "the second exporter did not attach"
missed() { metrics | grep -q "^vqscope_findings_total$(finding MISSED-NOTIFY error) [1-9]"; }
wait_for 30 missed || fail "no MISSED-NOTIFY from the trace alone"
sleep 3 # longer than the stuck check waits
metrics | grep -q 'code="STUCK-' && fail "a stuck finding without the device view or guest RAM"
exporter_stop
qemu_stop "$DEMO_PID"
pass "with --no-device --no-ram the findings come from the trace alone"
