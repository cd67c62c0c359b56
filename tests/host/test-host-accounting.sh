#!/usr/bin/env bash
# test-host-accounting.sh - one accounting of events, lost records and
# protocol violations, the same in every place that shows them.  A hostile
# producer (hostile_producer.c) writes the trace region of a QEMU that runs
# no guest: garbage and backward ring heads, records declared lost, records
# of unknown types, timestamps near 2^63 and an hour back, and bursts that
# lap the ring.  `vqscope record` reads it; then its own summary (what the
# live view counted), the recording's CLOSE chunk, report, dump and export
# must give the same three numbers, the bad timestamps must be violations
# whose message carries the value, and the session must last seconds.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

PRODUCER=$BUILD/tests/host/hostile_producer
[ -x "$PRODUCER" ] || fail "$PRODUCER is missing (run make)"

qemu_start vm -S -machine q35 -m 64 -display none \
	-object "memory-backend-file,id=vqtrace,size=1M,mem-path=$T/region,share=on" \
	-device ivshmem-plain,memdev=vqtrace
wait_for 10 test -s "$T/region" || fail "QEMU made no region file"

# The recorder attaches first (waiting for a producer), so it sees the
# producer's whole life.
"$VQSCOPE" record -o "$T/h.vqt" -d 8 "$T/vm.qmp" 2>"$T/record.err" &
rec=$!
track_pid "$rec"
sleep 1
"$PRODUCER" "$T/region" 5 "${SEED:-7}" >"$T/producer.json" || fail "the producer failed"
expect_exit "$rec" 0 "$T/record.err"
cat "$T/producer.json"

# record's summary: "N events in T (lost L, violations V)"
read -r r_events r_lost r_violations < <(sed -nE \
	's/.*: ([0-9]+) events in .* \(lost ([0-9]+), violations ([0-9]+)\).*/\1 \2 \3/p' "$T/record.err")
[ -n "$r_violations" ] || fail "no summary from record"

# The CLOSE chunk, as dump --all prints it.
vq dump --all "$T/h.vqt" >"$T/all.txt" || fail "dump --all"
read -r c_events c_lost c_violations < <(sed -nE \
	's/.* CLOSE .*events=([0-9]+) lost=([0-9]+) violations=([0-9]+).*/\1 \2 \3/p' "$T/all.txt")
[ -n "$c_violations" ] || fail "no CLOSE chunk in the recording"

vq report --json "$T/h.vqt" >"$T/report.json" || fail "report"
p_events=$(json "$T/report.json" '["events"]')
p_lost=$(json "$T/report.json" '["lost"]')
p_violations=$(json "$T/report.json" '["violations"]')
duration=$(json "$T/report.json" '["duration_ns"]')

vq dump "$T/h.vqt" >"$T/dump.txt" || fail "dump"
read -r d_events d_lost d_violations < <(awk '/^[0-9]/ { e++ } /^lost / { l += $2 }
	/^violations / { sub(":", "", $2); v += $2 } END { print e + 0, l + 0, v + 0 }' "$T/dump.txt")

vq export -q -o "$T/h.json" "$T/h.vqt" || fail "export"
x_events=$(json "$T/h.json" '["otherData"]["events"]')
x_lost=$(json "$T/h.json" '["otherData"]["lost"]')
x_violations=$(json "$T/h.json" '["otherData"]["violations"]')

printf '%-8s %8s %6s %10s\n' "" events lost violations \
	record "$r_events" "$r_lost" "$r_violations" \
	CLOSE "$c_events" "$c_lost" "$c_violations" \
	report "$p_events" "$p_lost" "$p_violations" \
	dump "$d_events" "$d_lost" "$d_violations" \
	export "$x_events" "$x_lost" "$x_violations"
for who in c p d x; do
	for what in events lost violations; do
		a=r_$what
		b=${who}_$what
		[ "${!a}" = "${!b}" ] || fail "$what: record says ${!a}, $b says ${!b}"
	done
done
[ "$r_events" -gt 1000 ] || fail "only $r_events events read"
pass "record, CLOSE, report, dump and export all say $r_events events, $r_lost lost, $r_violations violations"

huge=$(json "$T/producer.json" '["huge_ts"]')
back=$(json "$T/producer.json" '["back_ts"]')
[ "$r_violations" -ge $((huge + back)) ] ||
	fail "$r_violations violations for $huge timestamps near 2^63 and $back an hour back"
grep -Eq '^violations [0-9]+: event [0-9]+:[0-9]+: timestamp 9223372036854763463 is .* after the previous one' \
	"$T/dump.txt" || fail "no violation names the timestamp near 2^63"
grep -Eq '^violations [0-9]+: event [0-9]+:[0-9]+: timestamp [0-9]+ is 1\.00 h|3601\.00 s|[0-9.]+ [a-z]+ before the previous one' \
	"$T/dump.txt" || fail "no violation names a timestamp an hour back"
[ "$duration" -lt 60000000000 ] || fail "the session lasts $duration ns: a bad timestamp became session time"
pass "timestamps near 2^63 and an hour back are violations with their values; the session lasts $((duration / 1000000)) ms"
