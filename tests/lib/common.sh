# common.sh - helpers for bash system tests; source it first:
#
#   . "$(dirname "$0")/../lib/common.sh"     (adjust the path)
#
# Gives: $T (private 0700 temp dir, removed on exit unless KEEP_TMP=1),
# $ROOT (source tree), $BUILD (build dir), fail/pass/skip, qemu_start /
# qemu_stop that track QEMU by PID, wait_for, at_exit (clean-up commands),
# and qmp (one-shot QMP commands through tests/lib/qmp.py).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${O:-$ROOT/build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TEST_NAME=$(basename "$0" .sh)
VQ_ACCEL=${VQ_ACCEL:-tcg}

T=$(mktemp -d "${TMPDIR:-/tmp}/vqtest.$TEST_NAME.XXXXXX")
chmod 0700 "$T"
_pids=()
_exit_cmds=()

_cleanup() {
	local rc=$?
	local p c
	for p in "${_pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill "$p" 2>/dev/null || true
			for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$p" 2>/dev/null || true
		fi
	done
	for c in "${_exit_cmds[@]}"; do
		eval "$c" || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "${KEEP_TMP_ON_FAIL:-0}" = 1 ]; }; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
skip() { echo "SKIP: $TEST_NAME: $*" >&2; exit 77; }

# Remember a background PID so it is stopped when the test ends.
track_pid() { _pids+=("$1"); }

# at_exit COMMAND: run COMMAND (a shell line) when the test ends, after
# the tracked processes are stopped.
at_exit() { _exit_cmds+=("$1"); }

# wait_for SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds.
wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s) + limit ))
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# qemu_accel_args: -accel for the requested accelerator (TCG by default).
qemu_accel_args() {
	case "$VQ_ACCEL" in
	kvm) echo "-accel kvm -cpu host" ;;
	*) echo "-accel tcg" ;;
	esac
}

# qemu_start NAME ARGS...: start qemu-system-x86_64 in the background with
# a QMP socket at $T/NAME.qmp and the given arguments; sets QEMU_PID.
qemu_start() {
	local name=$1; shift
	# shellcheck disable=SC2046
	qemu-system-x86_64 $(qemu_accel_args) -nodefaults -no-user-config \
		-qmp "unix:$T/$name.qmp,server=on,wait=off" "$@" \
		>"$T/$name.stdout" 2>"$T/$name.stderr" &
	QEMU_PID=$!
	track_pid "$QEMU_PID"
	if ! wait_for 20 test -S "$T/$name.qmp"; then
		cat "$T/$name.stderr" >&2
		fail "QEMU ($name) did not create its QMP socket"
	fi
}

# qemu_wait PID SECONDS: wait for QEMU to exit and set QEMU_STATUS to its
# exit status; returns 1 (QEMU_STATUS=timeout) if it is still running
# after SECONDS.  Call it directly, not as $(qemu_wait ...): a command
# substitution runs in a subshell, which cannot wait for the test's child.
qemu_wait() {
	local pid=$1 limit=$2
	local end=$(( $(date +%s) + limit ))
	QEMU_STATUS=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then
			QEMU_STATUS=timeout
			return 1
		fi
		sleep 0.1
	done
	wait "$pid" || QEMU_STATUS=$?
}

qemu_stop() {
	local pid=$1
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# qmp SOCKET COMMAND [JSON-ARGS]: run one QMP command, print the "return"
# value as JSON (exit 1 with the error on stderr if QEMU returned one).
qmp() {
	python3 "$ROOT/tests/lib/qmp.py" "$@"
}
