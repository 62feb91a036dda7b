#!/usr/bin/env bash
# Kid squatting (docs/PRIVACY.md §8): school a publishes a correctly signed
# key store that claims school b's kid with a junk key. Whatever order a
# reader applies the stores in, it still decrypts b's student, and a hub
# that writes b's row uses b's key, never a's (a must not read the write).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
round() { sync_ok h >/dev/null; sync_ok a >/dev/null; sync_ok b >/dev/null; sync_ok h >/dev/null; }
school() { # HOME NODE
	local j
	j=$(ssx "$1" --json init --node "$2" --district d1)
	ssx "$1" join --district-pubkey "$RK" >/dev/null
	ssx "$1" remote add hub "$T/hub.git" >/dev/null
	ssx h district enroll "$2" --role school --school "$2" --pubkey "$(printf '%s' "$j" | jf pubkey)" \
		--enckey "$(printf '%s' "$j" | jf enckey)" --root-key "$ROOT" >/dev/null
}

log "=== setup: hub, schools a and b; b adds a student"
new_hub "$T/hub.git"
ssx h --json init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name d1 --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
school a sch-a
school b sch-b
round
SB=$(ssx b student-archive add --name 周五 --grade 一年级)
round
ssx h student-archive edit "$SB" --grade 二年级 >/dev/null # the hub's own branch, for its restored home below
round
KB=$(archive_kid b "$SB")
assert_eq "sanity: the hub reads b's student" 周五 "$(archive_name h "$SB")"

log "=== a squats b's kid: its own signed store seals a junk key under it to the hub"
sqlite3 "$T/a/keys.db" "INSERT INTO data_key(kid, owner, school, key, readers) VALUES ('$KB', 'sch-a', 'sch-a', randomblob(32), '')"
sync_ok a >/dev/null
assert_contains "a's published store claims b's kid" "$KB" \
	"$(git --git-dir="$T/hub.git" show refs/heads/keys/sch-a:keystore)"

log "=== order 1: b's store first, a's junk after (the hub that had b's key)"
sync_ok h >/dev/null
assert_eq "the hub holds both claims" 2 "$(sqlite3 "$T/h/keys.db" "SELECT count(*) FROM data_key WHERE kid='$KB'")"
assert_eq "the hub still reads b's student" 周五 "$(archive_name h "$SB")"

log "=== order 2: a's junk store first (keys/sch-a sorts before keys/sch-b), on a restored hub"
git clone -q --mirror "$T/hub.git" "$T/clone.git"
mkdir -m 700 "$T/h2"
cp "$T/h/enc.key" "$T/h2/enc.key"
ssx h2 init --node hub --district d1 --restore-key "$T/h/node.key" >/dev/null
ssx h2 join --district-pubkey "$RK" >/dev/null
ssx h2 remote add clone "$T/clone.git" >/dev/null
sync_ok h2 >/dev/null
assert_eq "the restored hub reads b's student" 周五 "$(archive_name h2 "$SB")"

log "=== the hub writes b's row: with a key of its own, never a claimed one (b reads it, a does not)"
ssx h2 student-archive edit "$SB" --name 周五改 >/dev/null
assert_ne "the write took a new kid (a writer reuses only keys it made, PRIVACY.md §2)" "$KB" "$(archive_kid h2 "$SB")"
ssx h2 remote add hub "$T/hub.git" >/dev/null
sync_ok h2 hub >/dev/null
sync_ok a >/dev/null; sync_ok b >/dev/null
assert_eq "b reads the hub's write" 周五改 "$(archive_name b "$SB")"
assert_eq "a's junk key does not open it" "[encrypted]" "$(archive_name a "$SB")"

log "=== a keys.db of the old form (one key per kid) is migrated, rows keep their owner"
sqlite3 "$T/b/keys.db" "BEGIN; CREATE TABLE old(kid TEXT PRIMARY KEY, owner TEXT NOT NULL, school TEXT NOT NULL,
 key BLOB NOT NULL, readers TEXT NOT NULL DEFAULT '') WITHOUT ROWID; INSERT INTO old SELECT kid, owner, school, key, readers FROM data_key;
 DROP TABLE data_key; ALTER TABLE old RENAME TO data_key; PRAGMA user_version=0; COMMIT;"
OWN=$(sqlite3 "$T/b/keys.db" "SELECT owner FROM data_key WHERE kid='$KB'")
assert_eq "b reads its student after the migration" 周五改 "$(archive_name b "$SB")"
assert_eq "... keys.db is at the current version (2)" 2 "$(sqlite3 "$T/b/keys.db" "PRAGMA user_version")"
assert_eq "... the key kept its owner" "$OWN" "$(sqlite3 "$T/b/keys.db" "SELECT owner FROM data_key WHERE kid='$KB'")"
assert_contains "... keyed by (kid, owner)" "PRIMARY KEY.kid, owner." "$(sqlite3 "$T/b/keys.db" "SELECT sql FROM sqlite_master WHERE name='data_key'")"
sync_ok b >/dev/null

summary
