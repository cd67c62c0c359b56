# guest-lib.sh - what the init scripts of the Linux guests (the tracer
# tests, bench/tracer*.sh, make linux-demo) share, in busybox sh: booting
# (file systems, modules), the network, and starting and stopping
# vqscope-trace with every wait bounded, so a guest that gets stuck says
# where.  linux-guest.sh puts it in the initramfs as /lib/guest-lib.sh; an
# init sources it after `/bin/busybox --install -s /bin` and setting TAG,
# the prefix of its console lines.

say() { echo "$TAG: $*"; }

# Mount what the guests use (tracefs too: vqscope-trace makes its kprobes
# there) and load the modules of /lib/modules/order.
guest_boot() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t tracefs tracefs /sys/kernel/tracing
	while read -r m; do
		insmod "/lib/modules/$m.ko" || say "insmod $m failed"
	done </lib/modules/order
}

# guest_wait SECONDS WHAT TEST...: run TEST every 0.1 s until it succeeds;
# after SECONDS say that WHAT did not happen and fail.
guest_wait() {
	local limit=$(($1 * 10)) what=$2 n=0
	shift 2
	until "$@"; do
		n=$((n + 1))
		if [ $n -gt $limit ]; then
			say "$what"
			return 1
		fi
		sleep 0.1
	done
}

# eth0 on QEMU's user network: 10.0.2.15/24, gateway 10.0.2.2, IPv4 only
# (so that the only traffic is the guest's own).
guest_net_up() {
	echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
	echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
	ifconfig lo 127.0.0.1 up
	ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
	route add default gw 10.0.2.2
}

# traffic_round N: one round of traffic on every device the guests have:
# five pings of the gateway (virtio-net), 32 blocks read and 8 written
# on /dev/vda with O_DIRECT (virtio-blk), at places that move with N,
# and 32 bytes of the entropy device (virtio-rng).
traffic_round() {
	ping -c 5 -i 0.1 10.0.2.2 >/dev/null 2>&1
	dd if=/dev/vda of=/dev/null bs=4096 count=32 skip=$(($1 % 64 * 32)) iflag=direct 2>/dev/null
	dd if=/dev/urandom of=/dev/vda bs=4096 count=8 seek=$(($1 % 64 * 8)) oflag=direct 2>/dev/null
	head -c 32 /dev/hwrng >/dev/null
}

_tracer_gone() { ! kill -0 $tracer 2>/dev/null; }
_tracer_tracing() { grep -q "tracing;" /tmp/trace.err 2>/dev/null; }
_tracer_ready() { _tracer_tracing || _tracer_gone; }

# tracer_start ARGS...: vqscope-trace ARGS in the background ($tracer),
# stdout in /tmp/trace.out and stderr in /tmp/trace.err; returns once it
# says it is tracing, or fails (saying "tracer exit N" if it exited).
tracer_start() {
	# The previous run's "tracing;" must not pass for this one's.
	rm -f /tmp/trace.err
	vqscope-trace "$@" >/tmp/trace.out 2>/tmp/trace.err &
	tracer=$!
	guest_wait 120 "vqscope-trace not tracing after 120 s" _tracer_ready || return 1
	_tracer_tracing && return 0
	wait $tracer
	say "tracer exit $?"
	return 1
}

# tracer_stop: SIGINT, then say "tracer exit N".  Still there 30 s later:
# say where it is in the kernel and SIGKILL it; one stuck in the kernel,
# which even SIGKILL waits for, is left after 30 s more.
tracer_stop() {
	kill -INT $tracer 2>/dev/null
	if ! guest_wait 30 "tracer still running 30 s after SIGINT" _tracer_gone; then
		say "wchan $(cat /proc/$tracer/wchan 2>/dev/null)"
		sed "s/^/$TAG: stack: /" /proc/$tracer/stack 2>/dev/null
		kill -KILL $tracer 2>/dev/null
	fi
	if guest_wait 30 "tracer exit unknown (still present after SIGKILL)" _tracer_gone; then
		wait $tracer
		say "tracer exit $?"
	fi
}

# tracer_stop_clean: tracer_stop, true only when the tracer exited with 0.
tracer_stop_clean() {
	tracer_stop >/tmp/trace.stop
	cat /tmp/trace.stop
	grep -q "tracer exit 0$" /tmp/trace.stop
}

# rotate_reps REPS FN MODE...: REPS rounds of FN MODE REP for every MODE,
# in an order that rotates from round to round, so that drift in the
# machine's speed hits every mode alike (the benchmarks).
rotate_reps() {
	local reps=$1 fn=$2 rep=1 k i mode
	shift 2
	while [ $rep -le $reps ]; do
		k=0
		while [ $k -lt $# ]; do
			i=$(((rep - 1 + k) % $# + 1))
			eval "mode=\${$i}"
			$fn $mode $rep
			k=$((k + 1))
		done
		rep=$((rep + 1))
	done
}
