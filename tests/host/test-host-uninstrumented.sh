#!/usr/bin/env bash
# test-host-uninstrumented.sh - a guest with no trace region at all (no
# ivshmem, no instrumented driver): SeaBIOS reading a virtio-blk disk.
# vqscope still shows and records what QEMU itself reports of the queues
# (the device-side view): attach, top --batch, record, report, dump.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

dd if=/dev/zero of="$T/disk.img" bs=1M count=1 status=none
qemu_start plain -M q35 -m 64M -display none \
	-drive "if=none,id=d0,file=$T/disk.img,format=raw" -device virtio-blk-pci,drive=d0
sock=$T/plain.qmp

# SeaBIOS reads the boot sector through the queue early on.
read_sector() {
	vq attach "$sock" >"$T/attach.txt" 2>&1 &&
		grep -Eq '^    - virtio-blk +/machine/.* queue 0, size [0-9]+, last_avail [1-9][0-9]*, used [1-9]' \
			"$T/attach.txt"
}
wait_for 30 read_sector || { cat "$T/attach.txt" >&2; fail "attach: no device-side virtio-blk queue in use"; }
cat "$T/attach.txt"
grep -q '^region     no trace region: no ivshmem-plain device' "$T/attach.txt" ||
	fail "attach: does not say there is no trace region"
pass "attach: device-side view of virtio-blk without a trace region"

vq top --batch --count 2 --interval 300ms "$sock" >"$T/top.txt" || fail "top --batch"
grep -Eq '^ dev virtio-blk q0 +[0-9]+ .*\(device view: /machine/' "$T/top.txt" ||
	{ cat "$T/top.txt" >&2; fail "top: no device row with its queue index and QOM path"; }
pass "top --batch: $(grep -c '^ dev virtio-blk' "$T/top.txt") device rows"

expect_status 0 vq dump --duration 1 "$sock" >"$T/live.txt"
[ ! -s "$T/live.txt" ] || fail "live dump printed events of a guest that has none"

expect_status 0 vq record -q -d 2 -o "$T/plain.vqt" "$sock"
qemu_stop "$QEMU_PID"
vq report "$T/plain.vqt" >"$T/report.txt" || fail "report"
cat "$T/report.txt"
grep -Eq '^ +- virtio-blk +[0-9]+  device view only: /machine/' "$T/report.txt" ||
	fail "report: no device-view-only queue"
vq report --json "$T/plain.vqt" >"$T/report.json" || fail "report --json"
[ "$(json "$T/report.json" '["device_only"][0]["device"]')" = virtio-blk ] ||
	fail "report --json: device_only"
[ "$(json "$T/report.json" '["events"]')" = 0 ] || fail "report --json: events from nowhere"
vq dump --all "$T/plain.vqt" >"$T/dump.txt" || fail "dump --all"
grep -Eq '^[0-9.]+ - DEVICE - - device=virtio-blk path=/machine/.* queue=0 size=[0-9]+ ' "$T/dump.txt" ||
	fail "dump --all: no DEVICE lines"
vq export -q -o "$T/plain.json" "$T/plain.vqt" || fail "export"
check_export "$T/plain.json" >/dev/null || fail "export is not well-formed"
pass "record/report/dump/export: the device-side view of an uninstrumented guest"
