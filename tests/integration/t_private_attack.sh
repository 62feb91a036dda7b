#!/usr/bin/env bash
# Private rows attacked as the district's outside checkers would (issue 15,
# docs/PRIVACY.md §5/§8): a revoked auditor that kept its data keys must not
# read what anyone writes after the revocation (the hub, another node of the
# owning school); a reader whose encryption key was rotated (the old secret
# may be in a thief's hands) must not read new writes under the old key.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
# archive_kid HOME ID [COLUMN]: the data key id of a private cell
round() { for x in h a b c h x; do sync_ok "$x" >/dev/null; done; }
# enrol HOME NODE ROLE [SCHOOL]: init, join, certify with the node's enckey
enrol() {
	local j
	j=$(ssx "$1" --json init --node "$2" --district d1)
	ssx "$1" join --district-pubkey "$RK" >/dev/null
	ssx "$1" remote add hub "$T/hub.git" >/dev/null
	ssx h district enroll "$2" --role "$3" ${4:+--school "$4"} --pubkey "$(printf '%s' "$j" | jf pubkey)" \
		--enckey "$(printf '%s' "$j" | jf enckey)" --root-key "$ROOT" >/dev/null
}

log "=== setup: hub, school sch-a on two nodes (a, b), auditor x"
new_hub "$T/hub.git"
HJ=$(ssx h --json init --node hub --district d1)
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
enrol a sch-a school sch-a
enrol b sch-a-2 school sch-a
enrol c sch-c school sch-c
enrol x aud-1 auditor
round
ssx h district grant-auditor --auditor aud-1 --school sch-a >/dev/null
round
S1=$(ssx a student-archive add --name 赵一 --grade 一年级)
S2=$(ssx a student-archive add --name 钱二 --grade 二年级)
round
assert_eq "the granted auditor reads S1" 赵一 "$(archive_name x "$S1")"
assert_eq "the other node of sch-a reads S2" 钱二 "$(archive_name b "$S2")"
K1=$(archive_kid a "$S1"); K2=$(archive_kid a "$S2")

log "=== a revoked auditor that kept its keys.db reads no write made after the revocation"
# the auditor keeps a copy of everything it held (it need not apply newer stores)
cp -a "$T/x" "$T/x-kept"
ssx h district revoke-auditor --auditor aud-1 --school sch-a >/dev/null
round; round
ssx h student-archive edit "$S1" --record 转学 >/dev/null
ssx b student-archive edit "$S2" --record 留级 >/dev/null
round; round
assert_eq "sanity: the owner reads the hub's write" 转学 "$(ssx a --json student-archive show "$S1" | jf record)"
assert_ne "the hub's write after the revocation does not use a data key sealed to the auditor" "$K1" "$(archive_kid h "$S1" record)"
assert_ne "... nor does another node of the owning school" "$K2" "$(archive_kid b "$S2" record)"
assert_eq "the owner reads b's write" 留级 "$(ssx a --json student-archive show "$S2" | jf record)"
assert_eq "the hub reads b's write" 留级 "$(ssx h --json student-archive show "$S2" | jf record)"
KH1=$(archive_kid h "$S1" record)
ssx h student-archive edit "$S1" --record 转学 >/dev/null
assert_eq "the hub's next write of the row reuses its own key (not a new one per write)" "$KH1" "$(archive_kid h "$S1" record)"

log "=== a rotated encryption key reads no write made after the rotation"
S3=$(ssx a student-archive add --name 孙三 --grade 二年级)
round
K3=$(archive_kid a "$S3" grade)
NEWK=$(ssx h privacy rotate-key)
ssx h district enroll hub --role hub --pubkey "$(printf '%s' "$HJ" | jf pubkey)" --enckey "$NEWK" --root-key "$ROOT" >/dev/null
round; round
ssx a student-archive edit "$S3" --grade 三年级 >/dev/null
round; round
assert_ne "the owner's write after the hub's rotation takes a new data key (the old one was sealed to the old enc.key)" \
	"$K3" "$(archive_kid a "$S3" grade)"
