#!/usr/bin/env bash
# Revocation in both learning orders (TESTPLAN 33), audit verify on a clean
# repository and on tampered copies, audit history of a record edited by
# three schools with one conflict (issue #4, TESTPLAN 54).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
names() { ssx "$1" sql "SELECT id || '=' || name FROM teacher ORDER BY id" --json | "$PY" -c 'import json,sys; print(";".join(list(r.values())[0] for r in json.load(sys.stdin)))'; }
ROOT=$T/root.key

log "=== setup: hub, schools a (to be revoked), b (learns the revocation first), e (learns it last)"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
RK=$(ssx h district init --id d1 --name 崇明 --root-key "$ROOT" | sed -n 's/^root public key //p')
for s in a b e; do
	P=$(pubkey_of $s sch-$s)
	ssx $s remote add hub "$T/hub.git" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
done
sync_ok h >/dev/null
sync_ok a >/dev/null
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null        # a#1 honoured
sync_ok a >/dev/null
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','stolen-key')" >/dev/null  # a#2 cut off
ssx a sql "UPDATE teacher SET name='defaced' WHERE id='sch-a-t1'" >/dev/null                           # a#3 cut off
sync_ok a >/dev/null

log "=== order 1: e applies a#2..3 first, learns the revocation later"
sync_ok e >/dev/null
assert_eq "e applied a's entries before any revocation" "sch-a-t1=defaced;sch-a-t2=stolen-key" "$(names e)"

log "=== the hub revokes sch-a after seq 1"
sync_ok h >/dev/null
ss h district revoke sch-a --after-seq 1 --root-key "$ROOT"
assert_eq "district revoke exits 0" 0 "$RC"
assert_eq "the hub rebuilt its own state at once" "sch-a-t1=张三" "$(names h)"
sync_ok h >/dev/null

log "=== order 2: b learns the revocation before it sees a#2..3"
sync_ok b >/dev/null
assert_eq "b: entries up to the cut applied, after it refused" "sch-a-t1=张三" "$(names b)"
assert_true "b: a#2 quarantined E_REVOKED" q_has b sch-a 2 E_REVOKED
assert_true "b: a#3 quarantined E_REVOKED" q_has b sch-a 3 E_REVOKED

sync_ok e >/dev/null
assert_eq "e: after learning the revocation, a#2..3 are removed by rebuilding" "sch-a-t1=张三" "$(names e)"
assert_true "e: a#2 quarantined E_REVOKED" q_has e sch-a 2 E_REVOKED
assert_all_equal "both learning orders give the same state hash (hub, b, e)" "$(state_hash h)" "$(state_hash b)" "$(state_hash e)"
assert_eq "the revoked entries stay in e's log as evidence" 3 \
	"$(ssx e log --json | "$PY" -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["node"]=="sch-a"))')"
assert_contains "district list shows the revocation" "after seq 1" "$(ssx e district list)"

log "=== audit verify on the clean repository"
ss h audit verify --repo "$T/hub.git" --district-pubkey "$RK" --json
assert_eq "audit verify passes (exit 0)" 0 "$RC"
assert_eq "... its state hash equals the nodes'" "$(state_hash h)" "$(jget "$OUT" 'j["state_hash"]')"
assert_eq "... and it lists the refused entries without failing" "2" "$(jget "$OUT" 'j["refused"]')"
git clone -q --bare "$T/hub.git" "$T/clone.git"
ss h audit verify --repo "file://$T/clone.git" --district-pubkey "$RK"
assert_eq "audit verify of a bare clone by URL passes" 0 "$RC"

WRONG=$(printf '%064d' 0 | sed 's/0/1/g')
ssx z init --node zz --district d9 >/dev/null
RZ=$(ssx z district init --id d9 --name other --root-key "$T/z.key" | sed -n 's/^root public key //p')
ss h audit verify --repo "$T/hub.git" --district-pubkey "$RZ"
assert_eq "audit verify with another district's key fails" 1 "$RC"
assert_contains "... naming the district branch and the root" "district.*not signed by the pinned district root" "$ERR"

