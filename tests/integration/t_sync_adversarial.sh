#!/usr/bin/env bash
# Adversarial peers and remotes (TESTPLAN C.28, D.30, D.36-38; issue #3). An
# attacker with write access to the hub uses the plain git CLI to tamper with
# what schools publish. Every case runs on its own hub and nodes:
#   a  tampered byte in an existing segment, pushed as a new commit (no force)
#   b  an appended segment holding an entry whose signature does not match
#   c  force-pushed branches: rewound, replaced by another history, deleted
#   d  equivocation: a cloned node home signs two different entries for one seq
#   e  an appended segment whose last line is cut in half
#   f  replay: one node's entries on another node's branch; old lines re-added
#   g  hostile ref names and tree entries (symlink, non-segment paths)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

heads() { git --git-dir="$1" for-each-ref --format='%(refname) %(objectname)' refs/heads/ 2>/dev/null; }
tip() { git --git-dir="$1" rev-parse -q --verify "$2" 2>/dev/null || echo none; }

# entry_lines HOME NODE FROM TO: the signed lines (BODY TAB SIG) a replica holds
entry_lines() {
	"$PY" - "$T/$1/replica.db" "$2" "$3" "$4" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for body, sig in db.execute("SELECT body, sig FROM ssync_entry WHERE node=? AND seq BETWEEN ? AND ? ORDER BY seq",
                            (sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))):
    body = body.encode() if isinstance(body, str) else body
    sys.stdout.buffer.write(body + b"\t" + sig.hex().encode() + b"\n")
EOF
}

# attacker_clone CASE BRANCH: a working clone of the case's hub at BRANCH in $T/CASE/atk
attacker_clone() {
	rm -rf "$T/$1/atk"
	git clone -q --branch "$2" "$T/$1/hub.git" "$T/$1/atk" 2>/dev/null
}
# attacker_push CASE [git push args]: commit everything in the clone and push it
attacker_commit() {
	git -C "$T/$1/atk" add -A
	git -C "$T/$1/atk" commit -q -m "${2:-innocent looking change}"
}

# quarantine_has HOME NODE SEQ CODE: exact (node, seq, code) row present
q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
rows() { ssx "$1" sql "SELECT id, name FROM teacher ORDER BY id" --json | "$PY" -c 'import json,sys; print(";".join("%s=%s" % (r["id"], r["name"]) for r in json.load(sys.stdin)))'; }

# case_nodes CASE NODE...: a hub and node homes CASE/NODE (ids sch-NODE) using it
case_nodes() {
	local c=$1 n
	shift
	mkdir -p "$T/$c"
	new_hub "$T/$c/hub.git"
	for n in "$@"; do mk_node "$c/$n" "sch-$n" hub "$T/$c/hub.git"; done
}

# ============================================================================
log "=== (a) tampered byte in an existing segment, pushed as a fast-forward commit"
case_nodes a a b c d
ssx a/a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t1','sch-a','张三','中级')" >/dev/null
ssx a/a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t2','sch-a','Li Si','高级')" >/dev/null
sync_ok a/a >/dev/null
ssx a/c sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-c-t1','sch-c','王五','初级')" >/dev/null
sync_ok a/c >/dev/null
sync_ok a/b >/dev/null
HB=$(state_hash a/b)
TIPB=$(tip "$T/a/b/exchange.git" refs/heads/node/sch-a)
ROWSB=$(rows a/b)

attacker_clone a node/sch-a
seg=$T/a/atk/seg/0000000/000000000001.seg
assert_eq "(a) setup: sch-a's segment 1 holds 'Li Si'" 1 "$(grep -c '"Li Si"' "$seg" || true)"
sed -i 's/"Li Si"/"Li Sj"/' "$seg"        # one byte, JSON still valid
attacker_commit a "sch-a: fix typo"
assert_true "(a) the attacker's push is a plain fast-forward (no --force)" \
	quiet git -C "$T/a/atk" push -q origin node/sch-a
ssx a/c sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-c-t2','sch-c','赵六','中级')" >/dev/null
sync_attn a/c >/dev/null

ss a/b sync --json
assert_eq "(a) receiver b: sync exits 3 (done, entries quarantined) and reports one rewritten branch" "3 1" "$RC $(sync_field "$OUT" rewritten_refs)"
assert_true "(a) receiver b: quarantine has E_REWRITE for node sch-a" q_has a/b sch-a 0 E_REWRITE
assert_contains "(a) the reason names the changed segment's branch" "node/sch-a.*(changed|removed).*E_REWRITE" \
	"$(ssx a/b quarantine)"
