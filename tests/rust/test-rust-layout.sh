#!/usr/bin/env bash
# test-rust-layout.sh - the Rust binding (guest-driver/rust/vqscope_guest.rs)
# lays out every type and constant that crosses the boundary as the C
# compiler does: layout_check, which make builds from layout_dump's output
# through gen-layout-check.sh, passes.  Then the check is shown to fail,
# naming what is wrong, when either side disagrees: a wrong offset, size
# or constant fed to the generator, and a field of the wrong width in a
# copy of the binding.
. "$(dirname "$0")/../lib/common.sh"

RUSTC=${RUSTC:-/usr/bin/rustc}
DIR=$BUILD/tests/rust
RLIB=$BUILD/guest-driver/rust/libvqscope_guest.rlib
for f in "$DIR/layout.txt" "$DIR/layout_check" "$RLIB"; do
	[ -e "$f" ] || fail "$f is missing (run make)"
done
[ -x "$RUSTC" ] || fail "no Rust compiler at $RUSTC (scripts/deps.sh installs Debian's rustc)"
GEN=$ROOT/tests/rust/gen-layout-check.sh
TEMPLATE=$ROOT/tests/rust/layout_check.rs

"$DIR/layout_check" || fail "the Rust binding's layout differs from C's"
pass "layout_check: the binding agrees with C"

# build_check NAME DUMP RLIB: generate the checks from DUMP and build
# layout_check against RLIB into $T/NAME; rustc's messages go to
# $T/NAME.build.
build_check() {
	local name=$1 dump=$2 rlib=$3
	bash "$GEN" <"$dump" >"$T/$name.rs" || fail "$name: the generator refused the dump"
	VQ_LAYOUT_CHECKS=$T/$name.rs "$RUSTC" --edition 2021 -D warnings \
		--extern "vqscope_guest=$rlib" "$TEMPLATE" -o "$T/$name" >"$T/$name.build" 2>&1
}

# mutate NAME SED-EXPRESSION: a copy of the dump with one line changed.
mutate() {
	sed "$2" "$DIR/layout.txt" >"$T/$1.txt"
	! cmp -s "$DIR/layout.txt" "$T/$1.txt" || fail "$1: '$2' changed nothing in layout.txt"
}

# compile_fails NAME MESSAGE: rustc refuses layout_check built from
# $T/NAME.txt, saying MESSAGE (a compile-time assertion).
compile_fails() {
	if build_check "$1" "$T/$1.txt" "$RLIB"; then
		fail "$1: layout_check built, expected: $2"
	fi
	grep -qF "$2" "$T/$1.build" || fail "$1: rustc did not say '$2': $(cat "$T/$1.build")"
}

# run_fails NAME DUMP RLIB MESSAGE...: layout_check builds from DUMP and
# RLIB, and fails when run, printing every MESSAGE.
run_fails() {
	local name=$1 dump=$2 rlib=$3 message
	shift 3
	build_check "$name" "$dump" "$rlib" || fail "$name: did not build: $(cat "$T/$name.build")"
	if "$T/$name" >"$T/$name.out" 2>&1; then
		fail "$name: layout_check passed, expected: $*"
	fi
	for message in "$@"; do
		grep -qF "$message" "$T/$name.out" ||
			fail "$name: layout_check did not say '$message': $(cat "$T/$name.out")"
	done
}

# A field offset C disagrees with: layout_check builds, runs, and names it.
mutate offset 's/^\(field vq_queue_info VqQueueInfo name\) \([0-9]*\)/\1 99/'
run_fails offset "$T/offset.txt" "$RLIB" \
	"vq_queue_info.name: Rust has it at offset 16 (8 bytes), C at offset 99"
pass "a wrong field offset fails at run time, naming vq_queue_info.name"

# A size or a constant C disagrees with: rustc stops at the assertion.
mutate size 's/^\(type vq_poll_stats VqPollStats\) [0-9]*/\1 32/'
compile_fails size "struct vq_poll_stats: the Rust type VqPollStats is not 32 bytes as in C"
pass "a wrong struct size fails at compile time, naming struct vq_poll_stats"
mutate constant 's/^const VQT_ERR_DRIVER [0-9]*/const VQT_ERR_DRIVER 7/'
compile_fails constant "VQT_ERR_DRIVER: the Rust constant is not 7 as in C"
pass "a wrong constant fails at compile time, naming VQT_ERR_DRIVER"

# The binding itself wrong, as a hand-written declaration goes wrong: a
# u32 field declared u64 keeps the struct's size here (padding) but moves
# the next field.
sed 's/^    pub ts_source: u32,$/    pub ts_source: u64,/' "$ROOT/guest-driver/rust/vqscope_guest.rs" \
	>"$T/vqscope_guest.rs"
! cmp -s "$ROOT/guest-driver/rust/vqscope_guest.rs" "$T/vqscope_guest.rs" ||
	fail "could not widen VqTraceConfig.ts_source in a copy of the binding"
"$RUSTC" --edition 2021 --crate-type rlib --crate-name vqscope_guest "$T/vqscope_guest.rs" \
	-o "$T/libvqscope_guest.rlib" || fail "the widened copy of the binding does not build"
run_fails widened "$DIR/layout.txt" "$T/libvqscope_guest.rlib" \
	"vq_trace_config.ts_source: Rust has it at offset 16 (8 bytes), C at offset 16 (4 bytes)" \
	"vq_trace_config.flags: Rust has it at offset 24 (4 bytes), C at offset 20 (4 bytes)"
pass "a field of the wrong width in the binding fails, naming vq_trace_config.ts_source"

# The generator refuses what it cannot read rather than check nothing.
head -n 3 "$DIR/layout.txt" >"$T/truncated.txt"
if bash "$GEN" <"$T/truncated.txt" >/dev/null 2>"$T/truncated.err"; then
	fail "the generator accepted a dump without constants"
fi
echo "type vq_trace VqTrace ten 8" >"$T/garbled.txt"
if bash "$GEN" <"$T/garbled.txt" >/dev/null 2>"$T/garbled.err"; then
	fail "the generator accepted a size that is not a number"
fi
grep -q "line 1: expected: type C-NAME RUST-NAME SIZE ALIGN" "$T/garbled.err" ||
	fail "the generator did not say what was wrong: $(cat "$T/garbled.err")"
pass "the generator refuses an incomplete or garbled dump"
