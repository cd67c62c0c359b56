#!/usr/bin/env bash
# test-doctor-linux.sh - doctor on a stock Debian Linux guest traced by
# vqscope-trace: silent while virtio-net, virtio-blk and virtio-rng carry
# traffic (receive queues included), and STUCK-DEVICE-BUSY, with its
# evidence, when the device really holds a request: the second disk sits
# on blkdebug, and QEMU's `qemu-io ... "break read_aio"` suspends the
# guest's next read inside QEMU until `resume`.  The finding ends once the
# device lets the request go.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tracer/guest.sh"

traced_guest_prepare

# ---- the guest: the tracer, then traffic on every device, a round a second ------------
linux_guest_init_head vqdoc >"$T/init"
cat >>"$T/init" <<'EOF'
guest_wait 10 "no /dev/vda, /dev/vdb or eth0" test -b /dev/vda -a -b /dev/vdb -a -d /sys/class/net/eth0
guest_net_up
tracer_start --shm auto || poweroff -f
say "workload"
round=0
while :; do
	traffic_round $round
	dd if=/dev/vdb of=/dev/null bs=4096 count=1 skip=$((round % 256)) iflag=direct 2>/dev/null
	say "round $round"
	round=$((round + 1))
	sleep 1
done
EOF
linux_guest_initramfs "$LINUX_GUEST_CACHE" "$T/initrd" "$T/init" "$BUILD/vqscope-trace" ||
	fail "could not build the initramfs"
dd if=/dev/urandom of="$T/disk.img" bs=1M count=16 status=none
dd if=/dev/urandom of="$T/held.img" bs=1M count=1 status=none
: >"$T/trace.region"
# shellcheck disable=SC2054 # the commas are QEMU's
qemu_start lx -M q35,memory-backend=ram -m 512M -display none -no-reboot \
	-object "memory-backend-file,id=ram,size=512M,mem-path=$T/guest.ram,share=on" \
	-serial "file:$T/serial.log" \
	-kernel "$LINUX_GUEST_CACHE/vmlinuz" -initrd "$T/initrd" \
	-append "$LINUX_GUEST_APPEND" \
	-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$T/trace.region,share=on" \
	-device ivshmem-plain,memdev=vqtrace \
	-drive "file=$T/disk.img,if=virtio,format=raw" \
	-drive "id=held,if=none,driver=raw,file.driver=blkdebug,file.image.filename=$T/held.img" \
	-device virtio-blk-pci,drive=held \
	-device virtio-rng-pci \
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0
qmp_sock=$T/lx.qmp
rounds() { grep -c "^vqdoc: round" "$T/serial.log" 2>/dev/null || true; }
rounds_above() { [ "$(rounds)" -gt "$1" ]; }
wait_for 400 rounds_above 1 || {
	tail -n 30 "$T/serial.log" >&2
	fail "the guest did not start its workload within 400 s"
}

# ---- silent on a correct driver ------------------------------------------------------
status=0
"$BUILD/vqscope" doctor --duration 15 "$qmp_sock" >"$T/clean.out" 2>"$T/clean.err" || status=$?
if [ "$status" != 0 ]; then
	cat "$T/clean.err" "$T/clean.out" >&2
	fail "doctor on the Linux guest exited with $status (an error finding?)"
fi
cat "$T/clean.out"
# "(N events, lost L): no findings", or only info.
events=$(sed -nE '1s/.*\(([0-9]+) events, lost [0-9]+\): .*/\1/p' "$T/clean.out")
[ "${events:-0}" -gt 100 ] || fail "doctor saw ${events:-no} events from the tracer"
head -n 1 "$T/clean.out" | grep -Eq ': (no findings|[0-9]+ findings?: 0 errors, 0 warnings, )' ||
	fail "doctor found something on a correct Linux guest"
pass "doctor: no finding on the Linux guest with net, blk and rng traffic"

# ---- the device holds a request: STUCK-DEVICE-BUSY ----------------------------------------
qmp "$qmp_sock" human-monitor-command '{"command-line": "qemu-io held \"break read_aio hold\""}' \
	>"$T/break.out" || fail "qemu-io break: $(cat "$T/break.out")"
# The guest's next read of /dev/vdb stays inside QEMU: its rounds stop.
held=0
for _ in $(seq 15); do
	before=$(rounds)
	sleep 4
	[ "$(rounds)" = "$before" ] && { held=1; break; }
done
[ "$held" = 1 ] || fail "the guest's rounds go on after break read_aio"
status=0
"$BUILD/vqscope" doctor --json --duration 15 --stuck-after 2s "$qmp_sock" >"$T/held.json" \
	2>"$T/held.err" || status=$?
qmp "$qmp_sock" human-monitor-command '{"command-line": "qemu-io held \"resume hold\""}' \
	>"$T/resume.out" || fail "qemu-io resume: $(cat "$T/resume.out")"
[ "$status" = 1 ] || { cat "$T/held.err" "$T/held.json" >&2; fail "doctor exited with $status, expected 1"; }
python3 - "$T/held.json" <<'EOF' || { cat "$T/held.json" >&2; fail "no STUCK-DEVICE-BUSY with its evidence"; }
import json, sys
found = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
bad = [(f["code"], f["queue_name"]) for f in found if f["severity"] != "info"]
print("findings:", bad)
busy = [f for f in found if f["code"] == "STUCK-DEVICE-BUSY"]
if len(bad) != 1 or not busy or not busy[0]["queue_name"].endswith(".req.0"):
    sys.exit(1)
ev = {e["what"]: (e["value"], e["from"]) for e in busy[0]["evidence"]}
print(ev)
inuse = ev.get("buffers in the device (inuse)")
sys.exit(0 if inuse and inuse[0] == "1" and "QMP" in inuse[1] else 1)
EOF
after=$(rounds)
wait_for 60 rounds_above $((after + 1)) || fail "the guest did not go on after resume"
pass "doctor: STUCK-DEVICE-BUSY on the held disk's queue, with the device's in-use count; the guest goes on after resume"
