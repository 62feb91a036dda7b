#!/usr/bin/env bash
# The web console in a real browser (issue 17): Debian's Chromium, headless,
# driven by puppeteer-core (tests/browser/console.test.js) against a real
# schoolsyncd serving the console. Two nodes make a conflict through a hub
# first; the browser then logs in with the link of `schoolsync web --json`,
# adds/edits a teacher (with a validation error), imports GB18030 CSVs,
# resolves the conflict, presses "sync now", opens a report and a history,
# and measures page load times. Screenshots: $SSYNC_BUILD/tests/browser/shots.
# Exit 77 (skipped, with the reason) without chromium, node or the npm
# packages: tools/deps.sh test installs all three.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
: "${SSYNC_DAEMON:=$(dirname "$SSYNC_BIN")/schoolsyncd}"
BROWSER_DIR=$SSYNC_SRC/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
skip() { echo "skipped: $*"; exit 77; }
[ -x "$CHROMIUM" ] || skip "no $CHROMIUM (bash tools/deps.sh test installs chromium)"
command -v node >/dev/null || skip "no node (bash tools/deps.sh test installs nodejs)"
[ -d "$BROWSER_DIR/node_modules/puppeteer-core" ] ||
	skip "no $BROWSER_DIR/node_modules (bash tools/deps.sh test runs npm ci there)"
[ -x "$SSYNC_DAEMON" ] || { echo "no schoolsyncd at $SSYNC_DAEMON" >&2; exit 2; }
setup_tmp

# --- two nodes and a hub; a conflict on teacher CM0001's subject ---------------
new_hub "$T/hub.git"
mk_node a sch-a hub "$T/hub.git"
mk_node b sch-b hub "$T/hub.git"
ssx a zone add --id z1 --name 城桥 >/dev/null
ssx a school add --id cm-001 --name 城桥中学 --zone-id z1 --stage 初中 --students 900 >/dev/null
ssx a school add --id cm-002 --name 堡镇小学 --zone-id z1 --stage 小学 --students 300 >/dev/null
ssx a teacher add --school cm-001 --staff-no CM0001 --name 王芳 --subject 语文 --title 高级 \
	--birth-year 1980 --joined-year 2005 >/dev/null
