#!/usr/bin/env bash
# Write the message template of everything schoolsync says to people:
#   cli/*.c            _(), N_(), cli_usage() formats
#   src/**/*.c         the formats of ssync_error_set() and ssync_error_hint()
#                      (shown translated by the CLI, ssync_error_localize)
#   error.h            the generic hint of each code
# Usage: tools/po_pot.sh SOURCE_DIR OUT.pot  (check_po.sh and po_update.sh use it)
set -euo pipefail
SRC=${1:?usage: po_pot.sh SOURCE_DIR OUT.pot}
OUT=${2:?usage: po_pot.sh SOURCE_DIR OUT.pot}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# The table's last quoted string of each X(...) row is its hint.
sed -n 's/^[[:space:]]*X(.*"\([^"]*\)")[[:space:]]*\\\{0,1\}$/N_("\1")/p' "$SRC/include/schoolsync/error.h" |
	grep -v '^N_("")$' >"$T/error_hints.c"
cd "$SRC"
xgettext --from-code=UTF-8 --no-location --sort-output \
	--keyword=_ --keyword=N_ --keyword=cli_usage:3 --flag=cli_usage:3:c-format \
	--keyword=ssync_error_set:3 --flag=ssync_error_set:3:c-format \
	--keyword=ssync_error_hint:2 --flag=ssync_error_hint:2:c-format \
	--keyword=ssync_error__reason:3 --flag=ssync_error__reason:3:c-format \
	--keyword=reason_fail:3 --flag=reason_fail:3:c-format --keyword=BAD:3 --flag=BAD:3:c-format \
	--package-name=schoolsync -o "$OUT" cli/*.c src/*/*.c "$T/error_hints.c"
