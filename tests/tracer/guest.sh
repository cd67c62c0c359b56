# guest.sh - boot the Debian cloud kernel under QEMU with vqscope-trace in
# its initramfs, for tests/tracer/test-*.sh.  Source after common.sh.
#
#   traced_guest_run NAME APPEND RUN...
#
# Boots a guest with two QMP sockets ($T/NAME.qmp and NAME.qmp2, so that
# vqscope top and record can run side by side), two ivshmem-plain devices
# (regions $T/NAME.region0 at PCI 0000:00:08.0, the one --shm auto finds,
# and $T/NAME.region1 at 0000:00:09.0, 4 MiB each), a virtio-blk disk and a packed-ring
# virtio-rng device, and a second disk the guest copies files onto for
# the host ("sh:export_file FILE" in a RUN; the host gets $T/NAME.exported).
# In the guest, each RUN is one tracer invocation
# (vqscope-trace arguments), or a shell command when it starts with "sh:";
# during each tracer run, the guest reads GUEST_BLK_READS
# 4 KiB blocks from /dev/vda with O_DIRECT and GUEST_RNG_BYTES from
# /dev/hwrng, then stops the tracer with SIGINT.  APPEND is added to the
# kernel command line.  The tracer's stderr of each run is in
# $T/NAME.trace<i>.log; the serial console in $T/NAME.serial.  The init's
# steps are guest-lib.sh's.

. "$ROOT/tests/tracer/linux-guest.sh"

GUEST_BLK_READS=${GUEST_BLK_READS:-256}
GUEST_RNG_BYTES=${GUEST_RNG_BYTES:-512}
GUEST_BPF_BUSY=${GUEST_BPF_BUSY:-0}
GUEST_BLK_SIZE=256 # QEMU 7.2 virtio-blk queue-size default
GUEST_RNG_SIZE=8   # QEMU virtio-rng queue size
LINUX_GUEST_CACHE=$BUILD/linux-guest

traced_guest_prepare() {
	local rc=0
	[ -x "$BUILD/vqscope-trace" ] || fail "$BUILD/vqscope-trace is not built"
	[ -x "$BUILD/tests/tracer/check_region" ] || fail "check_region is not built"
	[ -x "$BUILD/tests/tracer/bpf_busy" ] || fail "bpf_busy is not built"
	linux_guest_fetch "$LINUX_GUEST_CACHE" || rc=$?
	[ "$rc" -eq 77 ] && skip "Debian's kernel package is out of reach (see above)"
	[ "$rc" -eq 0 ] || fail "could not prepare the Debian kernel in $LINUX_GUEST_CACHE"
	return 0
}

_traced_guest_init() {
	local out=$1
	shift
	linux_guest_init_head vqtest >"$out"
	cat >>"$out" <<'EOF'
guest_wait 10 "no /dev/vda or /dev/hwrng" test -b /dev/vda -a -c /dev/hwrng
export_file() {
	say "export-size $(wc -c <"$1")"
	dd if="$1" of=/dev/vdb bs=4096 2>/dev/null
	sync
}
run=0
# Every step says where it is on the console, and every wait is bounded
# (guest-lib.sh), so a guest that gets stuck tells the host where.
trace() {
	say "run $run: starting vqscope-trace $*"
	if tracer_start "$@"; then
		say "run $run: reading"
		busy=
		if [ "@BPF_BUSY@" != 0 ]; then bpf_busy @BPF_BUSY@ & busy=$!; fi
		dd if=/dev/vda of=/dev/null bs=4096 count=@BLK_READS@ iflag=direct 2>/dev/null
		dd if=/dev/hwrng of=/dev/null bs=@RNG_BYTES@ count=1 iflag=fullblock 2>/dev/null
		[ -n "$busy" ] && wait $busy
		say "run $run: stopping"
		tracer_stop
	fi
	sed "s/^/vqtest-trace$run: /" /tmp/trace.err
	run=$((run + 1))
}
EOF
	local arg
	for arg in "$@"; do
		case "$arg" in
		sh:*) printf 'echo "vqtest: sh: %s"\n%s\n' "${arg#sh:}" "${arg#sh:}" >>"$out" ;;
		*) echo "trace $arg" >>"$out" ;;
		esac
	done
	echo 'echo "vqtest: done"; poweroff -f' >>"$out"
	sed -i -e "s/@BLK_READS@/$GUEST_BLK_READS/" -e "s/@RNG_BYTES@/$GUEST_RNG_BYTES/" \
		-e "s/@BPF_BUSY@/$GUEST_BPF_BUSY/g" "$out"
}