assert_eq "(a) receiver b keeps its copy of node/sch-a" "$TIPB" "$(tip "$T/a/b/exchange.git" refs/heads/node/sch-a)"
assert_eq "(a) receiver b still shows the original value" "sch-a-t1=张三;sch-a-t2=Li Si;sch-c-t1=王五;sch-c-t2=赵六" "$(rows a/b)"
assert_eq "(a) the other branch (sch-c) still applied on b" 2 "$(ssx a/b log --node sch-c --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
assert_ok "(a) log on b still verifies" a/b log

# a receiver that never held sch-a's branch reads the tampered line itself
ss a/d sync --json
assert_eq "(a) fresh receiver d: sync exits 3 (done, entries quarantined)" 3 "$RC"
assert_true "(a) fresh receiver d: E_SIG for sch-a#2 (the tampered entry)" q_has a/d sch-a 2 E_SIG
assert_eq "(a) fresh receiver d: sch-a#1 (before the tampered one) applied, #2 not" "sch-a-t1=张三;sch-c-t1=王五;sch-c-t2=赵六" "$(rows a/d)"
assert_eq "(a) fresh receiver d did not take the tampered branch as its copy" none "$(tip "$T/a/d/exchange.git" refs/heads/node/sch-a)"

# the victim itself
ss a/a sync --json
assert_eq "(a) sch-a syncing afterwards: never silent, exit 1 E_PUSH_REJECTED (its own branch there is not its own)" \
	"1 yes" "$RC $(echo "$OUT $ERR" | grep -q 'E_PUSH_REJECTED' && echo yes || echo no)"
assert_eq "(a) sch-a's rows unchanged, sch-c's applied" "sch-a-t1=张三;sch-a-t2=Li Si;sch-c-t1=王五;sch-c-t2=赵六" "$(rows a/a)"
assert_eq "(a) sch-a's quarantine names its own branch as rewritten" "sch-a 0 E_REWRITE" "$(quarantine_codes a/a)"
assert_eq "(a) the hub still has the attacker's commit for node/sch-a (not silently overwritten)" \
	"$(tip "$T/a/atk/.git" HEAD)" "$(tip "$T/a/hub.git" refs/heads/node/sch-a)"
assert_ok "(a) the victim puts its branch back (remote repair)" a/a remote repair hub
assert_eq "(a) ... the hub holds sch-a's own branch again" "$(tip "$T/a/a/exchange.git" refs/heads/node/sch-a)" \
	"$(tip "$T/a/hub.git" refs/heads/node/sch-a)"

# ============================================================================
log "=== (b) appended segment with an entry whose signature does not match"
case_nodes b a b c
ssx b/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
ssx b/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','李四')" >/dev/null
sync_ok b/a >/dev/null
ssx b/c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t1','sch-c','王五')" >/dev/null
sync_ok b/c >/dev/null
# sch-a signs seq 3 and 4 but does not publish them; the attacker publishes
# seq 3 as signed and seq 4 with a changed value and the old signature.
ssx b/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t3','sch-a','Zhou Jiu')" >/dev/null
ssx b/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t4','sch-a','Wu Shi')" >/dev/null
attacker_clone b node/sch-a
entry_lines b/a sch-a 3 4 >"$T/b/lines"
assert_eq "(b) setup: two real signed lines" 2 "$(wc -l <"$T/b/lines")"
sed '2s/"Wu Shi"/"Wu Sha"/' "$T/b/lines" >"$T/b/atk/seg/0000000/000000000003.seg"
assert_eq "(b) setup: line 2 tampered, line 1 intact" "1 1" \
	"$(cmp -s <(sed -n 1p "$T/b/lines") <(sed -n 1p "$T/b/atk/seg/0000000/000000000003.seg") && echo 1 || echo 0) $(grep -c 'Wu Sha' "$T/b/atk/seg/0000000/000000000003.seg")"
attacker_commit b "sch-a: entries 3..4"
quiet git -C "$T/b/atk" push -q origin node/sch-a
ss b/b sync --json
assert_eq "(b) receiver: sync exits 3 (done, entries quarantined); received 5, applied 4, quarantined 1" "3 5 4 1" \
	"$RC $(sync_field "$OUT" received applied quarantined)"
