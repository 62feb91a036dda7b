#!/usr/bin/env bash
# Private student archives end to end (issue 15, docs/PRIVACY.md): a hub,
# two schools and a USB stick relay. School a writes a student's archive;
# after convergence the student's name is nowhere in school b's replica, the
# hub's bare repository (loose objects and packs, decompressed) or the
# stick; a and the hub read it, b sees [encrypted]; state hashes are equal;
# audit verify passes from the git repository alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
NAME="王小明Zq7"          # what must never appear outside a and the hub
RECORD="三好学生 2025; 家庭住址 崇明区城桥镇"

log "=== setup: hub, schools a and b; a syncs with the hub and a USB stick, b with the stick only"
new_hub "$T/hub.git"
mkdir -p "$T/usb"
STICK=$T/usb/stick.git
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
for s in a b; do
	J=$(ssx $s --json init --node sch-$s --district d1)
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$(printf '%s' "$J" | jf pubkey)" \
		--enckey "$(printf '%s' "$J" | jf enckey)" --root-key "$ROOT" >/dev/null
done
assert_eq "init prints a 64-hex encryption key" 64 "$(ssx a privacy key | tr -d '\n' | wc -c)"
assert_eq "enc.key is mode 600" 600 "$(stat -c %a "$T/a/enc.key")"
ssx a remote add hub "$T/hub.git" >/dev/null
ssx a remote add stick "$STICK" >/dev/null
ssx b remote add stick "$STICK" >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null

log "=== a writes a student's archive"
assert_fail "a plain SQL write of a private column is refused" a sql "INSERT INTO student_archive(id,school_id,name) VALUES ('sch-a-s0','sch-a','$NAME')"
assert_contains "... naming the private column" "column name is private" "$ERR"
ID=$(ssx a student-archive add --name "$NAME" --grade 三年级 --record "$RECORD")
ID2=$(ssx a student-archive add --name "李华" --grade 四年级)
assert_eq "a reads its student in clear" "$NAME" "$(ssx a --json student-archive show "$ID" | jf name)"
assert_contains "a lists its students" "李华" "$(ssx a student-archive list)"
assert_contains "a exports CSV in clear" "$ID,sch-a,$NAME,三年级" "$(ssx a student-archive export)"
assert_fail "an empty name is refused like any required value" a student-archive add --grade 三年级
ssx a student-archive edit "$ID" --grade 四年级 >/dev/null
assert_eq "an edit keeps the row readable" 四年级 "$(ssx a --json student-archive show "$ID" | jf grade)"
assert_contains "the replica holds ciphertext even on a" "enc1:" "$(ssx a sql "SELECT name FROM student_archive WHERE id='$ID'")"

log "=== convergence: a -> hub, a -> stick -> b, and back"
for i in 1 2; do
	sync_ok a >/dev/null
	sync_ok h >/dev/null
	sync_ok b >/dev/null
done
sync_ok a >/dev/null
assert_eq "the hub reads the student in clear" "$NAME" "$(ssx h --json student-archive show "$ID" | jf name)"
assert_eq "the hub reads the record in clear" "$RECORD" "$(ssx h --json student-archive show "$ID" | jf record)"
assert_eq "school b holds the row but sees [encrypted]" "[encrypted]" "$(ssx b --json student-archive show "$ID" | jf name)"
assert_contains "school b's SQL shows only ciphertext" "enc1:" "$(ssx b sql "SELECT name FROM student_archive WHERE id='$ID'")"
assert_all_equal "state hashes are equal on a, b and the hub" "$(state_hash a)" "$(state_hash b)" "$(state_hash h)"
assert_true "b holds a's key store ref (relayed, sealed to others)" quiet git --git-dir="$T/b/exchange.git" rev-parse -q --verify refs/heads/keys/sch-a
assert_true "the stick carries a's key store" quiet git --git-dir="$STICK" rev-parse -q --verify refs/heads/keys/sch-a

