#!/usr/bin/env bash
# The web console's server (docs/WEB.md) against a real daemon: login by
# one-time token, sessions, CSRF, body limits, loopback only, the pages'
# security headers, and the JSON API writing exactly what the CLI writes.
# HTTP from python3's http.client (tests/integration/web_http.py).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp
: "${SSYNC_DAEMON:=$(dirname "$SSYNC_BIN")/schoolsyncd}"
WH=$SSYNC_SRC/tests/integration/web_http.py

# req JAR METHOD PATH [web_http.py args...]: sets HS (status) and HB (body)
req() {
	local jar=$1 m=$2 p=$3 out
	shift 3
	out=$("$PY" "$WH" "$jar" "$m" "http://127.0.0.1:$PORT$p" "$@")
	HS=${out%%$'\n'*}
	if [[ $out == *$'\n'* ]]; then HB=${out#*$'\n'}; else HB=; fi
}
code_of() { "$PY" -c 'import json,sys
try: print(json.loads(sys.argv[1])["error"]["code"])
except Exception: print("not-an-error-object")' "$1"; }

# Two unmanaged nodes through a bare repository, with a conflicted cell on
# a (both edited one teacher's subject), all before a's daemon starts.
git init -q --bare "$T/hub.git"
mk_node a sch-a r "$T/hub.git"
mk_node b sch-b r "$T/hub.git"
ssx a zone add --id z1 --name 城桥 >/dev/null
ssx a school add --id cm-001 --name 城桥中学 --zone-id z1 --stage 初中 --students 900 >/dev/null
ssx a teacher add --school cm-001 --staff-no CM0001 --name 王芳 --subject 语文 --title 高级 --birth-year 1980 --joined-year 2005 >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null
ssx a teacher edit CM0001 --subject 化学 >/dev/null
ssx b teacher edit CM0001 --subject 生物 >/dev/null
# ... and a conflicted student's name, which the console must never show
# (unmanaged nodes: no readers, so the plain sql write is allowed and clear)
SA=cm-001-stu1
ssx a sql "INSERT INTO student_archive(id, school_id, name) VALUES ('$SA', 'cm-001', '周同学')" >/dev/null
sync_ok a >/dev/null; sync_ok b >/dev/null
ssx a sql "UPDATE student_archive SET name = '周甲乙' WHERE id = '$SA'" >/dev/null
ssx b sql "UPDATE student_archive SET name = '周丙丁' WHERE id = '$SA'" >/dev/null
sync_ok a >/dev/null; sync_ok b >/dev/null; sync_ok a >/dev/null
# config.json "web" is checked like the daemon's other settings
for bad in '{"web": {"port": "8080"}}' '{"web": {"port": 70000}}' '{"web": {"prot": 8080}}' '{"web": {"allow_remote": "yes"}}' '{"web": 8080}'; do
	echo "$bad" >"$T/b/config.json"
	OUT=$("$SSYNC_DAEMON" --home "$T/b" --check-config 2>&1) && RCC=0 || RCC=$?
	assert_eq "schoolsyncd --check-config refuses $bad, naming \"web\"" "1 yes" "$RCC $(grep -q '"web"' <<<"$OUT" && echo yes)"
done
rm -f "$T/b/config.json"
echo '{"web": {"port": 0}}' >"$T/a/config.json"
_spawn "$T/daemon.log" "$SSYNC_DAEMON" --home "$T/a" # in its own group, killed on exit too
DPID=$LAST_PID
for _ in $(seq 100); do [ -S "$T/a/control.sock" ] && break; sleep 0.1; done
ST=$(ssx a status --json)
PORT=$(jget "$ST" 'j["daemon"]["web"]["port"]')
assert_ne "config web.port 0: the daemon's console listens on a port (status daemon.web)" "0" "${PORT:-0}"
log "console on port $PORT"

# --- loopback only ---
assert_eq "the console listens on 127.0.0.1 only (/proc/net/tcp)" "0100007F" \
	"$("$PY" - "$PORT" <<'PYEOF'
import sys
port = "%04X" % int(sys.argv[1])
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        for line in open(f).readlines()[1:]:
            p = line.split()
            if p[3] == "0A" and p[1].endswith(":" + port):
                print(p[1].split(":")[0])
    except FileNotFoundError:
        pass
PYEOF
)"

# --- no session ---
NJ=$T/none.jar
req "$NJ" GET /api/session
assert_eq "no session: /api/session is 401" 401 "$HS"
assert_eq "no session: the CLI's error object (E_PERM)" E_PERM "$(code_of "$HB")"
req "$NJ" GET /api/status
assert_eq "no session: /api/status is 401" 401 "$HS"
req "$NJ" POST /api/sync
assert_eq "no session: POST /api/sync is 401" 401 "$HS"

# --- login tokens ---
req "$NJ" GET "/login?t=$(printf '0%.0s' $(seq 64))"
assert_eq "an unknown login token is refused (403)" 403 "$HS"
req "$NJ" GET "/login?t=abc"
assert_eq "a malformed login token is refused (403)" 403 "$HS"
URL=$(ssx a web --user 网页老师)
assert_contains "schoolsync web prints http://127.0.0.1:PORT/login?t=TOKEN" "^http://127\.0\.0\.1:$PORT/login\?t=[0-9a-f]{64}$" "$URL"
J=$T/s.jar
req "$J" GET "${URL#http://127.0.0.1:$PORT}" --show-headers
assert_eq "a login token: 303 to /" 303 "$HS"
assert_contains "the session cookie is HttpOnly, SameSite=Strict, Path=/" \
	"Set-Cookie: ssid=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/" "$HB"
req "$NJ" GET "${URL#http://127.0.0.1:$PORT}"
assert_eq "a login token works once (used: 403)" 403 "$HS"
assert_contains "status shows the console" "^web console: http://127\.0\.0\.1:$PORT/" "$(ssx a status)"
ss a web --user "$(printf 'bad\xff')"
assert_eq "web --user that is not UTF-8: a usage error (2)" 2 "$RC"
JS=$(ssx a web --json --user x)
assert_eq "web --json: an object with the url and the daemon" "True $PORT" "$(jget "$JS" 'j["daemon"], j["port"]' | tr -d '(),')"

# --- the session ---
req "$J" GET /api/session
assert_eq "session: 200" 200 "$HS"
assert_eq "session: the actor is the --user of schoolsync web, the node its own" "网页老师 sch-a" \
	"$(jget "$HB" 'j["actor"] + " " + j["node"]')"
CSRF=$(jget "$HB" 'j["csrf"]')
req "$J" GET /api/status
assert_eq "status: 200 with the daemon's answer" "200 True" "$HS $(jget "$HB" 'j["daemon"]["running"]')"
SEQ=$(jget "$HB" 'j["seq"]')
req "$J" GET "/api/status?since=x"
assert_eq "status?since=x is a 400" 400 "$HS"

# --- CSRF ---
req "$J" POST /api/sync
assert_eq "POST without X-CSRF-Token: 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: ${CSRF}0"
assert_eq "POST with a wrong X-CSRF-Token: 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: $CSRF" "Origin: http://evil.example"
assert_eq "POST from a foreign Origin (even with the token): 403" 403 "$HS"
req "$J" POST /api/sync "X-CSRF-Token: $CSRF" "Sec-Fetch-Site: cross-site"
assert_eq "POST with Sec-Fetch-Site cross-site: 403" 403 "$HS"
nentries() { ssx a log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
N0=$(nentries)
echo '{"school_id":"cm-001","staff_no":"W0001","name":"李小龙","title":"高级","birth_year":1980,"joined_year":2005}' >"$T/add.json"
req "$J" POST /api/tables/teacher --body "$T/add.json"
assert_eq "an add without X-CSRF-Token: 403" 403 "$HS"
req "$J" POST /api/tables/teacher --body "$T/add.json" "X-CSRF-Token: $CSRF" "Origin: http://evil.example"
assert_eq "a forged cross-site add (foreign Origin): 403" 403 "$HS"
assert_eq "the refused writes wrote nothing" "$N0" "$(nentries)"

# --- data: the CLI's library calls ---
req "$J" POST /api/tables/teacher --body "$T/add.json" "X-CSRF-Token: $CSRF" "Origin: http://127.0.0.1:$PORT" "Sec-Fetch-Site: same-origin"
assert_eq "add a teacher with a Chinese name: 201 added" "201 added" "$HS $(jget "$HB" 'j["result"]')"
assert_eq "the add is one signed entry" "$((N0 + 1))" "$(nentries)"
assert_eq "the CLI lists it" "李小龙 cm-001" "$(jget "$(ssx a teacher show W0001 --json)" 'j["name"] + " " + j["school_id"]')"
assert_eq "its actor is the console's user" "网页老师" \
	"$(jget "$(ssx a audit history teacher W0001 --json)" 'j[0]["actor"]')"
N1=$(nentries)
echo '{"school_id":"cm-001","staff_no":"W0002","name":"王","title":"副高","birth_year":1980,"joined_year":2005}' >"$T/bad.json"
req "$J" POST /api/tables/teacher --body "$T/bad.json" "X-CSRF-Token: $CSRF"
ss a teacher add --school cm-001 --staff-no W0002 --name 王 --title 副高 --birth-year 1980 --joined-year 2005 --json
CLIMSG=$(jget "$(tail -1 <<<"$ERR")" 'j["error"]["message"]')
assert_eq "a bad value: 400 E_INVAL" "400 E_INVAL" "$HS $(code_of "$HB")"
assert_eq "... with the CLI's message" "$CLIMSG" "$(jget "$HB" 'j["error"]["message"]')"
assert_eq "... and nothing written" "$N1" "$(nentries)"
echo '{"nonsense": 1}' >"$T/unk.json"
req "$J" POST /api/tables/teacher --body "$T/unk.json" "X-CSRF-Token: $CSRF"
assert_eq "an unknown column: 400" 400 "$HS"
echo '{"subject": "武术"}' >"$T/edit.json"
req "$J" PATCH /api/tables/teacher/W0001 --body "$T/edit.json" "X-CSRF-Token: $CSRF"
assert_eq "edit by staff number: updated, one entry" "200 updated $((N1 + 1))" "$HS $(jget "$HB" 'j["result"]') $(nentries)"
req "$J" GET "/api/tables/teacher?q=%E6%AD%A6%E6%9C%AF"
assert_eq "list with a search: the edited row, with its school's name beside its id" "1 李小龙 城桥中学" \
	"$(jget "$HB" 'str(j["total"]) + " " + j["rows"][0]["name"] + " " + j["rows"][0]["_labels"]["school_id"]')"
req "$J" GET "/api/tables/teacher?limit=1&offset=1"
assert_eq "list: total, limit, offset" "2 1" "$(jget "$HB" 'str(j["total"]) + " " + str(len(j["rows"]))')"
req "$J" GET /api/tables
assert_eq "tables: every everyday table, student_archive never" "12 False" \
	"$(jget "$HB" 'str(len(j)) + " " + str("student_archive" in [t["name"] for t in j])')"
req "$J" GET /api/tables/student_archive
assert_eq "student_archive is never served" 404 "$HS"
req "$J" GET /api/history/teacher/W0001?column=subject
assert_eq "history of a column: the edit, by the console's user" "武术 网页老师 applied" \
	"$(jget "$HB" 'j[-1]["new"] + " " + j[-1]["actor"] + " " + j[-1]["state"]')"

# import: a bad line writes nothing, a good file all of it
printf 'staff_no,name,title,birth_year,joined_year,school_id\nI0001,赵一,中级,1990,2015,cm-001\nI0002,钱二,副高,1991,2016,cm-001\n' >"$T/bad.csv"
N2=$(nentries)
req "$J" POST "/api/import/teacher?dry_run=1" --body "$T/bad.csv" "X-CSRF-Token: $CSRF"
assert_eq "import dry run with a bad line: ok false, line 3 column title" "200 False 3 title" \
	"$HS $(jget "$HB" 'str(j["ok"]) + " " + str(j["errors"][0]["line"]) + " " + j["errors"][0]["column"]')"
req "$J" POST "/api/import/teacher" --body "$T/bad.csv" "X-CSRF-Token: $CSRF"
assert_eq "import with a bad line: ok false, nothing written" "False 0 $N2" "$(jget "$HB" 'str(j["ok"]) + " " + str(j["inserted"])') $(nentries)"
"$PY" -c 'import sys; open(sys.argv[1], "wb").write("工号,姓名,职称,出生年份,入校年份,学校\nI0001,赵一,中级,1990,2015,cm-001\nI0002,钱二,高级,1991,2016,cm-001\n".encode("gb18030"))' "$T/good.csv"
req "$J" POST "/api/import/teacher?dry_run=1" --body "$T/good.csv" "X-CSRF-Token: $CSRF"
assert_eq "a GB18030 file from Excel, dry run: ok, 2 rows, nothing written" "True 2 gb18030 $N2" \
	"$(jget "$HB" 'str(j["ok"]) + " " + str(j["rows"]) + " " + j["encoding"]') $(nentries)"
req "$J" POST "/api/import/teacher" --body "$T/good.csv" "X-CSRF-Token: $CSRF"
assert_eq "import: 2 rows written" "True 2" "$(jget "$HB" 'str(j["ok"]) + " " + str(j["inserted"])')"
assert_eq "the CLI lists the imported teacher" "钱二" "$(jget "$(ssx a teacher show I0002 --json)" 'j["name"]')"
req "$J" GET "/api/export/teacher.csv?bom=1" --show-headers
assert_contains "export: a CSV attachment" "Content-Disposition: attachment; filename=\"teacher.csv\"" "$HB"
assert_contains "export: with a byte order mark, the rows in it" $'\xef\xbb\xbfid,school_id.*' "$HB"
assert_contains "export: the rows" "I0002,钱二" "$HB"

# conflicts and resolve
req "$J" GET /api/conflicts
assert_eq "conflicts: never a student_archive cell (no table, name, value or id)" "no no no" \
	"$(for w in student_archive 周 "$SA"; do [[ $HB == *"$w"* ]] && echo yes || echo no; done | xargs)"
assert_eq "conflicts: the subject both nodes edited" "1 subject 2" \
	"$(jget "$HB" 'str(len(j)) + " " + j[0]["column"] + " " + str(len(j[0]["versions"]))')"
PICK=$(jget "$HB" '[v["id"] for v in j[0]["versions"] if not v["winner"]][0]')
CKEY=$(jget "$HB" 'j[0]["key"]')
N3=$(nentries)
printf '{"table":"teacher","key":"%s","column":"subject","pick":"nobody#1"}' "$CKEY" >"$T/res.json"
req "$J" POST /api/resolve --body "$T/res.json" "X-CSRF-Token: $CSRF"
assert_eq "resolve with an unknown version: 404, nothing written" "404 $N3" "$HS $(nentries)"
printf '{"table":"teacher","key":"%s","column":"subject","pick":"%s"}' "$CKEY" "$PICK" >"$T/res.json"
req "$J" POST /api/resolve --body "$T/res.json" "X-CSRF-Token: $CSRF"
assert_eq "resolve by picking the other version: one entry" "200 resolved $((N3 + 1))" "$HS $(jget "$HB" 'j["result"]') $(nentries)"
assert_eq "no conflicts left (CLI; the student's stays, the console cannot see it)" "student_archive" \
	"$(jget "$(ssx a conflicts --json)" '" ".join(c["table"] for c in j)')"

# reports
req "$J" GET /api/reports/rotation --show-headers
assert_contains "a report: an HTML section" '<section id="rotation" class="report">' "$HB"
req "$J" GET /api/reports/nonsense
assert_eq "an unknown report: 404" 404 "$HS"

# delete
req "$J" DELETE /api/tables/teacher/W0001 "X-CSRF-Token: $CSRF"
assert_eq "delete: deleted" "200 deleted" "$HS $(jget "$HB" 'j["result"]')"
ss a teacher show W0001
assert_ne "the CLI no longer finds it" 0 "$RC"

# workflow verbs: the hub's (here: an unmanaged node's) rotation approval
ssx a school add --id cm-002 --name 城桥小学 --zone-id z1 --stage 小学 --students 300 >/dev/null
ROT=$(jget "$(ssx a rotation propose --teacher-id "$CKEY" --to-school cm-002 --kind 支教 --term 2026-1 --json)" 'j["id"]')
req "$J" POST "/api/tables/rotation/$ROT/approve" "X-CSRF-Token: $CSRF"
assert_eq "rotation approve through the API: the CLI shows it approved" "200 approved" \
	"$HS $(jget "$(ssx a rotation show "$ROT" --json)" 'j["status"]')"
req "$J" GET "/api/tables/rotation/$ROT"
assert_eq "a rotation row names who goes where" "王芳 -> 城桥小学" "$(jget "$HB" 'j["_label"]')"
req "$J" POST "/api/tables/rotation/$ROT/complete" "X-CSRF-Token: $CSRF"
req "$J" POST "/api/tables/rotation/$ROT/reject" "X-CSRF-Token: $CSRF"
assert_eq "reject after done: 400 naming the state, as the CLI" "400 E_INVAL" "$HS $(code_of "$HB")"
req "$J" POST "/api/tables/rotation/$ROT/explode" "X-CSRF-Token: $CSRF"
assert_eq "an unknown verb: 404" 404 "$HS"

# sync now and the long poll
req "$J" GET /api/status
SEQ=$(jget "$HB" 'j["seq"]')
ROUNDS=$(jget "$HB" 'sum(r["rounds_ok"] for r in j["remotes"])')
req "$J" POST /api/sync "X-CSRF-Token: $CSRF"
assert_eq "sync now: started, remote r queued" "200 True ['r']" "$HS $(jget "$HB" 'str(j["started"]) + " " + str(j["queued"])')"
for _ in $(seq 20); do
	req "$J" GET "/api/status?since=$SEQ"
	SEQ=$(jget "$HB" 'j["seq"]')
	# a round asked for after ROUNDS was read ended, and none runs now
	[ "$(jget "$HB" 'sum(r["rounds_ok"] for r in j["remotes"]) > '"$ROUNDS"' and j["daemon"]["busy"] is None')" = True ] && break
done
assert_eq "the long poll sees the round end" "True" "$(jget "$HB" 'sum(r["rounds_ok"] for r in j["remotes"]) > '"$ROUNDS"' and j["daemon"]["busy"] is None')"

# --- bodies ---
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big.json"
req "$J" POST /api/tables/teacher --body "$T/big.json" "X-CSRF-Token: $CSRF"
assert_eq "a JSON body over 64 KiB: 413 E_TOO_LARGE" "413 E_TOO_LARGE" "$HS $(code_of "$HB")"
head -c $((8 * 1024 * 1024 + 1)) /dev/zero >"$T/big.csv"
req "$J" POST /api/import/teacher --body "$T/big.csv" "X-CSRF-Token: $CSRF"
assert_eq "a CSV body over 8 MiB: 413" 413 "$HS"
# Without a session no body is taken at all (else 64 connections of 8 MiB
# import bodies, buffered before the session check, cost half a GiB): an
# upload announced with "Expect: 100-continue" is answered 401 at once.
assert_eq "no session: an 8 MiB import upload is refused before its body (401, no 100 Continue)" "HTTP/1.1 401" \
	"$("$PY" - "$PORT" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(("POST /api/import/teacher HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: 8000000\r\n"
           "Expect: 100-continue\r\n\r\n" % sys.argv[1]).encode())
