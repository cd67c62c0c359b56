#!/usr/bin/env bash
# test-exporter-qmp-dir.sh - `vqscope exporter --qmp-dir DIR` follows the
# VMs whose QMP sockets come and go in DIR: each *.sock is a VM named
# after the file, a new one joins, one whose QEMU quit (and so removed its
# socket) leaves, and a VM given by hand stays with vqscope_up 0 while it
# is away; two sockets of one QEMU are one VM.  The VMs are QEMUs held at
# their first instruction (-S) with an ivshmem-plain region nobody writes:
# attached, paused, no producer.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

mkdir -m 0700 "$T/vms"
declare -A vm_pid
start_vm() { # NAME [SOCKET [QEMU-ARGS...]]
	local name=$1 sock=${2:-$T/vms/$1.sock}
	shift $(($# < 2 ? $# : 2))
	truncate -s 4M "$T/$name.region"
	# shellcheck disable=SC2046
	qemu-system-x86_64 $(qemu_accel_args) -M q35 -S -nodefaults -no-user-config -display none \
		-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$T/$name.region,share=on" \
		-device ivshmem-plain,memdev=vqtrace -qmp "unix:$sock,server=on,wait=off" "$@" \
		>"$T/$name.log" 2>&1 &
	vm_pid[$name]=$!
	track_pid "${vm_pid[$name]}"
	wait_for 20 test -S "$sock" || { cat "$T/$name.log" >&2; fail "QEMU $name did not start"; }
}
stop_vm() {
	qemu_stop "${vm_pid[$1]}"
}

start_vm a
start_vm b
start_vm manual "$T/manual.qmp"
echo "not a socket" >"$T/vms/notes.sock" # a file with the name, skipped
exporter_start --qmp-dir "$T/vms" --retry 500ms "by-hand=$T/manual.qmp"
for vm in a b by-hand; do
	wait_for 30 metrics_have "vqscope_up{vm=\"$vm\"} 1" ||
		{ cat "$T/exporter.err" >&2; metrics >&2; fail "$vm is not up"; }
done
metrics >"$T/m1.txt"
grep -qxF 'vqscope_region_ready{vm="a"} 0' "$T/m1.txt" || fail "a has a producer?"
grep -qxF 'vqscope_vm_running{vm="a"} 0' "$T/m1.txt" || fail "a (held by -S) is running?"
grep -q 'vm="notes"' "$T/m1.txt" && fail "a file that is not a socket became a VM"
pass "every *.sock in the directory is a VM, named after the file; the one given by hand too"

# One QEMU with two sockets in the directory (as vqscope run and
# scripts/run-demo-guest.sh make them) is one VM: the name that sorts
# first is served, the other socket is left free for vqscope record.
start_vm twin "$T/vms/twin.sock" -qmp "unix:$T/vms/twin2.sock,server=on,wait=off"
wait_for 30 metrics_have 'vqscope_up{vm="twin"} 1' ||
	{ cat "$T/exporter.err" >&2; metrics >&2; fail "twin is not up"; }
twin_set_aside() { grep -q "twin2: the same VM as 'twin' (QEMU pid ${vm_pid[twin]}): not exported" "$T/exporter.err"; }
wait_for 30 twin_set_aside || { cat "$T/exporter.err" >&2; fail "twin2 was not set aside as twin's"; }
metrics | grep -q 'vm="twin2"' && fail "the second socket of twin is served as a VM of its own"
timeout 10 python3 "$ROOT/tests/lib/qmp.py" "$T/vms/twin2.sock" query-status | grep -q '"status": "prelaunch"' ||
	fail "twin2.sock is not free for another client"
metrics_have 'vqscope_up{vm="twin"} 1' || fail "twin went down when its other socket was used"
pass "two sockets of one QEMU are one VM; the second is left free"

stop_vm a
stop_vm manual
a_gone() { ! metrics | grep -q 'vm="a"'; }
wait_for 30 a_gone || { metrics >&2; fail "a is still listed after its QEMU quit"; }
wait_for 30 metrics_have 'vqscope_up{vm="by-hand"} 0' || fail "by-hand is not down"
metrics_have 'vqscope_up{vm="b"} 1' || fail "b went down with a"
pass "a VM of the directory leaves with its socket; one given by hand stays, down"

start_vm c
start_vm manual "$T/manual.qmp"
wait_for 30 metrics_have 'vqscope_up{vm="c"} 1' || fail "c did not join"
wait_for 30 metrics_have 'vqscope_up{vm="by-hand"} 1' || fail "by-hand did not come back"
grep -q 'c: joined' "$T/exporter.err" || fail "no note of c joining: $(cat "$T/exporter.err")"
grep -q 'a: left' "$T/exporter.err" || fail "no note of a leaving"
pass "a new socket joins; the VM given by hand is attached again"
exporter_stop
