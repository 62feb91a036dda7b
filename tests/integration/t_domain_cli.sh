#!/usr/bin/env bash
# The district's everyday commands, import/export, check and reports through
# the real CLI: happy paths, bad input (exit 1 with a clear message, exit 2
# for usage), JSON everywhere, and the HTML report rendered in headless
# Chromium with a pixel check that the SVG charts are drawn.
set -euo pipefail

BIN=${SSYNC_BIN:?set SSYNC_BIN to the schoolsync binary}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
H="$TMP/hub"
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect CODE DESCRIPTION -- command...: run, compare the exit status.
expect() {
	local want=$1 what=$2
	shift 3
	set +e
	"$@" >"$TMP/out" 2>"$TMP/err"
	local got=$?
	set -e
	if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; cat "$TMP/err" >&2; fi
}
contains() { # FILE TEXT DESCRIPTION
	if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; head -20 "$1" >&2; fi
}
json() { # python expression over d (the JSON in $TMP/out)
	"$PY" -c "import json,sys; d=json.load(open('$TMP/out')); sys.exit(0 if ($1) else 1)" && ok || { bad "json: $1"; head -c 600 "$TMP/out" >&2; }
}
S() { "$BIN" --home "$H" "$@"; }
# The interpreter itself, not a wrapper found on PATH (a pyenv shim costs
# ~0.5 s of CPU per call, and this test makes ~60 calls).
PY=${SSYNC_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}

expect 0 "init" -- S init --node hub --district chongming
for c in zone group school teacher rotation course enrollment enroll resource booking book training observation funding \
	import export check report demo-data; do
	expect 0 "$c --help" -- S "$c" --help
done
contains "$TMP/out" "usage: schoolsync demo-data" "demo-data help"

# Zones and schools (the hub's), Chinese names.
expect 0 "zone add" -- S zone add --id chengqiao --name 城桥
expect 0 "zone add 2" -- S zone add --id baogang --name 堡港
expect 0 "school add" -- S school add --id cm-001 --name 城桥中学 --zone-id chengqiao --town 城桥镇 --stage 初中 --students 900
expect 0 "school add 2" -- S school add --id cm-002 --name 堡镇小学 --zone-id baogang --town 堡镇 --stage primary --students 150
expect 0 "school add 3" -- S --json school add --id cm-003 --name 堡镇中学 --zone-id baogang --stage middle --students 600
json "d['id'] == 'cm-003' and d['result'] == 'added'"
expect 1 "school bad stage" -- S school add --id cm-009 --name x --zone-id baogang --stage 大学 --students 5
contains "$TMP/err" "stage" "bad stage message"
expect 1 "school unknown zone" -- S school add --id cm-009 --name x --zone-id nowhere --stage primary --students 5
contains "$TMP/err" "no zone nowhere" "unknown zone message"
expect 1 "school bad id" -- S school add --id "CM 9" --name x --zone-id baogang --stage primary --students 5
expect 2 "unknown option" -- S school add --colour red
expect 2 "unknown subcommand" -- S school frobnicate
expect 0 "school list --json" -- S --json school list
json "len(d) == 3 and d[0]['name'] == '城桥中学' and d[0]['students'] == 900 and d[0]['stage'] == 'middle'"

# Teachers.
expect 0 "teacher add" -- S --json teacher add --school cm-001 --staff-no CM0001 --name 欧阳晓燕 --subject 语文 --title 高级 \
	--tier 骨干 --birth-year 1975 --joined-year 2005 --gender 女 --committed 是
