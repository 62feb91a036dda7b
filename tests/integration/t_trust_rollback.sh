#!/usr/bin/env bash
# E_ROLLBACK (issue #14): a school's home is restored from an old copy (a disk
# image, a copied directory) after it had published more. Its next sync finds
# its own branch on the hub ahead of its log and adopts it before anything is
# signed: no equivocation. If the clerk wrote on the restored copy before that
# sync, those writes (never published) collide with the district's entries:
# sync says E_ROLLBACK, writes are refused (status says why and what to do),
# nothing of it leaves the node, and sync --adopt-remote discards them (kept
# in quarantine for re-entry); then writes go on and every node agrees.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
seqs_of() { ssx "$1" log --json | "$PY" -c 'import json,sys
print(" ".join(str(e["seq"]) for e in json.load(sys.stdin) if e["node"]==sys.argv[1]))' "$2"; }
add_t() { ss a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-$1','sch-a','t$1')"; }
rollback_of() { ssx "$1" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["node"]["rollback"] is not None)'; }

log "=== setup: hub, schools a and b (managed); a writes 2 entries and syncs"
district_setup a b
sync_ok h >/dev/null
sync_ok a >/dev/null
add_t 1; add_t 2
sync_ok a >/dev/null

log "=== the home is copied; a writes 2 more and publishes them; the old copy comes back"
cp -a "$T/a" "$T/a-copy1"
add_t 3; add_t 4
sync_ok a >/dev/null
sync_ok b >/dev/null
rm -rf "$T/a"; mv "$T/a-copy1" "$T/a"
assert_eq "the restored copy holds 1 2" "1 2" "$(seqs_of a sch-a)"

log "=== its next sync adopts seq 3 4 from the hub before anything is signed"
ss a sync --remote hub --json
assert_eq "sync exits 0" 0 "$RC"
assert_eq "... and reports the 2 adopted entries" 2 "$(jget "$OUT" 'j["rollback_adopted"]')"
assert_contains "... with a notice" "held 2 of this node's own entries that its log lacked" "$ERR"
assert_eq "no rollback left in status" False "$(rollback_of a)"
add_t 5
assert_eq "the next write takes seq 5" "1 2 3 4 5" "$(seqs_of a sch-a)"

log "=== again, but the clerk writes on the restored copy before it syncs"
sync_ok a >/dev/null
cp -a "$T/a" "$T/a-copy2"
add_t 6
sync_ok a >/dev/null
sync_ok b >/dev/null
rm -rf "$T/a"; mv "$T/a-copy2" "$T/a"
add_t 6b
assert_eq "the restored copy signed its own seq 6 (unpublished)" "0" "$RC"
ss a sync --remote hub --json
assert_eq "sync fails" 1 "$RC"
assert_contains "... with E_ROLLBACK and the fix" "E_ROLLBACK.*--adopt-remote" "$(tr '\n' ' ' <<<"$ERR")"
assert_eq "... its report says rollback" True "$(jget "$OUT" 'j["rollback"]')"
assert_eq "status --json: rollback" True "$(rollback_of a)"
assert_contains "status says ROLLBACK and what to do" "ROLLBACK \(E_ROLLBACK\).*--adopt-remote" "$(ssx a status | tr '\n' ' ')"
add_t 7
assert_eq "a write is refused" 1 "$RC"
assert_contains "... with E_ROLLBACK and what to do" "E_ROLLBACK.*schoolsync sync" "$(tr '\n' ' ' <<<"$ERR")"
ss a sync --remote hub
assert_eq "a second plain sync still fails with E_ROLLBACK" "1 yes" "$RC $(grep -q E_ROLLBACK <<<"$ERR" && echo yes)"
add_t 7
assert_eq "... and writes stay refused" 1 "$RC"
sync_ok h >/dev/null
sync_ok b >/dev/null
assert_eq "the unpublished seq 6 never left a: no E_FORK on the hub" "" "$(quarantine_codes h | grep E_FORK || true)"
assert_eq "... nor on b" "" "$(quarantine_codes b | grep E_FORK || true)"

log "=== sync --adopt-remote discards the unpublished write, adopts the hub's seq 6"
ss a sync --remote hub --adopt-remote --json
assert_eq "sync --adopt-remote exits 0" 0 "$RC"
assert_eq "... discarded 1 and adopted 1" "1 1" "$(jget "$OUT" 'str(j["discarded"])+" "+str(j["rollback_adopted"])')"
assert_contains "the discarded write is in quarantine for re-entry" "sch-a 6 E_ROLLBACK" "$(quarantine_codes a)"
ss a reenter --json
assert_eq "reenter lists it: the discarded write, to re-enter" "sch-a#6 rollback pending teacher/sch-a-6b" \
	"$(jget "$OUT" '" ".join(e["entry"]+" "+e["kind"]+" "+e["status"]+" "+e["ops"][0]["table"]+"/"+e["ops"][0]["key"] for e in j["entries"])')"
assert_eq "status: no rollback" False "$(rollback_of a)"
add_t 7
assert_eq "writes go on" 0 "$RC"
assert_eq "... at seq 7" "1 2 3 4 5 6 7" "$(seqs_of a sch-a)"
sync_ok a >/dev/null
sync_ok h >/dev/null
sync_ok b >/dev/null
assert_eq "b holds 1..7" "1 2 3 4 5 6 7" "$(seqs_of b sch-a)"
assert_eq "no equivocation on the hub or b" "" "$(quarantine_codes h; quarantine_codes b)"
assert_all_equal "hub, a and b hold the same state" "$(state_hash h)" "$(state_hash a)" "$(state_hash b)"
assert_eq "a holds the hub's t6, not the discarded t6b" "t6|" \
	"$(ssx a --json sql "SELECT group_concat(name) AS n FROM teacher WHERE id IN ('sch-a-6','sch-a-6b')" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')|"

log "=== a hub checkpoint alone (a stick with the district branch only) shows the rollback"
sync_ok h >/dev/null
cp -a "$T/a" "$T/a-copy3"
add_t 8
sync_ok a >/dev/null
sync_ok h >/dev/null          # the hub's round signs a checkpoint naming sch-a#8
git init -q --bare "$T/dstick.git"
git --git-dir="$T/hub.git" push -q "$T/dstick.git" refs/heads/district:refs/heads/district
rm -rf "$T/a"; mv "$T/a-copy3" "$T/a"
ssx a remote add dstick "$T/dstick.git" >/dev/null
ss a sync --remote dstick
assert_eq "sync with the stick fails (E_ROLLBACK)" "1 yes" "$RC $(grep -q E_ROLLBACK <<<"$ERR" && echo yes)"
assert_contains "status names the checkpoint and the seqs" "checkpoint [0-9]+ witnessed this node's entries up to seq 8, but its log ends at seq 7" \
	"$(ssx a status | tr '\n' ' ')"
add_t 9
assert_eq "writes are refused" 1 "$RC"
sync_ok a hub >/dev/null
assert_eq "the hub's copy is adopted: no rollback" False "$(rollback_of a)"
add_t 9
assert_eq "writes go on at seq 9" "0 1 2 3 4 5 6 7 8 9" "$RC $(seqs_of a sch-a)"

summary
