#!/usr/bin/env bash
# test-rust-guest.sh - a Rust program (rust_guest.rs) writes every event
# type through the Rust binding (guest-driver/rust/vqscope_guest.rs) and
# the hosted C library; check_trace then validates the region it left
# (every invariant it knows) and the exact count of each record type and
# of each counter of the main queue.  A binding that passes an argument in
# the wrong place or with the wrong width changes one of these counts.
. "$(dirname "$0")/../lib/common.sh"

RUST_GUEST=$BUILD/tests/rust/rust_guest
CHECK_TRACE=$BUILD/tests/guest/check_trace
[ -x "$RUST_GUEST" ] || fail "$RUST_GUEST is missing (run make)"
[ -x "$CHECK_TRACE" ] || fail "$CHECK_TRACE is missing (run make)"

timeout 60 "$RUST_GUEST" "$T/rust.region" || fail "rust_guest failed"
pass "the Rust producer ran (init and registration errors came back as Error::Invalid and Error::Full)"

# From rust_guest.rs: FRAMES=3 frames of COMMANDS=4 requests on
# rust0.requests (NDESC=2 descriptors, 100..400 bytes, WRITTEN=16 bytes
# back; a kick after 2 adds, a suppressed kick after 4; one poll of
# SPINS=5 spins with 2 read, 1 write and 3 full barriers; LOG_BYTES=40 of
# log), 2 interrupts, 2 notification changes, 2 marks, errors on
# rust0.requests and on no queue; and on rust0.events one request before
# its teardown, a kick while torn down (an ERROR record) and one request
# after it is registered again: 4 QUEUE records; then it is marked a
# receive queue (in its slot of the queue table, checked below) and
# kicked once through kick_decision (a sixth KICK).
expected_events=(
	QUEUE=4 ADD=14 KICK=6 KICK_SUPPRESSED=3 POLL=5 USED=14 IRQ=2 CB=2
	FRAME_BEGIN=3 FRAME_END=3 LOG=3 MARK=2 ERROR=3
)
expected_counters=(
	ADDS=12 DESCS=24 BYTES=3000 KICKS=3 KICKS_SUPPRESSED=3 IRQS=2 POLLS=3
	POLL_SPINS=15 BARRIERS_RMB=6 BARRIERS_WMB=3 BARRIERS_MB=9 COMPLETIONS=12
	POLL_TIMEOUTS=0 USED_BYTES=192 CB_CHANGES=2 ERRORS=1
)
args=(--queue rust0.requests --frames 3 --commands 4 --irq --log-bytes 120)
for e in "${expected_events[@]}"; do args+=(--events "$e"); done
for c in "${expected_counters[@]}"; do args+=(--counter "$c"); done

"$CHECK_TRACE" check "$T/rust.region" "${args[@]}" ||
	fail "the Rust producer's region is wrong (above: what check_trace found)"
pass "check_trace: the region is valid, with the exact counts of all 13 record types"

# The header and queue table fields the other calls set (protocol/vqtrace.h):
# producer_state 0x90, heartbeat_ms 0x94, heartbeats 0xa0; rust0.events is
# slot 1 of the queue table at 0x2000, its flags at 0x06 in the slot.
u32_at() { od -An -tu4 -j "$1" -N4 "$T/rust.region" | tr -d ' '; }
u64_at() { od -An -tu8 -j "$1" -N8 "$T/rust.region" | tr -d ' '; }
slot_size=$(od -An -tu2 -j $((0x3e)) -N2 "$T/rust.region" | tr -d ' ')
flags=$(od -An -tu2 -j $((0x2000 + slot_size + 6)) -N2 "$T/rust.region" | tr -d ' ')
[ "$(u32_at $((0x90)))" = 1 ] || fail "producer_state is $(u32_at $((0x90))), not 1 (running)"
[ "$(u32_at $((0x94)))" = 500 ] || fail "heartbeat_ms is $(u32_at $((0x94))), not 500"
[ "$(u64_at $((0xa0)))" = 3 ] || fail "heartbeats is $(u64_at $((0xa0))), not 3 (a state change and 2)"
[ $((flags & 16)) = 16 ] || fail "rust0.events' flags are $flags, without VQT_QF_RECEIVE (16)"
pass "set_state, heartbeat and set_receive reach the header and the queue table"

# Every function the C header declares has its Rust declaration.
missing=
for fn in $(sed -nE 's/^[a-z_0-9 ]*[ *](vq_trace_[a-z_]+)\(.*/\1/p' "$ROOT/guest-driver/lib/vqscope_guest.h"); do
	grep -q "pub fn $fn(" "$ROOT/guest-driver/rust/vqscope_guest.rs" || missing="$missing $fn"
done
[ -z "$missing" ] || fail "the Rust binding does not declare:$missing"
pass "the binding declares every function of vqscope_guest.h"

# The counts are checked, not just accepted: one record fewer than
# expected is a violation.
if "$CHECK_TRACE" check "$T/rust.region" "${args[@]}" --events MARK=3 >"$T/wrong.out" 2>&1; then
	fail "check_trace accepted 3 MARK records for the 2 written"
fi
grep -q "2 MARK records, expected 3" "$T/wrong.out" ||
	fail "check_trace did not name the wrong count: $(cat "$T/wrong.out")"
pass "check_trace rejects a wrong count, naming it"

# A binding that passes two arguments in each other's place (ndesc and
# nwritable of vq_trace_add, both u16, so nothing else notices) is caught
# by the counts.
RUSTC=${RUSTC:-/usr/bin/rustc}
[ -x "$RUSTC" ] || fail "no Rust compiler at $RUSTC (scripts/deps.sh installs Debian's rustc)"
sed 's/avail_idx, ndesc, bytes, nwritable)/avail_idx, nwritable, bytes, ndesc)/' \
	"$ROOT/guest-driver/rust/vqscope_guest.rs" >"$T/vqscope_guest.rs"
! cmp -s "$ROOT/guest-driver/rust/vqscope_guest.rs" "$T/vqscope_guest.rs" ||
	fail "could not swap the arguments of vq_trace_add in a copy of the binding"
"$RUSTC" --edition 2021 --crate-type rlib --crate-name vqscope_guest "$T/vqscope_guest.rs" \
	-o "$T/libvqscope_guest.rlib" || fail "the swapped copy of the binding does not build"
"$RUSTC" --edition 2021 --extern "vqscope_guest=$T/libvqscope_guest.rlib" \
	"$ROOT/tests/rust/rust_guest.rs" -C "link-arg=$BUILD/guest-driver/libvqguest-hosted.a" \
	-o "$T/rust_guest_swapped" || fail "rust_guest does not build with the swapped binding"
timeout 60 "$T/rust_guest_swapped" "$T/swapped.region" || fail "the swapped rust_guest failed"
if "$CHECK_TRACE" check "$T/swapped.region" "${args[@]}" >"$T/swapped.out" 2>&1; then
	fail "check_trace accepted the region of a binding with ndesc and nwritable swapped"
fi
grep -q "counter DESCS is 12, expected 24" "$T/swapped.out" ||
	fail "check_trace did not name the DESCS counter: $(cat "$T/swapped.out")"
pass "a binding with two arguments swapped fails the counts (DESCS 12, expected 24)"