TID=$(ssx a --json teacher show CM0001 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ssx a rotation propose --teacher-id "$TID" --to-school cm-002 --kind 支教 --term 2026-1 >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null
ssx a teacher edit CM0001 --subject 化学 >/dev/null
ssx b teacher edit CM0001 --subject 生物 >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null
sync_ok a >/dev/null
assert_eq "a conflict made through the hub" 1 "$(ssx a --json conflicts | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# 5,000 teachers for the list figure (one import: a few signed entries)
"$PY" - "$T/big.csv" <<'EOF'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("school_id,工号,姓名,学科,职称,出生年份,入校年份\n")
    for i in range(4996):
        f.write("cm-002,B%05d,测试教师%d,语文,中级,1980,2005\n" % (i, i))
EOF
ssx a import teacher "$T/big.csv" >/dev/null

# a venue two schools use in turn (the week view), on Wednesday 2026-12-09
ssx a resource add --school cm-001 --name 体育馆 --kind 场馆 --open-days 1234567 --open-from 07:00 --open-to 21:00 --shared yes >/dev/null
RID=$(ssx a --json resource list | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
ssx a booking add --school cm-001 --resource-id "$RID" --day 2026-12-09 --from-time 08:00 --to-time 10:00 --people 40 >/dev/null
ssx a booking add --school cm-002 --resource-id "$RID" --day 2026-12-09 --from-time 10:00 --to-time 12:00 --people 30 >/dev/null

# Excel-on-Chinese-Windows files: GB18030, Chinese headers; line 3 is bad
"$PY" - "$T/bad.csv" "$T/good.csv" <<'EOF'
import sys
head = "school_id,工号,姓名,学科,职称,出生年份,入校年份\r\n"
bad = head + "cm-001,GB0001,诸葛明亮,历史,中级,1979,2003\r\n" \
           + "cm-001,GB0002,上官婉儿,地理,副高,1983,2010\r\n" \
           + "cm-001,GB0003,东方朔,音乐,初级,1990,2015\r\n"
good = head + "cm-001,GB0011,司马光明,历史,中级,1979,2003\r\n" \
            + "cm-001,GB0012,欧阳修远,地理,高级,1983,2010\r\n"
open(sys.argv[1], "wb").write(bad.encode("gb18030"))
open(sys.argv[2], "wb").write(good.encode("gb18030"))
EOF

# a second remote that nobody answers: Home shows its failure and next try
ssx a remote add school-c "http://127.0.0.1:$(closed_port)/c.git" >/dev/null

# --- the daemon with the console; no round of its own while the browser works
# (school-c, failed once, waits 10 minutes before it tries again)
cat >"$T/a/config.json" <<'EOF'
{ "sync_interval_s": 86400, "debounce_s": 3600, "backoff_base_s": 600, "web": { "port": 0 } }
EOF
_spawn "$T/daemon.log" "$SSYNC_DAEMON" --home "$T/a"
DPID=$LAST_PID
for _ in $(seq 1 200); do [ -S "$T/a/control.sock" ] && break; kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
[ -S "$T/a/control.sock" ] || { cat "$T/daemon.log" >&2; fail "daemon did not start"; summary; }

ss a --json web --user 教务处李老师
assert_eq "schoolsync web --json" 0 "$RC"
LOGIN=$(jget "$OUT" 'j["url"]')
PORT=$(jget "$OUT" 'j["port"]')
assert_contains "the login link is loopback with a token" '^http://127\.0\.0\.1:[0-9]+/login\?t=' "$LOGIN"

# --- a school of a district (role "school"): the columns its role may not
# write are read-only in the forms. Its console is served by `schoolsync
# web` in the foreground (no daemon on this home).
git init -q --bare "$T/d1.git"
ssx d1hub init --node hub --district d1 >/dev/null
RK=$(ssx d1hub --json district init --id d1 --name 崇明区 --root-key "$T/root.key" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["root_pubkey"])')
ssx d1hub remote add origin "$T/d1.git" >/dev/null
ssx d1hub zone add --id z1 --name 城桥 >/dev/null
ssx d1hub school add --id cm-001 --name 城桥中学 --zone-id z1 --stage 初中 --students 900 >/dev/null
PK=$(ssx s --json init --node sch-s --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx s join --district d1 --district-pubkey "$RK" >/dev/null
ssx d1hub district enroll sch-s --role school --school cm-001 --pubkey "$PK" --root-key "$T/root.key" >/dev/null
sync_ok d1hub >/dev/null
ssx s remote add origin "$T/d1.git" >/dev/null
sync_ok s >/dev/null
_spawn "$T/sweb.json" "$SSYNC_BIN" --home "$T/s" --json web --user 城桥中学教务
for _ in $(seq 1 200); do grep -q '"port"' "$T/sweb.json" 2>/dev/null && break; sleep 0.05; done
SLOGIN=$("$PY" -c 'import json,re,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):t.rindex("}")+1])["url"])' "$T/sweb.json" 2>/dev/null || true)
assert_contains "schoolsync web in the foreground prints a link" '^http://127\.0\.0\.1:[0-9]+/login\?t=' "$SLOGIN"

SHOTS=${SSYNC_BUILD:-$T}/tests/browser/shots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
RC=0
SSYNC_BIN=$SSYNC_BIN WEB_HOME=$T/a WEB_BASE=http://127.0.0.1:$PORT WEB_LOGIN=$LOGIN \
	WEB_SCHOOL=cm-001 WEB_TAKEN=CM0001 WEB_BAD_CSV=$T/bad.csv WEB_GOOD_CSV=$T/good.csv \
	WEB_SHOTS=$SHOTS WEB_SCHOOL_LOGIN=$SLOGIN CHROMIUM=$CHROMIUM NODE_PATH=$BROWSER_DIR/node_modules \
	timeout -k 5 240 node "$BROWSER_DIR/console.test.js" >"$T/browser.out" 2>&1 || RC=$?
sed 's/^/  browser: /' "$T/browser.out"
assert_eq "the browser test passed (browser: lines above)" 0 "$RC"

# what the browser did is what the CLI would have done: signed entries by the web user
if grep -q '^ok   add a teacher with a Chinese name' "$T/browser.out"; then
	assert_contains "web writes are recorded as the logged-in user" '教务处李老师' \
		"$(ssx a --json audit history teacher WEB0001)"
fi
assert_ok "the replica verifies after the web's writes" a verify
# what the browser resolved (and wrote) and sync now sent reaches the other school
if grep -q '^ok   sync now: a round ran' "$T/browser.out"; then
	sync_ok b >/dev/null
	assert_eq "the resolution reached the other school (no conflict on b)" 0 \
		"$(ssx b --json conflicts | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
	assert_eq "both schools hold the same data after the web's writes" "$(state_hash a)" "$(state_hash b)"
fi
if ! kill -0 "$DPID" 2>/dev/null; then fail "the daemon died" "$(tail -20 "$T/daemon.log")"; fi
summary
