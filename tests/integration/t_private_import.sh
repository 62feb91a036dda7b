#!/usr/bin/env bash
# Bulk import of student archives on a managed school (issue 15,
# docs/PRIVACY.md §6): a school moving from paper or Excel imports 500
# students with Chinese names in one call (UTF-8, and a GBK file); every
# private cell is encrypted as student-archive add encrypts it. A bad file
# is named by line and column (a row of another school too) and writes
# nothing, not even a data key; a write refused after the rows were sealed
# deletes the data keys made for it. After
# sync the hub and the owner read every name; school b's replica and the
# hub's git objects hold none of them; state hashes are equal.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
keys() { "$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM data_key").fetchone()[0])' "$T/$1/keys.db"; }
rows() { ssx "$1" --json sql "SELECT count(*) AS n FROM student_archive" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])'; }

log "=== setup: hub, schools a and b, one bare hub repository"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
for s in a b; do
	J=$(ssx $s --json init --node sch-$s --district d1)
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$(printf '%s' "$J" | jf pubkey)" \
		--enckey "$(printf '%s' "$J" | jf enckey)" --root-key "$ROOT" >/dev/null
	ssx $s remote add hub "$T/hub.git" >/dev/null
done
ssx h zone add --id chengqiao --name 城桥 >/dev/null
ssx h school add --id sch-a --name 城桥中学 --zone-id chengqiao --stage 初中 --students 900 >/dev/null
ssx h school add --id sch-b --name 堡镇小学 --zone-id chengqiao --stage primary --students 150 >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null

# 500 distinct Chinese names (surname + two given characters), a grade, a
# record with a comma and a quote; names.txt lists them for the searches.
"$PY" - "$T" <<'PY'
import sys
t = sys.argv[1]
sur = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏"
giv = "子涵浩宇欣怡梓轩思远雨桐俊杰佳琪"
names = []
for a in sur:
    for b in giv:
        for c in giv:
            if b != c and len(names) < 500 and a + b + c not in names:
                names.append(a + b + c)