json "d['id'].startswith('cm-001-')"
TID=$("$PY" -c "import json; print(json.load(open('$TMP/out'))['id'])")
expect 0 "teacher add 2" -- S teacher add --school cm-002 --staff-no CM0002 --name 王伟 --title 中级 --birth-year 1980 --joined-year 2012
expect 1 "teacher bad title" -- S teacher add --school cm-001 --staff-no CM0003 --name 李强 --title 教授 --birth-year 1980 --joined-year 2012
contains "$TMP/err" "title" "bad title names the column"
contains "$TMP/err" "初级, 中级, 高级, 正高级" "bad title lists the values"
expect 1 "teacher duplicate staff" -- S teacher add --school cm-002 --staff-no CM0001 --name 李强 --title 中级 --birth-year 1980 --joined-year 2012
contains "$TMP/err" "already teacher" "duplicate staff message"
expect 1 "teacher no school" -- S teacher add --staff-no CM0004 --name 李强 --title 中级 --birth-year 1980 --joined-year 2012
contains "$TMP/err" "--school" "hint to give --school"
expect 1 "teacher missing name" -- S teacher add --school cm-001 --staff-no CM0005 --title 中级 --birth-year 1980 --joined-year 2012
expect 0 "teacher show by staff no" -- S --json teacher show CM0001
json "d['name'] == '欧阳晓燕' and d['committed'] == 1"
expect 0 "teacher show text" -- S teacher show CM0001
contains "$TMP/out" "欧阳晓燕" "show prints the name"
expect 1 "teacher show missing" -- S teacher show CM9999
expect 0 "teacher list text" -- S teacher list
contains "$TMP/out" "王伟" "list shows Chinese names"
# CJK columns align: the column after the name starts at the same display column on every row.
"$PY" - "$TMP/out" <<'EOF' && ok || bad "teacher list alignment"
import sys, unicodedata
lines = open(sys.argv[1], encoding='utf-8').read().splitlines()
def width(s): return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)
hdr = lines[0]
rows = [l for l in lines[2:] if l.strip()]
for l in rows:
    # find the title value (高级/中级) and check it starts at the header's title column
    for t in ('高级', '中级'):
        if t in l:
            assert width(l[:l.index(t)]) == width(hdr[:hdr.index('title')]), l
EOF
expect 0 "teacher list filter" -- S --json teacher list --school cm-002
json "len(d) == 1 and d[0]['name'] == '王伟'"

# Rotation workflow.
expect 0 "rotation propose" -- S --json rotation propose --teacher-id "$TID" --to-school cm-003 --kind 支教 --term 2024-1
json "d['id'].startswith('cm-001-')"
RID=$("$PY" -c "import json; print(json.load(open('$TMP/out'))['id'])")
expect 1 "rotation second in term" -- S rotation propose --teacher-id "$TID" --to-school cm-002 --kind 跟岗 --term 2024-1
contains "$TMP/err" "already has rotation" "second rotation message"
expect 1 "rotation bad term" -- S rotation propose --teacher-id "$TID" --to-school cm-002 --kind 跟岗 --term 2024-3
expect 1 "rotation complete before approve" -- S rotation complete "$RID"
contains "$TMP/err" "proposed" "transition message names the state"
expect 0 "rotation approve" -- S rotation approve "$RID"
expect 0 "rotation complete" -- S rotation complete "$RID"
expect 0 "rotation show" -- S --json rotation show "$RID"
json "d['status'] == 'done' and d['from_school'] == 'cm-001'"
expect 2 "rotation approve no id" -- S rotation approve

# Courses and enrolment.
expect 0 "course add" -- S --json course add --school cm-001 --name 红色崇明 --category 思政
CID=$("$PY" -c "import json; print(json.load(open('$TMP/out'))['id'])")
expect 1 "course bad category" -- S course add --school cm-001 --name x --category 数学
expect 1 "enroll not shared" -- S enroll --school cm-002 --course-id "$CID" --term 2024-1 --students 20
contains "$TMP/err" "not an approved shared course" "enroll refusal"
expect 1 "approve before offer" -- S course approve "$CID"
expect 0 "course share" -- S course share "$CID"
expect 0 "course approve" -- S course approve "$CID"
expect 0 "enroll" -- S enroll --school cm-002 --course-id "$CID" --term 2024-1 --students 20