assert_true "(b) quarantine: E_SIG naming sch-a seq 4" q_has b/b sch-a 4 E_SIG
assert_contains "(b) the quarantined line is the tampered one" "Wu Sha" "$(ssx b/b quarantine --json)"
assert_eq "(b) entries before it applied (sch-a#1..3), the tampered one not; sch-c applied" \
	"sch-a-t1=张三;sch-a-t2=李四;sch-a-t3=Zhou Jiu;sch-c-t1=王五" "$(rows b/b)"
assert_eq "(b) the branch stalls: the receiver does not take (relay) the bad commit" \
	none "$(tip "$T/b/b/exchange.git" refs/heads/node/sch-a)"
H=$(state_hash b/b)
ss b/b sync --json
assert_eq "(b) syncing again: the bad entry is not applied the second time either" "$H" "$(state_hash b/b)"
assert_ok "(b) log on the receiver verifies" b/b log

# ============================================================================
log "=== (c) force-push: rewind, other history, delete"
case_nodes c a b c
ssx c/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
sync_ok c/a >/dev/null
OLD=$(tip "$T/c/hub.git" refs/heads/node/sch-a)
ssx c/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','李四')" >/dev/null
sync_ok c/a >/dev/null
NEW=$(tip "$T/c/hub.git" refs/heads/node/sch-a)
sync_ok c/b >/dev/null
sync_ok c/c >/dev/null
HB=$(state_hash c/b)
TIPB=$(tip "$T/c/b/exchange.git" refs/heads/node/sch-a)

# (c1) rewind: the hub's node/sch-a is forced back to the older commit
git --git-dir="$T/c/hub.git" update-ref refs/heads/node/sch-a "$OLD"
ss c/b sync --json
assert_eq "(c1) rewound branch: receiver's sync exits 3 (done, entries quarantined)" 3 "$RC"
assert_eq "(c1) receiver's state unchanged" "$HB" "$(state_hash c/b)"
assert_eq "(c1) receiver's copy of node/sch-a never moves backwards" "$TIPB" "$(tip "$T/c/b/exchange.git" refs/heads/node/sch-a)"
assert_eq "(c1) the receiver's push restored the hub's branch" "$NEW" "$(tip "$T/c/hub.git" refs/heads/node/sch-a)"
if regression B4 "a rewound branch on the hub is silently re-pushed, never reported (TESTPLAN 38: E_REWRITE / W_REMOTE_STALE)"; then
	git --git-dir="$T/c/hub.git" update-ref refs/heads/node/sch-a "$OLD"
	ss c/b sync --json
	assert_ne "(c1) the rewind is reported (rewritten_refs or quarantine)" "0 0" \
		"$(sync_field "$OUT" rewritten_refs) $(quarantine_count c/b)"
	git --git-dir="$T/c/hub.git" update-ref refs/heads/node/sch-a "$NEW"
fi

# (c2) another history: a commit on the old tip with a different segment 2, forced
attacker_clone c node/sch-a
git -C "$T/c/atk" reset -q --hard "$OLD"
entry_lines c/a sch-a 2 2 | sed 's/李四/李斯/' >"$T/c/atk/seg/0000000/000000000002.seg"
attacker_commit c "sch-a: entries 2..2"
assert_true "(c2) attacker force-pushes a different history" quiet git -C "$T/c/atk" push -q --force origin node/sch-a
FORGED=$(tip "$T/c/hub.git" refs/heads/node/sch-a)
ssx c/c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t1','sch-c','王五')" >/dev/null
ss c/c sync --json
assert_eq "(c2) school c: sync exits 3 (done, entries quarantined), one rewritten branch reported" "3 1" "$RC $(sync_field "$OUT" rewritten_refs)"
assert_true "(c2) school c: E_REWRITE for sch-a in quarantine" q_has c/c sch-a 0 E_REWRITE
assert_contains "(c2) the reason says rollback and that ours is kept" "rewritten.*kept.*E_REWRITE" "$(ssx c/c quarantine)"
assert_eq "(c2) school c's push of its own branch still works" "$(tip "$T/c/c/exchange.git" refs/heads/node/sch-c)" \
	"$(tip "$T/c/hub.git" refs/heads/node/sch-c)"
assert_eq "(c2) the forged branch on the hub is not overwritten by c" "$FORGED" "$(tip "$T/c/hub.git" refs/heads/node/sch-a)"
ss c/b sync --json
assert_eq "(c2) receiver b: exit 3; E_REWRITE; sch-c's new entry applied" "3 1 1" \
	"$RC $(sync_field "$OUT" rewritten_refs applied)"
