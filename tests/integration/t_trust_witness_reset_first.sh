#!/usr/bin/env bash
# Witness reset from checkpoint 1 (docs/TRUST.md §4b): the hub's very first
# checkpoint is signed with its clock 200 days ahead (the publisher's
# "a year past its latest checkpoint" guard cannot cover a first one), the
# root voids it with `district reset-witness --from 1`, and the district is
# back to "no witness yet". The hub's next checkpoint must then be signed at
# its (correct) clock: before, the hub compared its clock with the void
# checkpoint's time 0 and refused every checkpoint ("more than a year past
# its latest checkpoint (1970-01-01)", E_CLOCK) until an override.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

NOW=$(( $(date +%s) * 1000 ))
D=86400000
ROOT=$T/root.key
wit() { ssx "$1" status --json | "$PY" -c 'import json,sys; w=json.load(sys.stdin)["node"]["witness"]; print(w[sys.argv[1]])' "$2"; }

log "=== setup: hub and school a; the hub's first checkpoint 200 days ahead"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
P=$(ssx a --json init --node sch-a --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx h district enroll sch-a --role school --school sch-a --pubkey "$P" --root-key "$ROOT" >/dev/null
ssx a join --district-pubkey "$RK" >/dev/null
ssx a remote add hub "$T/hub.git" >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','甲校')" >/dev/null
SCHOOLSYNC_HUB_CLOCK_OVERRIDE= ss_at $(( NOW + 200 * D )) h district checkpoint --json
assert_eq "the hub's first checkpoint, 200 days ahead" 0 "$RC"
assert_eq "... at position 1" 1 "$(wit h checkpoints)"
ss_at $(( NOW + 200 * D )) h sync --json
sync_ok a >/dev/null
assert_fail "a, with a correct clock, cannot write" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','张一')"
assert_contains "... E_CLOCK" "E_CLOCK" "$ERR"

log "=== the root voids checkpoint 1; the hub signs the next one at its real clock"
assert_ok "reset-witness --from 1" h district reset-witness --from 1 --root-key "$ROOT"
assert_eq "no witnessed time is left" "None" "$(wit h time)"
assert_contains "status says so" "witnessed time: none .checkpoints 1 to 1 are void" "$(ssx h status)"
SCHOOLSYNC_HUB_CLOCK_OVERRIDE= ss h district checkpoint --json
assert_eq "the hub signs checkpoint 2 without an override" 0 "$RC"
assert_eq "... at position 2" 2 "$(wit h checkpoints)"
assert_eq "... at its real clock" 1 "$("$PY" -c 'import sys,datetime; t=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")).timestamp()*1000; print(int(abs(t - int(sys.argv[2])) < 3600000))' "$(wit h time)" "$NOW")"
sync_ok h >/dev/null
sync_ok a >/dev/null
assert_ok "a writes again" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','张一')"
sync_ok a >/dev/null
sync_ok h >/dev/null
assert_all_equal "hub and a are identical" "$(state_hash h)" "$(state_hash a)"
assert_ok "verify on a" a verify

summary
