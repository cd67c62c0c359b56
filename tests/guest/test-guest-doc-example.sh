#!/usr/bin/env bash
# test-guest-doc-example.sh - the C example in docs/guest.md compiles as
# written (-Wall -Wextra -Werror, freestanding and hosted), and, run
# against a simulated device (doc_example_harness.c), produces a trace
# region that satisfies every invariant check_trace knows.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

doc=$ROOT/docs/guest.md
sed -n '/<!-- doc-example-c: begin -->/,/<!-- doc-example-c: end -->/p' "$doc" |
	sed '/^<!--/d; /^```/d' >"$T/example.c"
[ -s "$T/example.c" ] || fail "no C example between the doc-example-c markers in $doc"

includes=(-I"$ROOT/protocol" -I"$ROOT/guest-driver/lib")
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -ffreestanding -nostdlib -mno-red-zone \
	-mgeneral-regs-only "${includes[@]}" -c "$T/example.c" -o "$T/example-freestanding.o" ||
	fail "the docs/guest.md example does not compile freestanding"
pass "the example compiles freestanding"

cat "$T/example.c" "$ROOT/tests/guest/doc_example_harness.c" >"$T/doc_example.c"
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE "${includes[@]}" \
	"$T/doc_example.c" "$BUILD/guest-driver/libvqguest-hosted.a" -lpthread \
	-o "$T/doc_example" || fail "the docs/guest.md example does not build with its harness"
timeout 60 "$T/doc_example" "$T/example.region" 200 || fail "the example did not run"
check_trace check "$T/example.region" --queue blk0.requests --frames 0 ||
	fail "the example's trace region violates the invariants"
pass "the example traces 200 requests correctly"
