#!/usr/bin/env bash
# test-doctor-clean.sh - vqscope doctor stays silent on a correct driver:
# the demo guest without a bug, in every combination of barrier policy,
# flush mode, event idx, packed ring and depth (96 of them), gives no
# finding above info, and the information it gives is about fences only
# where the policy has them (FENCE-PER-SPIN never for on-progress or none,
# POLL-NO-FENCE only for none).  Two guests run at a time.
. "$(dirname "$0")/../lib/common.sh"

VQSCOPE=$BUILD/vqscope
[ -x "$VQSCOPE" ] || fail "$VQSCOPE is missing (run make)"
[ -r "$BUILD/guest-driver/demo/vqdemo.elf" ] || fail "the demo kernel is missing (run make)"
WATCH=${DOCTOR_CLEAN_WATCH:-2}

# one NAME "OPTIONS": boot, watch, stop; writes $T/NAME.json and
# $T/NAME.result ("ok" or why not).
one() {
	local name=$1 options=$2 dir=$T/$1 qemu rc=0
	O=$BUILD "$ROOT/scripts/run-demo-guest.sh" --dir "$dir" --resolution 320x240 --frames 0 \
		--append "$options log=off uart=fast" >"$T/$name.stdout" 2>"$T/$name.stderr" &
	qemu=$!
	# This runs in a background subshell: the test's own clean-up does
	# not know this PID, so it is left where the clean-up looks.
	echo "$qemu" >"$T/$name.qemu"
	if ! wait_for 60 grep -qs "^vqdemo: running: " "$dir/serial.log"; then
		echo "the guest did not start: $(tail -1 "$dir/serial.log" 2>/dev/null)" >"$T/$name.result"
	else
		"$VQSCOPE" doctor --json -d "$WATCH" "$dir/qmp.sock" >"$T/$name.json" \
			2>"$T/$name.err" || rc=$?
		if [ "$rc" != 0 ]; then
			echo "doctor exit $rc: $(head -c 600 "$T/$name.json" "$T/$name.err")" >"$T/$name.result"
		else
			echo ok >"$T/$name.result"
		fi
	fi
	kill "$qemu" 2>/dev/null || true
	wait "$qemu" 2>/dev/null || true
	rm -f "$T/$name.qemu"
}

# shellcheck disable=SC2016 # expanded when the test ends
at_exit 'for f in "$T"/*.qemu; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done'

configs=()
for barrier in on-progress seqcst-every acquire-every none; do
	for flush in frame line; do
		for event_idx in on off; do
			for packed in off on; do
				for depth in 1 4 64; do
					configs+=("barrier=$barrier flush=$flush event_idx=$event_idx packed=$packed depth=$depth")
				done
			done
		done
	done
done

running=()
n=0
for options in "${configs[@]}"; do
	n=$((n + 1))
	one "c$n" "$options" &
	running+=($!)
	track_pid "$!"
	if [ "${#running[@]}" -ge 2 ]; then
		wait -n || true
		alive=()
		for p in "${running[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
		running=("${alive[@]}")
	fi
done
wait

bad=0
n=0
for options in "${configs[@]}"; do
	n=$((n + 1))
	result=$(cat "$T/c$n.result" 2>/dev/null || echo "no result")
	if [ "$result" != ok ]; then
		echo "[$options] $result" >&2
		bad=$((bad + 1))
		continue
	fi
	why=$(python3 - "$T/c$n.json" "$options" <<'EOF'
import json, sys
findings = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
barrier = sys.argv[2].split()[0].split("=")[1]
for f in findings:
    if f["severity"] != "info":
        print(f"{f['code']} ({f['severity']}): {f['text']}")
    elif f["code"] == "FENCE-PER-SPIN" and barrier in ("on-progress", "none"):
        print(f"FENCE-PER-SPIN with barrier={barrier}")
    elif f["code"] == "POLL-NO-FENCE" and barrier != "none":
        print(f"POLL-NO-FENCE with barrier={barrier}")
    elif f["code"] not in ("FENCE-PER-SPIN", "POLL-NO-FENCE"):
        print(f"{f['code']} on a correct driver: {f['text']}")
EOF
)
	if [ -n "$why" ]; then
		echo "[$options] $why" >&2
		bad=$((bad + 1))
	fi
done
[ "$bad" = 0 ] || fail "$bad of ${#configs[@]} clean configurations had findings or failed"
pass "${#configs[@]} clean configurations: no finding above info, fence information only where due"
