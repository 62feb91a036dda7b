#!/usr/bin/env bash
# District trust (issue #4; TESTPLAN 32-35, 37-40): root key, certificates,
# join, write policy on the writer and on every receiver, unenrolled and
# forged keys, expired certificates, another district's entries, a rewritten
# district branch, and an auditor that syncs read-only. Each case checks the
# error names what was wrong and nothing else was disturbed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
q_reason() { ssx "$1" quarantine --json | "$PY" -c 'import json,sys
for q in json.load(sys.stdin):
    if q["node"]==sys.argv[1] and str(q["seq"])==sys.argv[2]: print(q["reason"])' "$2" "$3"; }
names() { ssx "$1" sql "SELECT id || '=' || name FROM teacher ORDER BY id" --json | "$PY" -c 'import json,sys; print(";".join(list(r.values())[0] for r in json.load(sys.stdin)))'; }
ROOT=$T/root.key

log "=== setup: hub with a district, schools a and b joined and enrolled"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
assert_eq "district init exits 0" 0 "$RC"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
assert_eq "district init prints the 64-hex root public key" 64 "${#RK}"
assert_eq "the root key file is mode 600" 600 "$(stat -c %a "$ROOT")"
assert_fail "district init twice is refused" h district init --id d1 --name x --root-key "$ROOT"
assert_contains "... saying the district exists" "already initialised" "$ERR"
for s in a b; do
	P=$(pubkey_of $s sch-$s)
	ssx $s remote add hub "$T/hub.git" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
done
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','A校'),('sch-b','B校'),('sch-c','C校')" >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null
assert_eq "school b holds the three certificates (hub, a, b)" "hub sch-a sch-b" \
	"$(ssx b --json district list | "$PY" -c 'import json,sys; print(" ".join(c["node"] for c in json.load(sys.stdin)))')"
assert_eq "school b received the hub's schools" 3 "$(ssx b sql "SELECT count(*) AS n FROM school" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')"

log "=== write policy on the writer (clear error, nothing written)"
ssx a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t1','sch-a','张三','中级')" >/dev/null
ssx a sql "INSERT INTO rotation(id,teacher_id,school_id,status) VALUES ('sch-a-r1','sch-a-t1','sch-a',NULL)" >/dev/null
HEAD_A=$(ssx a log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
assert_fail "a school writing another school's row is refused" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-t9','sch-b','X')"
assert_contains "... E_PERM naming table, key and rule" "teacher/sch-b-t9: row is owned by school sch-b \(its key's namespace\); this node speaks for sch-a \(E_PERM, rule owner:school_id\)" "$ERR"
assert_fail "a school writing a hub-only column is refused" a sql "UPDATE rotation SET status='approved' WHERE id='sch-a-r1'"
assert_contains "... E_PERM_COLUMN naming table, key, column and rule" "rotation/sch-a-r1: column status is written by the hub only.*E_PERM_COLUMN, rule hub" "$ERR"
assert_fail "a school writing a hub-only table is refused" a sql "INSERT INTO zone(id,name) VALUES ('z1','崇西')"
assert_contains "... E_PERM rule hub" "only the hub writes table zone.*E_PERM, rule hub" "$ERR"
assert_fail "a school giving its row to another school is refused" a sql "UPDATE teacher SET school_id='sch-b' WHERE id='sch-a-t1'"
assert_contains "... the owner column cannot change" "column school_id names the owning school and cannot change" "$ERR"
assert_eq "nothing was signed by the refused writes" "$HEAD_A" "$(ssx a log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
assert_eq "the refused writes left no rows" "sch-a-t1=张三" "$(names a)"
sync_ok a >/dev/null
sync_ok h >/dev/null
ssx h sql "UPDATE rotation SET status='approved' WHERE id='sch-a-r1'" >/dev/null
sync_ok h >/dev/null
sync_ok b >/dev/null
assert_eq "the hub approves the rotation and b sees it" approved \
	"$(ssx b sql "SELECT status FROM rotation WHERE id='sch-a-r1'" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["status"])')"

log "=== write policy on receivers: an enrolled school that skipped join (no local check) misbehaves"
PC=$(pubkey_of c sch-c)
ssx c remote add hub "$T/hub.git" >/dev/null
ssx h district enroll sch-c --role school --school sch-c --pubkey "$PC" --root-key "$ROOT" >/dev/null
sync_ok h >/dev/null
ssx c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t1','sch-c','C1')" >/dev/null             # c#1 ok
ssx c sql "UPDATE teacher SET name='hacked' WHERE id='sch-a-t1'" >/dev/null 2>&1 || true                    # no row on c yet
sync_ok c >/dev/null
ssx c sql "UPDATE teacher SET name='hacked' WHERE id='sch-a-t1'" >/dev/null                                 # c#2 other school's row
ssx c sql "INSERT INTO rotation(id,teacher_id,school_id,status) VALUES ('sch-c-r1','sch-c-t1','sch-c','approved')" >/dev/null  # c#3 hub column
ssx c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t2','sch-c','C2')" >/dev/null             # c#4 ok
sync_ok c >/dev/null
HB0=$(state_hash b)
sync_ok b >/dev/null
assert_true "receiver b: c#2 quarantined E_PERM" q_has b sch-c 2 E_PERM
assert_contains "... the reason names table, key, owner and rule" "teacher/sch-a-t1: row is owned by school sch-a \(its key's namespace\); this node speaks for sch-c \(E_PERM, rule owner:school_id\)" "$(q_reason b sch-c 2)"
assert_true "receiver b: c#3 quarantined E_PERM_COLUMN" q_has b sch-c 3 E_PERM_COLUMN
assert_eq "receiver b: a's row untouched, c's valid rows applied (the chain went on)" "sch-a-t1=张三;sch-c-t1=C1;sch-c-t2=C2" "$(names b)"
assert_eq "receiver b: the refused entries are kept in the log as evidence" 4 \
	"$(ssx b log --json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["node"]=="sch-c"))')"
sync_ok h >/dev/null
assert_true "the hub refuses the same entries the same way" q_has h sch-c 2 E_PERM
assert_eq "hub and b agree on the state" "$(state_hash h)" "$(state_hash b)"

log "=== unenrolled key"
PX=$(pubkey_of x sch-x)
ssx x remote add hub "$T/hub.git" >/dev/null
ssx x sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-x-t1','sch-x','intruder')" >/dev/null
sync_ok x >/dev/null
HB=$(state_hash b)
sync_attn b >/dev/null
assert_true "an unenrolled node's entry is quarantined E_CERT" q_has b sch-x 1 E_CERT
assert_contains "... reason E_CERT_UNKNOWN, naming the node" "node sch-x has no certificate signed by the district root \(E_CERT_UNKNOWN\)" "$(q_reason b sch-x 1)"
assert_eq "... and nothing else changed on b" "$HB" "$(state_hash b)"
assert_eq "b did not relay the unenrolled branch" none "$(git --git-dir="$T/b/exchange.git" rev-parse -q --verify refs/heads/node/sch-x || echo none)"

log "=== forged certificate (signed by another root), pushed as a plain fast-forward"
ssx f init --node hub2 --district d1 >/dev/null
ssx f district init --id d1 --name fake --root-key "$T/other.key" >/dev/null
ssx f district enroll sch-x --role school --school sch-x --pubkey "$PX" --root-key "$T/other.key" >/dev/null
FORGED=$(git --git-dir="$T/f/exchange.git" show refs/heads/district:certs/sch-x.2.cert)
git clone -q --branch district "$T/hub.git" "$T/atk"
printf '%s\n' "$FORGED" > "$T/atk/certs/sch-x.2.cert"
git -C "$T/atk" add -A && git -C "$T/atk" commit -q -m "district: certificate for sch-x"
assert_true "the attacker's district push is a fast-forward" quiet git -C "$T/atk" push -q origin district
DT=$(git --git-dir="$T/b/exchange.git" rev-parse refs/heads/district)
HB=$(state_hash b)
sync_attn b >/dev/null
assert_true "b quarantines the district branch: E_CERT" q_has b district 0 E_CERT
assert_contains "... naming the file and 'not signed by the pinned district root'" "certs/sch-x.2.cert: not signed by the pinned district root" "$(q_reason b district 0)"
assert_eq "b keeps its district branch" "$DT" "$(git --git-dir="$T/b/exchange.git" rev-parse refs/heads/district)"
assert_true "sch-x is still uncertified on b" q_has b sch-x 1 E_CERT
assert_eq "b's data is unchanged" "$HB" "$(state_hash b)"
# undo the forgery on the hub for the rest of the test (the hub admin's job)
git --git-dir="$T/hub.git" update-ref refs/heads/district "$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)"

log "=== district branch rewritten by someone without the root key"
git -C "$T/atk" fetch -q origin
git -C "$T/atk" reset -q --hard "$(git --git-dir="$T/hub.git" rev-list --max-parents=0 refs/heads/district)"
git -C "$T/atk" commit -q --allow-empty -m "district: cleanup"
assert_true "attacker force-pushes a rewritten district branch" quiet git -C "$T/atk" push -q -f origin district
sync_attn b >/dev/null
assert_true "b reports E_REWRITE for the district branch" q_has b district 0 E_REWRITE
assert_eq "b keeps its district branch (never follows a rewrite)" "$DT" "$(git --git-dir="$T/b/exchange.git" rev-parse refs/heads/district)"
assert_eq "b still knows all 4 certificates" 4 "$(ssx b --json district list | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
git --git-dir="$T/hub.git" update-ref refs/heads/district "$(git --git-dir="$T/h/exchange.git" rev-parse refs/heads/district)"

log "=== an entry replayed from another district"
ssx o init --node sch-o --district d2 >/dev/null
ssx o sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-o-t1','sch-o','other district')" >/dev/null
ssx o remote add hub "$T/hub.git" >/dev/null
sync_attn o >/dev/null
HB=$(state_hash b)
sync_attn b >/dev/null
assert_contains "b refuses the other district's entry: E_DISTRICT" "belongs to district d2, not d1 \(E_DISTRICT\)" "$(q_reason b sch-o 1)"
assert_eq "... and nothing else changed" "$HB" "$(state_hash b)"

log "=== expired certificate"
PE=$(pubkey_of e sch-e)
ssx e remote add hub "$T/hub.git" >/dev/null
ssx h district enroll sch-e --role school --school sch-e --pubkey "$PE" --root-key "$ROOT" --valid-until 2001-01-01 >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-e','E校')" >/dev/null
sync_attn h >/dev/null
ssx e join --district-pubkey "$RK" >/dev/null
sync_attn e >/dev/null
assert_fail "a node with an expired certificate cannot sign" e sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-t0','sch-e','E0')"
assert_contains "... E_CERT_EXPIRED with the date" "expired at 2001-01-01T23:59:59.999Z.*E_CERT_EXPIRED" "$ERR"
# a client that ignores its expiry (unjoined copy of the same key) publishes anyway
ssx e2 init --node sch-e --district d1 --restore-key "$T/e/node.key" --never-published >/dev/null
ssx e2 remote add hub "$T/hub.git" >/dev/null
sync_attn e2 >/dev/null
ssx e2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-t1','sch-e','E1')" >/dev/null
sync_attn e2 >/dev/null
sync_attn b >/dev/null
assert_true "receivers refuse it: E_CERT_EXPIRED (judged by the entry's HLC, not the clock)" q_has b sch-e 1 E_CERT_EXPIRED
assert_contains "... naming the entry time and the validity" "sch-e#1 written at .* outside its certificate's validity .* 2001-01-01" "$(q_reason b sch-e 1)"
assert_eq "... not applied" 0 "$(ssx b sql "SELECT count(*) AS n FROM teacher WHERE id='sch-e-t1'" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')"

log "=== an auditor node syncs read-only"
PAU=$(pubkey_of au aud1)
ssx au remote add hub "$T/hub.git" >/dev/null
ssx au join --district-pubkey "$RK" >/dev/null
ssx h district enroll aud1 --role auditor --pubkey "$PAU" --root-key "$ROOT" >/dev/null
sync_attn h >/dev/null
sync_attn au >/dev/null
assert_fail "the auditor cannot write" au sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-au1','sch-a','x')"
assert_contains "... E_PERM: writes nothing" "role auditor writes nothing \(E_PERM\)" "$ERR"
HUBREFS=$(git --git-dir="$T/hub.git" for-each-ref --format='%(refname) %(objectname)')
R=$(sync_attn au)
assert_eq "the auditor pushes nothing" "0" "$(sync_field "$R" pushed_refs)"
assert_eq "... the hub's refs are unchanged" "$HUBREFS" "$(git --git-dir="$T/hub.git" for-each-ref --format='%(refname) %(objectname)')"
assert_eq "the auditor's data equals the hub's" "$(state_hash h)" "$(state_hash au)"

log "=== ownership is the key's, whatever order a receiver reads branches in (issue 13)"
# An enrolled school that skipped join (no local check) names itself owner of
# a's row and of a hub row, as new rows (no prevs). Its branch "node/aaa" is
# read before node/hub and node/sch-a by a receiver that starts from nothing.
ssx h sql "INSERT INTO teacher(id,school_id,name) VALUES ('hub-t1',NULL,'H')" >/dev/null
sync_attn h >/dev/null
PQ=$(pubkey_of q aaa)
ssx h district enroll aaa --role school --school aaa --pubkey "$PQ" --root-key "$ROOT" >/dev/null
sync_attn h >/dev/null
ssx q sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','aaa','hijacked')" >/dev/null   # aaa#1
ssx q sql "INSERT INTO teacher(id,school_id,name) VALUES ('hub-t1','aaa','claimed')" >/dev/null      # aaa#2
ssx q remote add hub "$T/hub.git" >/dev/null
sync_attn q >/dev/null
PD=$(pubkey_of d sch-d)
ssx d remote add hub "$T/hub.git" >/dev/null
ssx d join --district-pubkey "$RK" >/dev/null
sync_attn d >/dev/null                       # reads node/aaa first
sync_attn b >/dev/null                       # held a's row long before
sync_attn h >/dev/null
assert_true "the hijack of a's row is refused (E_PERM) on the receiver that read it first" q_has d aaa 1 E_PERM
assert_true "the claim on the hub's row is refused too" q_has d aaa 2 E_PERM
assert_contains "... the reason names the key's owner" "teacher/hub-t1: row belongs to the hub" "$(q_reason d aaa 2)"
owner_of() { ssx "$1" sql "SELECT id || ':' || ifnull(school_id,'NULL') || ':' || name AS r FROM teacher WHERE id IN ('sch-a-t1','hub-t1') ORDER BY id" --json | "$PY" -c 'import json,sys; print(";".join(r["r"] for r in json.load(sys.stdin)))'; }
assert_eq "d keeps a's row and the hub's row as their owners wrote them" "hub-t1:NULL:H;sch-a-t1:sch-a:张三" "$(owner_of d)"
assert_eq "every receiver decides the same, whatever it read first" "$(state_hash b)" "$(state_hash d)"
assert_eq "... the hub too" "$(state_hash h)" "$(state_hash d)"

summary
