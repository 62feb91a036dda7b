#!/usr/bin/env bash
# Private rows (issue 15, docs/PRIVACY.md §4-5): erasure by the hub and by
# the owning school (hub, school and a fresh clone of the history can no
# longer decrypt that student; the others stay readable; audit verify
# passes), auditor grant and revocation, and re-keying the hub's
# encryption key (owners re-seal to the new key).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
round() { sync_ok h >/dev/null; sync_ok a >/dev/null; sync_ok h >/dev/null; [ ! -d "$T/x" ] || sync_ok x >/dev/null; }
# restore HOME NODE KEYDIR: a fresh home from a node's key files, synced from a clone of the hub
restore_from() {
	mkdir -m 700 "$T/$1"
	cp "$3/enc.key" "$T/$1/enc.key"
	ssx "$1" init --node "$2" --district d1 --restore-key "$3/node.key" >/dev/null
	ssx "$1" join --district-pubkey "$RK" >/dev/null
	ssx "$1" remote add clone "$T/clone.git" >/dev/null
	sync_attn "$1" >/dev/null
}

log "=== setup: hub, school a, auditor x"
new_hub "$T/hub.git"
HJ=$(ssx h --json init --node hub --district d1)
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
AJ=$(ssx a --json init --node sch-a --district d1)
ssx a join --district-pubkey "$RK" >/dev/null
ssx a remote add hub "$T/hub.git" >/dev/null
ssx h district enroll sch-a --role school --school sch-a --pubkey "$(printf '%s' "$AJ" | jf pubkey)" \
	--enckey "$(printf '%s' "$AJ" | jf enckey)" --root-key "$ROOT" >/dev/null
round
S1=$(ssx a student-archive add --name 赵一 --grade 一年级 --record 甲)
S2=$(ssx a student-archive add --name 钱二 --grade 二年级)
S3=$(ssx a student-archive add --name 孙三)
round
assert_eq "the hub reads S1" 赵一 "$(archive_name h "$S1")"
K1=$(archive_kid a "$S1")
# a USB stick that a synced with before the erasure: it will hold the old key store
mkdir -p "$T/usb"
ssx a remote add stick "$T/usb/stick.git" >/dev/null
sync_ok a stick >/dev/null
cp -a "$T/usb/stick.git" "$T/usb/stale.git"

