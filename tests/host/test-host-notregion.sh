#!/usr/bin/env bash
# test-host-notregion.sh - vqscope never writes into a file it has not
# validated as a trace region.  QEMU's ivshmem-plain memory backend is a
# file of random bytes (bad magic), then one with a good magic but another
# major version; attach, top --batch, record and dump each say what is
# wrong, and the file is byte-identical afterwards (the control page used
# to get step_mode and host_pid written at 0x1000 and 0x1014).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

# check_untouched FILE WHAT: run every command against vm.qmp and compare
# FILE's checksum; each must name the problem (WHAT, a regex).
check_untouched() {
	local file=$1 what=$2 before after
	before=$(sha256sum <"$file")
	vq attach --no-device "$T/vm.qmp" >"$T/attach.out" 2>&1 || true
	grep -Eq "$what" "$T/attach.out" || fail "attach did not say: $what ($(cat "$T/attach.out"))"
	vq top --batch --count 2 --interval 200ms --no-device "$T/vm.qmp" >"$T/top.out" 2>&1 ||
		true
	grep -Eq "$what" "$T/top.out" || fail "top did not say: $what"
	vq record -f -d 1 -o "$T/x.vqt" --no-device "$T/vm.qmp" >"$T/record.out" 2>&1 || true
	vq dump -d 1 "$T/vm.qmp" >"$T/dump.out" 2>&1 || true
	vq top --batch --json --count 1 --interval 200ms --no-device "$T/vm.qmp" >"$T/json.out" 2>&1 ||
		true
	grep -Eq "$what" "$T/json.out" || fail "top --json did not say: $what"
	after=$(sha256sum <"$file")
	[ "$before" = "$after" ] || fail "$file changed: vqscope wrote into a file that is no region"
}

head -c 1M /dev/urandom >"$T/random"
qemu_start vm -S -machine q35 -m 64 -display none \
	-object "memory-backend-file,id=vqtrace,size=1M,mem-path=$T/random,share=on" \
	-device ivshmem-plain,memdev=vqtrace
check_untouched "$T/random" "no vqscope trace region here: magic 0x[0-9a-f]{8} at offset 0"
qemu_stop "$QEMU_PID"
pass "random bytes: every command says there is no region, the file is unchanged"

# Magic "VQTR" and version 2.0: a region of a layout this vqscope does not read.
python3 - "$T/v2" <<'PY'
import os, struct, sys
data = bytearray(os.urandom(1 << 20))
data[0:8] = struct.pack("<IHH", 0x52545156, 2, 0)
open(sys.argv[1], "wb").write(data)
PY
qemu_start vm -S -machine q35 -m 64 -display none \
	-object "memory-backend-file,id=vqtrace,size=1M,mem-path=$T/v2,share=on" \
	-device ivshmem-plain,memdev=vqtrace
check_untouched "$T/v2" "trace region version 2\.0 at offset 0x4"
qemu_stop "$QEMU_PID"
pass "another major version: every command says so, the file is unchanged"
