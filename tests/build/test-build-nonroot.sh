#!/usr/bin/env bash
# test-build-nonroot.sh - plain `make` builds as a user who is not root, on
# a PATH without the run-time-only tools (tmux, valgrind, QEMU), and never
# tries to install anything; a missing build dependency stops it with a
# message that names it.
. "$(dirname "$0")/../lib/common.sh"

NOBODY=65534
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
[ "$(id -u)" = 0 ] || skip "needs root to build as another user"

# The source tree as git knows it (committed or not, minus what it ignores).
chmod 0711 "$T"
mkdir -p "$T/nr/src" "$T/nr/home" "$T/bin"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' | tar -cf - -T -) | tar -xf - -C "$T/nr/src"
chown -R "$NOBODY:$NOBODY" "$T/nr"

# A PATH with everything in /usr/bin but the run-time tools, and an
# apt-get that only says it was called.
for f in /usr/bin/*; do
	case $(basename "$f") in
	tmux | valgrind* | qemu-* | apt-get | apt) ;;
	*) ln -s "$f" "$T/bin/" ;;
	esac
done
printf '#!/bin/sh\necho "apt-get $*" >>%s/apt-calls\nexit 1\n' "$T/nr" >"$T/bin/apt-get"
chmod 0755 "$T/bin/apt-get"
[ ! -e "$T/bin/tmux" ] && ! PATH=$T/bin:/usr/sbin command -v tmux >/dev/null || fail "tmux is still on the PATH"

as_nobody() {
	setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
		env -i PATH="$T/bin:/usr/sbin" HOME="$T/nr/home" "$@"
}

if ! as_nobody make -C "$T/nr/src" -j2 >"$T/build.log" 2>&1; then
	tail -n 30 "$T/build.log" >&2
	fail "make as uid $NOBODY without tmux, valgrind and QEMU failed"
fi
[ ! -e "$T/nr/apt-calls" ] || fail "make tried to install packages: $(cat "$T/nr/apt-calls")"
as_nobody "$T/nr/src/build/vqscope" --version | grep -q '^vqscope ' || fail "the built vqscope does not run"
[ -x "$T/nr/src/build/vqscope-trace" ] || fail "no vqscope-trace"
[ -r "$T/nr/src/build/guest-driver/demo/vqdemo.elf" ] || fail "no demo guest"
pass "make builds as uid $NOBODY with no tmux, valgrind or QEMU on the PATH, installing nothing"

# A missing build dependency is named, and nothing is installed.
if as_nobody make -C "$T/nr/src" CLANG=clang-missing-for-test >"$T/missing.log" 2>&1; then
	fail "make succeeded without its compiler for BPF"
fi
grep -q 'missing build dependencies: programs: clang-missing-for-test' "$T/missing.log" ||
	fail "the missing tool is not named: $(cat "$T/missing.log")"
[ ! -e "$T/nr/apt-calls" ] || fail "make tried to install packages: $(cat "$T/nr/apt-calls")"
pass "a missing build dependency stops make with its name"