# the raw bytes of a data key as keys.db holds them (hex), and whether any
# file of keys.db (the database, its WAL, journal) still holds them
key_hex() { sqlite3 "$T/$1/keys.db" "SELECT hex(key) FROM data_key WHERE kid='$2'"; }
key_left() { "$PY" -c 'import glob,sys
k=bytes.fromhex(sys.argv[2]); print("yes" if any(k in open(f,"rb").read() for f in glob.glob(sys.argv[1]+"*")) else "no")' "$T/$1/keys.db" "$2"; }
KB1=$(key_hex a "$K1")
assert_eq "sanity: the hub and a hold S1's data key" "$KB1" "$(key_hex h "$K1")"
assert_ne "sanity: ... a 32-byte key" "" "$KB1"

log "=== erasure by the hub"
ss h student-archive erase "$S1"
assert_eq "erase exits 0" 0 "$RC"
assert_contains "... and names one data key" "erased 1 data key" "$OUT"
assert_eq "erasure overwrites: S1's data key is in no file of the hub's keys.db" no "$(key_left h "$KB1")"
assert_fail "a school cannot erase another school's student" a student-archive erase hub-x1
round
assert_eq "the hub no longer decrypts S1" "[encrypted]" "$(archive_name h "$S1")"
assert_eq "school a no longer decrypts S1 (it honoured the hub's notice)" "[encrypted]" "$(archive_name a "$S1")"
assert_eq "... and S1's data key is in no file of a's keys.db" no "$(key_left a "$KB1")"
assert_eq "S2 stays readable on the hub" 钱二 "$(archive_name h "$S2")"
assert_eq "S2 stays readable on a" 钱二 "$(archive_name a "$S2")"
git clone -q --mirror "$T/hub.git" "$T/clone.git"
for r in $(git --git-dir="$T/clone.git" for-each-ref --format='%(refname)' refs/heads/keys/); do
	assert_eq "no key store in a fresh clone seals S1's data key ($r)" no \
		"$(git --git-dir="$T/clone.git" show "$r:keystore" | "$PY" -c 'import json,sys
b=json.loads(sys.stdin.read().split("\t")[0]); print("yes" if sys.argv[1] in [k[0] for k in b["keys"]] else "no")' "$K1")"
	assert_eq "... and $r is one parentless commit" 1 "$(git --git-dir="$T/clone.git" rev-list --count "$r")"
done
assert_contains "the hub's key store carries the erasure notice" "$K1" "$(git --git-dir="$T/clone.git" show refs/heads/keys/hub:keystore)"
restore_from h2 hub "$T/h"
assert_eq "a fresh home with the hub's own keys, fed by the clone, cannot decrypt S1" "[encrypted]" "$(archive_name h2 "$S1")"
assert_eq "... but reads S2" 钱二 "$(archive_name h2 "$S2")"
ss h audit verify --repo "$T/hub.git" --district-pubkey "$RK"
assert_eq "audit verify still passes after the erasure" 0 "$RC"
assert_all_equal "state hashes stay equal" "$(state_hash h)" "$(state_hash a)" "$(state_hash h2)"

log "=== an old stick still holding a's previous key store brings nothing back"
assert_contains "sanity: the stale stick's key store still seals S1's key" "$K1" "$(git --git-dir="$T/usb/stale.git" show refs/heads/keys/sch-a:keystore)"
ssx a remote add old "$T/usb/stale.git" >/dev/null
sync_ok a old >/dev/null
assert_eq "a, having seen the newer store, ignores the older one: S1 stays unreadable" "[encrypted]" "$(archive_name a "$S1")"
assert_eq "... and a replaced the stick's older store with its own" no \
	"$(git --git-dir="$T/usb/stale.git" show refs/heads/keys/sch-a:keystore | grep -q -F "[\"$K1\",[[" && echo yes || echo no)"
ssx h remote add old "$T/usb/stale.git" >/dev/null
sync_ok h old >/dev/null
assert_eq "the hub, synced with that stick too, still cannot decrypt S1" "[encrypted]" "$(archive_name h "$S1")"

log "=== a forged key store on a stick is quarantined, never followed"
G=$(git --git-dir="$T/usb/stale.git" rev-parse refs/heads/keys/sch-a)
git --git-dir="$T/usb/stale.git" show "$G:keystore" | sed 's/"version":\([0-9]*\)/"version":99/' > "$T/forged"
BLOB=$(git --git-dir="$T/usb/stale.git" hash-object -w "$T/forged")
TREE=$(printf '100644 blob %s\tkeystore\n' "$BLOB" | git --git-dir="$T/usb/stale.git" mktree)
FORGED=$(git --git-dir="$T/usb/stale.git" commit-tree "$TREE" -m forged)
git --git-dir="$T/usb/stale.git" update-ref refs/heads/keys/sch-a "$FORGED"
sync_attn h old >/dev/null
assert_contains "the hub quarantines the forged store, naming it and E_SIG" "key store keys/sch-a on remote old refused: key store of sch-a is not signed by its key" \
	"$(ssx h quarantine --json)"
assert_eq "the hub still reads S2 (its keys untouched)" 钱二 "$(archive_name h "$S2")"
assert_ne "... and put a's signed store back on the stick" "$FORGED" "$(git --git-dir="$T/usb/stale.git" rev-parse refs/heads/keys/sch-a)"

log "=== erasure by the owning school"
ssx a student-archive erase "$S2" >/dev/null
round
assert_eq "after a's erasure the hub cannot decrypt S2" "[encrypted]" "$(archive_name h "$S2")"
assert_eq "... nor can a" "[encrypted]" "$(archive_name a "$S2")"
assert_eq "S3 stays readable on the hub" 孙三 "$(archive_name h "$S3")"

log "=== auditor grant and revocation"
XJ=$(ssx x --json init --node aud-1 --district d1)
ssx x join --district-pubkey "$RK" >/dev/null
ssx x remote add hub "$T/hub.git" >/dev/null
ssx h district enroll aud-1 --role auditor --pubkey "$(printf '%s' "$XJ" | jf pubkey)" \
	--enckey "$(printf '%s' "$XJ" | jf enckey)" --root-key "$ROOT" >/dev/null
round
assert_eq "an auditor without a grant cannot read" "[encrypted]" "$(archive_name x "$S3")"
assert_fail "a school cannot grant" a district grant-auditor --auditor aud-1 --school sch-a
ssx h district grant-auditor --auditor aud-1 --school sch-a >/dev/null
round; round
assert_eq "the granted auditor reads existing history of sch-a" 孙三 "$(archive_name x "$S3")"
ssx h district revoke-auditor --auditor aud-1 --school sch-a >/dev/null
round; round
K3=$(archive_kid a "$S3")
ssx a student-archive edit "$S3" --name 孙三改 >/dev/null
S4=$(ssx a student-archive add --name 李四)
round
assert_eq "after revocation the auditor cannot read the new write" "[encrypted]" "$(archive_name x "$S3")"
assert_eq "... nor a new student" "[encrypted]" "$(archive_name x "$S4")"
assert_eq "the hub reads the new write" 孙三改 "$(archive_name h "$S3")"
assert_ne "the edited row got a new data key (the old one was sealed to the auditor)" "$K3" "$(archive_kid a "$S3")"

log "=== re-keying the hub's encryption key"
cp -a "$T/h/enc.key" "$T/old-hub-enc.key"
NEWK=$(ssx h privacy rotate-key)
assert_eq "rotate-key prints a new 64-hex key" 64 "${#NEWK}"
assert_eq "the previous key is kept as enc.key.old (0600)" 600 "$(stat -c %a "$T/h/enc.key.old")"
ssx h district enroll hub --role hub --pubkey "$(printf '%s' "$HJ" | jf pubkey)" --enckey "$NEWK" --root-key "$ROOT" >/dev/null
round; round
assert_eq "the hub still reads sch-a's students" 李四 "$(archive_name h "$S4")"
rm -rf "$T/clone.git" "$T/h2"
git clone -q --mirror "$T/hub.git" "$T/clone.git"
mkdir -p "$T/newkey" "$T/oldkey"
cp "$T/h/node.key" "$T/newkey/node.key"; cp "$T/h/enc.key" "$T/newkey/enc.key"
cp "$T/h/node.key" "$T/oldkey/node.key"; cp "$T/old-hub-enc.key" "$T/oldkey/enc.key"
chmod 600 "$T"/newkey/* "$T"/oldkey/*
restore_from h3 hub "$T/newkey"
assert_eq "a home with only the hub's new key reads sch-a's students (owners re-sealed)" 李四 "$(archive_name h3 "$S4")"
restore_from h4 hub "$T/oldkey"
assert_eq "a home with only the hub's old key reads nothing new" "[encrypted]" "$(archive_name h4 "$S4")"
summary
