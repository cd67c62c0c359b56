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