assert_true "(c2) receiver b: E_REWRITE for sch-a" q_has c/b sch-a 0 E_REWRITE
assert_eq "(c2) receiver b keeps its copy" "$TIPB" "$(tip "$T/c/b/exchange.git" refs/heads/node/sch-a)"
assert_eq "(c2) receiver b's rows: 李四 (not the forged 李斯), plus sch-c's" "sch-a-t1=张三;sch-a-t2=李四;sch-c-t1=王五" "$(rows c/b)"
H=$(state_hash c/b)
ss c/b sync --json
assert_eq "(c2) syncing again changes nothing" "3 $H" "$RC $(state_hash c/b)"

# (c3) delete: the branch vanishes from the hub
git --git-dir="$T/c/hub.git" update-ref -d refs/heads/node/sch-a
H=$(state_hash c/c)
ss c/c sync --json
assert_eq "(c3) deleted branch: sync exits 3 (done, entries quarantined)" 3 "$RC"
assert_eq "(c3) state unchanged" "$H" "$(state_hash c/c)"
assert_eq "(c3) local copy of node/sch-a kept" "$TIPB" "$(tip "$T/c/c/exchange.git" refs/heads/node/sch-a)"
assert_eq "(c3) the hub's node/sch-a is restored by the next push" "$TIPB" "$(tip "$T/c/hub.git" refs/heads/node/sch-a)"

# ============================================================================
log "=== (d) equivocation: two copies of sch-a's home sign different seq 2"
case_nodes d a r1 r2
git init -q --bare "$T/d/stick.git"
ssx d/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
sync_ok d/a >/dev/null
cp -a "$T/d/a" "$T/d/a2"                       # a restored backup, a cloned VM ...
ssx d/a2 remote add stick "$T/d/stick.git" >/dev/null
for r in r1 r2; do ssx "d/$r" remote add stick "$T/d/stick.git" >/dev/null; done
ssx d/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','李四')" >/dev/null
ssx d/a2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t9','sch-a','假李四')" >/dev/null
sync_ok d/a hub >/dev/null
sync_ok d/a2 stick >/dev/null
# r1 learns the hub's version first, r2 the stick's
sync_ok d/r1 hub >/dev/null
ss d/r1 sync --remote stick --json
assert_eq "(d) r1 (hub first, then stick): sync exits 3 (done, entries quarantined)" 3 "$RC"
sync_ok d/r2 stick >/dev/null
ss d/r2 sync --remote hub --json
assert_eq "(d) r2 (stick first, then hub): sync exits 3 (done, entries quarantined)" 3 "$RC"
for r in r1 r2; do
	Q=$(ssx "d/$r" quarantine --json)
	if regression B3 "equivocation across two remotes is reported as E_REWRITE, never E_FORK; no evidence lines kept"; then
		assert_true "(d) $r: E_FORK for sch-a seq 2" q_has "d/$r" sch-a 2 E_FORK
		assert_eq "(d) $r: both signed lines for sch-a#2 kept in quarantine --json" "2" \
			"$(printf '%s' "$Q" | "$PY" -c 'import json,sys
q=json.load(sys.stdin)
print(len({x["line"] for x in q if x["node"]=="sch-a" and x["seq"]==2 and x["line"] and "\"seq\":2," in x["line"]}))')"
	fi
	assert_contains "(d) $r: the fork is reported in quarantine (E_FORK or E_REWRITE)" '"code": "E_(FORK|REWRITE)"' "$Q"
done
if regression B5 "after equivocation the state depends on arrival order (each receiver keeps the version it saw first)"; then
	assert_eq "(d) r1 and r2 (opposite orders) have the same state-hash" "$(state_hash d/r1)" "$(state_hash d/r2)"
fi
# after the fork, sch-a's later entries are not accepted by either receiver
ssx d/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t3','sch-a','王五')" >/dev/null
sync_ok d/a hub >/dev/null
H1=$(state_hash d/r1)
ss d/r1 sync --json
assert_eq "(d) r1: sync exits 3 (done, entries quarantined) after the fork" 3 "$RC"
if regression B5b "a node caught equivocating is not frozen: its later entries are still applied"; then
	assert_eq "(d) r1: sch-a frozen, its seq 3 is not applied" "$H1" "$(state_hash d/r1)"
fi