print(" ".join(s.recv(200).decode("latin-1").split("\r\n")[0].split(" ")[:2]))
PYEOF
)"

# --- pages ---
req "$NJ" GET / --show-headers
assert_eq "GET / serves the index page without a session" 200 "$HS"
assert_contains "pages: CSP default-src 'self'" "Content-Security-Policy: default-src 'self'" "$HB"
assert_contains "pages: nosniff" "X-Content-Type-Options: nosniff" "$HB"
assert_contains "pages: no framing" "X-Frame-Options: DENY" "$HB"
assert_contains "pages: text/html; charset=utf-8" "Content-Type: text/html; charset=utf-8" "$HB"
for p in /../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc%2fpasswd //etc/passwd /index.html/.. /src/web/assets/index.html; do
	req "$NJ" GET "$p"
	assert_eq "path traversal $p: 404" 404 "$HS"
done
req "$NJ" GET / "Host: evil.example:$PORT"
assert_eq "a foreign Host on the loopback console (DNS rebinding): 421" 421 "$HS"

# --- another OS user ---
# (the system's python3: a pyenv one under /root is not nobody's to run)
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && [ -x /usr/bin/python3 ]; then
	OUT=$(runuser -u nobody -- /usr/bin/python3 "$WH" /dev/null GET "http://127.0.0.1:$PORT/api/session" 2>&1 | head -1)
	assert_eq "another OS user without a token: 401" 401 "$OUT"
	OUT=$(runuser -u nobody -- "$SSYNC_BIN" --home "$T/a" web 2>&1)
	assert_not_contains "another OS user cannot get a login link" "login\?t=" "$OUT"
