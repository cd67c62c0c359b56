# net.sh - a traced Linux guest with virtio-net, virtio-blk and
# virtio-rng, watched live from the host, for tests/tracer/test-tracer-net*.sh.
# Source after common.sh.
#
#   net_guest_test NAME [VQSCOPE-TRACE-ARGS...]
#
# Boots Debian's cloud kernel (guest.sh, linux-guest.sh) the way
# docs/tracer.md tells a user to: shared file-backed guest RAM, one
# ivshmem-plain trace region, user networking with a static address, two
# QMP sockets.  The guest's init starts vqscope-trace --shm auto with the
# given arguments and then goes through the phases of net_session.py,
# waiting at each for the host over its serial console (a socket here):
#
#   ready        the tracer runs; the host starts vqscope top on it
#   live         NET_LIVE_READS reads of 4 KiB from the disk, 200 ms apart
#   ping         NET_PINGS pings of the gateway, /proc/interrupts around them
#   stopped      the tracer stopped (SIGINT), its summary on the console; then
#                disk reads and pings the trace no longer sees, while the
#                host watches: "producer stopped", no stuck or unreaped alarm
#   done         all over
#
# The host checks while the guest runs (net_session.py), with vqscope top
# on the first QMP socket and vqscope record on the second; files are
# $T/NAME.console.log (the console, with host times), $T/NAME.top.log,
# $T/NAME.vqt (the recording) and $T/NAME.through.vqt (one made on a third
# QMP socket from the start through the untraced work).

. "$ROOT/tests/tracer/guest.sh"

NET_LIVE_READS=${NET_LIVE_READS:-15}
NET_PINGS=${NET_PINGS:-100}

_net_guest_init() {
	local out=$1
	shift
	linux_guest_init_head vqtest >"$out"
	cat >>"$out" <<'EOF'
exec </dev/console >/dev/console 2>&1
stty -echo 2>/dev/null
# Each phase waits for the host's answer (a line on the console).
sync_host() {
	say "sync $1"
	read -r answer
}
finish() {
	sync_host done
	poweroff -f
}
guest_wait 10 "no /dev/vda or eth0" test -b /dev/vda -a -d /sys/class/net/eth0
guest_net_up
tracer_start --shm auto @TRACER_ARGS@
sed "s/^/vqtest-trace: /" /tmp/trace.err
sync_host ready

say "live begin"
i=1
while [ $i -le @READS@ ]; do
	dd if=/dev/vda of=/dev/null bs=4096 count=1 skip=$i iflag=direct 2>/dev/null
	say "live read $i"
	sleep 0.2
	i=$((i + 1))
done
sync_host live-end

# Quiet before and after, so the counts on both sides cover the same.
sleep 0.5
grep virtio /proc/interrupts | sed "s/^/vqtest: irq-before: /"
sync_host ping-before
ping -c @PINGS@ -i 0.05 10.0.2.2 >/tmp/ping.out 2>&1
say "ping: $(grep "packets transmitted" /tmp/ping.out)"
sleep 0.5
sync_host ping-after
grep virtio /proc/interrupts | sed "s/^/vqtest: irq-after: /"

tracer_stop
sed "s/^/vqtest-trace: /" /tmp/trace.err
# The devices move on, untraced, while the host watches.
sync_host stopped
i=1
while [ $i -le 12 ]; do
	dd if=/dev/vda of=/dev/null bs=4096 count=1 skip=$((i + 100)) iflag=direct 2>/dev/null
	ping -c 1 -W 1 10.0.2.2 >/dev/null 2>&1
	sleep 0.25
	i=$((i + 1))
done
say "untraced work done"
finish
EOF
	sed -i -e "s/@READS@/$NET_LIVE_READS/" -e "s/@PINGS@/$NET_PINGS/" \
		-e "s|@TRACER_ARGS@|$*|" "$out"
}

net_guest_test() {
	local name=$1 rc=0
	shift
	traced_guest_prepare
	_net_guest_init "$T/$name.init" "$@"
	linux_guest_initramfs "$LINUX_GUEST_CACHE" "$T/$name.initrd" "$T/$name.init" \
		"$BUILD/vqscope-trace" || fail "could not build the initramfs"
	dd if=/dev/urandom of="$T/$name.disk" bs=1M count=2 status=none
	: >"$T/$name.region"
	qemu_start "$name" -machine q35,memory-backend=ram -m 512M \
		-object "memory-backend-file,id=ram,size=512M,mem-path=$T/$name.ram,share=on" \
		-display none -no-reboot \
		-chardev "socket,id=console,path=$T/$name.console,server=on,wait=off" \
		-serial chardev:console \
		-kernel "$LINUX_GUEST_CACHE/vmlinuz" -initrd "$T/$name.initrd" \
		-append "$LINUX_GUEST_APPEND" \
		-object "memory-backend-file,id=vqtrace,size=4M,mem-path=$T/$name.region,share=on" \
		-device ivshmem-plain,memdev=vqtrace \
		-drive "file=$T/$name.disk,if=virtio,format=raw" \
		-device virtio-rng-pci \
		-netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
		-qmp "unix:$T/$name.qmp2,server=on,wait=off" \
		-qmp "unix:$T/$name.qmp3,server=on,wait=off"
	python3 "$ROOT/tests/tracer/net_session.py" --console "$T/$name.console" \
		--qmp "$T/$name.qmp" --qmp2 "$T/$name.qmp2" --qmp3 "$T/$name.qmp3" \
		--recording "$T/$name.vqt" --recording-through "$T/$name.through.vqt" \
		--vqscope "$BUILD/vqscope" \
		--check-region "$BUILD/tests/tracer/check_region" --region "$T/$name.region" \
		--check-export "$BUILD/tests/host/check_export" \
		--log "$T/$name.console.log" --top-log "$T/$name.top.log" \
		--reads "$NET_LIVE_READS" --pings "$NET_PINGS" || rc=$?
	grep -a "vqtest" "$T/$name.console.log" | cut -d' ' -f2- | grep -v "live read\|irq-" || true
	qemu_wait "$QEMU_PID" 60 || qemu_stop "$QEMU_PID"
	[ "$rc" -eq 0 ] || fail "the traced guest did not pass (console: $T/$name.console.log)"
}
