#!/usr/bin/env bash
# test-host-misuse.sh - what a careless user does:
#  - record -f -o LINK replaces the symbolic link, not the file it points
#    to; without -f an existing name (even a link) is refused;
#  - export -o an existing file is refused without --force, and --force
#    replaces a link rather than writing through it;
#  - a second vqscope on a QMP socket another one holds gets a one-line
#    error saying so that names the VM's other QMP socket (the demo
#    script gives QEMU two), which then serves it; the first keeps going;
#    with no other socket, the error says to give QEMU one;
#  - `attach --wait` on a VM whose producer never starts: status 1, saying
#    so; QEMU exits while it waits: exit 3 at once.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../guest/lib.sh"
. "$(dirname "$0")/lib.sh"

host_demo_start guest "log=off"

# ---- record -f through a symbolic link ------------------------------------------------
echo precious >"$T/target"
ln -s "$T/target" "$T/link.vqt"
expect_status 1 vq record -d 500ms -o "$T/link.vqt" "$SOCK" 2>"$T/nof.err"
grep -q "link.vqt: File exists (--force replaces it)" "$T/nof.err" || fail "no clear refusal: $(cat "$T/nof.err")"
[ -L "$T/link.vqt" ] || fail "the link is gone without -f"
expect_status 0 vq record -q -f -d 500ms -o "$T/link.vqt" "$SOCK"
[ "$(cat "$T/target")" = precious ] || fail "record -f wrote through the link into its target"
[ -f "$T/link.vqt" ] && [ ! -L "$T/link.vqt" ] || fail "record -f did not replace the link"
vq report "$T/link.vqt" >/dev/null || fail "the recording that replaced the link is not readable"
pass "record: -f replaces a link (its target untouched); without -f it refuses"

# ---- export -o an existing file --------------------------------------------------------
echo old >"$T/out.json"
expect_status 1 vq export -q -o "$T/out.json" "$T/link.vqt" 2>"$T/exp.err"
grep -q "out.json: File exists (--force replaces it)" "$T/exp.err" || fail "export: $(cat "$T/exp.err")"
[ "$(cat "$T/out.json")" = old ] || fail "export overwrote a file without --force"
ln -s "$T/target" "$T/out-link.json"
expect_status 0 vq export -q --force -o "$T/out-link.json" "$T/link.vqt"
[ "$(cat "$T/target")" = precious ] || fail "export --force wrote through the link"
check_export "$T/out-link.json" >/dev/null || fail "the export is not well-formed"
pass "export: an existing file is refused without --force; --force replaces a link"

# ---- two vqscope on one QMP socket ---------------------------------------------------------
"$VQSCOPE" top --batch --interval 200ms "$SOCK" >"$T/first.out" 2>"$T/first.err" &
first=$!
track_pid "$first"
wait_for 30 grep -q '^   0 gpu0\.control' "$T/first.out" || fail "the first vqscope printed nothing"
expect_status 1 vq top --batch --count 1 "$SOCK" 2>"$T/second.err"
grep -q "the socket is busy (QEMU serves one QMP client at a time" "$T/second.err" ||
	fail "the second vqscope: $(cat "$T/second.err")"
[ "$(wc -l <"$T/second.err")" = 1 ] || fail "more than one line of error: $(cat "$T/second.err")"
grep -q "; this VM has another QMP socket: $DEMO_DIR/qmp2.sock)\$" "$T/second.err" ||
	fail "the busy socket's error does not name $DEMO_DIR/qmp2.sock: $(cat "$T/second.err")"
expect_status 0 vq top --batch --count 1 --interval 200ms "$DEMO_DIR/qmp2.sock" >"$T/other.out" \
	2>"$T/other.err"
grep -q '^   0 gpu0\.control' "$T/other.out" || fail "the other QMP socket: $(cat "$T/other.err")"
lines=$(wc -l <"$T/first.out")
more_lines() { [ "$(wc -l <"$T/first.out")" -gt "$lines" ]; }
wait_for 10 more_lines || fail "the first vqscope stopped"
kill -0 "$first" || fail "the first vqscope died"
kill -INT "$first"
expect_exit "$first" 0 "$T/first.err"
qemu_stop "$DEMO_PID"
pass "a second vqscope on a busy QMP socket gets one clear line naming the other socket, which serves it; the first goes on"

# ---- QEMU exits during attach ---------------------------------------------------------------
qemu_start idle -S -machine q35 -m 64 -display none \
	-object "memory-backend-file,id=vqtrace,size=1M,mem-path=$T/idle.region,share=on" \
	-device ivshmem-plain,memdev=vqtrace
expect_status 1 vq attach --wait 1s "$T/idle.qmp" >"$T/nowait.out" 2>"$T/nowait.err"
grep -q '^region ' "$T/nowait.out" || fail "attach --wait 1s printed no region line: $(cat "$T/nowait.out")"
[ "$(wc -l <"$T/nowait.err")" = 1 ] &&
	grep -q "^vqscope attach: $T/idle.qmp: no producer in the trace region after 1\.00 s (trace region is not initialised" \
		"$T/nowait.err" || fail "attach --wait with no producer: $(cat "$T/nowait.err")"
pass "attach --wait 1s and no producer came: status 1, saying so in one line"
"$VQSCOPE" attach --wait 60s "$T/idle.qmp" >"$T/attach.out" 2>"$T/attach.err" &
att=$!
track_pid "$att"
sleep 2
kill -0 "$att" || fail "attach did not wait for a producer"
# attach holds the VM's only QMP socket.
expect_status 1 vq top --batch --count 1 "$T/idle.qmp" 2>"$T/only.err"
grep -q "another one holds it; give QEMU a second -qmp socket)\$" "$T/only.err" ||
	fail "the only QMP socket, busy: $(cat "$T/only.err")"
start=$(date +%s)
kill "$QEMU_PID"
expect_exit "$att" 3 "$T/attach.err"
took=$(($(date +%s) - start))
[ "$took" -lt 20 ] || fail "attach took $took s to notice QEMU was gone"
grep -q "vqscope attach: QEMU" "$T/attach.err" || fail "attach did not say QEMU went away"
pass "QEMU exiting during attach --wait ends it with status 3 in $took s"