# Resources and bookings.
expect 0 "resource add" -- S --json resource add --school cm-001 --name 体育馆 --kind 场馆 --open-days 1-5 --open-from 08:00 --open-to 17:00 --shared yes
RES=$("$PY" -c "import json; print(json.load(open('$TMP/out'))['id'])")
expect 0 "book" -- S book --school cm-002 --resource-id "$RES" --day 2024-10-08 --from-time 09:00 --to-time 10:30 --purpose 篮球赛
expect 1 "book overlap" -- S book --school cm-003 --resource-id "$RES" --day 2024-10-08 --from-time 10:00 --to-time 11:00
contains "$TMP/err" "overlaps booking" "overlap message"
expect 1 "book saturday" -- S book --school cm-003 --resource-id "$RES" --day 2024-10-12 --from-time 09:00 --to-time 10:00
expect 1 "book bad date" -- S book --school cm-003 --resource-id "$RES" --day 2024-02-30 --from-time 09:00 --to-time 10:00
expect 0 "book adjacent" -- S book --school cm-003 --resource-id "$RES" --day 2024-10-08 --from-time 10:30 --to-time 11:00
expect 0 "training add" -- S training add --school cm-001 --teacher-id "$TID" --title 学区联合教研 --level 学区 --credits 1.5 --year 2024
expect 0 "observation add" -- S observation add --school cm-002 --teacher-id "$TID" --day 2024-10-09 --score 92
expect 0 "funding add" -- S funding add --target-kind zone --target-id baogang --source 绩效奖励 --amount 150000 --year 2024
expect 1 "funding bad target" -- S funding add --target-kind zone --target-id mars --source 区级 --amount 1 --year 2024

# Import: a good file with BOM and Chinese headers, then a bad one.
printf '\xef\xbb\xbf工号,姓名,职称,出生年份,入校年份,性别\r\nI001,赵敏,中级,1985,2010,女\r\nI002,"钱, 多多",高级,1978,2003,男\r\n' >"$TMP/good.csv"
expect 0 "import good" -- S import teacher "$TMP/good.csv" --school cm-003
contains "$TMP/out" "2 rows imported" "import summary"
printf 'staff_no,name,title,birth_year,joined_year\nJ1,甲,中级,1980,2010\nJ2,乙,教授,1980,2010\nJ3,丙,中级,19x0,2010\nJ1,丁,中级,1981,2011\n' >"$TMP/bad.csv"
expect 1 "import bad" -- S import teacher "$TMP/bad.csv" --school cm-003
contains "$TMP/err" "bad.csv:3: column 3 (title)" "import names line and column"
contains "$TMP/err" "bad.csv:4: column 4 (birth_year)" "import names second bad line"
contains "$TMP/err" "bad.csv:5: column 1 (staff_no)" "import names duplicate line"
contains "$TMP/err" "nothing was imported" "all or nothing"
expect 1 "import bad --json" -- S --json import teacher "$TMP/bad.csv" --school cm-003
json "d['ok'] == False and d['inserted'] == 0 and sorted(set(p['line'] for p in d['problems'])) == [2, 3, 4, 5]"
expect 0 "still 4 teachers" -- S --json teacher list
json "len(d) == 4"
expect 2 "import no file" -- S import teacher
expect 1 "import missing file" -- S import teacher "$TMP/nope.csv"

# Export.
expect 0 "export csv" -- S export teacher --csv
contains "$TMP/out" "id,school_id,staff_no,name" "export header"
contains "$TMP/out" '"钱, 多多"' "export quotes commas"
expect 0 "export json" -- S export school --json
json "len(d) == 3"
expect 1 "export private" -- S export student_archive

# check: clean, then violations written directly (as two offline schools would).
expect 0 "check clean" -- S check
contains "$TMP/out" "0 violations" "check clean message"
# sql checks rows like the commands (refused), so the overlap two offline
# schools would make is written --unchecked here.
expect 1 "sql refuses an overlap" -- S sql "INSERT INTO booking(id, school_id, resource_id, day, from_time, to_time) VALUES ('cm-003-x', 'cm-003', ?1, '2024-10-08', '09:30', '10:00')" "$RES"
expect 0 "raw overlap" -- S sql --unchecked "INSERT INTO booking(id, school_id, resource_id, day, from_time, to_time) VALUES ('cm-003-x', 'cm-003', ?1, '2024-10-08', '09:30', '10:00')" "$RES"
expect 0 "raw dup staff" -- S sql --unchecked "INSERT INTO teacher(id, school_id, staff_no, name, title, birth_year, joined_year) VALUES ('cm-002-x', 'cm-002', 'CM0001', '重复', '中级', 1980, 2010)"
expect 1 "check finds" -- S check
contains "$TMP/out" "booking_overlap" "check text lists overlap"
contains "$TMP/out" "duplicate_staff_no" "check text lists duplicate"
expect 1 "check --json" -- S --json check
json "d['by_kind']['booking_overlap'] == 1 and d['by_kind']['duplicate_staff_no'] == 1 and 'cm-003' in d['violations'][0]['schools']"