assert_eq "the hub reads it with its new key" 三年级 "$(ssx h --json student-archive show "$S3" | jf grade)"
log "=== a school's erasure reaches the keys the hub and its other node made for the row"
S4=$(ssx a student-archive add --name 李四 --grade 四年级)
round
ssx h student-archive edit "$S4" --record 班长 >/dev/null
round
ssx b student-archive edit "$S4" --grade 五年级 >/dev/null
round; round
assert_eq "sanity: the hub reads its own write of S4" 班长 "$(ssx h --json student-archive show "$S4" | jf record)"
assert_eq "sanity: the hub reads b's write of S4" 五年级 "$(ssx h --json student-archive show "$S4" | jf grade)"
ssx a student-archive erase "$S4" >/dev/null
round; round
for x in h a b; do
	for col in name grade record; do
		assert_eq "after a's erasure $x cannot decrypt S4's $col" "[encrypted]" "$(ssx $x --json student-archive show "$S4" | jf $col)"
	done
done

log "=== another school cannot erase sch-a's students by naming their (public) kids"
KN=$(archive_kid a "$S2"); KR=$(archive_kid h "$S2" record); KH=$(archive_kid h "$S1" record)
for k in "$KN" "$KR" "$KH"; do sqlite3 "$T/c/keys.db" "INSERT INTO erased(kid) VALUES ('$k')"; done
round; round
assert_contains "sanity: c's store names the kids" "$KR" "$(git --git-dir="$T/hub.git" show refs/heads/keys/sch-c:keystore)"
for x in h a b; do
	assert_eq "$x still reads S2's name" 钱二 "$(archive_name $x "$S2")"
	assert_eq "$x still reads S2's record (b's key)" 留级 "$(ssx $x --json student-archive show "$S2" | jf record)"
	assert_eq "$x still reads S1's record (the hub's key)" 转学 "$(ssx $x --json student-archive show "$S1" | jf record)"
done

NC=$(git --git-dir="$T/hub.git" show refs/heads/keys/sch-c:keystore | "$PY" -c 'import json,sys; print(len(json.loads(sys.stdin.read().split("\t")[0])["erased"]))')
assert_eq "the hub keeps c's requests, no more than its store names" "$NC" "$(sqlite3 "$T/h/keys.db" "SELECT count(*) FROM erase_ask WHERE node='sch-c'")"
sqlite3 "$T/c/keys.db" "DELETE FROM erased"
round
assert_eq "... and drops them when c's newer store names none" 0 "$(sqlite3 "$T/h/keys.db" "SELECT count(*) FROM erase_ask WHERE node='sch-c'")"

log "=== a revoked school node (a stolen laptop) can no longer erase its school's students"
BSEQ=$(ssx h --json log --node sch-a-2 | "$PY" -c 'import json,sys; print(max([e["seq"] for e in json.load(sys.stdin)] or [0]))')
ssx h district revoke sch-a-2 --after-seq "$BSEQ" --root-key "$ROOT" >/dev/null
round
KN3=$(archive_kid a "$S3")
sqlite3 "$T/b/keys.db" "INSERT INTO erased(kid) VALUES ('$KN3')"
sync_ok b >/dev/null
assert_contains "sanity: the revoked node's new store names S3's kid" "$KN3" "$(git --git-dir="$T/hub.git" show refs/heads/keys/sch-a-2:keystore)"
round; round
assert_eq "the hub still reads S3" 孙三 "$(archive_name h "$S3")"
assert_eq "the owner still reads S3" 孙三 "$(archive_name a "$S3")"

log "=== after an erasure no home's git objects still hold a store that seals the key"
# sealed_in HOME KID: "yes" if any object of HOME's exchange repository (loose
# or packed, reachable or not) is a key store with a box for KID
sealed_in() { git --git-dir="$T/$1/exchange.git" cat-file --batch-all-objects --batch 2>/dev/null | grep -c -F "[\"$2\",[[" || true; }
assert_ne "sanity: the auditor's kept home holds stores sealing S1's first key" 0 "$(sealed_in x-kept "$K1")"
ssx h student-archive erase "$S1" >/dev/null
round; round
for x in h a b x; do
	assert_eq "no object in $x's exchange repository seals S1's first key" 0 "$(sealed_in $x "$K1")"
done
assert_all_equal "state hashes stay equal" "$(state_hash h)" "$(state_hash a)" "$(state_hash c)" "$(state_hash x)"
summary