else
	log "skipped: the other-OS-user checks need root and runuser"
fi

kill -TERM "$DPID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
assert_eq "the daemon with its console stops on SIGTERM" "1" "$(kill -0 "$DPID" 2>/dev/null; echo $?)"

# --- a managed school node, no daemon: schoolsync web serves in the
# foreground; role and read-only columns come from its certificate and the
# policy, and the policy refuses what the role may not write ---
ssx m-hub init --node hub --district d1 >/dev/null
RK=$(jget "$(ssx m-hub --json district init --id d1 --name 崇明区 --root-key "$T/root.key")" 'j["root_pubkey"]')
git init -q --bare "$T/m.git"
ssx m-hub remote add origin "$T/m.git" >/dev/null
ssx m-hub zone add --id z1 --name 城桥 >/dev/null
ssx m-hub school add --id cm-001 --name 城桥中学 --zone-id z1 --stage middle --students 900 >/dev/null
PK=$(jget "$(ssx m --json init --node sch-m --district d1)" 'j["pubkey"]')
ssx m join --district d1 --district-pubkey "$RK" >/dev/null
ssx m-hub district enroll sch-m --role school --school cm-001 --pubkey "$PK" --root-key "$T/root.key" >/dev/null
sync_ok m-hub >/dev/null
ssx m remote add origin "$T/m.git" >/dev/null
sync_ok m >/dev/null
ss m web --bind 0.0.0.0 --json
assert_eq "web --bind 0.0.0.0 without allow_remote is refused (E_PERM)" "1 E_PERM" "$RC $(code_of "$(tail -1 <<<"$ERR")")"
"$SSYNC_BIN" --home "$T/m" web --json --user 李老师 >"$T/fg.out" 2>"$T/fg.err" &
FG=$!
for _ in $(seq 100); do [ -s "$T/fg.out" ] && grep -q '}' "$T/fg.out" && break; sleep 0.1; done
FGJ=$(cat "$T/fg.out")
PORT=$(jget "$FGJ" 'j["port"]')
assert_eq "no daemon: schoolsync web serves the console itself" "False" "$(jget "$FGJ" 'j["daemon"]')"
MJ=$T/m.jar
req "$MJ" GET "$(jget "$FGJ" 'j["url"]' | sed "s|http://127.0.0.1:$PORT||")"
req "$MJ" GET /api/session
assert_eq "session: role and school from the node's certificate" "李老师 school cm-001" \
	"$(jget "$HB" 'j["actor"] + " " + j["role"] + " " + j["school"]')"
