#!/usr/bin/env bash
# test-guest-screendump.sh - what the demo guest shows is the expected
# scene: after a few frames a QMP screendump (with -display none) has the
# background, rim and hub exactly where the scene puts them, only
# background or spoke colours inside the wheel, and enough spoke pixels;
# a black or garbled screen fails.  Both flush modes, and a size= smaller
# than the device's preferred mode (the scanout, and so the screen, takes
# the resource's size); with commands in flight (depth=) on split and
# packed rings, taken as they complete, the picture is the same.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

width=${DEMO_RESOLUTION%x*}
height=${DEMO_RESOLUTION#*x}

# frames_at_least DIR N: the guest has finished N frames.
frames_at_least() {
	[ "$(check_trace frames "$1/trace.region" 2>/dev/null || echo 0)" -ge "$2" ]
}

# shot NAME WIDTH HEIGHT "GUEST OPTIONS"
shot() {
	local name=$1 w=$2 h=$3
	demo_start "$name" "$4" --frames 0
	wait_for 60 test -S "$DEMO_DIR/qmp.sock" || fail "$name: no QMP socket"
	if ! wait_for 60 frames_at_least "$DEMO_DIR" 3; then
		demo_serial "$name"
		fail "$name: the guest did not finish 3 frames within 60 s"
	fi
	qmp "$DEMO_DIR/qmp.sock" screendump "{\"filename\": \"$T/$name.ppm\"}" >/dev/null ||
		fail "$name: screendump failed"
	check_trace screendump "$T/$name.ppm" "$w" "$h" ||
		fail "$name: the screen is not the spinning wheel (see above)"
	qmp "$DEMO_DIR/qmp.sock" quit >/dev/null || true
	demo_wait "$name"
	pass "$name"
}

shot flush-frame "$width" "$height" "flush=frame"
shot flush-line "$width" "$height" "flush=line lines=8"
shot size-200x150 200 150 "size=200x150"
shot depth-8 "$width" "$height" "flush=line lines=8 depth=8"
shot packed-depth-64 "$width" "$height" "flush=line lines=8 depth=64 packed=on"
shot irq-depth-4 "$width" "$height" "flush=line lines=8 depth=4 complete=irq"

# A picture that is not the scene fails the check (all black).
printf 'P6\n%s %s\n255\n' "$width" "$height" >"$T/black.ppm"
head -c $((width * height * 3)) /dev/zero >>"$T/black.ppm"
if check_trace screendump "$T/black.ppm" "$width" "$height" >/dev/null 2>&1; then
	fail "a black screen passed the scene check"
fi
pass "a black screen is rejected"
