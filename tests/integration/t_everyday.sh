#!/usr/bin/env bash
# Everyday use by clerks, the hub and auditors (issue 16): status shows the
# other schools and the trust state, join refuses a district mismatch,
# edit/delete/resolve, audit history by natural id, Chinese CSV encodings.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp
ok() { PASS=$((PASS + 1)); }
bad() { fail "$*"; }
# expect CODE DESCRIPTION -- command...
expect() {
	local want=$1 what=$2
	shift 3
	set +e
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	set -e
	if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; cat "$T/out" "$T/err" >&2; fi
}
contains() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; head -20 "$1" >&2; fi; }
lacks() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' in $(basename "$1")"; else ok; fi; }
json() { "$PY" -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)" && ok || { bad "json: $1"; head -c 800 "$T/out" >&2; }; }
S() { local h=$1; shift; "$SSYNC_BIN" --home "$T/$h" "$@"; }

git init -q --bare "$T/hub.git"
expect 0 "hub init" -- S hub init --node hub --district d1
expect 0 "district init" -- S hub --json district init --id d1 --name 崇明区 --root-key "$T/root.key"
RK=$("$PY" -c "import json; print(json.load(open('$T/out'))['root_pubkey'])")
expect 0 "hub remote" -- S hub remote add origin "$T/hub.git"
expect 0 "zone" -- S hub zone add --id z1 --name 城桥
expect 0 "school" -- S hub school add --id cm-001 --name 城桥中学 --zone-id z1 --stage middle --students 900

# --- status: other nodes, managed/enrolled (1) ---
expect 0 "school init" -- S a --json init --node sch-a --district d1
PK=$("$PY" -c "import json; print(json.load(open('$T/out'))['pubkey'])")
expect 0 "status unmanaged" -- S a status
contains "$T/out" "UNMANAGED" "status says unmanaged"
expect 0 "join" -- S a join --district d1 --district-pubkey "$RK"
expect 0 "enroll" -- S hub district enroll sch-a --role school --school cm-001 --pubkey "$PK" --root-key "$T/root.key"
expect 0 "status hub json" -- S hub --json status
json "d['node']['managed'] and d['node']['enrolled'] and d['node']['role'] == 'hub'"
json "[n['node'] for n in d['node']['nodes']] == ['sch-a'] and d['node']['nodes'][0]['last_received'] is None and d['node']['nodes'][0]['school'] == 'cm-001'"
expect 0 "hub sync" -- S hub sync
expect 0 "a remote" -- S a remote add origin "$T/hub.git"
expect 0 "a sync" -- S a sync
expect 0 "status a json" -- S a --json status
json "d['node']['managed'] and d['node']['enrolled'] and d['node']['role'] == 'school' and d['node']['school'] == 'cm-001'"
json "[n['node'] for n in d['node']['nodes']] == ['hub'] and d['node']['nodes'][0]['last_received'].endswith('Z') and d['node']['nodes'][0]['last_seq'] >= 1"
expect 0 "status a local time" -- env TZ=Asia/Shanghai "$SSYNC_BIN" --home "$T/a" status
contains "$T/out" "CST" "status shows local time"
contains "$T/out" "role school, school cm-001" "status shows role"
expect 0 "status a --utc" -- env TZ=Asia/Shanghai "$SSYNC_BIN" --home "$T/a" --utc status
contains "$T/out" "UTC" "--utc shows UTC"

# --- join refuses a district mismatch (5) ---
expect 0 "b init default" -- S b init --node sch-b
expect 1 "join without district on a default node" -- S b join --district-pubkey "$RK"
contains "$T/err" "created without --district" "join says why"
expect 0 "c init d2" -- S c init --node sch-c --district d2
expect 1 "join d1 on a d2 node" -- S c join --district d1 --district-pubkey "$RK"
contains "$T/err" "init --node sch-c --district d1" "join gives the exact fix"

