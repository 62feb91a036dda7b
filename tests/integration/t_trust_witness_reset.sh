#!/usr/bin/env bash
# Witness reset (issue 14, docs/TRUST.md §4b). The hub's clock runs 200 days
# ahead when it signs a checkpoint (schoolsync-testclock): every school's
# correct clock is then "behind what the district witnessed" and no school
# can write (E_CLOCK). The root voids that checkpoint with
# `district reset-witness`; after the hub's next (correct) checkpoint every
# school writes again, every node converges, a node that learns everything
# in one update gets the same state; a copy of the hub's old key signing
# after a reset that names another key is refused (the key is cut off).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

NOW=$(( $(date +%s) * 1000 ))
D=86400000
ROOT=$T/root.key
wit() { ssx "$1" status --json | "$PY" -c 'import json,sys; w=json.load(sys.stdin)["node"]["witness"]; print(w[sys.argv[1]])' "$2"; }
names() { ssx "$1" sql "SELECT name FROM teacher ORDER BY name" --json | "$PY" -c 'import json,sys; print(",".join(r["name"] for r in json.load(sys.stdin)))'; }
year_of() { "$PY" -c 'import sys; print(sys.argv[1][:4])' "$1"; }

log "=== setup: hub, schools a b c, the hub's first checkpoints at the real time"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
for s in a b c; do
	P=$(ssx $s --json init --node sch-$s --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx $s remote add hub "$T/hub.git" >/dev/null
done
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','甲校'),('sch-b','乙校'),('sch-c','丙校')" >/dev/null
sync_ok h >/dev/null
for s in a b; do sync_ok $s >/dev/null; done
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','张一')" >/dev/null
sync_ok a >/dev/null
sync_ok h >/dev/null
GOOD=$(wit h checkpoints)
assert_ne "the hub signed checkpoints at its real clock" 0 "$GOOD"

log "=== the hub's clock runs 200 days ahead for one round"
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-2','sch-a','张二')" >/dev/null
sync_ok a >/dev/null
SCHOOLSYNC_HUB_CLOCK_OVERRIDE= ss_at $(( NOW + 200 * D )) h district checkpoint --json
assert_eq "the hub signs a checkpoint 200 days ahead (its clock is less than a year past the last one)" 0 "$RC"
BAD=$(wit h checkpoints)
assert_eq "... at the next position" $(( GOOD + 1 )) "$BAD"
sync_ok h hub >/dev/null
sync_ok b >/dev/null
assert_eq "b holds the checkpoint 200 days ahead" "$(year_of "$(wit h time)")" "$(year_of "$(wit b time)")"
assert_fail "b, with a correct clock, can no longer write" b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-1','sch-b','李一')"
assert_contains "... E_CLOCK: behind what the district witnessed" "E_CLOCK" "$ERR"
assert_contains "... and the hint names the hub's remedy" "district reset-witness" "$ERR"

log "=== the root voids it: reset-witness --from $BAD (to the latest)"
L=$(wit h checkpoints)
assert_fail "a reset needs the root key" h district reset-witness --from "$BAD"
assert_fail "a reset from a position past the latest + 1 is refused" h district reset-witness --from $(( L + 2 )) --root-key "$ROOT"
assert_contains "... naming the range" "from 1 to $(( L + 1 ))" "$ERR"
DT=$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)
assert_ok "the root voids checkpoints $BAD..$L" h --json district reset-witness --from "$BAD" --root-key "$ROOT"
assert_eq "... the JSON names the range" "$BAD $L" "$(jget "$OUT" '"%d %d" % (j["void_from"], j["void_to"])')"
assert_eq "the hub's witnessed time is back to before the void checkpoints" 1 \
	"$("$PY" -c 'import sys,datetime; t=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp()*1000; print(int(t <= int(sys.argv[2]) + 600000))' "$(wit h time)" "$NOW")"