MCSRF=$(jget "$HB" 'j["csrf"]')
req "$MJ" GET /api/tables
assert_eq "tables: zone read-only, teacher.school_id read-only, teacher.name writable, rotation.status read-only" \
	"True True False True" "$(jget "$HB" '" ".join(str(x) for x in (
		[t for t in j if t["name"] == "zone"][0]["readonly"],
		[c for c in [t for t in j if t["name"] == "teacher"][0]["columns"] if c["name"] == "school_id"][0]["readonly"],
		[c for c in [t for t in j if t["name"] == "teacher"][0]["columns"] if c["name"] == "name"][0]["readonly"],
		[c for c in [t for t in j if t["name"] == "rotation"][0]["columns"] if c["name"] == "status"][0]["readonly"]))')"
MN0=$(ssx m log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo '{"id":"z2","name":"崇中"}' >"$T/zone.json"
req "$MJ" POST /api/tables/zone --body "$T/zone.json" "X-CSRF-Token: $MCSRF"
assert_eq "a school adding a zone: 403 E_PERM from the policy, nothing written" "403 E_PERM $MN0" \
	"$HS $(code_of "$HB") $(ssx m log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
echo '{"staff_no":"M0001","name":"周老师","title":"中级","birth_year":1985,"joined_year":2010}' >"$T/mt.json"
req "$MJ" POST /api/tables/teacher --body "$T/mt.json" "X-CSRF-Token: $MCSRF"
assert_eq "a school adding its own teacher: the school defaults to its own" "201 cm-001" \
	"$HS $(jget "$(ssx m teacher show M0001 --json)" 'j["school_id"]')"
req "$MJ" POST /api/sync "X-CSRF-Token: $MCSRF"
assert_eq "sync now without a daemon: 404 E_NOTFOUND" "404 E_NOTFOUND" "$HS $(code_of "$HB")"
kill -TERM "$FG" 2>/dev/null
wait "$FG" 2>/dev/null
assert_eq "the foreground console stops on SIGTERM" "1" "$(kill -0 "$FG" 2>/dev/null; echo $?)"

summary