assert len(set(names)) == 500
with open(t + "/names.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(names) + "\n")
with open(t + "/students.csv", "w", encoding="utf-8", newline="") as f:
    f.write("\ufeff姓名,年级,档案\r\n")
    for i, n in enumerate(names):
        f.write('%s,%s年级,"%s: 三好学生, 家住城桥镇 ""%d号"""\r\n' % (n, "一二三四五六"[i % 6], n, i))
# GBK, as Excel on Chinese Windows saves it
with open(t + "/gbk.csv", "wb") as f:
    f.write("姓名,年级\r\n欧阳晓燕,五年级\r\n司马光明,六年级\r\n".encode("gbk"))
# bad: line 3 has no name, line 5 a grade over 20 characters
with open(t + "/bad.csv", "w", encoding="utf-8") as f:
    f.write("姓名,年级\n诸葛亮甲,一年级\n,二年级\n上官婉乙,三年级\n东方朔丙,%s\n" % ("一" * 21))
# a row of school b at school a
with open(t + "/other.csv", "w", encoding="utf-8") as f:
    f.write("姓名,学校\n皇甫嵩丁,sch-a\n慕容复戊,sch-b\n")
PY
NAME1=$(sed -n 1p "$T/names.txt")
NAME500=$(sed -n 500p "$T/names.txt")

log "=== a bad file: every bad line named, nothing written, no data key made"
K0=$(keys a 2>/dev/null || echo 0)
ss a import student_archive "$T/bad.csv"
assert_eq "a bad file exits 1" 1 "$RC"
assert_contains "line 3 column 1 named" "bad.csv:3: column 1 \\(姓名\\)" "$ERR"
assert_contains "line 5 column 2 named" "bad.csv:5: column 2 \\(年级\\)" "$ERR"
assert_contains "nothing was imported" "nothing was imported" "$ERR"
assert_eq "no row written" 0 "$(rows a)"
assert_eq "no data key made" "$K0" "$(keys a 2>/dev/null || echo 0)"
ss a import student_archive "$T/other.csv"
assert_eq "a row of another school refuses the whole file" 1 "$RC"
assert_contains "... named by line and column" "other.csv:3: column 2 \\(学校\\): a row of school sch-b" "$ERR"
assert_eq "... no row written" 0 "$(rows a)"
assert_eq "... no data key made" "$K0" "$(keys a 2>/dev/null || echo 0)"
# a write refused after the rows were sealed (the writer's clock check,
# E_CLOCK): the data keys made for it are deleted again
ss_at 946684799999 a import student_archive "$T/gbk.csv"
assert_eq "a write refused after sealing fails the import" 1 "$RC"
assert_contains "... by the writer's clock check" "E_CLOCK" "$ERR"
assert_eq "... no row written" 0 "$(rows a)"
assert_eq "... and the data keys made for it dropped" "$K0" "$(keys a 2>/dev/null || echo 0)"
ss a import student_archive "$T/students.csv" --dry-run
assert_eq "a dry run passes" 0 "$RC"
assert_eq "... and makes no data key" "$K0" "$(keys a 2>/dev/null || echo 0)"

log "=== 500 students in one import, then a GBK file"
J=$(ssx a --json import student_archive "$T/students.csv" --progress)
assert_eq "500 rows imported" 500 "$(printf '%s' "$J" | jf inserted)"
assert_eq "... ok" True "$(printf '%s' "$J" | jf ok)"
assert_eq "one data key per student" $((K0 + 500)) "$(keys a)"
ssx a import student_archive "$T/gbk.csv" --progress >/dev/null
assert_contains "--progress reports the write on stderr" "wrote 2 rows" "$ERR"
assert_eq "the GBK file too" 502 "$(rows a)"
assert_eq "the replica holds no clear name, even on a" 0 \
	"$(ssx a --json sql "SELECT count(*) AS n FROM student_archive WHERE name NOT LIKE 'enc1:%' OR record NOT LIKE 'enc1:%' AND record IS NOT NULL" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')"
ssx a student-archive export >"$T/a_export.csv"
assert_eq "a reads all 502 in clear" 502 "$("$PY" -c 'import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["name"] and not r["name"].startswith("enc1:") and r["name"] != "[encrypted]"))' "$T/a_export.csv")"
assert_contains "... the record with its comma and quotes" "$NAME500: 三好学生, 家住城桥镇 \"\"499号\"\"" "$(cat "$T/a_export.csv")"
assert_contains "... the GBK name" "司马光明,六年级" "$(cat "$T/a_export.csv")"
ID1=$(grep -F ",$NAME1," "$T/a_export.csv" | cut -d, -f1)
ssx a student-archive edit "$ID1" --grade 二年级 >/dev/null
assert_eq "an imported row edits like an added one" 二年级 "$(ssx a --json student-archive show "$ID1" | jf grade)"

log "=== sync: a -> hub -> b"
for i in 1 2; do sync_ok a >/dev/null; sync_ok h >/dev/null; sync_ok b >/dev/null; done
sync_ok a >/dev/null
assert_eq "b holds the 502 rows" 502 "$(rows b)"
assert_eq "the hub reads an imported name" "$NAME1" "$(ssx h --json student-archive show "$ID1" | jf name)"
ssx h student-archive export >"$T/h_export.csv"
assert_eq "the hub reads all 502 names" 502 "$("$PY" -c 'import csv,sys
names = set(open(sys.argv[2], encoding="utf-8").read().split()) | {"欧阳晓燕", "司马光明"}
print(sum(1 for r in csv.DictReader(open(sys.argv[1], encoding="utf-8")) if r["name"] in names))' "$T/h_export.csv" "$T/names.txt")"
assert_eq "b sees [encrypted]" "[encrypted]" "$(ssx b --json student-archive show "$ID1" | jf name)"
assert_all_equal "state hashes are equal on a, b and the hub" "$(state_hash a)" "$(state_hash b)" "$(state_hash h)"

log "=== no name outside a and the hub's home"
# every name, in raw bytes and in every zlib stream (loose git objects), and
# in every git object as git itself reads it (packs included)
names_in() { # PATH...
	"$PY" - "$T/names.txt" "$@" <<'PY'
import os, sys, zlib
names = [n.encode() for n in open(sys.argv[1], encoding="utf-8").read().split()]
names += ["欧阳晓燕".encode(), "司马光明".encode()]
hits = 0
for root in sys.argv[2:]:
    paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for p in paths:
        data = open(p, 'rb').read()
        try:
            data += b"\0" + zlib.decompress(data)
        except Exception:
            pass
        found = [n for n in names if n in data]
        if found:
            print(p, len(found), found[0].decode()); hits += 1
sys.exit(0 if hits else 1)
PY
}
git_names() { git --git-dir="$1" cat-file --batch-all-objects --batch 2>/dev/null | grep -aqFf "$T/names.txt"; }
assert_none() { if "$@" >/dev/null 2>&1; then fail "$N" "found by: $*"; else pass "$N"; fi; }
N="no name in school b's replica files (db, wal)"; assert_none names_in "$T"/b/replica.db*
N="no name anywhere in school b's home"; assert_none names_in "$T/b"
N="no name in any object of school b's exchange.git"; assert_none git_names "$T/b/exchange.git"
git --git-dir="$T/hub.git" gc -q --aggressive 2>/dev/null || true   # packs, with deltas
N="no name in the hub's bare repository files"; assert_none names_in "$T/hub.git"
N="no name in any object of the hub's bare repository"; assert_none git_names "$T/hub.git"
assert_true "sanity: the search finds names where they are (a's export)" quiet names_in "$T/a_export.csv"
assert_true "sanity: and git_names finds a name in a repository that has one" quiet sh -c \
	"d='$T/sanity.git'; git init -q --bare \"\$d\" && printf '%s\n' '$NAME1' | git --git-dir=\"\$d\" hash-object -w --stdin >/dev/null && \
	 git --git-dir=\"\$d\" cat-file --batch-all-objects --batch | grep -aqF '$NAME1'"
summary
