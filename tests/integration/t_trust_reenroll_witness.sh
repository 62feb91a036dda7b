#!/usr/bin/env bash
# Hub-witnessed time x re-enrolment (issue 14, docs/TRUST.md §4a, §5a). Clocks
# come from schoolsync-testclock, on a timeline that ends before the real time.
# School a writes seq 1..6; the hub's checkpoint lists sch-a up to 6; a copy of
# a's home signs another seq 4 (a fork) and the hub freezes the school. The hub
# re-enrols sch-a (generation 2, cut after seq 3); the new home writes seq 4 and 5
# -- seqs the old key's void history was already listed at:
#  * the hub's next checkpoint lists the new generation as sch-a.g2 at once,
#    so its correct-clock entry (seq 4) is covered and applied everywhere;
#  * seq 5, written with the new home's clock 2 days ahead, is held for good
#    (W_FUTURE_HLC: more than 24 h after the hub first witnessed it) on every
#    replica, also after the witnessed time passed it, also on the new home
#    that applied it before the listing arrived, and on fresh replicas that
#    meet the stick, the hub and the fork in any order;
#  * every replica ends identical, and verifies (schoolsync verify);
#  * the new home restored from an old disk image signs nothing once a stick
#    brings only the district branch: the checkpoint of its own generation
#    names seqs its log lacks (E_ROLLBACK).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

NOW=$(( $(date +%s) * 1000 ))
D=86400000
H=3600000
M=60000
BASE=$(( NOW - 10 * D ))
ROOT=$T/root.key
at() { echo $(( BASE + $1 )); }
sync_at() { # MS HOME [REMOTE]: a sync at that clock; exit 0 or 3 (held/quarantined)
	if [ $# -ge 3 ]; then ss_at "$1" "$2" sync --remote "$3" --json; else ss_at "$1" "$2" sync --json; fi
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 3 ]; then
		printf 'sync of %s at %s exited %d: %s\n' "$2" "$1" "$RC" "$ERR" | tee "$T/.aborted" >&2
		exit 1
	fi
}
write_at() { # MS HOME ID NAME
	ss_at "$1" "$2" sql "INSERT INTO teacher(id,school_id,name) VALUES ('$3','sch-a','$4')"
	[ "$RC" -eq 0 ] || fail "write $3 on $2 at $1" "$ERR"
}
names_of() { ssx "$1" --json sql "SELECT group_concat(name, ',') AS n FROM (SELECT name FROM teacher WHERE school_id='sch-a' ORDER BY id)" |
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])'; }
q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
listed() { # HOME NAME: the highest seq the held checkpoints list under NAME
	"$PY" - "$(_home "$1")/replica.db" "$2" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT ifnull(max(seq), 0) FROM ssync_witness_head WHERE node=?", (sys.argv[2],)).fetchone()[0])
EOF
}

log "=== setup: hub, schools a and b; a writes seq 1..3, then 4..6; the hub lists sch-a up to 6"
district_setup a b
sync_at "$(at 0)" h
sync_at "$(at 0)" a
for i in 1 2 3; do write_at "$(at $H)" a sch-a-$i t$i; done
sync_at "$(at $H)" a
cp -a "$T/a" "$T/acopy"
for i in 4 5 6; do write_at "$(at $((2 * H)))" a sch-a-$i t$i; done
sync_at "$(at $((2 * H)))" a
sync_at "$(at $((3 * H)))" h
assert_eq "the hub's checkpoints list sch-a (generation 1) up to seq 6" 6 "$(listed h sch-a)"

log "=== the fork: a copy of a's home signs another seq 4 onto a stick; the hub freezes sch-a"
ssx acopy remote add stick "$T/stick.git" >/dev/null
write_at "$(at $((2 * H)))" acopy sch-a-4x t4x
sync_at "$(at $((2 * H)))" acopy stick
cp -a "$T/hub.git" "$T/oldhub.git"      # the hub as it was before the re-enrolment
ssx h remote add stick "$T/stick.git" >/dev/null
sync_at "$(at $((3 * H + M)))" h
assert_true "the hub holds the fork evidence (E_FORK at sch-a#4)" q_has h sch-a 4 E_FORK

log "=== day 1: the hub re-enrols sch-a after seq 3; the new home writes seq 4 (correct clock)"
P2=$(pubkey_of a2 sch-a)
ssx a2 join --district-pubkey "$RK" >/dev/null
ssx a2 remote add hub "$T/hub.git" >/dev/null
assert_ok "district reenroll sch-a --void-after 3" h district reenroll sch-a --new-key "$P2" --void-after 3 --root-key "$ROOT"
sync_at "$(at $D)" h
sync_at "$(at $D)" a2
cp -a "$T/a2" "$T/a2old"                # a disk image of the new home, taken now
write_at "$(at $D)" a2 sch-a-7 t7
sync_at "$(at $D)" a2
sync_at "$(at $((D + 10 * M)))" h
assert_eq "the hub lists the new generation at once: sch-a.g2 at seq 4 (below the old key's listed 6)" 4 "$(listed h sch-a.g2)"
CK=$(git --git-dir="$T/hub.git" ls-tree -r --name-only refs/heads/district -- witness/ | sort | tail -1)
assert_contains "... in the checkpoint on the hub's district branch" '\["sch-a.g2",4,"[0-9a-f]{64}"\]' \
	"$(git --git-dir="$T/hub.git" show "refs/heads/district:$CK")"