# ============================================================================
log "=== (e) appended segment whose last line is cut in half"
case_nodes e a b c
ssx e/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
sync_ok e/a >/dev/null
ssx e/c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t1','sch-c','王五')" >/dev/null
sync_ok e/c >/dev/null
ssx e/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','李四')" >/dev/null
ssx e/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t3','sch-a','赵六')" >/dev/null
attacker_clone e node/sch-a
entry_lines e/a sch-a 2 3 >"$T/e/lines"
L2=$(sed -n 1p "$T/e/lines")
L3=$(sed -n 2p "$T/e/lines")
printf '%s\n%s' "$L2" "${L3:0:$(( ${#L3} / 2 ))}" >"$T/e/atk/seg/0000000/000000000002.seg"
attacker_commit e "sch-a: entries 2..3"
quiet git -C "$T/e/atk" push -q origin node/sch-a
ss e/b sync --json
assert_eq "(e) receiver: sync exits 3 (done, entries quarantined), sch-a#1..2 and sch-c applied, 1 quarantined" "3 3 1" \
	"$RC $(sync_field "$OUT" applied quarantined)"
assert_true "(e) the cut line is quarantined as E_ENCODING or E_SCHEMA" \
	bash -c "grep -Eqx 'sch-a [03] E_(ENCODING|SCHEMA)' <<<\"\$1\"" _ "$(quarantine_codes e/b)"
assert_eq "(e) rows: entries before the cut applied" "sch-a-t1=张三;sch-a-t2=李四;sch-c-t1=王五" "$(rows e/b)"
assert_ok "(e) log verifies" e/b log

# ============================================================================
log "=== (f) replay: sch-a's lines on another node's branch; old lines re-added"
case_nodes f a b
ssx f/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
ssx f/a sql "UPDATE teacher SET name='张三丰' WHERE id='sch-a-t1'" >/dev/null
sync_ok f/a >/dev/null
sync_ok f/b >/dev/null
HB=$(state_hash f/b)
attacker_clone f node/sch-a
git -C "$T/f/atk" checkout -q --orphan node/sch-x
git -C "$T/f/atk" rm -q -r --cached . >/dev/null
rm -rf "$T/f/atk/seg" "$T/f/atk/node.json"
mkdir -p "$T/f/atk/seg/0000000"
# node.json even carries sch-a's real public key (trust on first use)
"$PY" -c 'import json,sys; k=json.load(open(sys.argv[1]))["pubkey"]; print(json.dumps({"node":"sch-x","district":"default","pubkey":k},separators=(",",":")))' \
	<(git --git-dir="$T/f/hub.git" show refs/heads/node/sch-a:node.json) >"$T/f/atk/node.json"
entry_lines f/a sch-a 1 2 >"$T/f/atk/seg/0000000/000000000001.seg"
attacker_commit f "sch-x: entries 1..2"
quiet git -C "$T/f/atk" push -q origin node/sch-x
ss f/b sync --json
assert_eq "(f) receiver: sync exits 3 (done, entries quarantined), nothing applied, 1 quarantined" "3 0 1" "$RC $(sync_field "$OUT" applied quarantined)"
assert_true "(f) sch-a's entry on sch-x's branch: E_PERM (E_AUTHOR)" q_has f/b sch-x 1 E_PERM
assert_contains "(f) the reason names both nodes" "sch-a.*sch-x.*E_AUTHOR" "$(ssx f/b quarantine)"
assert_eq "(f) nothing held for sch-x" "[]" "$(ssx f/b log --node sch-x --json | tr -d ' \n')"
assert_eq "(f) state unchanged" "$HB" "$(state_hash f/b)"

# old lines re-published under a new segment name on sch-a's own branch
git -C "$T/f/atk" checkout -q node/sch-a
entry_lines f/a sch-a 1 2 >"$T/f/atk/seg/0000000/000000000003.seg"
attacker_commit f "sch-a: entries 3..4"
quiet git -C "$T/f/atk" push -q origin node/sch-a
QN=$(quarantine_count f/b)
ss f/b sync --json
assert_eq "(f) replayed old lines: exit 3, counted as 2 duplicates, nothing applied" "3 2 0" \
	"$RC $(sync_field "$OUT" duplicates applied)"
assert_eq "(f) replayed old lines are not quarantined" "" "$(quarantine_codes f/b | grep '^sch-a ' || true)"
assert_eq "(f) syncing again does not add quarantine rows for the same bad entry" "$QN" "$(quarantine_count f/b)"
assert_eq "(f) state unchanged by the replay" "$HB" "$(state_hash f/b)"

