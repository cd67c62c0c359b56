# lib.sh - helpers shared by the bench scripts; source it.

# synthetic_vm DIR [SIZE]: a QEMU with no guest (paused) whose
# ivshmem-plain device is backed by the file DIR/region of SIZE (default
# 64M), with its QMP socket at DIR/qmp.sock, for bench/synth_producer to
# fill and vqscope to attach to.  Sets SYNTH_VM_PID.
synthetic_vm() {
	local dir=$1 size=${2:-64M}
	truncate -s "$size" "$dir/region"
	qemu-system-x86_64 -M q35 -accel tcg -S -nodefaults -no-user-config -display none \
		-object "memory-backend-file,id=vqtrace,size=$size,mem-path=$dir/region,share=on" \
		-device ivshmem-plain,memdev=vqtrace \
		-qmp "unix:$dir/qmp.sock,server=on,wait=off" >"$dir/qemu.log" 2>&1 &
	SYNTH_VM_PID=$!
	for _ in $(seq 100); do [ -S "$dir/qmp.sock" ] && break; sleep 0.1; done
}

# median: the median of the numbers on stdin (spaces or newlines between).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- the Linux test guest (bench/tracer.sh, bench/tracer-net.sh) ----------

# bench_linux_setup NAME: fetch Debian's kernel into $O/linux-guest (exit
# 77 when the archive is out of reach) and make a private work directory
# $work, removed on exit together with the guest ($qemu_pid).  Sets cache,
# work and qemu_pid.
bench_linux_setup() {
	local name=$1 rc=0
	. tests/tracer/linux-guest.sh
	cache=$O/linux-guest
	linux_guest_fetch "$cache" || rc=$?
	if [ "$rc" = 77 ]; then
		echo "$name: skipped: Debian's kernel package is out of reach (see above)" >&2
		exit 77
	fi
	[ "$rc" = 0 ] || { echo "$name: cannot prepare the Debian kernel in $cache" >&2; exit 1; }
	work=$(mktemp -d "${TMPDIR:-/tmp}/vqbench-$name.XXXXXX")
	chmod 0700 "$work"
	qemu_pid=
	trap _bench_linux_cleanup EXIT
}

_bench_linux_cleanup() {
	if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}

# bench_linux_run NAME LIMIT SERIAL QEMU-ARGS...: boot the kernel with
# $work/initrd (TCG, or KVM with VQ_ACCEL=kvm) and wait for it to power
# off, at most LIMIT seconds; keep its console in SERIAL unless that is
# empty.  Leaves the console's "vqbench" lines in $work/out and the
# seconds it ran in $elapsed; exits 1 unless the guest said "done" and no
# "error".
bench_linux_run() {
	local name=$1 limit=$2 serial=$3 start accel
	shift 3
	case ${VQ_ACCEL:-tcg} in
	kvm) accel=(-accel kvm -cpu host) ;;
	*) accel=(-accel tcg) ;;
	esac
	start=$(date +%s)
	qemu-system-x86_64 "${accel[@]}" -nodefaults -no-user-config -M q35 -m 512 \
		-display none -no-reboot -serial "file:$work/serial" \
		-kernel "$cache/vmlinuz" -initrd "$work/initrd" \
		-append "$LINUX_GUEST_APPEND" "$@" >"$work/qemu.log" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ $(($(date +%s) - start)) -ge "$limit" ]; then
			tail -n 20 "$work/serial" >&2
			if [ -n "$serial" ]; then cp "$work/serial" "$serial"; fi
			echo "$name: the guest did not finish within $limit s" >&2
			exit 1
		fi
		sleep 0.5
	done
	wait "$qemu_pid" || true
	qemu_pid=
	elapsed=$(($(date +%s) - start))
	if [ -n "$serial" ]; then cp "$work/serial" "$serial"; fi
	tr -d '\r' <"$work/serial" | grep -a "^vqbench" >"$work/out" || true
	if ! grep -q "^vqbench: done" "$work/out" || grep -q "^vqbench: error" "$work/out"; then
		cat "$work/qemu.log" >&2
		tail -n 30 "$work/serial" >&2
		echo "$name: the guest script failed (above)" >&2
		exit 1
	fi
}
