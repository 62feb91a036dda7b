#!/usr/bin/env bash
# A school restored from its key files reads its own archives again
# (docs/PRIVACY.md §8): a home made with init --restore-key and the backed-up
# enc.key takes back, from its own key store on the hub, the data keys it
# made. Erasure stays erasure: keys the hub erased (notice) and keys the
# school erased itself do not come back, not from the hub and not from an
# old USB stick holding an older store, whatever order the restored home
# reads them in. A school that lost enc.key too keeps the district able to
# read its history (its next store carries the boxes it cannot open) and is
# told what to do; with its old enc.key back as enc.key.old it reads again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
has_key() { sqlite3 "$T/$1/keys.db" "SELECT count(*) FROM data_key WHERE kid='$2'"; }
store_has() { git --git-dir="$1" show "refs/heads/keys/$2:keystore" | "$PY" -c 'import json,sys
b=json.loads(sys.stdin.read().split("\t")[0]); print("yes" if sys.argv[1] in [k[0] for k in b["keys"]] else "no")' "$3"; }
round() { sync_ok h >/dev/null; sync_ok a >/dev/null; sync_ok h >/dev/null; }
# restore HOME [with-enc]: a new home of sch-a from a's node.key (and enc.key)
restore() {
	mkdir -m 700 "$T/$1"
	[ "${2:-}" != with-enc ] || cp "$T/keys/enc.key" "$T/$1/enc.key"
	ssx "$1" init --node sch-a --district d1 --restore-key "$T/keys/node.key" >/dev/null
	ssx "$1" join --district-pubkey "$RK" >/dev/null
}

log "=== setup: hub, school a; a writes four students, syncs with the hub and a stick"
new_hub "$T/hub.git"
HJ=$(ssx h --json init --node hub --district d1)
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name d1 --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
AJ=$(ssx a --json init --node sch-a --district d1)
ssx a join --district-pubkey "$RK" >/dev/null
ssx a remote add hub "$T/hub.git" >/dev/null
ssx h district enroll sch-a --role school --school sch-a --pubkey "$(printf '%s' "$AJ" | jf pubkey)" \
	--enckey "$(printf '%s' "$AJ" | jf enckey)" --root-key "$ROOT" >/dev/null
round
S1=$(ssx a student-archive add --name 赵一)
S2=$(ssx a student-archive add --name 钱二)
S3=$(ssx a student-archive add --name 孙三)
round
K1=$(archive_kid a "$S1"); K2=$(archive_kid a "$S2")
ssx a remote add stick "$T/stale.git" >/dev/null
sync_ok a stick >/dev/null
assert_eq "sanity: the stale stick's store of a seals S1's and S2's keys" "yes yes" \
	"$(store_has "$T/stale.git" sch-a "$K1") $(store_has "$T/stale.git" sch-a "$K2")"
ssx a remote remove stick >/dev/null
mkdir -m 700 "$T/keys"
cp "$T/a/node.key" "$T/a/enc.key" "$T/keys/"

log "=== the hub erases S1 (its notice), a erases S2 itself, a writes S4"
ssx h student-archive erase "$S1" >/dev/null
ssx a student-archive erase "$S2" >/dev/null
round
S4=$(ssx a student-archive add --name 李四)
round
assert_eq "sanity: the hub reads S3, S4 and neither S1 nor S2" "孙三 李四 [encrypted] [encrypted]" \
	"$(archive_name h "$S3") $(archive_name h "$S4") $(archive_name h "$S1") $(archive_name h "$S2")"

log "=== a's machine dies; r1 is restored from node.key + enc.key and fed the OLD stick first"
rm -rf "$T/a"
restore r1 with-enc
ssx r1 remote add stick "$T/stale.git" >/dev/null
sync_ok r1 stick >/dev/null
ssx r1 remote add hub "$T/hub.git" >/dev/null
sync_ok r1 hub >/dev/null
assert_eq "r1 reads its own students again (S3, S4: keys from its own store)" "孙三 李四" "$(archive_name r1 "$S3") $(archive_name r1 "$S4")"
assert_eq "the hub-erased S1 stays unreadable on r1" "[encrypted]" "$(archive_name r1 "$S1")"
assert_eq "the school-erased S2 stays unreadable on r1" "[encrypted]" "$(archive_name r1 "$S2")"
assert_eq "r1's keys.db holds neither erased key" "0 0" "$(has_key r1 "$K1") $(has_key r1 "$K2")"
sync_ok h >/dev/null
assert_eq "nothing came back at the hub: S1, S2 unreadable" "[encrypted] [encrypted]" "$(archive_name h "$S1") $(archive_name h "$S2")"
assert_eq "... the hub's keys.db holds neither" "0 0" "$(has_key h "$K1") $(has_key h "$K2")"
assert_eq "... and the hub's copy of a's store seals neither" "no no" \
	"$(store_has "$T/hub.git" sch-a "$K1") $(store_has "$T/hub.git" sch-a "$K2")"
assert_contains "r1's store on the hub still names the school's own erasure of S2 (taken back)" "$K2" \
	"$(git --git-dir="$T/hub.git" show refs/heads/keys/sch-a:keystore)"
sync_ok r1 stick >/dev/null
assert_eq "the old stick again, after the hub: S1, S2 still unreadable on r1" "[encrypted] [encrypted]" \
	"$(archive_name r1 "$S1") $(archive_name r1 "$S2")"
assert_eq "... and the stick now holds r1's store without them" "no no" \
	"$(store_has "$T/stale.git" sch-a "$K1") $(store_has "$T/stale.git" sch-a "$K2")"

log "=== r1 writes: a new key for the edited row (a recovered key's past readers are unknown), all readable"
K3=$(archive_kid r1 "$S3")
ssx r1 student-archive edit "$S3" --name 孙三改 >/dev/null
assert_ne "the edit of a row under a recovered key took a new data key" "$K3" "$(archive_kid r1 "$S3")"
S5=$(ssx r1 student-archive add --name 周五)
sync_ok r1 hub >/dev/null; sync_ok h >/dev/null
assert_eq "the hub reads r1's writes and a's history" "孙三改 周五 李四" "$(archive_name h "$S3") $(archive_name h "$S5") $(archive_name h "$S4")"
assert_all_equal "state hashes equal" "$(state_hash h)" "$(state_hash r1)"

log "=== r1's machine dies too, and with it enc.key: r2 has node.key only"
rm -rf "$T/r1"
restore r2
ssx r2 remote add hub "$T/hub.git" >/dev/null
sync_ok r2 hub >/dev/null
ss r2 --json student-archive show "$S4"
assert_eq "r2 cannot open S4 (sealed to the lost enc.key)" "[encrypted]" "$(printf '%s' "$OUT" | jf name)"
assert_contains "... and is told what to do" "enc.key.old" "$ERR"
ss r2 status
assert_contains "status says it too" "KEYS SEALED ELSEWHERE: 4 of this node.s own data keys" "$OUT$ERR"
S6=$(ssx r2 student-archive add --name 吴六)
sync_ok r2 hub >/dev/null; sync_ok h >/dev/null
assert_eq "after r2's new store the hub still reads a's whole history" "孙三改 李四 周五 吴六" \
	"$(archive_name h "$S3") $(archive_name h "$S4") $(archive_name h "$S5") $(archive_name h "$S6")"
assert_eq "... the store r2 published still seals S4's key (carried, not dropped)" yes "$(store_has "$T/hub.git" sch-a "$(archive_kid h "$S4")")"

log "=== the hub certifies r2's new enc key and re-seals sch-a's data keys to it"
ssx h district enroll sch-a --role school --school sch-a --pubkey "$(printf '%s' "$AJ" | jf pubkey)" \
	--enckey "$(ssx r2 privacy key)" --root-key "$ROOT" >/dev/null
assert_fail "a school cannot re-seal" r2 privacy reseal sch-a
ss h privacy reseal sch-a
assert_contains "the hub re-seals a's data keys" "data key.s. of sch-a go out" "$OUT"
sync_ok h >/dev/null; sync_ok r2 hub >/dev/null; sync_ok h >/dev/null; sync_ok r2 hub >/dev/null
assert_eq "r2 reads its history again (the hub's boxes)" "孙三改 李四 周五" "$(archive_name r2 "$S3") $(archive_name r2 "$S4") $(archive_name r2 "$S5")"
assert_eq "... S1, S2 stay erased" "[encrypted] [encrypted]" "$(archive_name r2 "$S1") $(archive_name r2 "$S2")"
K5=$(archive_kid h "$S5")
ssx r2 student-archive erase "$S5" >/dev/null
sync_ok r2 hub >/dev/null; sync_ok h >/dev/null; sync_ok r2 hub >/dev/null
assert_eq "the school's own erasure reaches the hub's re-sealed copy: the hub cannot read S5" "[encrypted]" "$(archive_name h "$S5")"
assert_eq "... nor r2" "[encrypted]" "$(archive_name r2 "$S5")"
assert_eq "... the hub's keys.db holds no key under S5's kid" 0 "$(has_key h "$K5")"
assert_eq "... and no key store on the hub seals it" "no no" "$(store_has "$T/hub.git" hub "$K5") $(store_has "$T/hub.git" sch-a "$K5")"
assert_eq "S4 stays readable on the hub and r2" "李四 李四" "$(archive_name h "$S4") $(archive_name r2 "$S4")"

log "=== the old enc.key found again: as enc.key.old it opens what was sealed to it"
cp "$T/keys/enc.key" "$T/r2/enc.key.old"
sync_ok r2 hub >/dev/null
assert_eq "r2 reads S4 again" 李四 "$(archive_name r2 "$S4")"
assert_eq "... and S1, S2, S5 stay erased" "[encrypted] [encrypted] [encrypted]" "$(archive_name r2 "$S1") $(archive_name r2 "$S2") $(archive_name r2 "$S5")"
ss h audit verify --repo "$T/hub.git" --district-pubkey "$RK"
assert_eq "audit verify passes from the repository" 0 "$RC"
sync_ok h >/dev/null
assert_all_equal "state hashes equal" "$(state_hash h)" "$(state_hash r2)"
summary
