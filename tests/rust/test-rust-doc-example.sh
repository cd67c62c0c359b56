#!/usr/bin/env bash
# test-rust-doc-example.sh - the Rust example in docs/guest.md section 8
# compiles as written with Debian's rustc (-D warnings), alone as a
# #![no_std] crate and with a simulated device (doc_example_harness.rs);
# run for 200 requests, it leaves a trace region that satisfies every
# invariant check_trace knows, with one read barrier per poll (the seed's
# poll_used() in version (b), barrier=on-progress in the demo guest).
. "$(dirname "$0")/../lib/common.sh"

RUSTC=${RUSTC:-/usr/bin/rustc}
RLIB=$BUILD/guest-driver/rust/libvqscope_guest.rlib
LIBVQGUEST=$BUILD/guest-driver/libvqguest-hosted.a
CHECK_TRACE=$BUILD/tests/guest/check_trace
for f in "$RLIB" "$LIBVQGUEST" "$CHECK_TRACE"; do
	[ -e "$f" ] || fail "$f is missing (run make)"
done
[ -x "$RUSTC" ] || fail "no Rust compiler at $RUSTC (scripts/deps.sh installs Debian's rustc)"

doc=$ROOT/docs/guest.md
sed -n '/<!-- doc-example-rust: begin -->/,/<!-- doc-example-rust: end -->/p' "$doc" |
	sed '/^<!--/d; /^```/d' >"$T/example.rs"
[ -s "$T/example.rs" ] || fail "no Rust example between the doc-example-rust markers in $doc"

rust=("$RUSTC" --edition 2021 -C opt-level=2 --extern "vqscope_guest=$RLIB")
{
	echo '#![no_std]'
	cat "$T/example.rs"
} >"$T/example_no_std.rs"
"${rust[@]}" -D warnings --crate-type rlib --crate-name example "$T/example_no_std.rs" \
	-o "$T/libexample.rlib" || fail "the docs/guest.md Rust example does not compile as no_std"
pass "the example compiles as a no_std crate"

# In the program the harness uses only part of the example: what it
# leaves unused is not a warning there.
{
	echo '#[allow(dead_code)]'
	echo 'mod example {'
	cat "$T/example.rs"
	echo '}'
	cat "$ROOT/tests/rust/doc_example_harness.rs"
} >"$T/doc_example.rs"
"${rust[@]}" -D warnings "$T/doc_example.rs" -C "link-arg=$LIBVQGUEST" -o "$T/doc_example" ||
	fail "the docs/guest.md Rust example does not build with its harness"
timeout 60 "$T/doc_example" "$T/example.region" 200 || fail "the example did not run"
"$CHECK_TRACE" check "$T/example.region" --queue blk0.requests --frames 0 --policy on-progress \
	--events ADD=200 --events USED=200 --events POLL=200 --events ERROR=0 \
	--counter COMPLETIONS=200 --counter DESCS=200 --counter BYTES=12800 \
	--counter USED_BYTES=3200 --counter BARRIERS_RMB=200 ||
	fail "the example's trace region violates the invariants"
pass "the example traces 200 requests correctly, one acquire fence per poll"
