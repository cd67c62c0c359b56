#!/usr/bin/env bash
# run-fuzzers.sh SECONDS NAME... - build every harness with clang's
# libFuzzer, ASan and UBSan, and run each for SECONDS on 1 core, starting
# from (and adding new finds to a scratch copy of) the committed corpus.
# Crashes are left in build/fuzz/artifacts/ and fail the run.
#   FUZZ_MERGE=1 merges new coverage back into tests/fuzz/corpus/NAME.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=$1; shift
out=${O:-build}/fuzz
san="-fsanitize=address,undefined -fno-sanitize-recover=all"

# Libraries instrumented for coverage, built apart from the normal tree.
make --no-print-directory O="$out" CC=clang \
	CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $san" LDFLAGS="$san" \
	SAN=0 fuzz-libs

mkdir -p "$out/artifacts"
status=0
for name in "$@"; do
	bin=$out/fuzz_$name
	echo "== building fuzz_$name"
	make --no-print-directory O="$out" CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $san" LDFLAGS="$san" \
		SAN=0 "$out/tests/fuzz/fuzz_$name.o"
	libs=$(make --no-print-directory -s O="$out" print-test-libs)
	clang -fsanitize=fuzzer $san -o "$bin" "$out/tests/fuzz/fuzz_$name.o" $libs
	corpus=tests/fuzz/corpus/$name
	scratch=$out/corpus-$name
	mkdir -p "$scratch" "$corpus"
	echo "== running fuzz_$name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" "$scratch" "$corpus" \
		2>&1 | tee "$out/fuzz_$name.log" | grep -E '^#[0-9]+ *DONE|stat::number_of_executed_units|ERROR|SUMMARY'; then
		:
	fi
	if grep -qE '^==[0-9]+==ERROR|^SUMMARY: .*Sanitizer|deadly signal|Test unit written' "$out/fuzz_$name.log"; then
		echo "fuzz_$name: FOUND A CRASH, see $out/fuzz_$name.log and $out/artifacts/"
		status=1
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		"$bin" -merge=1 "$corpus" "$scratch" >/dev/null 2>&1 || true
	fi
done
exit $status
