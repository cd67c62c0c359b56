# lib.sh - helpers for the exporter tests (tests/exporter/test-*.sh); source
# it after tests/lib/common.sh.
#
#   exporter_start ARGS...    `vqscope exporter --listen 127.0.0.1:0 ARGS` in
#                             the background; sets EXPORTER_PID and
#                             EXPORTER_URL (http://127.0.0.1:PORT, the port
#                             it printed); its stderr is $T/exporter.err
#   http URL-OR-PATH...       tests/exporter/httpc.py (get, query, targets,
#                             free-port); a PATH is on the exporter
#   metrics [ACCEPT]          the exporter's /metrics
#   metrics_have LINE         /metrics has this exact line (for wait_for)
#   exporter_alive            the exporter still runs and answers GET /
#   exporter_stop             SIGTERM; fail unless it ends with status 0
#   prometheus_start [RULES]  Debian's Prometheus on a free port of 127.0.0.1,
#                             scraping the exporter every 500 ms (evaluating
#                             the rule file RULES); sets PROM (its URL) and
#                             PROM_PID

# shellcheck shell=bash
VQSCOPE=$BUILD/vqscope
[ -x "$VQSCOPE" ] || fail "$VQSCOPE is missing (run make)"

http() {
	python3 "$ROOT/tests/exporter/httpc.py" "$@"
}

exporter_start() {
	: >"$T/exporter.err"
	"$VQSCOPE" exporter --listen 127.0.0.1:0 "$@" 2>"$T/exporter.err" &
	EXPORTER_PID=$!
	track_pid "$EXPORTER_PID"
	wait_for 20 grep -q 'serving http://' "$T/exporter.err" ||
		{ cat "$T/exporter.err" >&2; fail "the exporter did not start"; }
	EXPORTER_URL=$(sed -n 's|.*serving \(http://[^/]*\)/metrics$|\1|p' "$T/exporter.err")
	[ -n "$EXPORTER_URL" ] || fail "no address in: $(cat "$T/exporter.err")"
}

metrics() {
	http get "$EXPORTER_URL/metrics" "$@"
}

metrics_have() {
	metrics | grep -qxF -- "$1"
}

exporter_alive() {
	kill -0 "$EXPORTER_PID" 2>/dev/null && http get "$EXPORTER_URL/" | grep -q '/metrics'
}

exporter_stop() {
	local rc=0
	kill -TERM "$EXPORTER_PID"
	wait "$EXPORTER_PID" || rc=$?
	[ "$rc" = 0 ] || { cat "$T/exporter.err" >&2; fail "the exporter ended with status $rc on SIGTERM"; }
}

prom_ready() {
	http get "$PROM/-/ready" >/dev/null 2>&1
}

prometheus_start() {
	local rules=${1-} attempt port
	for attempt in 1 2 3; do
		port=$(http free-port)
		PROM=http://127.0.0.1:$port
		cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 500ms
  scrape_timeout: 500ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: vqscope
    static_configs:
      - targets: ['${EXPORTER_URL#http://}']
EOF
		[ -z "$rules" ] || printf 'rule_files:\n  - %s\n' "$rules" >>"$T/prometheus.yml"
		prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
			--web.listen-address="127.0.0.1:$port" >"$T/prometheus.log" 2>&1 &
		PROM_PID=$!
		track_pid "$PROM_PID"
		wait_for 60 prom_ready && return 0
		# The port was taken meanwhile, or it failed: say why at the end.
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	done
	tail -20 "$T/prometheus.log" >&2
	fail "Prometheus did not start"
}