log "=== audit verify on tampered copies"
tamper_copy() { rm -rf "$T/t.git" "$T/tw"; git clone -q --bare "$T/hub.git" "$T/t.git"; git clone -q "$T/t.git" "$T/tw" 2>/dev/null; }
# (1) a byte changed in a segment, committed on top (no force)
tamper_copy
git -C "$T/tw" checkout -q node/sch-b 2>/dev/null || true
git -C "$T/tw" checkout -q node/sch-a
sed -i 's/张三/张四/' "$T/tw/seg/0000000/000000000001.seg"
git -C "$T/tw" commit -qam "fix" && git -C "$T/tw" push -q origin node/sch-a
ss h audit verify --repo "$T/t.git" --district-pubkey "$RK"
assert_eq "tampered segment: audit fails" 1 "$RC"
assert_contains "... E_REWRITE naming node sch-a" "E_REWRITE: sch-a#0: branch node/sch-a: commit .* changed or removed a file" "$ERR"
# (2) the same edit with history rewritten (no trace of the old commit)
tamper_copy
git -C "$T/tw" checkout -q node/sch-a
first=$(git -C "$T/tw" rev-list --max-parents=0 HEAD)
git -C "$T/tw" reset -q --hard "$first"
sed -i 's/张三/张四/' "$T/tw/seg/0000000/000000000001.seg"
git -C "$T/tw" commit -q --amend -am "sch-a: entries 1..1" && git -C "$T/tw" push -q -f origin node/sch-a
ss h audit verify --repo "$T/t.git" --district-pubkey "$RK"
assert_eq "segment forged in a rewritten history: audit fails" 1 "$RC"
assert_contains "... E_SIG naming sch-a#1" "E_SIG: sch-a#1" "$ERR"
# (3) a certificate from another root appended to the district branch
tamper_copy
git -C "$T/tw" checkout -q district
ssx z district enroll sch-q --role school --school sch-q --pubkey "$(ssx h --json district list | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["pubkey"])')" --root-key "$T/z.key" >/dev/null
git --git-dir="$T/z/exchange.git" show refs/heads/district:certs/sch-q.2.cert > "$T/tw/certs/sch-q.9.cert"
git -C "$T/tw" add -A && git -C "$T/tw" commit -qm "cert" && git -C "$T/tw" push -q origin district
ss h audit verify --repo "$T/t.git" --district-pubkey "$RK"
assert_eq "forged certificate: audit fails" 1 "$RC"
assert_contains "... E_CERT naming the file" "E_CERT: district#0: district commit .*certs/sch-q.9.cert" "$ERR"
# (4) the revocation removed by rewriting the district branch
tamper_copy
git -C "$T/tw" checkout -q district
git -C "$T/tw" reset -q --hard HEAD~1
git -C "$T/tw" push -q -f origin district
ss h audit verify --repo "$T/t.git" --district-pubkey "$RK" --json
assert_eq "revocation stripped: the audit's state hash differs from the nodes'" "different" \
	"$([ "$(jget "$OUT" 'j["state_hash"]')" != "$(state_hash h)" ] && echo different || echo same)"

log "=== audit history: a record edited by three schools, one conflict (unmanaged district for the demo)"
new_hub "$T/hub2.git"
for s in p q r; do mk_node u$s sch-$s hub "$T/hub2.git"; done
ssx up sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('t1','sch-p','王老师','初级')" >/dev/null
sync_ok up >/dev/null; sync_ok uq >/dev/null; sync_ok ur >/dev/null
ssx uq sql "UPDATE teacher SET title='中级' WHERE id='t1'" >/dev/null     # concurrent with r's edit
ssx ur sql "UPDATE teacher SET title='高级' WHERE id='t1'" >/dev/null
sync_ok uq >/dev/null; sync_ok ur >/dev/null; sync_ok up >/dev/null
ssx up sql "UPDATE teacher SET name='王芳' WHERE id='t1'" >/dev/null
sync_ok up >/dev/null
H=$(ssx up audit history teacher t1 --json)
row() { "$PY" -c 'import json,sys
h=json.loads(sys.argv[1])
for c in h:
    if c["column"] in ("title","name") and (c["old"] or c["column"]=="title"):
        print(c["node"], c["column"], json.dumps(c["old"],ensure_ascii=False), json.dumps(c["new"],ensure_ascii=False), c["conflict"], len(c["hash"]), len(c["commit"]))' "$H"; }
R=$(row)
assert_contains "history: p created the title" "sch-p title \[\] \"初级\" False 64 40" "$R"
assert_contains "history: q changed title 初级 -> 中级" "sch-q title \[\"初级\"\] \"中级\" (True|False) 64 40" "$R"
assert_contains "history: r changed title 初级 -> 高级, leaving a conflict" "sch-r title \[\"初级\"\] \"高级\" True 64 40|sch-q title \[\"初级\"\] \"中级\" True 64 40" "$R"
assert_contains "history: p renamed 王老师 -> 王芳, published by a commit" "sch-p name \[\"王老师\"\] \"王芳\" False 64 40" "$R"
assert_eq "history: every change has time, node, actor" "ok" "$("$PY" -c 'import json,sys
h=json.loads(sys.argv[1]); print("ok" if h and all(c["time"] and c["node"] and c["actor"]=="clerk" for c in h) else "bad")' "$H")"
assert_contains "history text names the conflict" "CONFLICT" "$(ssx up audit history teacher t1)"

summary
