#!/usr/bin/env bash
# test-tracer-shm-args.sh - vqscope-trace --shm with a PCI address that is
# no ivshmem-plain device says why, on the host, before any BPF is loaded:
# no such device (naming ./FILE for a file in the current directory), or
# another device (with its vendor:device IDs), also when the address is
# given as lspci prints it, without the domain 0000.  Every run here fails in
# shm_map, ahead of the hooks, and -D 1 bounds it should one not.
. "$(dirname "$0")/../lib/common.sh"

TRACE=$BUILD/vqscope-trace
[ -x "$TRACE" ] || fail "no $TRACE (run make first)"
[ "$(id -u)" = 0 ] || skip "vqscope-trace checks for root before --shm; run as root"

# shm_run NAME ARGS...: vqscope-trace ARGS in $T, which must exit 1;
# stderr in $T/NAME.err.
shm_run() {
	local name=$1 rc=0
	shift
	(cd "$T" && timeout 60 "$TRACE" -D 1 "$@") >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	[ "$rc" = 1 ] || fail "$*: exit $rc, not 1: $(cat "$T/$name.err")"
}
expect_err() { # NAME REGEX WHAT
	grep -qE "$2" "$T/$1.err" || fail "$3: got: $(cat "$T/$1.err")"
}

# A file in the current directory, named as a PCI address would be.
truncate -s 64K "$T/trace.region"
shm_run file --shm trace.region
expect_err file "^vqscope-trace: --shm trace\.region: no PCI device trace\.region in /sys/bus/pci/devices \(an address is \[DOMAIN:\]BUS:DEVICE\.FUNCTION, as 0000:00:08\.0; a file in the current directory is \./trace\.region\)$" \
	"a bare file name: no hint about ./FILE"
shm_run nosuch --shm 0000:7f:1f.7
expect_err nosuch "^vqscope-trace: --shm 0000:7f:1f\.7: no PCI device 0000:7f:1f\.7 in /sys/bus/pci/devices " \
	"an address with no device: wrong message"
pass "--shm NAME with no such PCI device says so, and how to name a file"

# A PCI device of the host that is not ivshmem-plain, if it has one.
other=
for d in /sys/bus/pci/devices/*; do
	{ [ -r "$d/vendor" ] && [ -r "$d/device" ]; } || continue
	ids=$(printf '%04x:%04x' "$(cat "$d/vendor")" "$(cat "$d/device")")
	[ "$ids" != 1af4:1110 ] && { other=$(basename "$d"); break; }
done
if [ -n "$other" ]; then
	shm_run other --shm "$other"
	expect_err other "^vqscope-trace: --shm $other: PCI device $other is $ids, not ivshmem-plain \(1af4:1110\)$" \
		"another PCI device: no IDs in the message"
	pass "--shm $other ($ids) names the device it found instead"
	case "$other" in
	0000:*)
		# As lspci prints it: the domain 0000 left out.
		shm_run short --shm "${other#0000:}"
		expect_err short "^vqscope-trace: --shm ${other#0000:}: PCI device $other is $ids, not ivshmem-plain \(1af4:1110\)$" \
			"BUS:DEVICE.FUNCTION is not read as domain 0000"
		pass "--shm ${other#0000:} is the device $other"
		;;
	esac
else
	echo "note: no PCI device on this host other than ivshmem-plain; that check is left out"
fi
