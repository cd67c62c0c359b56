#!/usr/bin/env bash
# test-dist-install.sh - `make install` into a scratch DESTDIR puts the
# programs, the man pages vqscope(1) and vqscope-trace(8), and the bash
# completion in place; both pages render with `man -l` and `groff -ww`
# without a single warning and name every subcommand and every option the
# programs' --help lists; the completion completes `vqscope re` to record,
# report and replay, options, option values and the files that fit; both
# programs answer --version with the same version.
. "$(dirname "$0")/../lib/common.sh"

command -v man >/dev/null || skip "man is not installed (scripts/deps.sh: man-db)"
command -v groff >/dev/null || skip "groff is not installed (scripts/deps.sh: groff-base)"
root=$T/root
# A make of its own, not a job of the `make test` that may be running this.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$ROOT" --no-print-directory O="$BUILD" \
	DESTDIR="$root" PREFIX=/usr install >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log" >&2; fail "make install failed"; }
for f in bin/vqscope:755 bin/vqscope-trace:755 share/man/man1/vqscope.1:644 \
	share/man/man8/vqscope-trace.8:644 share/bash-completion/completions/vqscope:644 \
	share/bash-completion/completions/vqscope-trace:644; do
	[ -f "$root/usr/${f%:*}" ] || fail "make install did not install ${f%:*}"
	[ "$(stat -c %a "$root/usr/${f%:*}")" = "${f#*:}" ] || fail "${f%:*} is not mode ${f#*:}"
done
pass "make install puts the programs, both man pages and the completion in place"

# ---- man pages -------------------------------------------------------------------------------------
man1=$root/usr/share/man/man1/vqscope.1
man8=$root/usr/share/man/man8/vqscope-trace.8
for page in "$man1" "$man8"; do
	groff -ww -man -z "$page" 2>"$T/groff.err" || fail "groff failed on $page"
	[ ! -s "$T/groff.err" ] || { cat "$T/groff.err" >&2; fail "groff -ww warns about $page"; }
	MANWIDTH=80 man --warnings=w -l "$page" >"$T/man.out" 2>"$T/man.err" || fail "man -l $page"
	[ ! -s "$T/man.err" ] || { cat "$T/man.err" >&2; fail "man -l warns about $page"; }
	for section in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' FILES 'SEE ALSO'; do
		grep -q "^$section\$" "$T/man.out" || fail "$page has no $section section"
	done
done
pass "man -l and groff -ww render both pages without warnings"

# Every option a --help lists, as the page's source spells it ("\-\-interval").
in_page() { # PAGE OPTION
	grep -qF -- "$(sed 's/-/\\-/g' <<<"$2")" "$1"
}
options_of() { # the options in a --help text on stdin
	grep -oE -- '^ +(-[^ ,-], )?--?[a-z?][-a-z0-9]*' | grep -oE -- '--?[a-z?][-a-z0-9]*'
}
commands=$("$root/usr/bin/vqscope" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][-a-z]*\) .*/\1/p')
[ "$(wc -w <<<"$commands")" -ge 10 ] || fail "vqscope --help lists only: $commands"
for cmd in $commands; do
	# The page spells a command's '-' as "\-", as it does options'.
	page_cmd=$(sed 's/-/\\-/g' <<<"$cmd")
	grep -qF ".SS \"vqscope $page_cmd " "$man1" || fail "vqscope(1) has no section for vqscope $cmd"
	# The command's own section, up to the next one.
	# (through the environment: awk -v would take "\-" for an escape).
	HEAD=".SS \"vqscope $page_cmd " awk 'index($0, ENVIRON["HEAD"]) == 1 { on = 1; print; next }
		/^\.S[SH] / { on = 0 } on' "$man1" >"$T/section.$cmd"
	for opt in $("$root/usr/bin/vqscope" "$cmd" --help | options_of); do
		[ "$opt" = -h ] || [ "$opt" = --help ] || in_page "$T/section.$cmd" "$opt" ||
			fail "vqscope(1) does not mention $opt in the section of vqscope $cmd"
	done
done
for opt in $("$root/usr/bin/vqscope-trace" --help | options_of); do
	in_page "$man8" "$opt" || fail "vqscope-trace(8) does not mention $opt"
done
pass "the pages cover all $(wc -w <<<"$commands") subcommands and every option of both programs, each in its section"

# ---- --version --------------------------------------------------------------------------------------
v1=$("$root/usr/bin/vqscope" --version) || fail "vqscope --version"
v2=$("$root/usr/bin/vqscope-trace" --version) || fail "vqscope-trace --version"
[[ $v1 =~ ^vqscope\ ([0-9.]+)$ ]] || fail "vqscope --version: $v1"
[[ $v2 =~ ^vqscope-trace\ ${BASH_REMATCH[1]//./\\.}( |$) ]] || fail "versions differ: '$v1', '$v2'"
pass "--version: '$v1', '$v2'"

# ---- bash completion ---------------------------------------------------------------------------------
mkdir "$T/files" "$T/files/sub"
touch "$T/files/a.vqt" "$T/files/b.sock" "$T/files/c.txt"
# complete WORDS...: what the installed completion offers for the last
# word, sorted, in a non-interactive bash with the installed programs.
complete_words() {
	(
		cd "$T/files"
		PATH=$root/usr/bin:$PATH
		# shellcheck disable=SC1091
		. "$root/usr/share/bash-completion/completions/$1"
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		fn=$(complete -p "$1" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
		[ -n "$fn" ] || exit 1
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
	)
}
expect_completion() { # WANT WORDS...
	local want=$1 got
	shift
	got=$(complete_words "$@") || fail "no completion registered for $1"
	[ "$got" = "$want" ] || fail "completing '$*': '$got', expected '$want'"
}
expect_completion "record replay report" vqscope re
expect_completion "export exporter" vqscope exp
expect_completion "--version" vqscope --v
expect_completion "--libvirt --listen" vqscope exporter --li
expect_completion "--json" vqscope top --js
expect_completion "cmpl/s" vqscope top --sort c
expect_completion "a.vqt sub" vqscope report ""
expect_completion "b.sock sub" vqscope attach ""
expect_completion "a.vqt b.sock sub" vqscope top ""
expect_completion "a.vqt b.sock sub" vqscope doctor ""
expect_completion "a.vqt sub" vqscope record -o ""
expect_completion "sub" vqscope exporter --qmp-dir ""
expect_completion "kprobe" vqscope-trace --method k
expect_completion "--stdout" vqscope-trace --stdo
pass "bash completes commands, options, option values, *.vqt and *.sock files"
