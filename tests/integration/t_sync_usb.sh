#!/usr/bin/env bash
# USB stick relay (TESTPLAN B.20, issue #3): a bare repository on a "stick"
# directory carries everyone's signed logs between schools that never talk
# to each other: A -> stick -> B -> stick -> C. C verifies A's entries without
# ever having A's remote. A stale copy of the stick never rewinds anything and
# is brought up to date by the next push. A stick that is not mounted fails
# cleanly without creating anything.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

mkdir -p "$T/usb"
STICK=$T/usb/stick.git
mk_node a sch-a stick "$STICK"
mk_node b sch-b stick "$STICK"
mk_node c sch-c stick "file://$STICK"

heads() { git --git-dir="$1" for-each-ref --format='%(refname) %(objectname)' refs/heads/node/ 2>/dev/null; }

# --- A writes and syncs: the stick is created on first push -----------------
ssx a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t1','sch-a','张三','中级'),('sch-a-t2','sch-a','李四','高级')" >/dev/null
ssx a sql "INSERT INTO course(id,school_id,name,category) VALUES ('sch-a-c1','sch-a','海岛生态','科技')" >/dev/null
assert_eq "stick does not exist before the first sync" no "$([ -e "$STICK" ] && echo yes || echo no)"
ss a sync --json
if [ "$RC" -eq 0 ]; then
	pass "A's first sync with a stick that does not exist yet creates it"
	r=$OUT
else
	# B2: the fetch runs first and fails on the missing repository, so the push
	# that would create it never happens.
	if regression B2 "first sync with a not-yet-existing stick fails (fetch before create)"; then
		fail "A's first sync with a stick that does not exist yet creates it" "exit $RC" "stderr: $ERR"
	fi
	git init -q --bare "$STICK"   # workaround, so the rest of the relay can be tested
	r=$(sync_ok a)
fi
assert_eq "A's first sync seals 2 entries and pushes its branch" "2 1" "$(sync_field "$r" sealed pushed_refs)"
assert_true "the stick is now a bare git repository" quiet git --git-dir="$STICK" rev-parse --is-bare-repository
assert_eq "the stick holds node/sch-a only" "refs/heads/node/sch-a" "$(heads "$STICK" | cut -d' ' -f1)"
cp -a "$STICK" "$T/usb/stale.git"     # a copy of the stick as it is now: it will go stale
cp -a "$STICK" "$T/usb/stale2.git"

# --- B carries A's entries, writes its own ---------------------------------------
r=$(sync_ok b)
assert_eq "B receives and applies A's 2 entries from the stick" "2 2 0" "$(sync_field "$r" received applied quarantined)"
ssx b sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-b-t1','sch-b','王五','正高级')" >/dev/null
ssx b sql "INSERT INTO enrollment(id,school_id,course_id,term,students) VALUES ('sch-b-e1','sch-b','sch-a-c1','2025春',12)" >/dev/null
ssx a sql "UPDATE teacher SET title='正高级' WHERE id='sch-a-t2'" >/dev/null   # stays on A for now
r=$(sync_ok b)
assert_eq "B seals its 2 entries and pushes" "2 1" "$(sync_field "$r" sealed pushed_refs)"
HB=$(state_hash b)

# --- C has only the stick: it gets A's and B's entries ---------------------------
r=$(sync_ok c)
assert_eq "C receives A's and B's 4 entries via the stick, all applied" "4 4 0" "$(sync_field "$r" received applied quarantined)"
assert_eq "C never had A's (or anyone's) remote but the stick" "stick" "$(ssx c remote list --json | "$PY" -c 'import json,sys; print(" ".join(r["name"] for r in json.load(sys.stdin)))')"
assert_ok "log on C verifies every signature and chain (exit 0)" c log
assert_eq "C's log holds sch-a#1..2 and sch-b#1..2" "sch-a 1,sch-a 2,sch-b 1,sch-b 2" \
	"$(ssx c log --json | "$PY" -c 'import json,sys; print(",".join("%s %d" % (e["node"], e["seq"]) for e in json.load(sys.stdin)))')"