DT2=$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)
assert_fail "a second reset overlapping the first is refused" h district reset-witness --from "$BAD" --root-key "$ROOT"
assert_contains "... naming the reset it overlaps" "inside or before reset" "$ERR"
assert_eq "... and the district branch did not move" "$DT2" "$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)"
assert_ne "(the first reset moved it)" "$DT" "$DT2"
sync_ok h >/dev/null                        # the next checkpoint, at the real clock
assert_eq "the hub signed the next checkpoint after the void ones" $(( L + 1 )) "$(wit h checkpoints)"

log "=== every school writes again; everyone converges"
sync_ok b >/dev/null
assert_ok "b writes again" b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-1','sch-b','李一')"
sync_ok b >/dev/null
sync_ok a >/dev/null
assert_ok "a writes too" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-3','sch-a','张三')"
sync_ok a >/dev/null
sync_ok h >/dev/null
sync_ok b >/dev/null
sync_ok a >/dev/null
sync_ok c >/dev/null                         # learns everything, reset included, in one update
assert_eq "nothing is held or lost on b" "张一,张三,张二,李一" "$(names b)"
assert_all_equal "hub, a, b and c (one update) are identical" "$(state_hash h)" "$(state_hash a)" "$(state_hash b)" "$(state_hash c)"
assert_all_equal "and hold the same witnessed time" "$(wit h time)" "$(wit a time)" "$(wit b time)" "$(wit c time)"
assert_ok "c writes" c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-1','sch-c','王一')"
assert_ok "verify on c (the void checkpoint reloads the same way)" c verify
assert_ok "verify on b (it loaded the checkpoint before the reset voided it)" b verify
assert_ok "verify on the hub" h verify

log "=== a leaked hub key is cut off"
cp -a "$T/h" "$T/oldh"                       # the old key, as a thief would hold it
P2=$(ssx h2 --json init --node hub2 --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx h district enroll hub2 --role hub --pubkey "$P2" --root-key "$ROOT" >/dev/null
N=$(wit h checkpoints)
DT3=$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)
assert_fail "a reset naming a node with no hub certificate is refused (nobody could sign after it)" \
	h district reset-witness --from $(( N + 1 )) --hub ghost --pubkey "$P2" --root-key "$ROOT"
assert_contains "... naming what to do" "district enroll ghost --role hub" "$ERR"
assert_fail "... and a key not certified for that hub" \
	h district reset-witness --from $(( N + 1 )) --hub hub --pubkey "$P2" --root-key "$ROOT"
assert_contains "... naming the hub" "not certified for hub hub" "$ERR"
assert_eq "... the district branch did not move" "$DT3" "$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)"
assert_ok "the root names hub2's key as the witness (voids nothing)" h district reset-witness --from $(( N + 1 )) --hub hub2 --root-key "$ROOT"
assert_fail "the old hub no longer signs checkpoints" h district checkpoint
sync_ok h >/dev/null
ssx h2 join --district-pubkey "$RK" >/dev/null
ssx h2 remote add hub "$T/hub.git" >/dev/null
sync_ok h2 >/dev/null
assert_ok "hub2 signs the next checkpoint" h2 district checkpoint
sync_ok h2 >/dev/null
assert_eq "... at position $(( N + 1 ))" $(( N + 1 )) "$(wit h2 checkpoints)"
ss_at $(( NOW + 300 * D )) oldh district checkpoint      # the thief, from a copy made before the reset
git init -q --bare "$T/stick.git"
git --git-dir="$T/oldh/exchange.git" push -q "$T/stick.git" refs/heads/district:refs/heads/district
ssx b remote add stick "$T/stick.git" >/dev/null
sync_ok b hub >/dev/null
HB=$(state_hash b)
sync_attn b stick >/dev/null
assert_contains "b refuses the stolen key's district branch" "district 0 E_REWRITE" "$(quarantine_codes b)"
assert_eq "... keeps no evidence against the honest witness (the old key signs nothing after the reset)" 0 "$(wit b forks)"
assert_eq "... and its state and witnessed time did not move" "$HB $(wit h2 time)" "$(state_hash b) $(wit b time)"

summary
