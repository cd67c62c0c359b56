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