log "=== the name is nowhere outside a and the hub's home"
# raw bytes, and every git object decompressed (loose and packed) by git itself
# and, for loose objects, by python's zlib
has_name() { # PATH...
	"$PY" - "$NAME" "$@" <<'PY'
import os, sys, zlib
name = sys.argv[1].encode()
hit = False
for root in sys.argv[2:]:
    paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for p in paths:
        data = open(p, 'rb').read()
        if name in data:
            print("raw:", p); hit = True
        try:
            if name in zlib.decompress(data):
                print("zlib:", p); hit = True
        except Exception:
            pass
sys.exit(0 if hit else 1)
PY
}
git_has_name() { git --git-dir="$1" cat-file --batch-all-objects --batch 2>/dev/null | grep -aqF "$NAME"; }
for f in "$T"/b/replica.db*; do :; done
assert_fail_cmd() { if "$@" >/dev/null 2>&1; then fail "$N" "found in: $*"; else pass "$N"; fi; }
N="the name is not in school b's replica files (db, wal)"; assert_fail_cmd has_name "$T"/b/replica.db*
N="the name is not in school b's home at all (exchange.git, keys.db)"; assert_fail_cmd has_name "$T/b"
N="the name is not in any object of school b's exchange.git"; assert_fail_cmd git_has_name "$T/b/exchange.git"
git --git-dir="$T/hub.git" gc -q --aggressive 2>/dev/null || true   # packs, with deltas
N="the name is not in the hub's bare repository files (loose + packs)"; assert_fail_cmd has_name "$T/hub.git"
N="the name is not in any object of the hub's bare repository"; assert_fail_cmd git_has_name "$T/hub.git"
N="the name is not on the USB stick"; assert_fail_cmd has_name "$T/usb"
N="the name is not in any object on the stick"; assert_fail_cmd git_has_name "$STICK"
assert_true "sanity: the search finds the name where it is (a's keys only decrypt, but a's export has it)" \
	quiet sh -c "'$SSYNC_BIN' --home '$T/a' student-archive export | grep -qF '$NAME'"

log "=== audit verify from the git repository alone"
ss h audit verify --repo "$T/hub.git" --district-pubkey "$RK"
assert_eq "audit verify passes over ciphertext" 0 "$RC"
assert_contains "... with the nodes' state hash" "$(state_hash h)" "$OUT"

log "=== the hub edits the row while a does: a conflict every node holds, opened only by readers"
ssx h student-archive edit "$ID" --grade 五年级 >/dev/null
ssx a student-archive edit "$ID" --grade 六年级 >/dev/null
for i in 1 2; do sync_ok h >/dev/null; sync_ok a >/dev/null; sync_ok b >/dev/null; done
sync_ok h >/dev/null
vals() { ssx "$1" --json conflicts | "$PY" -c 'import json,sys
print(" ".join(sorted(v["value"] for c in json.load(sys.stdin) if c["column"]=="grade" for v in c["versions"])))'; }
assert_eq "a's conflicts show both versions in clear" "五年级 六年级" "$(vals a)"
assert_eq "the hub's conflicts show both versions in clear" "五年级 六年级" "$(vals h)"
assert_eq "b's conflicts show [encrypted]" "[encrypted] [encrypted]" "$(vals b)"
assert_contains "b's text conflicts list shows [encrypted]" '\[encrypted\]' "$(ssx b conflicts)"
assert_contains "a's audit history shows the clear value" "$NAME" "$(ssx a audit history student_archive "$ID")"
assert_contains "b's audit history shows [encrypted]" '"\[encrypted\]"' "$(ssx b audit history student_archive "$ID")"
assert_not_contains "... and never the name" "$NAME" "$(ssx b audit history student_archive "$ID" --json)"
assert_all_equal "state hashes still equal" "$(state_hash a)" "$(state_hash b)" "$(state_hash h)"
assert_eq "reports never read it" 0 "$(ssx h report rotation --json 2>/dev/null | grep -c "$NAME" || true)"
summary