# Reports in every format.
for r in rotation courses resources freshness; do
	expect 0 "report $r" -- S report "$r" --year 2024
	expect 0 "report $r --json" -- S --json report "$r" --year 2024
	json "d['report'] == '$r' and 'rows' in d and 'summary' in d"
	expect 0 "report $r --csv" -- S report "$r" --csv --year 2024
done
expect 2 "report unknown" -- S report
expect 1 "report bad kind" -- S report nosuch
expect 2 "report two formats" -- S report rotation --csv --json

# A generated district, its reports and the HTML page in headless Chromium.
D="$TMP/district"
expect 0 "init district" -- "$BIN" --home "$D" init --node hub
expect 0 "demo-data" -- "$BIN" --home "$D" --json demo-data --schools 111 --seed 7 --year 2024
json "d['rows']['school'] == 111 and d['rows']['zone'] == 6 and d['rows']['teacher'] > 2500"
echo "# demo-data 111 schools: $("$PY" -c "import json; d=json.load(open('$TMP/out')); print(d['total'], 'rows,', round(d['rows_per_second']), 'rows/s')")"
expect 0 "demo check clean" -- "$BIN" --home "$D" check
expect 0 "export district teachers" -- "$BIN" --home "$D" export teacher --csv
cp "$TMP/out" "$TMP/district_teachers.csv"
D2="$TMP/district2"
expect 0 "init district2" -- "$BIN" --home "$D2" init --node hub2
for t in zone edu_group school; do  # groups before schools: school.group_id refers to them
	"$BIN" --home "$D" export "$t" --csv >"$TMP/$t.csv"
	expect 0 "import $t" -- "$BIN" --home "$D2" import "$t" "$TMP/$t.csv"
done
expect 0 "import district teachers" -- "$BIN" --home "$D2" --json import teacher "$TMP/district_teachers.csv"
echo "# import district teachers: $("$PY" -c "import json; d=json.load(open('$TMP/out')); print(d['inserted'], 'rows,', round(d['inserted']/d['seconds']), 'rows/s')")"
expect 0 "html report" -- "$BIN" --home "$D" report all --html "$TMP/report.html" --year 2024
if ! grep -q "<svg" "$TMP/report.html"; then bad "html has no svg"; else ok; fi
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROME" ]; then
	PROFILE=$(mktemp -d -p "$TMP")
	timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$PROFILE" --window-size=1200,1400 \
		--screenshot="$TMP/shot.png" "file://$TMP/report.html" >/dev/null 2>&1 || true
	if [ -s "$TMP/shot.png" ]; then ok; else bad "chromium wrote no screenshot"; fi
	# Count pixels of the chart colours (#2b6cb0 bars; #dd6b20 / #2f855a / #c53030 status bars).
	"$PY" - "$TMP/shot.png" <<'EOF' && ok || bad "charts not visible in the screenshot"
import sys, zlib, struct
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n'
pos, idat, w = 8, b'', 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6)
        bpp = 3 if ctype == 2 else 4
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
counts = {}
want = {(0x2b, 0x6c, 0xb0): 'bar', (0xdd, 0x6b, 0x20): 'warn', (0x2f, 0x85, 0x5a): 'ok', (0xc5, 0x30, 0x30): 'bad'}
i = 0
for y in range(h):
    f = raw[i]; i += 1
    line = bytearray(raw[i:i + stride]); i += stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        k = want.get(tuple(line[x:x + 3]))
        if k: counts[k] = counts.get(k, 0) + 1
    prev = line
print('# chart pixels:', counts)
assert counts.get('bar', 0) > 2000, counts
assert counts.get('warn', 0) + counts.get('ok', 0) + counts.get('bad', 0) > 500, counts
EOF
else
	echo "# chromium not installed: screenshot check skipped (apt-get install chromium)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
