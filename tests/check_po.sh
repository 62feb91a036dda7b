#!/usr/bin/env bash
# The Chinese catalogue covers every message of the CLI: xgettext collects
# the _() and N_() strings of cli/*.c, and each must have a non-empty
# translation in po/zh_CN.po (msgcmp, msgattrib). Skips (77) without gettext.
set -euo pipefail
SRC=${1:?usage: check_po.sh SOURCE_DIR}
for t in xgettext msgcmp msgattrib; do command -v "$t" >/dev/null || { echo "no $t: skipped"; exit 77; }; done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
(cd "$SRC" && xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ -o "$T/schoolsync.pot" cli/*.c)
if ! msgcmp "$SRC/po/zh_CN.po" "$T/schoolsync.pot"; then
	echo "FAIL: po/zh_CN.po lacks messages of cli/ (above); add their translations" >&2
	exit 1
fi
if msgattrib --untranslated --no-obsolete "$SRC/po/zh_CN.po" | grep -q '^msgid'; then
	echo "FAIL: untranslated entries in po/zh_CN.po:" >&2
	msgattrib --untranslated --no-obsolete "$SRC/po/zh_CN.po" >&2
	exit 1
fi
echo "po/zh_CN.po covers all $(grep -c '^msgid ' "$T/schoolsync.pot") messages of cli/ (header included)"
