#!/usr/bin/env bash
# check-layers.sh - the include rules of the host program's layers
# (DEVELOPERS.md, "Tree and build"):
#
#   - only tui/screens/ includes curses;
#   - tui/core/ does no I/O: no json-c, sockets, files, signals, threads,
#     no stdio streams, no CLI globals, and nothing from the other layers;
#   - tui/live/ includes nothing from screens/ or cmd/; tui/screens/
#     nothing from cmd/.
#
#   check-layers.sh [ROOT]     prints each violation as FILE:LINE: text
#                              and exits 1 if there is any
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# report WHY: every grep -n match read on stdin is a violation.
report() {
	sed "s|\$|: $1|" >>"$out"
}

files() { find "$@" -name '*.[ch]' 2>/dev/null | sort; }

# curses outside the screens
mapfile -t all < <(files protocol guest-driver tracer tui tests bench | grep -v '^tui/screens/')
if [ ${#all[@]} -gt 0 ]; then
	grep -nE '^\s*#\s*include\s*[<"](n?curses|term|panel|menu|form)\.h[>"]' "${all[@]}" |
		report "curses outside tui/screens/"
fi

mapfile -t core < <(files tui/core)
if [ ${#core[@]} -gt 0 ]; then
	grep -nE '^\s*#\s*include\s*<(json-c/|json\.h|sys/socket\.h|sys/un\.h|netinet/|arpa/|fcntl\.h|unistd\.h|signal\.h|poll\.h|sys/mman\.h|sys/stat\.h|sys/types\.h|dirent\.h|pthread\.h|setjmp\.h|libvirt/)' \
		"${core[@]}" | report "I/O header in tui/core/"
	grep -nE '^\s*#\s*include\s*"(live|screens|cmd)/' "${core[@]}" |
		report "tui/core/ includes another layer"
	# Calls, not words: comments are taken out first.
	for f in "${core[@]}"; do
		sed -E 's#/\*.*\*/##g; s#/\*.*$##; s#^\s*\*.*$##' "$f" |
			grep -nE '(^|[^>.A-Za-z0-9_])(fopen|fdopen|fclose|fwrite|fread|fputs|puts|open|read|write|close|printf|fprintf|vfprintf|perror|getenv|cli_[a-z_]+)\s*\(|\bFILE\s*\*|\b(stdin|stdout|stderr|cli_stop_signal)\b' |
			sed "s|^|$f:|" | report "I/O or CLI use in tui/core/"
	done
fi

mapfile -t live < <(files tui/live)
if [ ${#live[@]} -gt 0 ]; then
	grep -nE '^\s*#\s*include\s*"(screens|cmd)/' "${live[@]}" |
		report "tui/live/ includes screens/ or cmd/"
fi

mapfile -t screens < <(files tui/screens)
if [ ${#screens[@]} -gt 0 ]; then
	grep -nE '^\s*#\s*include\s*"cmd/' "${screens[@]}" | report "tui/screens/ includes cmd/"
fi

cat "$out"
[ ! -s "$out" ]
