#!/usr/bin/env bash
# test-tracer-linux-demo.sh - what `make linux-demo` runs
# (scripts/linux-demo.sh), in its --batch form: the Debian guest boots with
# the tracer and its workload inside, the overview shows virtio-net's rx
# and tx and the disk's request queue with adds growing, and a recording
# made at the same time through the second QMP socket it names holds the
# same traffic.  Afterwards QEMU is gone and its runtime directory removed.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/guest.sh"

traced_guest_prepare
mkdir -p "$T/run"
XDG_RUNTIME_DIR=$T/run O=$BUILD bash "$ROOT/scripts/linux-demo.sh" --batch 8 \
	>"$T/demo.out" 2>"$T/demo.err" &
demo=$!
track_pid "$demo"
wait_for 300 grep -q "record at the same time with:" "$T/demo.out" || {
	cat "$T/demo.out" "$T/demo.err" >&2
	fail "linux-demo.sh did not get its guest tracing within 300 s"
}
qmp2=$(sed -n 's/.*record at the same time with: .* \([^ ]*qmp2\.sock\)$/\1/p' "$T/demo.out")
[ -S "$qmp2" ] || fail "linux-demo.sh named no second QMP socket (\"$qmp2\")"
runtime=$(dirname "$qmp2")
"$BUILD/vqscope" record -d 3 -o "$T/demo.vqt" "$qmp2" >"$T/record.out" 2>&1 ||
	{ cat "$T/record.out" >&2; fail "vqscope record on the second QMP socket failed while top ran"; }
wait "$demo" || { cat "$T/demo.err" >&2; fail "linux-demo.sh --batch exited with $?"; }
cat "$T/demo.out"

samples=$(grep -c '^{' "$T/demo.out" || true)
[ "$samples" -eq 8 ] || fail "$samples overview updates, not 8"
count() { # SAMPLE-NUMBER NAME-SUFFIX KEY: a queue's KEY in that update
	grep '^{' "$T/demo.out" | sed -n "${1}p" |
		python3 -c 'import json, sys
for q in json.load(sys.stdin)["queues"]:
    if q["name"].endswith(sys.argv[1]): print(q[sys.argv[2]])' "$2" "$3"
}
# rx: buffers filled (the driver posts new ones only in batches).
for q in .input.0:completions .output.0:adds .req.0:adds; do
	first=$(count 1 "${q%:*}" "${q#*:}")
	last=$(count 8 "${q%:*}" "${q#*:}")
	[ -n "$last" ] || fail "no queue virtioN${q%:*} in the overview"
	[ "$last" -gt "${first:-0}" ] || fail "virtioN${q%:*}: ${q#*:} did not grow ($first, then $last)"
	echo "virtioN${q%:*}: ${q#*:} $first -> $last"
done
"$BUILD/vqscope" dump "$T/demo.vqt" >"$T/demo.dump" || fail "the recording does not read back"
grep -q ' ADD ' "$T/demo.dump" && grep -q 'output\.0' "$T/demo.dump" ||
	fail "the recording made beside the live view holds no virtio-net adds"
[ ! -e "$runtime" ] || fail "linux-demo.sh left $runtime behind"
pgrep -f -- "mem-path=$runtime/guest.ram" >/dev/null && fail "QEMU of $runtime still runs"
pass "make linux-demo: a traced Debian guest in the overview, recorded beside it"