# ============================================================================
log "=== (g) hostile ref names and tree entries"
case_nodes g a b
ssx g/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
sync_ok g/a >/dev/null
C=$(tip "$T/g/hub.git" refs/heads/node/sch-a)
long=$(printf 'x%.0s' $(seq 1 200))
for r in node/UPPER node/a_b node/-dash node/sch-a/seg "node/$long" node/.hidden node/HEAD; do
	git --git-dir="$T/g/hub.git" update-ref "refs/heads/$r" "$C" 2>/dev/null || true
done
# names git itself refuses, written straight into packed-refs
printf '%s refs/heads/node/../x\n%s refs/heads/node/a..b\n%s refs/heads/node/x.lock\n' "$C" "$C" "$C" \
	>>"$T/g/hub.git/packed-refs"
touch "$T/g/marker"
sleep 1
ss g/b sync --json
assert_eq "(g) sync next to hostile ref names exits 0 and applies sch-a's entry" "0 1" "$RC $(sync_field "$OUT" applied)"
assert_eq "(g) only the valid node branch is taken" "refs/heads/node/sch-a" \
	"$(heads "$T/g/b/exchange.git" | cut -d' ' -f1 | grep -v '^refs/heads/node/sch-b$' | tr '\n' ' ' | sed 's/ $//')"
assert_eq "(g) the hostile names are not quarantined either (ignored)" 0 "$(quarantine_count g/b)"
assert_eq "(g) nothing written outside the node home" "" \
	"$(find "$T" -newer "$T/g/marker" -not -path "$T/g/b/*" -not -path "$T/g/b" -not -path "$T/g/hub.git*" \
		-not -path "$T/.out" -not -path "$T/.err" -not -path "$T/.aborted" | sort)"
assert_eq "(g) no stray x in or next to the exchange repository" "no no" \
	"$([ -e "$T/g/b/exchange.git/refs/heads/x" ] || [ -e "$T/g/b/exchange.git/refs/x" ] && echo yes || echo no) $([ -e "$T/g/b/x" ] && echo yes || echo no)"

# tree entries: a symlink where a segment should be, and files outside seg/
# (on a fresh hub: git clone itself refuses the hostile packed refs above)
case_nodes g2 a b
ssx g2/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
sync_ok g2/a >/dev/null
ssx g2/b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-t1','sch-b','李四')" >/dev/null
sync_ok g2/b >/dev/null
attacker_clone g2 node/sch-a
ln -s /etc/passwd "$T/g2/atk/seg/0000000/000000000002.seg"
mkdir -p "$T/g2/atk/.git2" && echo "[core] worktree=/" >"$T/g2/atk/.git2/config"
attacker_commit g2 "sch-a: entries 2..2"
quiet git -C "$T/g2/atk" push -q origin node/sch-a
mk_node g2/c sch-c hub "$T/g2/hub.git"
ss g2/c sync --json
if [ "$RC" -eq 0 ] || [ "$RC" -eq 3 ]; then pass "(g) a symlink in sch-a's tree does not break the whole sync"; else
	if regression B6 "a symlink (or other non-file) in one node's branch aborts the whole sync with E_CORRUPT: no branch is applied"; then
		fail "(g) a symlink in sch-a's tree does not break the whole sync" "exit $RC" "stderr: $ERR"
	fi
fi
if [ "$RC" -eq 0 ] || regression B6 "(same) other branches are applied despite a hostile branch"; then
	assert_eq "(g) sch-b's branch still applied on c" "sch-b-t1=李四" "$(rows g2/c | tr ';' '\n' | grep sch-b || true)"
fi
ssx g2/b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-t2','sch-b','钱七')" >/dev/null
ss g2/b sync --json
if [ "$RC" -eq 0 ] || regression B6 "(same) a school cannot publish its own entries while the hub holds a hostile branch"; then
	assert_true "(g) b still publishes its own new entry (sch-b#2) to the hub" \
		quiet git --git-dir="$T/g2/hub.git" cat-file -e refs/heads/node/sch-b:seg/0000000/000000000002.seg
fi
# (the branch-shape check names the first odd entry in git order: '.git2' before seg/)
assert_contains "(g) the error or quarantine names the odd tree entry" "000000000002.seg|symlink|mode|'\.git2' is not allowed" \
	"$ERR $(ssx g2/c quarantine)"
assert_eq "(g) nothing outside the homes points at /etc/passwd" "" \
	"$(find "$T/g2/c" "$T/g2/b" -type l 2>/dev/null)"

summary
