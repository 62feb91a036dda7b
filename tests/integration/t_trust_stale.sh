#!/usr/bin/env bash
# E_ROLLBACK of trust data (issue 14, docs/TRUST.md §4 "Rollback"): the hub's
# home restored from an old copy holds an old log and, from the same copy,
# an old district branch. When a sync finds its own branch ahead (a stick
# that carried only the hub's node branch), it adopts its entries -- but its
# district branch still lacks the checkpoints it signed after the copy, so
# it must not sign a checkpoint or a district object (it would sign
# positions and serials the district already holds: hub equivocation,
# E_WITNESS_FORK everywhere) until a sync has read a district branch from a
# remote. Then it signs the next position, and no school sees a fork.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
wit() { ssx "$1" status --json | "$PY" -c 'import json,sys; w=json.load(sys.stdin)["node"]["witness"]; print(w[sys.argv[1]])' "$2"; }

log "=== a hub and a school; the hub's home is copied (a backup)"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
ssx h remote add hub "$T/hub.git" >/dev/null
P=$(pubkey_of a sch-a)
ssx h district enroll sch-a --role school --school sch-a --pubkey "$P" --root-key "$ROOT" >/dev/null
ssx a join --district-pubkey "$RK" >/dev/null
ssx a remote add hub "$T/hub.git" >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','A')" >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
cp -a "$T/h" "$T/h-backup"
NOLD=$(wit h checkpoints)

log "=== the hub goes on: more entries, more checkpoints; a syncs them"
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-b','B')" >/dev/null
ssx h district checkpoint >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-c','C')" >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
NNEW=$(wit a checkpoints)
assert_true "the district holds checkpoints the backup lacks" test "$NNEW" -gt "$NOLD"

log "=== the hub's PC dies; its home comes back from the backup; a stick carries only its own branch"
rm -rf "$T/h"
cp -a "$T/h-backup" "$T/h"
git init -q --bare "$T/own.git"
git --git-dir="$T/hub.git" push -q "$T/own.git" refs/heads/node/hub:refs/heads/node/hub
ssx h remote add own "$T/own.git" >/dev/null
ss h sync --remote own --json
assert_eq "the restored hub adopts its own newer entries (E_ROLLBACK repaired)" 2 "$(sync_field "$OUT" rollback_adopted)"
assert_eq "... but signs no checkpoint on its old chain" "$NOLD" "$(wit h checkpoints)"
ss h district checkpoint
assert_eq "district checkpoint is refused" 1 "$RC"
assert_contains "... E_ROLLBACK, saying why and what to do" "E_ROLLBACK.*sync with a remote that holds the district branch" \
	"$(echo "$ERR" | tr '\n' ' ')"
P2=$(pubkey_of b sch-b)
ss h district enroll sch-b --role school --school sch-b --pubkey "$P2" --root-key "$ROOT"
assert_eq "so is a district object (it would reuse a serial)" 1 "$RC"
assert_contains "... E_ROLLBACK" "E_ROLLBACK" "$ERR"
ss h sync --remote own --json
assert_eq "another sync with the stick (no district branch there) lifts nothing" "$NOLD" "$(wit h checkpoints)"

log "=== a sync with the hub's repository reads the district branch: signing resumes after it"
sync_ok h hub >/dev/null
assert_eq "the hub holds the district's whole chain again" "$NNEW" "$(wit h checkpoints)"
ss h district checkpoint
assert_eq "district checkpoint works again" 0 "$RC"
assert_eq "... at the next position of the one chain" $((NNEW + 1)) "$(wit h checkpoints)"
ssx h district enroll sch-b --role school --school sch-b --pubkey "$P2" --root-key "$ROOT" >/dev/null
sync_ok h hub >/dev/null
sync_ok a >/dev/null
assert_eq "the school sees no hub equivocation" 0 "$(wit a forks)"
assert_eq "... and holds the same chain" "$(wit h checkpoints)" "$(wit a checkpoints)"
assert_ok "the school's verify passes" a verify
assert_eq "the hub and the school hold the same state" "$(state_hash h)" "$(state_hash a)"

summary
