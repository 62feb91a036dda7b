#!/usr/bin/env bash
# A guarded hub and re-enrolment (docs/TRUST.md §5a, OPERATIONS.md §7/§10):
# the guard takes branch node/<id>.g<G> exactly when its new entries verify
# under the key the district's re-enrolment of generation G names (judged
# with the receivers' own code, after the hub's branches of the generations
# before it). The re-enrolled school's push through the hook is accepted and
# the other nodes converge; generation-2 entries signed by the retired key,
# an unknown generation, a non-fast-forward and a deletion are refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
HUB=$T/srv/hub.git
mkdir -p "$T/srv"
seqs_of() { ssx "$1" log --json | "$PY" -c 'import json,sys
print(" ".join(str(e["seq"]) for e in json.load(sys.stdin) if e["node"]==sys.argv[1]))' "$2"; }
names_of() { ssx "$1" --json sql "SELECT group_concat(name, ',') AS n FROM (SELECT name FROM teacher WHERE school_id='sch-a' ORDER BY id)" |
	"$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])'; }
heads() { git --git-dir="$HUB" for-each-ref --format='%(refname) %(objectname)' refs/heads/; }

log "=== setup: a guarded hub over git daemon; schools a and b; a writes seq 1..5"
ssx h init --node hub --district d1 >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
ssx h guard init "$HUB" --district-pubkey "$RK" >/dev/null
start_git_daemon "$T/srv"
GURL="git://127.0.0.1:$GIT_DAEMON_PORT/hub.git"
ssx h remote add hub "$GURL" >/dev/null
for s in a b; do
	P=$(pubkey_of $s sch-$s)
	ssx $s remote add hub "$GURL" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
done
assert_ok "the hub node's sync through the guard" h sync
sync_ok a >/dev/null
for i in 1 2 3; do ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-$i','sch-a','t$i')" >/dev/null; done
assert_ok "a's seq 1..3 through the guard" a sync
cp -a "$T/a" "$T/aold"   # the old key's home as it was at seq 3
for i in 4 5; do ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-$i','sch-a','t$i')" >/dev/null; done
assert_ok "a's seq 4..5 through the guard" a sync
sync_ok b >/dev/null
sync_ok h >/dev/null

log "=== OPERATIONS §7: a new home, re-enrolled as generation 2 after seq 3"
P2=$(pubkey_of a2 sch-a)
ssx a2 join --district-pubkey "$RK" >/dev/null
ssx a2 remote add hub "$GURL" >/dev/null
sync_ok a2 >/dev/null
assert_ok "district reenroll sch-a --void-after 3" h district reenroll sch-a --new-key "$P2" --void-after 3 --root-key "$ROOT"
assert_ok "the re-enrolment reaches the guarded hub" h sync

log "=== generation-2 entries signed by the retired key: refused"
# The old home, still at seq 3 and unaware of the re-enrolment, signs seq 4
# (onto a scratch repository); its segment is made into a branch shaped as
# generation 2's (node.json and the segments from seq 4 on, as a2 writes it).
git init -q --bare "$T/scratch.git"
ssx aold remote add scratch "$T/scratch.git" >/dev/null
ssx aold sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-4x','sch-a','t4x')" >/dev/null
sync_ok aold scratch >/dev/null
SG=$T/scratch.git
OT=$(git --git-dir="$SG" rev-parse refs/heads/node/sch-a)
SEG=$(git --git-dir="$SG" rev-parse "$OT:seg/0000000/000000000004.seg")
NJ=$(git --git-dir="$SG" rev-parse "$OT:node.json")
T1=$(printf '100644 blob %s\t000000000004.seg\n' "$SEG" | git --git-dir="$SG" mktree)
T2=$(printf '040000 tree %s\t0000000\n' "$T1" | git --git-dir="$SG" mktree)
T3=$(printf '100644 blob %s\tnode.json\n040000 tree %s\tseg\n' "$NJ" "$T2" | git --git-dir="$SG" mktree)
FORGED=$(git --git-dir="$SG" commit-tree "$T3" -m "sch-a: entries 4..4")
BEFORE=$(heads)
# push_refused NAME PATTERN REFSPEC...: the push fails naming the guard's reason, no ref of the hub moved
push_refused() {
	local name=$1 pat=$2 out rc=0
	shift 2
	out=$(git --git-dir="$SG" push "$GURL" "$@" 2>&1) || rc=$?
	assert_ne "$name: the push fails" 0 "$rc"
	assert_contains "$name: the pusher sees the guard's reason" "$pat" "$out"
	assert_eq "$name: no ref of the hub moved" "$BEFORE" "$(heads)"
}
push_refused "generation 2 signed by the retired key" "refused refs/heads/node/sch-a.g2: sch-a#4: .*not signed by that generation.s key" "$FORGED:refs/heads/node/sch-a.g2"
push_refused "a generation no re-enrolment names" "refused refs/heads/node/sch-a.g3: .*no re-enrolment of generation 3" \
	"$FORGED:refs/heads/node/sch-a.g3"
push_refused "a malformed generation" "refused refs/heads/node/sch-a.g1: not a valid node branch" "$FORGED:refs/heads/node/sch-a.g1"
sync_ok a2 >/dev/null
assert_ok "a2 writes" a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-6','sch-a','t6')"
assert_ok "a2's sync through the guard is accepted (branch node/sch-a.g2)" a2 sync
assert_true "... the hub holds node/sch-a.g2" quiet git --git-dir="$HUB" rev-parse -q --verify refs/heads/node/sch-a.g2
ssx a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-7','sch-a','t7')" >/dev/null
assert_ok "... and its next sync (a fast-forward)" a2 sync
assert_eq "the hub's node/sch-a.g2 has two commits" 2 "$(git --git-dir="$HUB" rev-list --count refs/heads/node/sch-a.g2)"
BEFORE=$(heads)
git --git-dir="$SG" fetch -q "$GURL" refs/heads/node/sch-a.g2:refs/heads/g2
push_refused "generation 2 moved back (not a fast-forward)" "refused refs/heads/node/sch-a.g2: not a fast-forward" \
	--force "refs/heads/g2~1:refs/heads/node/sch-a.g2"
push_refused "generation 2 deleted" "refused refs/heads/node/sch-a.g2: deleting a branch is refused" ":refs/heads/node/sch-a.g2"

log "=== the other nodes converge"
sync_ok h >/dev/null
sync_ok b >/dev/null
sync_ok a2 >/dev/null
assert_eq "b holds sch-a 1..5 (4, 5 the new key's) and t6, t7" "1 2 3 4 5|t1,t2,t3,t6,t7" "$(seqs_of b sch-a)|$(names_of b)"
assert_all_equal "hub, a2 and b hold the same state" "$(state_hash h)" "$(state_hash a2)" "$(state_hash b)"

log "=== one push carrying node/sch-a and node/sch-a.g2, in both guard modes"
# A district moving to a new guarded server (or a hub that lost node/sch-a):
# school b, which held node/sch-a 1..5 before the re-enrolment, syncs there.
# Its one push carries the district, node/sch-a (seq 4..5 the retired key's:
# void above the cut, skipped by every receiver) and node/sch-a.g2, which the
# guard must judge against the node/sch-a of the same push.
for mode in update pre-receive; do
	NEW=$T/srv/new-$mode.git
	if [ $mode = update ]; then ssx h guard init "$NEW" --district-pubkey "$RK" >/dev/null
	else ssx h guard init "$NEW" --all-or-nothing --district-pubkey "$RK" >/dev/null; fi
	ssx b remote add new-$mode "git://127.0.0.1:$GIT_DAEMON_PORT/new-$mode.git" >/dev/null
	assert_ok "$mode: b's one push of district, node/sch-a and node/sch-a.g2 is taken" b sync --remote new-$mode
	for r in district node/sch-a node/sch-a.g2; do
		assert_eq "$mode: the new hub holds $r as b does" "$(git --git-dir="$T/b/exchange.git" rev-parse refs/heads/$r)" \
			"$(git --git-dir="$NEW" rev-parse -q --verify refs/heads/$r || true)"
	done
done
# The same two refs pushed by hand, the generation first: pre-receive judges
# node/sch-a.g2 against the node/sch-a of the push whatever the line order.
NEW=$T/srv/hand.git
ssx h guard init "$NEW" --all-or-nothing --district-pubkey "$RK" >/dev/null
HURL="git://127.0.0.1:$GIT_DAEMON_PORT/hand.git"
git --git-dir="$HUB" push -q "$HURL" refs/heads/district:refs/heads/district 2>/dev/null
out=$(git --git-dir="$HUB" push "$HURL" refs/heads/node/sch-a.g2:refs/heads/node/sch-a.g2 \
	refs/heads/node/sch-a:refs/heads/node/sch-a 2>&1) && rc=0 || rc=$?
assert_eq "a hand push of node/sch-a.g2 before node/sch-a to an all-or-nothing guard is taken ($out)" 0 "$rc"
assert_eq "... node/sch-a.g2 is the hub's" "$(git --git-dir="$HUB" rev-parse refs/heads/node/sch-a.g2)" \
	"$(git --git-dir="$NEW" rev-parse -q --verify refs/heads/node/sch-a.g2 || true)"
NEW=$T/srv/alone.git
ssx h guard init "$NEW" --all-or-nothing --district-pubkey "$RK" >/dev/null
AURL="git://127.0.0.1:$GIT_DAEMON_PORT/alone.git"
git --git-dir="$HUB" push -q "$AURL" refs/heads/district:refs/heads/district 2>/dev/null
out=$(git --git-dir="$HUB" push "$AURL" refs/heads/node/sch-a.g2:refs/heads/node/sch-a.g2 2>&1) && rc=0 || rc=$?
assert_ne "node/sch-a.g2 without node/sch-a up to the cut (not on the hub, not in the push) is refused" 0 "$rc"
assert_contains "... naming the wait" "refused refs/heads/node/sch-a.g2: .*generation 2 starts after seq 3" "$out"

log "=== an auditor verifies the guarded hub from its git history alone"
ss h audit verify --repo "$HUB" --district-pubkey "$RK" --json
assert_eq "audit verify passes: the old key's entries above the cut are void, shown, not a failure" 0 "$RC"
assert_true "... and named as E_VOID" grep -q E_VOID "$T/.out"

log "=== audit history from the hub's bare repository alone (--repo), as the hub node's own log shows it"
for k in sch-a-1 sch-a-6; do
	ss h audit history teacher "$k" --json
	assert_eq "the hub node's history of $k" 0 "$RC"
	NODEH=$OUT
	ss h audit history teacher "$k" --repo "$HUB" --district-pubkey "$RK" --json
	assert_eq "audit history $k --repo passes" 0 "$RC"
	assert_eq "... the same changes, commits and signature checks as the node's log" "$NODEH" "$OUT"
done
assert_contains "... sch-a-6 (generation 2) was published by a commit of node/sch-a.g2" \
	"$(git --git-dir="$HUB" rev-list refs/heads/node/sch-a.g2 | tail -1 | head -c 12)" "$(echo "$OUT" | tr -d ' ')"
assert_contains "... each change's signature checked" '"signature":"ok"' "$(echo "$OUT" | tr -d ' ')"
ss h audit history teacher sch-a-6 --repo "$HUB" --district-pubkey "$RK"
assert_contains "audit history --repo in text: the change and its commit" "sch-a#.*actor.*name:.*t6" "$OUT"
ss h audit history teacher sch-a-6 --repo "$HUB" --district-pubkey "$(printf '%064d' 7)"
assert_eq "audit history --repo under another district key fails (exit 1)" 1 "$RC"
summary
