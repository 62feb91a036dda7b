#!/usr/bin/env bash
# Re-enrolling a school with encrypted archives (issue 15 "key rotation",
# TRUST.md §5a, docs/PRIVACY.md §5): school a's laptop is stolen; the hub
# re-enrols sch-a under key generation 2 in a new home a2 (new node.key, new
# enc.key; the backed-up enc.key goes in as enc.key.old). a2 and the hub
# still read a's history; a2's new writes are sealed to the new keys only:
# the stolen home (old node.key, old enc.key, its keys.db) reads none of
# them; school b reads nothing; every replica's state hash is identical and
# audit verify passes from the repository.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
head_of() { ssx "$1" log --json | "$PY" -c 'import json,sys
print(max([e["seq"] for e in json.load(sys.stdin) if e["node"]==sys.argv[1]] or [0]))' "$2"; }
store_version() { git --git-dir="$1" show "refs/heads/keys/$2:keystore" | "$PY" -c 'import json,sys
print(json.loads(sys.stdin.read().split("\t")[0])["version"])'; }
round() { sync_ok h >/dev/null; sync_ok "$1" >/dev/null; sync_ok b >/dev/null; sync_ok h >/dev/null; }

log "=== setup: hub, schools a and b; a writes two students"
new_hub "$T/hub.git"
ssx h --json init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name d1 --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
for s in a b; do
	J=$(ssx $s --json init --node sch-$s --district d1)
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx $s remote add hub "$T/hub.git" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$(printf '%s' "$J" | jf pubkey)" \
		--enckey "$(printf '%s' "$J" | jf enckey)" --root-key "$ROOT" >/dev/null
done
round a
S1=$(ssx a student-archive add --name 赵一 --grade 一年级)
S2=$(ssx a student-archive add --name 钱二)
round a
assert_eq "sanity: the hub reads a's students" "赵一 钱二" "$(archive_name h "$S1") $(archive_name h "$S2")"
V1=$(store_version "$T/hub.git" sch-a)

log "=== a's laptop is stolen (the thief keeps its home); the school makes a new home a2"
cp -a "$T/a" "$T/thief"
mkdir -m 700 "$T/a2"
J2=$(ssx a2 --json init --node sch-a --district d1)
P2=$(printf '%s' "$J2" | jf pubkey); E2=$(printf '%s' "$J2" | jf enckey)
cp "$T/a/enc.key" "$T/a2/enc.key.old"     # the school's backup of its enc.key
ssx a2 join --district-pubkey "$RK" >/dev/null
ssx a2 remote add hub "$T/hub.git" >/dev/null
CUT=$(head_of h sch-a)
assert_fail "re-enrolling a school that reads private rows without its new enc key is refused" \
	h district reenroll sch-a --new-key "$P2" --void-after "$CUT" --root-key "$ROOT"
assert_contains "... the hint names --enckey" "enckey" "$ERR"
assert_ok "district reenroll sch-a --new-key --enckey --void-after" \
	h district reenroll sch-a --new-key "$P2" --enckey "$E2" --void-after "$CUT" --root-key "$ROOT"
assert_eq "the new certificate carries the new enc key" "$E2" \
	"$(ssx h district list --json | "$PY" -c 'import json,sys
print([c.get("enckey") for c in json.load(sys.stdin) if c["node"]=="sch-a"][-1])')"
sync_ok h >/dev/null
sync_ok a2 >/dev/null

log "=== a2 reads the school's history and writes"
assert_eq "a2 reads a's students (keys from a's store, opened with enc.key.old)" "赵一 钱二" "$(archive_name a2 "$S1") $(archive_name a2 "$S2")"
K1=$(archive_kid a2 "$S1")
ssx a2 student-archive edit "$S1" --name 赵一改 >/dev/null
S3=$(ssx a2 student-archive add --name 孙三)
round a2
assert_eq "the hub reads a2's writes and the history" "赵一改 孙三 钱二" "$(archive_name h "$S1") $(archive_name h "$S3") $(archive_name h "$S2")"
assert_ne "the edited row took a new data key" "$K1" "$(archive_kid h "$S1")"
wraps_of() { git --git-dir="$T/hub.git" show refs/heads/keys/sch-a:keystore | "$PY" -c 'import json,sys
b=json.loads(sys.stdin.read().split("\t")[0]); print(" ".join(w[0] for k in b["keys"] if k[0]==sys.argv[1] for w in k[1]))' "$1"; }
assert_eq "a2's store seals S3's key to the hub and sch-a (its new key certified), not to b" "hub sch-a" "$(wraps_of "$(archive_kid h "$S3")")"
assert_eq "... and the history's keys too (S2)" "hub sch-a" "$(wraps_of "$(archive_kid h "$S2")")"
assert_eq "a2's key store (generation 2) replaced a's: its version is above" yes \
	"$([ "$(store_version "$T/hub.git" sch-a)" -gt "$V1" ] && echo yes || echo no)"
assert_eq "school b reads none of it" "[encrypted] [encrypted]" "$(archive_name b "$S1") $(archive_name b "$S3")"
assert_eq "the hub quarantined nothing" 0 "$(ssx h quarantine --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"

log "=== the old generation's keys read no new write"
git clone -q --mirror "$T/hub.git" "$T/clone.git"
ssx thief remote add clone "$T/clone.git" >/dev/null
ss thief sync --remote clone --no-push
assert_eq "the stolen home (old node.key, enc.key, keys.db) cannot read a2's new student" "[encrypted]" "$(archive_name thief "$S3")"
assert_eq "... nor a2's edit of an old row" "[encrypted]" "$(archive_name thief "$S1")"
assert_fail "... and cannot sign" thief student-archive add --name 冒名

log "=== every replica identical; audit verify from the repository"
mkdir -m 700 "$T/r"
ssx r init --node rep-1 --district d1 >/dev/null
ssx r join --district-pubkey "$RK" >/dev/null
ssx r remote add clone "$T/clone.git" >/dev/null
ss r sync --remote clone --no-push
assert_eq "a fresh replica syncs" 0 "$RC"
sync_ok a2 >/dev/null; sync_ok b >/dev/null
assert_all_equal "hub, a2, b, a fresh replica hold the same state" \
	"$(state_hash h)" "$(state_hash a2)" "$(state_hash b)" "$(state_hash r)"
for s in h b r a2; do
	assert_eq "$s quarantined no key store (the new generation's verifies, the old one is a2's own)" 0 \
		"$(ssx $s quarantine --json | "$PY" -c 'import json,sys; print(sum(1 for q in json.load(sys.stdin) if "key store" in json.dumps(q)))')"
done
assert_eq "the hub's repository still holds a2's store above a's" yes \
	"$([ "$(store_version "$T/hub.git" sch-a)" -gt "$V1" ] && echo yes || echo no)"
ss h audit verify --repo "$T/hub.git" --district-pubkey "$RK"
assert_eq "audit verify passes from the hub's repository" 0 "$RC"
summary
