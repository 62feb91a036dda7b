#!/usr/bin/env bash
# Merge new messages into po/zh_CN.po (then translate the entries msgattrib
# --untranslated lists; tests/check_po.sh fails until every one is).
# tools/po_fill.py fills empty entries from a JSON map {msgid: msgstr};
# run this script again afterwards to re-wrap the file.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bash "$SRC/tools/po_pot.sh" "$SRC" "$T/schoolsync.pot"
msgmerge --quiet --no-fuzzy-matching --no-location --sort-output -U --backup=off "$SRC/po/zh_CN.po" "$T/schoolsync.pot"
# drop what no source says any more; keep gettext's own line wrapping, so
# hand edits and this script give the same file
msgattrib --no-obsolete --sort-output -o "$SRC/po/zh_CN.po" "$SRC/po/zh_CN.po"
echo "untranslated: $(msgattrib --untranslated --no-obsolete "$SRC/po/zh_CN.po" | grep -c '^msgid ' || true)"