# --- edit, delete, list filters, resolve (2) --- unmanaged pair u1 (hub data) and u2
git init -q --bare "$T/u.git"
for h in u1 u2; do expect 0 "$h init" -- S $h init --node $h --district d9; expect 0 "$h remote" -- S $h remote add r "$T/u.git"; done
expect 0 "zone" -- S u1 zone add --id z1 --name 城桥
expect 0 "school" -- S u1 school add --id cm-001 --name 城桥中学 --zone-id z1 --stage 初中 --students 900
expect 0 "teacher 1" -- S u1 teacher add --school cm-001 --staff-no CM0001 --name 王芳 --subject 语文 --title 高级 --birth-year 1980 --joined-year 2005
expect 0 "teacher 2" -- S u1 teacher add --school cm-001 --staff-no CM0002 --name 李雷 --subject 数学 --title 中级 --birth-year 1985 --joined-year 2008
expect 0 "teacher help" -- S u1 teacher --help
contains "$T/out" "teacher edit ID|STAFF_NO" "help shows edit"
contains "$T/out" "--actor NAME" "help shows --actor"
contains "$T/out" "(default: this node's school)" "--school is defaulted, not required"
expect 0 "zone help" -- S u1 zone --help
contains "$T/out" "--id CODE        the zone's code (required)" "zone --id required"
expect 1 "edit refuses a bad title" -- S u1 teacher edit CM0001 --title 副高
contains "$T/err" "is not one of 初级, 中级, 高级, 正高级" "edit lists allowed values"
expect 1 "edit refuses a taken staff number" -- S u1 teacher edit CM0001 --staff-no CM0002
contains "$T/err" "already teacher" "edit checks uniqueness"
expect 0 "edit by staff number" -- S u1 --json teacher edit CM0001 --title 正高级 --subject 物理
json "d['result'] == 'updated' and d['id'].startswith('cm-001-')"
expect 0 "edit keeps its own staff number" -- S u1 teacher edit CM0001 --staff-no CM0001
contains "$T/out" "unchanged" "same value: no entry"
expect 0 "list two filters" -- S u1 --json teacher list --school cm-001 --title 正高级
json "len(d) == 1 and d[0]['staff_no'] == 'CM0001' and d[0]['subject'] == '物理'"
expect 0 "list filter alias" -- S u1 --json school list --stage 初中
json "len(d) == 1"
expect 1 "delete a referred row" -- S u1 zone delete z1
contains "$T/err" "still referred to by school" "delete names the referring rows"
expect 1 "edit unknown" -- S u1 teacher edit CM9999 --title 中级
contains "$T/err" "no teacher" "edit unknown id"
expect 0 "delete" -- S u1 teacher delete CM0002
expect 0 "list after delete" -- S u1 --json teacher list
json "len(d) == 1"
expect 0 "u1 sync" -- S u1 sync
expect 0 "u2 sync" -- S u2 sync
# a conflict: both edit the subject offline, then exchange
expect 0 "u1 edit" -- S u1 teacher edit CM0001 --subject 化学
expect 0 "u2 edit" -- S u2 teacher edit CM0001 --subject 生物
for h in u1 u2 u1; do expect 0 "sync $h" -- S $h sync; done
expect 0 "conflicts" -- S u2 --json conflicts
json "len(d) == 1 and d[0]['column'] == 'subject'"
WIN=$("$PY" -c "import json; d=json.load(open('$T/out')); print([v['node']+'#'+str(v['seq']) for v in d[0]['versions'] if v['winner']][0])")
SHOWN=$("$PY" -c "import json; d=json.load(open('$T/out')); print([v['value'] for v in d[0]['versions'] if v['winner']][0])")
expect 0 "conflicts help names resolve" -- S u2 conflicts --help
contains "$T/out" "schoolsync resolve" "conflicts help"
expect 1 "resolve unknown version" -- S u2 resolve teacher CM0001 subject --pick nobody#1
contains "$T/err" "has no version nobody#1" "resolve lists the versions"
expect 2 "resolve needs one choice" -- S u2 resolve teacher CM0001 subject
expect 1 "resolve validates --value" -- S u2 resolve teacher CM0001 title --value 副高
H0=$(S u2 log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect 0 "resolve keeps the shown value" -- S u2 resolve teacher CM0001 subject --pick "$WIN"
H1=$(S u2 log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$H1" -eq $((H0 + 1)) ] && ok || bad "resolve wrote $((H1 - H0)) entries, wanted 1"
expect 0 "no conflicts left" -- S u2 --json conflicts
json "d == []"
for h in u2 u1; do expect 0 "sync $h" -- S $h sync; done
expect 0 "u1 conflicts" -- S u1 --json conflicts
json "d == []"
expect 0 "u1 value" -- S u1 --json teacher show CM0001
json "d['subject'] == '$SHOWN'"

# --- audit history by the key a clerk knows, --column, names, local time (3) ---
expect 0 "history by staff number" -- env TZ=Asia/Shanghai "$SSYNC_BIN" --home "$T/u1" audit history teacher CM0001
contains "$T/out" "(王芳)" "history names the record"
contains "$T/out" "CST" "history in local time"
contains "$T/out" '"cm-001" (城桥中学)' "history names referenced rows"
expect 0 "history --column" -- S u1 --json audit history teacher CM0001 --column subject
json "len(d) >= 4 and all(c['column'] == 'subject' for c in d) and all(c['time'].endswith('Z') for c in d)"
expect 0 "history by Chinese column label" -- S u1 --json audit history teacher CM0001 --column 学科
json "len(d) >= 4 and all(c['column'] == 'subject' for c in d)"
json "all(c['signature'] == 'ok' for c in d)"
# history checks each signature again when read: a signature changed in a
# copy of the replica shows as bad there (the web console's History page too)
cp -a "$T/u1" "$T/u1x"
"$PY" - "$T/u1x/replica.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
node, seq, sig = db.execute("SELECT node, seq, sig FROM ssync_entry WHERE instr(body, 'CM0001') > 0 ORDER BY hlc LIMIT 1").fetchone()
db.execute("UPDATE ssync_entry SET sig=? WHERE node=? AND seq=?", (bytes([sig[0] ^ 1]) + sig[1:], node, seq))
db.commit()
PYEOF
expect 0 "history of a copy with one signature changed" -- S u1x --json audit history teacher CM0001
json "sum(c['signature'] == 'bad' for c in d) >= 1 and any(c['signature'] == 'ok' for c in d)"
rm -rf "$T/u1x"
expect 1 "history of an unknown key" -- S u1 audit history teacher CM7777
contains "$T/err" "no history of teacher 'CM7777'" "unknown key says so"
expect 2 "history of an unknown column" -- S u1 audit history teacher CM0001 --column colour
expect 0 "history by school code" -- S u1 --json audit history school cm-001
json "any(c['column'] == 'name' and c['new'] == '城桥中学' for c in d)"
expect 0 "school 2" -- S u1 school add --id cm-002 --name 堡镇小学 --zone-id z1 --stage primary --students 150
expect 0 "rotation" -- S u1 rotation propose --teacher-id "$(S u1 --json teacher show CM0001 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')" --to-school cm-002 --kind 支教 --term 2026-1
expect 0 "rotation list names" -- S u1 rotation list
contains "$T/out" "王芳 -> 堡镇小学" "rotation list shows who goes where"
# a conflict listing names the record
expect 0 "u1 edit 2" -- S u1 teacher edit CM0001 --subject 历史
expect 0 "u2 edit 2" -- S u2 teacher edit CM0001 --subject 地理
for h in u1 u2 u1; do expect 0 "sync $h" -- S $h sync; done
expect 0 "conflicts text" -- env TZ=Asia/Shanghai "$SSYNC_BIN" --home "$T/u1" conflicts
contains "$T/out" "(王芳) .subject" "conflicts name the record"
contains "$T/out" "CST" "conflicts in local time"

# --- Chinese Excel CSV: GB18030/GBK detected, mojibake refused, --bom (4) ---
printf 'id,name\nz-x,\xd1\xa7\xcb\xbc\n' >"$T/gbk_valid_utf8.csv"   # 学思 in GBK: valid UTF-8 bytes
expect 0 "import GBK that is valid UTF-8" -- S u1 --json import zone "$T/gbk_valid_utf8.csv"
json "d['encoding'] == 'gb18030' and d['inserted'] == 1"
expect 0 "stored as 学思" -- S u1 --json zone show z-x
json "d['name'] == '学思'"
printf '工号,姓名,职称,出生年份,入校年份\nCM0201,欧阳晓燕,高级,1980,2001\n' | iconv -f UTF-8 -t GB18030 >"$T/gbk.csv"
expect 0 "import GBK with Chinese headers" -- S u1 import teacher "$T/gbk.csv" --school cm-001
contains "$T/out" "from gb18030" "import says the encoding"
printf 'id,name\nz-y,\xd1\xa7\xcb\xbc\xe9\xab\x98\xe7\xba\xa7\n' >"$T/mixed.csv"
expect 1 "ambiguous file refused" -- S u1 import zone "$T/mixed.csv"
contains "$T/err" "--encoding" "ambiguous file asks for --encoding"
expect 1 "GBK declared UTF-8" -- S u1 import teacher "$T/gbk.csv" --school cm-001 --encoding utf-8
contains "$T/err" "not valid UTF-8" "declared encoding checked"
expect 0 "report csv bom" -- S u1 report rotation --csv --bom
"$PY" -c "import sys; sys.exit(0 if open('$T/out','rb').read(3) == b'\xef\xbb\xbf' else 1)" && ok || bad "report --bom"
expect 0 "export bom" -- S u1 export zone --bom
"$PY" -c "import sys; sys.exit(0 if open('$T/out','rb').read(3) == b'\xef\xbb\xbf' else 1)" && ok || bad "export --bom"

# --- smaller items (6) ---
D=$(dirname "$SSYNC_BIN")/schoolsyncd
printf '{"actor": "教务处 王老师", "sync_intervall_s": 60}\n' >"$T/u1/config.json"
expect 1 "check-config refuses a misspelt key" -- "$D" --home "$T/u1" --check-config
contains "$T/err" 'did you mean "sync_interval_s"' "check-config names the closest key"
printf '{"actor": "教务处 王老师", "sync_interval_s": 60}\n' >"$T/u1/config.json"
expect 0 "check-config accepts actor" -- "$D" --home "$T/u1" --check-config
expect 0 "write with the configured actor" -- env -u SCHOOLSYNC_ACTOR "$SSYNC_BIN" --home "$T/u1" zone add --id z-actor --name 测试
expect 0 "history shows it" -- S u1 --json audit history zone z-actor --column name
json "d[0]['actor'] == '教务处 王老师'"
expect 0 "--actor wins" -- S u1 zone edit z-actor --name 测试二 --actor 李老师
expect 0 "history" -- S u1 --json audit history zone z-actor --column name
json "d[-1]['actor'] == '李老师'"
expect 0 "sync on an unmanaged node" -- S u1 sync
contains "$T/err" "UNMANAGED" "sync warns when unmanaged"
mkdir -p "$T/rel"
git init -q --bare "$T/rel/r.git"
expect 0 "relative remote path" -- bash -c "cd '$T/rel' && '$SSYNC_BIN' --home '$T/u1' remote add rel r.git"
contains "$T/out" "$T/rel/r.git" "relative path stored absolute"
expect 0 "sync with it" -- S u1 sync --remote rel
mkdir -p "$T/notarepo"
expect 0 "remote to a plain directory" -- S u1 remote add plain "$T/notarepo"
expect 1 "sync refuses a directory that is not a repository" -- S u1 sync --remote plain
contains "$T/err" "is not a git repository" "not a repository"
[ -z "$(ls -A "$T/notarepo")" ] && ok || bad "nothing written into the plain directory"
if [ -d /mnt ] && [ -w /mnt ] && ! mountpoint -q /mnt; then
	MP=$(mktemp -d /mnt/ssync-usb.XXXXXX)
	expect 0 "remote on an unmounted stick" -- S u1 remote add usb "$MP/district.git"
	expect 1 "sync refuses an unmounted stick" -- S u1 sync --remote usb
	contains "$T/err" "nothing is mounted at $MP" "unmounted stick named"
	[ ! -e "$MP/district.git" ] && ok || bad "nothing created on the local disk"
	rmdir "$MP"
fi

# --- Chinese messages (gettext, po/zh_CN.po) ---
expect 0 "zh add" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --home "$T/u1" zone add --id z-zh --name 中文
contains "$T/out" "已添加" "LANG=zh_CN.UTF-8 speaks Chinese"
expect 1 "zh error" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --home "$T/u1" teacher edit CM0001 --title 副高
contains "$T/err" "错误" "errors in Chinese"
contains "$T/err" "“副高”不是" "a domain check's reason in Chinese inside the message"
expect 0 "zh help" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --help
contains "$T/out" "学区数据的离线优先同步" "help in Chinese"
expect 0 "en add" -- env LANG=C.UTF-8 "$SSYNC_BIN" --home "$T/u1" zone add --id z-en --name 英文
contains "$T/out" "added" "other languages: English"
expect 0 "zh json unchanged" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --home "$T/u1" --json zone add --id z-zj --name 中
json "d['result'] == 'added'"
expect 0 "zh command help" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" teacher --help
contains "$T/out" "用法：schoolsync teacher add" "a command's long --help in Chinese"
expect 1 "zh library message" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --home "$T/nothing-here" status
contains "$T/err" "中没有节点" "a library error message in Chinese"
contains "$T/err" "提示：创建方法" "its hint in Chinese"
expect 0 "zh table headers" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --home "$T/u1" remote list
contains "$T/out" "名称" "table headers in Chinese"
expect 1 "en library message" -- env LANG=C.UTF-8 "$SSYNC_BIN" --home "$T/nothing-here" status
contains "$T/err" "no node in" "English elsewhere"
expect 1 "zh json error stays English" -- env LANG=zh_CN.UTF-8 "$SSYNC_BIN" --home "$T/nothing-here" --json status
contains "$T/err" '"code":"E_NOTFOUND"' "JSON error object"
contains "$T/err" "no node in" "JSON messages are not translated"

# --- another OS user (the tests run as root): E_PERM, whose home ---
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
	P=$(mktemp -d /tmp/ssync-perm.XXXXXX)
	chmod 755 "$P"
	git init -q --bare "$P/root-remote.git"
	install -d -o nobody "$P/nb"
	N() { runuser -u nobody -- "$SSYNC_BIN" --home "$P/nb/home" "$@"; }
	expect 0 "nobody's node" -- N init --node cm-001
	expect 0 "nobody writes" -- N zone add --id zp --name 权限
	expect 0 "a remote nobody may not write" -- N remote add hub "$P/root-remote.git"
	expect 1 "sync to it: E_PERM, not E_NET" -- N sync
	contains "$T/err" "Permission denied [E_PERM]" "permission denied is E_PERM"
	contains "$T/err" "the sync runs as uid" "names the fix"
	expect 1 "root on nobody's home" -- "$SSYNC_BIN" --home "$P/nb/home" status
	contains "$T/err" "runuser -u nobody" "root is told to run as the owner"
	install -d -m 755 "$P/rh"
	expect 0 "a home made by root" -- "$SSYNC_BIN" --home "$P/rh/home" init --node cm-002
	chmod 755 "$P/rh/home"
	expect 1 "nobody on root's home" -- runuser -u nobody -- "$SSYNC_BIN" --home "$P/rh/home" status
	contains "$T/err" "sudo chown -R nobody: $P/rh/home" "the owner fix, not 'run as root'"
	lacks "$T/err" "run schoolsync as the home's owner (uid 0)" "never suggests running as root"
	rm -rf "$P"
else
	echo "skipped: the other-OS-user checks need root, runuser and user nobody" >&2
fi

# --- sql writes are checked like add/edit/delete (not the tests' default) ---
Q() { env -u SCHOOLSYNC_SQL_UNCHECKED "$SSYNC_BIN" --home "$T/u1" "$@"; }
expect 1 "sql title 副高 refused" -- Q sql "UPDATE teacher SET title='副高'"
contains "$T/err" "is not one of" "sql names the bad value"
contains "$T/err" "nothing was written" "sql says nothing was written"
expect 0 "no 副高 stored" -- Q --json sql "SELECT count(*) AS n FROM teacher WHERE title='副高'"
json "d[0]['n'] == 0"
expect 1 "sql delete of a referred school refused" -- Q sql "DELETE FROM school WHERE id='cm-001'"
contains "$T/err" "still referred to" "delete rule"
expect 1 "sql insert of a dangling reference refused" -- Q sql "INSERT INTO teacher(id,school_id,staff_no,name,subject,title,birth_year,joined_year) VALUES ('cm-001-zz','cm-001','ZZ1','赵','语文','中级',1980,2005), ('cm-009-zz','cm-009','ZZ2','钱','语文','中级',1980,2005)"
contains "$T/err" "cm-009" "the dangling row named"
expect 0 "a valid sql write passes" -- Q sql "UPDATE teacher SET title='高级' WHERE staff_no='CM0001'"
expect 0 "--unchecked writes it" -- Q sql --unchecked "UPDATE teacher SET title='副高' WHERE staff_no='CM0001'"
expect 1 "check then finds it" -- Q check
contains "$T/out" "副高" "check names the value"
expect 0 "put it back" -- Q sql "UPDATE teacher SET title='高级' WHERE staff_no='CM0001'"

summary
