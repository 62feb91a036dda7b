#!/usr/bin/env bash
# Re-enrolment (issue #14): the way back for a school frozen for equivocation,
# following docs/OPERATIONS.md §7 "Re-enrolling a frozen school". School a
# forks (a copy of its home writes another seq 4 onto a USB stick); the hub
# freezes it. The hub re-enrols sch-a under a new key generation, cut after
# seq 3; the school continues in a new home from seq 4 on (branch
# node/sch-a.g2). Every replica ends identical whatever order it sees the old
# entries, the fork evidence and the re-enrolment in (six orders of three
# remotes; three by default), entries 1..3 stay valid everywhere, the old key's later entries
# are void, and the retired home cannot sign.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
seqs_of() { ssx "$1" log --json | "$PY" -c 'import json,sys
print(" ".join(str(e["seq"]) for e in json.load(sys.stdin) if e["node"]==sys.argv[1]))' "$2"; }
names_of() { ssx "$1" --json sql "SELECT group_concat(name, ',') AS n FROM (SELECT name FROM teacher WHERE school_id='sch-a' ORDER BY id)" |
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])'; }
frozen_codes() { quarantine_codes "$1" | grep -c E_FORK || true; }

recovering() { ssx "$1" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["node"]["recovering"])'; }
log "=== setup: hub, schools a and b; a writes seq 1..3"
district_setup a b
sync_ok h >/dev/null
sync_ok a >/dev/null
for i in 1 2 3; do ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-$i','sch-a','t$i')" >/dev/null; done
sync_ok a >/dev/null

log "=== the fork: a copy of a's home signs another seq 4 onto a USB stick"
cp -a "$T/a" "$T/acopy"
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-4','sch-a','t4')" >/dev/null
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-5','sch-a','t5')" >/dev/null
sync_ok a >/dev/null
ssx acopy remote add stick "$T/stick.git" >/dev/null
ssx acopy sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-4x','sch-a','t4x')" >/dev/null
sync_ok acopy stick >/dev/null
sync_ok b >/dev/null
sync_ok h hub >/dev/null
cp -a "$T/hub.git" "$T/oldhub.git"      # the hub as it was before the re-enrolment
ssx h remote add stick "$T/stick.git" >/dev/null
sync_attn h stick >/dev/null
assert_contains "the hub holds the fork evidence (E_FORK at sch-a#4)" "sch-a 4 E_FORK" "$(quarantine_codes h)"
assert_eq "... and withdrew sch-a's entries from seq 4 on" "t1,t2,t3" "$(names_of h)"

log "=== OPERATIONS §7 step 1-2: the school makes a new home with a new key"
P2=$(pubkey_of a2 sch-a)
ssx a2 join --district-pubkey "$RK" >/dev/null
ssx a2 remote add hub "$T/hub.git" >/dev/null
sync_ok a2 >/dev/null
assert_fail "the new home cannot write before the hub re-enrols it" a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-6','sch-a','t6')"
assert_contains "... its key is not certified, and the hint names the command" "not certified for node sch-a.*district reenroll sch-a" "$(tr '\n' ' ' <<<"$ERR")"

log "=== step 3: the hub re-enrols sch-a, cut after seq 3"
assert_fail "a cut at or above the fork seq is refused" h district reenroll sch-a --new-key "$P2" --void-after 4 --root-key "$ROOT"
assert_contains "... saying where the fork is" "equivocated at seq 4.*--void-after 3" "$(tr '\n' ' ' <<<"$ERR")"
assert_ok "district reenroll sch-a --new-key --void-after 3" h district reenroll sch-a --new-key "$P2" --void-after 3 --root-key "$ROOT"
assert_contains "... says what happens" "key generation 2 writes from seq 4 on \(branch node/sch-a.g2\)" "$OUT"
assert_eq "the hub's freeze is lifted: sch-a's void entries left its log" "1 2 3" "$(seqs_of h sch-a)"
sync_ok h hub >/dev/null

log "=== step 4: the new home syncs and continues from seq 4"
sync_ok a2 >/dev/null
assert_eq "a2 holds sch-a's valid entries 1..3" "1 2 3" "$(seqs_of a2 sch-a)"
assert_ok "a2 writes" a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-6','sch-a','t6')"
assert_eq "... at seq 4, chained onto seq 3" "1 2 3 4" "$(seqs_of a2 sch-a)"
sync_ok a2 >/dev/null
assert_true "the hub holds branch node/sch-a.g2" quiet git --git-dir="$T/hub.git" rev-parse --verify refs/heads/node/sch-a.g2