assert_eq "state-hash of C equals B's" "$HB" "$(state_hash c)"
ssx c sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-c-t1','sch-c','赵六','初级')" >/dev/null
sync_ok c >/dev/null
r=$(sync_ok b)
assert_eq "B picks up C's entry from the stick" "1 1" "$(sync_field "$r" received applied)"
r=$(sync_ok a)
assert_eq "A picks up B's 2 and C's 1 entries, pushes its pending one" "3 3 1" "$(sync_field "$r" received applied sealed)"
sync_ok b >/dev/null
sync_ok c >/dev/null
HA=$(state_hash a)
assert_all_equal "after the relay, A, B and C have one state-hash" "$HA" "$(state_hash b)" "$(state_hash c)"
for n in a b c; do
	assert_ok "log on $n verifies" "$n" log
	assert_eq "quarantine of $n is empty" 0 "$(quarantine_count "$n")"
done
assert_true "git fsck --strict of the stick is clean" quiet git --git-dir="$STICK" fsck --strict --no-dangling --no-progress

# --- a stale stick never rewinds anything -----------------------------------------
# stale.git is the stick as A left it after its first push: node/sch-a at seq 2 only.
HC=$(state_hash c)
REFS_C=$(heads "$T/c/exchange.git")
ssx c remote add old "$T/usb/stale.git" >/dev/null
ss c sync --remote old --json
assert_eq "sync with the stale stick exits 0" 0 "$RC"
assert_eq "the stale stick delivers nothing new" "0 0 0 0" "$(sync_field "$OUT" received applied quarantined rewritten_refs)"
assert_eq "state-hash of C unchanged by the stale stick" "$HC" "$(state_hash c)"
assert_eq "C's node branches unchanged (never rewound)" "$REFS_C" "$(heads "$T/c/exchange.git")"
assert_eq "quarantine of C still empty (stale is behind, not rewritten)" 0 "$(quarantine_count c)"
assert_eq "the push brought the stale stick up to date" "$REFS_C" "$(heads "$T/usb/stale.git")"
assert_true "git fsck of the refreshed stale stick is clean" quiet git --git-dir="$T/usb/stale.git" fsck --strict --no-dangling --no-progress

# The same stale stick, given to A (whose own branch is AHEAD of the stick):
HA=$(state_hash a)
REFS_A=$(heads "$T/a/exchange.git")
ssx a remote add old2 "$T/usb/stale2.git" >/dev/null
ss a sync --remote old2 --json
assert_eq "A syncs with an older copy of its own branch: exit 0, nothing quarantined" "0 0 0" \
	"$RC $(sync_field "$OUT" quarantined rewritten_refs)"
assert_eq "A's state-hash unchanged" "$HA" "$(state_hash a)"
assert_eq "A's branches unchanged" "$REFS_A" "$(heads "$T/a/exchange.git")"
assert_eq "stale2 brought up to date by A's push" "$REFS_A" "$(heads "$T/usb/stale2.git")"

# --- the stick is not mounted ------------------------------------------------------
H=$(state_hash b)
ssx b remote add gone "$T/unmounted/stick.git" >/dev/null
ss b sync --remote gone
assert_eq "sync with an unmounted stick exits 1" 1 "$RC"
assert_contains "the error names the missing stick and says E_NET" "unmounted.*E_NET|E_NET.*unmounted" "$ERR"
assert_contains "the hint asks whether the stick is mounted" "mounted" "$ERR"
assert_eq "nothing was created where the stick should be" no "$([ -e "$T/unmounted" ] && echo yes || echo no)"
assert_eq "state-hash of B unchanged" "$H" "$(state_hash b)"
assert_ok "B still writes locally" b sql "UPDATE teacher SET title='高级' WHERE id='sch-b-t1'"
assert_ok "and still syncs with the real stick" b sync --remote stick

# a stick directory that exists but is not a git repository (wrong mount point)
mkdir -p "$T/usb/photos" && echo "not git" >"$T/usb/photos/IMG_0001.JPG"
ssx b remote add photos "$T/usb/photos" >/dev/null
ss b sync --remote photos
assert_eq "sync with a non-repository directory exits 1" 1 "$RC"
assert_contains "the error says there is no bare repository there" "no bare git repository|not a git|E_NET" "$ERR"
assert_eq "the foreign directory is left alone" "IMG_0001.JPG" "$(ls "$T/usb/photos")"

summary
