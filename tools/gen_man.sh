#!/bin/sh
# Man pages from the one source people also read: each program's --help.
# schoolsync.1 holds the global help and every command's --help (the same
# texts, verbatim); schoolsyncd.8 the daemon's. Run by the build (CMake) so
# the pages cannot drift from the programs. English (LC_ALL=C): the Chinese
# texts are what `LANG=zh_CN.UTF-8 schoolsync CMD --help` prints.
# Usage: tools/gen_man.sh SCHOOLSYNC SCHOOLSYNCD OUTDIR VERSION
set -eu
CLI=$1 DAEMON=$2 OUT=$3 VERSION=${4:-0.1.0}
mkdir -p "$OUT"
export LC_ALL=C LANGUAGE= LANG=C
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# roff: backslashes as \e, a leading . or ' made literal
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d 2>/dev/null || date -u +%Y-%m-%d)
{
	printf '.TH SCHOOLSYNC 1 "%s" "schoolsync %s" "User Commands"\n' "$date" "$VERSION"
	printf '.SH NAME\nschoolsync \\- offline-first sync of a school district'"'"'s data\n'
	printf '.SH SYNOPSIS\n.B schoolsync\n[\\-\\-home DIR] [\\-\\-json] [\\-\\-utc] COMMAND [ARGS...]\n'
	printf '.SH DESCRIPTION\n.nf\n'
	"$CLI" --help | esc
	printf '.fi\n.SH COMMANDS\n'
	"$CLI" --help | sed -n '/^Commands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | while read -r c; do
		printf '.SS %s\n.nf\n' "$c"
		"$CLI" --home "$home/none" "$c" --help 2>&1 | esc
		printf '.fi\n'
	done
	printf '.SH ENVIRONMENT\n.TP\n.B SCHOOLSYNC_HOME\nthe node'"'"'s home when \\-\\-home is not given\n'
	printf '.TP\n.B SCHOOLSYNC_ACTOR\nwho writes, recorded in every entry (else "actor" in HOME/config.json, else the login name)\n'
	printf '.TP\n.B LANG, LANGUAGE\nzh_CN shows messages, help and table headers in Chinese\n'
	printf '.TP\n.B TZ\nthe time zone times are shown in (\\-\\-utc for UTC)\n'
	printf '.SH EXIT STATUS\n0 ok, 1 error, 2 usage, 3 sync done with entries quarantined or held, 130 interrupted (Ctrl-C).\n'
	printf '.SH SEE ALSO\n.BR schoolsyncd (8);\ndocs/OPERATIONS.md, docs/DATA.md, docs/TRUST.md\n'
} >"$OUT/schoolsync.1"
{
	printf '.TH SCHOOLSYNCD 8 "%s" "schoolsync %s" "System Administration"\n' "$date" "$VERSION"
	printf '.SH NAME\nschoolsyncd \\- keep a schoolsync node in sync\n'
	printf '.SH DESCRIPTION\n.nf\n'
	"$DAEMON" --help 2>&1 | esc
	printf '.fi\n.SH SEE ALSO\n.BR schoolsync (1)\n'
} >"$OUT/schoolsyncd.8"
