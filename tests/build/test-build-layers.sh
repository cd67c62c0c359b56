#!/usr/bin/env bash
# test-build-layers.sh - the host program keeps its layers apart
# (scripts/check-layers.sh): the tree passes, and each kind of violation,
# planted in a copy of the tree, is caught and named.
. "$(dirname "$0")/../lib/common.sh"

check=$ROOT/scripts/check-layers.sh

if ! out=$(bash "$check" "$ROOT" 2>&1); then
	echo "$out" >&2
	fail "the tree breaks the layer rules"
fi
pass "the tree keeps its layers apart"

# plant FILE LINE EXPECTED: a copy of tui/ with LINE added to FILE must
# fail with EXPECTED in the output.
plant() {
	local file=$1 line=$2 expected=$3 copy=$T/copy
	rm -rf "$copy"
	mkdir -p "$copy"
	cp -r "$ROOT/tui" "$copy/"
	printf '%s\n' "$line" >>"$copy/$file"
	if out=$(bash "$check" "$copy" 2>&1); then
		fail "planting '$line' in $file went unnoticed"
	fi
	grep -qF "$file" <<<"$out" && grep -qF "$expected" <<<"$out" ||
		fail "planting '$line' in $file: expected '$expected', got: $out"
	pass "caught: $expected ($file)"
}

plant tui/core/model.c '#include <curses.h>' "curses outside tui/screens/"
plant tui/live/source.c '#include <ncurses.h>' "curses outside tui/screens/"
plant tui/core/report.c '#include <json-c/json.h>' "I/O header in tui/core/"
plant tui/core/model.c '#include <sys/socket.h>' "I/O header in tui/core/"
plant tui/core/format.c '#include <fcntl.h>' "I/O header in tui/core/"
plant tui/core/model.c '#include <signal.h>' "I/O header in tui/core/"
plant tui/core/model.h '#include "live/source.h"' "tui/core/ includes another layer"
plant tui/core/report.c 'static void f(void) { printf("x"); }' "I/O or CLI use in tui/core/"
plant tui/core/report.c 'static FILE *f;' "I/O or CLI use in tui/core/"
plant tui/core/model.c 'static int g(void) { return cli_stop_signal; }' "I/O or CLI use in tui/core/"
plant tui/live/walk.c '#include "cmd/cli.h"' "tui/live/ includes screens/ or cmd/"
plant tui/screens/tui_app.c '#include "cmd/top.h"' "tui/screens/ includes cmd/"