log "=== the retired home: its key signs nothing any more"
sync_ok a hub >/dev/null
assert_fail "a write in the old home is refused" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-7','sch-a','t7')"
assert_contains "... naming the re-enrolment" "replaced by a re-enrolment.*E_VOID" "$ERR"

log "=== a re-enrolled school restored from its new key (r14): its old generation's branch alone does not lift the guard"
# a copy of the hub without node/sch-a.g2: a neighbour's stick made after the
# re-enrolment but before the new generation wrote anything
git clone -q --bare "$T/hub.git" "$T/gen1only.git"
git --git-dir="$T/gen1only.git" update-ref -d refs/heads/node/sch-a.g2
cp "$T/a2/node.key" "$T/a2.key"
ssx a3 init --node sch-a --district d1 --restore-key "$T/a2.key" >/dev/null
ssx a3 join --district-pubkey "$RK" >/dev/null
ssx a3 remote add gen1only "$T/gen1only.git" >/dev/null
ssx a3 remote add hub "$T/hub.git" >/dev/null
ssx a3 remote add oldhub "$T/oldhub.git" >/dev/null
ss a3 sync --remote oldhub --no-push
assert_eq "after the hub's copy from before the re-enrolment (the old key's branch, read whole): still recovering" True "$(recovering a3)"
ss a3 sync --remote gen1only --no-push
regression R14-restore-gen "a restored generation-2 home lifted its restore guard on the generation-1 branch (seq 4 re-signed on node/sch-a.g2: frozen again)"
assert_eq "after a remote without node/sch-a.g2: still recovering" True "$(recovering a3)"
assert_fail "... and a write is refused" a3 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-8','sch-a','t8')"
ss a3 sync --remote hub
[ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "a3 sync hub exited $RC" "$ERR"
assert_eq "the hub holds node/sch-a.g2: recovered" False "$(recovering a3)"
assert_ok "a3 writes" a3 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-8','sch-a','t8')"
assert_eq "... at seq 5, after the new generation's seq 4" "1 2 3 4 5" "$(seqs_of a3 sch-a)"
rm -rf "$T/a3"

log "=== every replica converges, in every order of old hub, stick and hub"
sync_attn h >/dev/null
sync_ok b >/dev/null
HASHES=("$(state_hash h)" "$(state_hash a2)" "$(state_hash b)")
# each remote first once by default (fast suite); all six orders with SSYNC_LONG=1
orders=("oldhub stick hub" "stick hub oldhub" "hub oldhub stick")
[ -z "${SSYNC_LONG:-}" ] || orders+=("oldhub hub stick" "stick oldhub hub" "hub stick oldhub")
k=0
for order in "${orders[@]}"; do
	k=$((k + 1))
	ssx r$k init --node rep-$k --district d1 >/dev/null
	ssx r$k join --district-pubkey "$RK" >/dev/null
	for r in $order; do
		case $r in hub) u=$T/hub.git ;; oldhub) u=$T/oldhub.git ;; stick) u=$T/stick.git ;; esac
		ssx r$k remote add $r "$u" >/dev/null
		ss r$k sync --remote $r --no-push
		# 3: a branch was refused as rewritten (the fork's two versions): reported, not a failure
		[ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "order '$order': sync $r exited $RC" "$ERR"
	done
	HASHES+=("$(state_hash r$k)")
	assert_eq "order '$order': sch-a's entries 1..4" "1 2 3 4" "$(seqs_of r$k sch-a)"
	assert_eq "order '$order': t1,t2,t3 and the new t6; nothing the old key signed after seq 3" "t1,t2,t3,t6" "$(names_of r$k)"
done
assert_all_equal "hub, a2, b and every order's replica hold the same state" "${HASHES[@]}"
assert_eq "b holds 1..4 and t6" "1 2 3 4|t1,t2,t3,t6" "$(seqs_of b sch-a)|$(names_of b)"
ss h sync --remote stick
assert_eq "a later sync of the hub with the fork's stick changes nothing" "$(state_hash a2)" "$(state_hash h)"

summary