traced_guest_run() {
	local name=$1 append=$2 i runs=0 arg size
	shift 2
	for arg in "$@"; do
		[[ "$arg" == sh:* ]] || runs=$((runs + 1))
	done
	_traced_guest_init "$T/$name.init" "$@"
	linux_guest_initramfs "$LINUX_GUEST_CACHE" "$T/$name.initrd" "$T/$name.init" \
		"$BUILD/vqscope-trace" "$BUILD/tests/tracer/bpf_busy" ||
		fail "could not build the initramfs"
	dd if=/dev/urandom of="$T/$name.disk" bs=1M count=2 status=none
	truncate -s 4M "$T/$name.export"
	: >"$T/$name.region0"
	: >"$T/$name.region1"
	qemu_start "$name" -M q35 -m 512 -display none -no-reboot \
		-serial "file:$T/$name.serial" \
		-kernel "$LINUX_GUEST_CACHE/vmlinuz" -initrd "$T/$name.initrd" \
		-append "$LINUX_GUEST_APPEND $append" \
		-object "memory-backend-file,id=trace0,size=4M,mem-path=$T/$name.region0,share=on" \
		-device ivshmem-plain,memdev=trace0,addr=0x8 \
		-object "memory-backend-file,id=trace1,size=4M,mem-path=$T/$name.region1,share=on" \
		-device ivshmem-plain,memdev=trace1,addr=0x9 \
		-drive "file=$T/$name.disk,if=virtio,format=raw" \
		-drive "file=$T/$name.export,if=virtio,format=raw" \
		-device virtio-rng-pci,packed=on \
		-qmp "unix:$T/$name.qmp2,server=on,wait=off"
	qemu_wait "$QEMU_PID" 300 || {
		tail -n 40 "$T/$name.serial" >&2
		fail "the guest did not power off within 300 s (its console's last lines are above)"
	}
	grep -q "vqtest: done" "$T/$name.serial" || {
		cat "$T/$name.serial" >&2
		fail "the guest did not finish its script (QEMU exit $QEMU_STATUS)"
	}
	for ((i = 0; i < runs; i++)); do
		sed -n "s/^vqtest-trace$i: //p" "$T/$name.serial" | tr -d '\r' >"$T/$name.trace$i.log"
	done
	size=$(sed -n 's/^vqtest: export-size \([0-9]*\).*/\1/p' "$T/$name.serial" | tail -n 1)
	if [ -n "$size" ]; then
		head -c "$size" "$T/$name.export" >"$T/$name.exported"
	fi
	grep "^vqtest" "$T/$name.serial" | tr -d '\r'
}

# traced_guest_lost LOG: the records a tracer run said it lost in all.
traced_guest_lost() {
	local n
	n=$(sed -n 's/^vqscope-trace: [0-9]* events on [0-9]* queues; lost \([0-9]*\):.*/\1/p' "$1")
	[ -n "$n" ] || fail "no summary line in $1"
	echo "$n"
}

# traced_guest_missed LOG QUEUE: "REAPS:ADDS" a tracer run found missed in
# the rings of the queue virtioN.QUEUE (0:0 when it names none).
traced_guest_missed() {
	sed -n "s/^vqscope-trace: virtio[0-9]*\.$2: \([0-9]*\) reaps and \([0-9]*\) adds missed\$/\1:\2/p" "$1" |
		grep . || echo 0:0
}