sync_at "$(at $((D + 20 * M)))" b
assert_eq "b holds that checkpoint" 4 "$(listed b sch-a.g2)"
assert_eq "b applied the new generation's seq 4 (t7); nothing of the old key above seq 3" "t1,t2,t3,t7" "$(names_of b)"

log "=== the new home's clock runs 2 days ahead: it writes seq 5 and applies it itself"
write_at "$(at $((3 * D + H)))" a2 sch-a-8 t8
assert_eq "a2 applies its own entry while no checkpoint covers it" "t1,t2,t3,t7,t8" "$(names_of a2)"
sync_at "$(at $((3 * D + H)))" a2
ssx a2 remote add a2stick "$T/a2stick.git" >/dev/null
sync_at "$(at $((3 * D + H)))" a2 a2stick
sync_at "$(at $((D + H)))" h
assert_eq "the hub lists seq 5 of sch-a.g2" 5 "$(listed h sch-a.g2)"
assert_true "the hub holds it (W_FUTURE_HLC)" q_has h sch-a 5 W_FUTURE_HLC
sync_at "$(at $((4 * D)))" h
assert_true "day 4, the witnessed time past its date: still held, for good (2 days after the hub first saw it)" \
	q_has h sch-a 5 W_FUTURE_HLC
assert_eq "... the hub applied t7, not t8" "t1,t2,t3,t7" "$(names_of h)"

log "=== the new home and b take the listing after the entry: held there too"
sync_at "$(at $((6 * D)))" a2
assert_true "a2 holds its own seq 5 now (the rebuild check found it)" q_has a2 sch-a 5 W_FUTURE_HLC
assert_eq "... and no longer shows t8" "t1,t2,t3,t7" "$(names_of a2)"
sync_at "$(at $((4 * D)))" b
assert_true "b holds it" q_has b sch-a 5 W_FUTURE_HLC

log "=== fresh replicas meet the new home's stick, the hub, the old hub and the fork in any order"
HASHES=("$(state_hash h)" "$(state_hash a2)" "$(state_hash b)")
orders=("a2stick hub" "hub a2stick" "oldhub stick a2stick hub")
[ -z "${SSYNC_LONG:-}" ] || orders+=("stick a2stick oldhub hub" "a2stick oldhub hub stick" "hub stick oldhub a2stick")
k=0
for order in "${orders[@]}"; do
	k=$((k + 1))
	ssx r$k init --node rep-$k --district d1 >/dev/null
	ssx r$k join --district-pubkey "$RK" >/dev/null
	for r in $order; do
		ssx r$k remote add $r "$T/$r.git" >/dev/null
		ss_at "$(at $((4 * D + k * M)))" r$k sync --remote $r --no-push --json
		[ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "order '$order': sync $r exited $RC" "$ERR"
	done
	assert_true "order '$order': sch-a#5 held for good (W_FUTURE_HLC)" q_has r$k sch-a 5 W_FUTURE_HLC
	assert_eq "order '$order': t1..t3 and t7; nothing of the old key above seq 3, not t8" "t1,t2,t3,t7" "$(names_of r$k)"
	HASHES+=("$(state_hash r$k)")
done
assert_all_equal "hub, the new home, b and every order's replica hold the same state" "${HASHES[@]}"
for s in h a2 b r1; do
	ss $s verify
	# (each key generation's entries rebuilt with its key; before, verify
	# stopped at sch-a#1 with the new key)
	assert_eq "$s verifies: checkpoints with sch-a.g2 reload, both generations rebuild" 0 "$RC"
done

log "=== the new home restored from its old image: a stick with only the district branch stops it"
git init -q --bare "$T/dstick.git"
git --git-dir="$T/hub.git" push -q "$T/dstick.git" refs/heads/district:refs/heads/district
ssx a2old remote add dstick "$T/dstick.git" >/dev/null
ss_at "$(at $((4 * D + 30 * M)))" a2old sync --remote dstick --json
ss_at "$(at $((4 * D + 31 * M)))" a2old sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-9','sch-a','t9')"
assert_ne "the restored home does not sign seq 4 again" 0 "$RC"
assert_contains "... E_ROLLBACK: the hub's checkpoint of its own generation (sch-a.g2) is past its log" \
	"checkpoint [0-9]+ witnessed this node's entries up to seq 5, but its log ends at seq 3.*E_ROLLBACK" "$(tr '\n' ' ' <<<"$ERR")"

summary
