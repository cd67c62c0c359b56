#!/usr/bin/env bash
# run.sh - run test programs (cmocka binaries or bash scripts), one after
# another, and end with the line "N passed, N failed" that CI reads.
#
#   tests/run.sh TEST...
#
# Each test's output goes to the terminal and to $TEST_LOG_DIR/<name>.log.
# A test is a file that exits 0 on success; 77 means "skipped" (counted
# as neither, reported with its reason).  TEST_TIMEOUT (seconds, default
# 900) bounds each one.  TEST_FILTER=regex runs only matching names.
set -uo pipefail

log_dir=${TEST_LOG_DIR:-build/test-logs}
timeout_s=${TEST_TIMEOUT:-900}
filter=${TEST_FILTER:-}
mkdir -p "$log_dir"

passed=0
failed=0
skipped=0
failed_names=()

for t in "$@"; do
	name=$(basename "$t")
	if [ -n "$filter" ] && ! [[ "$name" =~ $filter ]]; then
		continue
	fi
	printf '=== %s\n' "$name"
	start=$(date +%s)
	if [[ "$t" == *.sh ]]; then
		cmd=(bash "$t")
	else
		cmd=("$t")
	fi
	# --foreground keeps the test in the terminal's process group (tmux
	# tests need it); -k makes sure a stuck test really ends.
	timeout --foreground -k 10 "$timeout_s" "${cmd[@]}" 2>&1 | tee "$log_dir/$name.log"
	rc=${PIPESTATUS[0]}
	secs=$(( $(date +%s) - start ))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf '=== PASS %s (%ss)\n' "$name" "$secs"
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		printf '=== SKIP %s (%ss)\n' "$name" "$secs"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		if [ "$rc" -eq 124 ]; then
			printf '=== FAIL %s (timed out after %ss)\n' "$name" "$timeout_s"
		else
			printf '=== FAIL %s (exit %s, %ss)\n' "$name" "$rc" "$secs"
		fi
	fi
done

if [ "$failed" -gt 0 ]; then
	printf 'failed: %s\n' "${failed_names[*]}"
fi
if [ "$skipped" -gt 0 ]; then
	printf '%d skipped\n' "$skipped"
fi
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
