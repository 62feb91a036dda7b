#!/usr/bin/env bash
# Man pages and bash completion (issue 16): the pages the build generated
# from --help have a section for every command and format without warnings;
# the completion script offers commands, a command's options, subcommands
# and tables from the program's --help.
set -euo pipefail
BIN=${1:?usage: check_dist.sh BUILD_DIR SOURCE_DIR} SRC=${2:?}
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
man1=$BIN/man/schoolsync.1
[ -s "$man1" ] && [ -s "$BIN/man/schoolsyncd.8" ] || { echo "FAIL: no man pages in $BIN/man" >&2; exit 1; }
for c in $(LC_ALL=C "$BIN/schoolsync" --help | sed -n '/^Commands:/,$s/^  \([a-z][a-z-]*\) .*/\1/p'); do
	grep -qx ".SS $c" "$man1" || bad "schoolsync.1 lacks command $c"
done
grep -q -- 'import TABLE FILE.csv' "$man1" || bad "schoolsync.1 lacks import's --help"
if command -v man >/dev/null; then
	w=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$man1" 2>&1 >/dev/null | grep -v '^$' || true)
	[ -z "$w" ] || bad "man warnings: $w"
fi
# completion, without bash-completion's helpers
out=$(PATH="$BIN:$PATH" bash -c '
	source "$1/dist/schoolsync.bash"
	t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _schoolsync; echo "${COMPREPLY[*]}"; }
	t schoolsync sy; t schoolsync import --pro; t schoolsync teacher ""; t schoolsync export te' _ "$SRC")
[ "$(sed -n 1p <<<"$out")" = "sync" ] || bad "commands: $(sed -n 1p <<<"$out")"
[ "$(sed -n 2p <<<"$out")" = "--progress" ] || bad "options: $(sed -n 2p <<<"$out")"
[ "$(sed -n 3p <<<"$out")" = "add edit delete list show" ] || bad "subcommands: $(sed -n 3p <<<"$out")"
[ "$(sed -n 4p <<<"$out")" = "teacher" ] || bad "tables: $(sed -n 4p <<<"$out")"
[ $fail -eq 0 ] && echo "man pages and completion ok"
exit $fail
