#!/usr/bin/env bash
# The Chinese catalogue covers every message people read: tools/po_pot.sh
# collects the CLI's _()/N_()/cli_usage() strings, the library's error and
# hint formats and error.h's hints; each must have a non-empty translation
# in po/zh_CN.po (msgcmp, msgattrib) whose conversions match the English
# (msgfmt --check). Skips (77) without gettext.
set -euo pipefail
SRC=${1:?usage: check_po.sh SOURCE_DIR}
for t in xgettext msgcmp msgattrib msgfmt; do command -v "$t" >/dev/null || { echo "no $t: skipped"; exit 77; }; done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bash "$SRC/tools/po_pot.sh" "$SRC" "$T/schoolsync.pot"
if ! msgcmp "$SRC/po/zh_CN.po" "$T/schoolsync.pot"; then
	echo "FAIL: po/zh_CN.po lacks messages (above): run tools/po_update.sh; add their translations" >&2
	exit 1
fi
if msgattrib --untranslated --no-obsolete "$SRC/po/zh_CN.po" | grep -q '^msgid'; then
	echo "FAIL: untranslated entries in po/zh_CN.po:" >&2
	msgattrib --untranslated --no-obsolete "$SRC/po/zh_CN.po" >&2
	exit 1
fi
msgfmt --check -o /dev/null "$SRC/po/zh_CN.po"
echo "po/zh_CN.po covers all $(grep -c '^msgid ' "$T/schoolsync.pot") messages (header included)"
