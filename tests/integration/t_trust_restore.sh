#!/usr/bin/env bash
# Restore (issue #14, first part): a school loses its disk and is restored
# from its backed-up key (init --restore-key). It must not write until it has
# read its own branch from a remote that holds it: a fresh, empty USB stick
# first proves nothing (before the fix that sync lifted the guard and the
# node re-signed seq 1: equivocation, frozen everywhere). status and the
# refused write say what to do; a stick that holds the branch, or the hub,
# lifts the guard; the node goes on at the next seq and every node agrees.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
seqs_of() { ssx "$1" log --json | "$PY" -c 'import json,sys
print(" ".join(str(e["seq"]) for e in json.load(sys.stdin) if e["node"]==sys.argv[1]))' "$2"; }
recovering() { ssx "$1" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["node"]["recovering"])'; }

log "=== setup: hub, schools a and b; a writes 3 entries, syncs with the hub and a USB stick"
district_setup a b
sync_ok h >/dev/null
sync_ok a >/dev/null
for i in 1 2 3; do ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-$i','sch-a','t$i')" >/dev/null; done
ssx a remote add stick "$T/stick-old" >/dev/null
sync_ok a hub >/dev/null
sync_ok a stick >/dev/null
sync_ok b >/dev/null
assert_eq "b holds a's three entries" "1 2 3" "$(seqs_of b sch-a)"

log "=== a's disk dies; restored from its key, with a new USB stick"
cp "$T/a/node.key" "$T/a.key"
rm -rf "$T/a"
ssx a2 init --node sch-a --district d1 --restore-key "$T/a.key" >/dev/null
ssx a2 join --district-pubkey "$RK" >/dev/null
ssx a2 remote add newstick "$T/stick-new" >/dev/null
ssx a2 remote add stick "$T/stick-old" >/dev/null
ssx a2 remote add hub "$T/hub.git" >/dev/null
assert_eq "status --json: recovering" True "$(recovering a2)"
assert_contains "status says the node waits for its own history, and what to do" \
	"RESTORED, WAITING FOR ITS OWN HISTORY.*schoolsync sync --remote hub" "$(ssx a2 status | tr '\n' ' ')"
assert_fail "a write before any sync is refused" a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-9','sch-a','too early')"
assert_contains "... saying it has not read its own branch" "has not yet read its own branch \(node/sch-a\)" "$ERR"
assert_contains "... and what to do" "schoolsync sync --remote hub" "$ERR"

ss a2 sync --remote newstick --json
assert_eq "a sync with the empty stick completes, exit 3: writes stay refused (the user must act)" 3 "$RC"
assert_eq "... its report says the node is still recovering" True "$(jget "$OUT" 'j["recovering"]')"
assert_contains "... with a notice saying what to do" "does not hold this restored node's own branch" "$ERR"
regression R14-restore "an empty remote lifted the restore guard (seq 1 re-signed, E_FORK)"
assert_fail "after the empty stick, writes are still refused" a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-9','sch-a','too early')"
assert_eq "... status still says recovering" True "$(recovering a2)"
assert_eq "... nothing of its own signed" "" "$(seqs_of a2 sch-a)"

log "=== the old stick holds a's branch: that lifts the guard"
R=$(sync_ok a2 stick)
assert_eq "the sync's report: recovered" False "$(jget "$R" 'j["recovering"]')"
assert_eq "status: no longer recovering" False "$(recovering a2)"
assert_eq "a2 holds its own entries 1..3" "1 2 3" "$(seqs_of a2 sch-a)"
ss a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-4','sch-a','after restore')"
assert_eq "a2 writes again" 0 "$RC"
assert_eq "... at the next seq" "1 2 3 4" "$(seqs_of a2 sch-a)"

log "=== the district sees one history"
sync_ok a2 hub >/dev/null
sync_ok h >/dev/null
sync_ok b >/dev/null
assert_eq "b holds a's entries 1..4" "1 2 3 4" "$(seqs_of b sch-a)"
assert_eq "no equivocation anywhere" "" "$(quarantine_codes b; quarantine_codes h)"
assert_all_equal "hub, b and the restored a hold the same state" "$(state_hash h)" "$(state_hash b)" "$(state_hash a2)"

log "=== a second restore, straight from the hub"
cp "$T/a2/node.key" "$T/a2.key"
ssx a3 init --node sch-a --district d1 --restore-key "$T/a2.key" >/dev/null
ssx a3 join --district-pubkey "$RK" >/dev/null
ssx a3 remote add hub "$T/hub.git" >/dev/null
assert_fail "refused before syncing" a3 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-5','sch-a','x')"
sync_ok a3 hub >/dev/null
assert_eq "after the hub: recovered" False "$(recovering a3)"
assert_ok "and writes at seq 5" a3 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-5','sch-a','x')"
assert_eq "... 1..5" "1 2 3 4 5" "$(seqs_of a3 sch-a)"

log "=== --never-published: a school restored before it ever synced may write at once"
P=$(pubkey_of n sch-n)
cp "$T/n/node.key" "$T/n.key"
rm -rf "$T/n"
ssx h district enroll sch-n --role school --school sch-n --pubkey "$P" --root-key "$ROOT" >/dev/null
ssx n2 init --node sch-n --district d1 --restore-key "$T/n.key" --never-published >/dev/null
assert_eq "not recovering" False "$(recovering n2)"
assert_fail "--never-published without --restore-key is a usage error" n3 init --node sch-n --never-published

summary
