#!/usr/bin/env bash
# Hub-equivocation evidence travels (issue 14 "The witness is watched too",
# docs/TRUST.md §4a): a hub (its key) signs two different checkpoints for one
# position and shows them to different schools. School b, which talks to both
# sides, catches it and publishes both signed checkpoints on
# refs/heads/evidence/witness-<hash>; the guarded hub takes that ref (it
# checks it like every receiver), so school c, which only ever talked to the
# hub's honest-looking side, gets it and reacts as b did (quarantine
# E_WITNESS_FORK, status HUB EQUIVOCATION, verify fails, sync exits 3); so
# does the hub node itself, a USB-only school through a stick, and a school
# that receives the evidence before the checkpoint of that position: every
# one ends with the same evidence rows. Forged or junk evidence (a signature
# changed, a name that is not the content's hash, another commit around the
# right content) is refused by the guard and by receivers, quarantined once,
# never taken or relayed, and changes nothing else. Only one hub (the
# district's witness) signs checkpoints: a second hub certificate's node
# cannot.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
HUB=$T/srv/hub.git
mkdir -p "$T/srv"
wit() { ssx "$1" status --json | "$PY" -c 'import json,sys; w=json.load(sys.stdin)["node"]["witness"]; print(w[sys.argv[1]])' "$2"; }
q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
# the evidence a replica holds: positions and bodies, one line each
forks() { "$PY" - "$T/$1/replica.db" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for pos, body in db.execute("SELECT pos, body FROM ssync_witness_fork ORDER BY pos, body"):
    print(pos, hashlib.sha256(body.encode()).hexdigest())
EOF
}
ev_lines() { "$PY" - "$T/$1/replica.db" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for (l,) in db.execute("SELECT line FROM ssync_quarantine WHERE code='E_WITNESS_FORK' ORDER BY line"):
    print(hashlib.sha256(l if isinstance(l, bytes) else l.encode()).hexdigest())
EOF
}
evrefs() { git --git-dir="$1" for-each-ref --format='%(refname)' refs/heads/evidence/ | sort; }

log "=== a district: hub h (guarded repository over git daemon), schools a b c e f u"
ssx h init --node hub --district d1 >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
ssx h guard init "$HUB" --district-pubkey "$RK" >/dev/null
start_git_daemon "$T/srv"
GURL="git://127.0.0.1:$GIT_DAEMON_PORT/hub.git"
ssx h remote add hub "$GURL" >/dev/null
for s in a b c e f u; do
	P=$(pubkey_of $s sch-$s)
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
done
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','A'),('sch-b','B'),('sch-c','C')" >/dev/null
sync_ok h >/dev/null
for s in a b c e f; do ssx $s remote add hub "$GURL" >/dev/null; sync_ok $s >/dev/null; done
git init -q --bare "$T/stick"
ssx b remote add stick "$T/stick" >/dev/null
ssx u remote add stick "$T/stick" >/dev/null
sync_ok b >/dev/null
sync_ok u >/dev/null
N0=$(wit c checkpoints)
assert_true "every school holds the hub's checkpoints" test "$N0" -ge 1
assert_eq "u (USB only) holds them too" "$N0" "$(wit u checkpoints)"

log "=== the hub's key signs two checkpoints for position N+1 and shows them to different schools"
cp -a "$T/h" "$T/h2"                 # the same hub key, another history elsewhere
git init -q --bare "$T/hub2.git"
ssx h2 remote add hub2 "$T/hub2.git" >/dev/null
ssx h sql "INSERT INTO teacher(id,school_id,name) VALUES ('hub-t1',NULL,'one side')" >/dev/null
ssx h district checkpoint >/dev/null
ssx h2 sql "INSERT INTO teacher(id,school_id,name) VALUES ('hub-t2',NULL,'other side')" >/dev/null
ssx h2 district checkpoint >/dev/null
sync_ok h2 hub2 >/dev/null
sync_ok h hub >/dev/null
sync_ok c hub >/dev/null
assert_eq "c holds checkpoint N+1 (the hub's honest-looking side), nothing odd" "$((N0 + 1)) 0" \
	"$(wit c checkpoints) $(wit c forks)"
sync_ok b hub >/dev/null
ssx b remote add hub2 "$T/hub2.git" >/dev/null
ss b sync --remote hub2 --json
assert_eq "b meets the other side: exit 3" 3 "$RC"
assert_true "b: E_WITNESS_FORK at position N+1" q_has b witness $((N0 + 1)) E_WITNESS_FORK
assert_eq "b publishes the evidence on one ref" 1 "$(evrefs "$T/b/exchange.git" | wc -l)"
EVREF=$(evrefs "$T/b/exchange.git")

log "=== b's next sync with the hub carries the evidence; the guard takes it"
sync_attn b hub >/dev/null
assert_eq "the guarded hub holds the evidence ref" "$EVREF" "$(evrefs "$HUB")"
assert_eq "... the very commit b made" "$(git --git-dir="$T/b/exchange.git" rev-parse "$EVREF")" "$(git --git-dir="$HUB" rev-parse "$EVREF")"

ss h --json audit verify --repo "$HUB" --district-pubkey "$RK"
assert_eq "an auditor verifying the hub's repository alone finds it: not ok" "False" "$(jget "$OUT" 'j["ok"]')"
assert_contains "... naming the hub's equivocation at position N+1" "\"node\": *\"witness\", *\"seq\": *$((N0 + 1)).*E_WITNESS_FORK" \
	"$(echo "$OUT" | tr -d '\n')"

log "=== c, which only ever talked to the hub, reacts as if it had caught it"
ss c sync --json
assert_eq "c's sync exits 3 (someone must look)" 3 "$RC"
assert_contains "... and says what it is and what to do" "HUB EQUIVOCATION.*E_WITNESS_FORK.*district" "$(echo "$ERR" | tr '\n' ' ')"
assert_true "c: E_WITNESS_FORK at position N+1" q_has c witness $((N0 + 1)) E_WITNESS_FORK
assert_eq "c's status counts it" 1 "$(wit c forks)"
assert_contains "... and says so" "HUB EQUIVOCATION" "$(ssx c status | tr '\n' ' ')"
ss c verify
assert_eq "c's verify fails (exit 1)" 1 "$RC"
assert_contains "... naming the hub's equivocation" "E_WITNESS_FORK" "$ERR"
assert_eq "c keeps the chain it had" $((N0 + 1)) "$(wit c checkpoints)"
assert_eq "c holds the same evidence as b" "$(forks b)" "$(forks c)"
assert_eq "... and the same quarantine line" "$(ev_lines b)" "$(ev_lines c)"
ss c sync --json
assert_eq "c's next sync still exits 3 while it holds the evidence" 3 "$RC"
assert_eq "... adding no second quarantine row" 1 "$(ev_lines c | wc -l)"

log "=== the hub node sees it; a USB-only school gets it by stick"
ss h sync --remote hub --json
assert_eq "the hub node's sync exits 3" 3 "$RC"
assert_eq "the hub node holds the same evidence" "$(forks b)" "$(forks h)"
sync_attn b stick >/dev/null
ss u sync --json
assert_eq "u's sync (stick only) exits 3" 3 "$RC"
assert_eq "u holds the same evidence" "$(forks b)" "$(forks u)"
assert_eq "u relays it onward: its own exchange holds the ref" "$EVREF" "$(evrefs "$T/u/exchange.git")"

log "=== another order: e gets the evidence before the checkpoint of that position"
git init -q --bare "$T/ev.git"
git --git-dir="$T/b/exchange.git" push -q "$T/ev.git" "$EVREF:$EVREF"
ssx e remote add ev "$T/ev.git" >/dev/null
assert_eq "e holds only the chain up to N" "$N0" "$(wit e checkpoints)"
ss e sync --remote ev --json
assert_eq "e's sync with the evidence alone exits 3" 3 "$RC"
assert_eq "e counts the fork" 1 "$(wit e forks)"
sync_attn e hub >/dev/null
assert_eq "e then takes checkpoint N+1 from the hub" $((N0 + 1)) "$(wit e checkpoints)"
assert_eq "e ends with the same evidence as b, c, h, u" "$(forks b)" "$(forks e)"
assert_eq "... and the same quarantine line" "$(ev_lines b)" "$(ev_lines e)"

log "=== forged and junk evidence: refused by the guard and by receivers, changes nothing"
# make_ev KIND OUTDIR: a bare repository holding one bad evidence ref, printed
make_ev() { "$PY" - "$T/b/exchange.git" "$EVREF" "$1" "$2" <<'EOF'
import hashlib, os, subprocess, sys
src, ref, kind, out = sys.argv[1:5]
data = subprocess.run(["git", "--git-dir", src, "show", ref + ":witness.fork"], capture_output=True, check=True).stdout
a, b, _ = data.split(b"\n")
if kind == "forged":          # one signature changed: still hex, no longer the hub's
    body, sig = b.split(b"\t")
    sig = (b"0" if sig[:1] != b"0" else b"1") + sig[1:]
    data = a + b"\n" + body + b"\t" + sig + b"\n"
elif kind == "same":          # the same checkpoint twice
    data = a + b"\n" + a + b"\n"
subprocess.run(["git", "init", "-q", "--bare", out], check=True)
def put(t, raw):
    return subprocess.run(["git", "--git-dir", out, "hash-object", "-w", "-t", t, "--stdin"], input=raw,
                          capture_output=True, check=True).stdout.strip().decode()
blob = put("blob", data)
tree = put("tree", b"100644 witness.fork\0" + bytes.fromhex(blob))
who = b"schoolsync <node@schoolsync> " + (b"1700000000 +0800" if kind == "othercommit" else b"0 +0000")
msg = b"evidence: hub hub signed two checkpoints for position %d\n" % int(a.split(b'"n":')[1].split(b",")[0])
commit = put("commit", b"tree " + tree.encode() + b"\nauthor " + who + b"\ncommitter " + who + b"\n\n" + msg)
name = hashlib.sha256(data).hexdigest()
if kind == "wrongname":
    name = hashlib.sha256(b"x" + data).hexdigest()
r = "refs/heads/evidence/witness-" + name
subprocess.run(["git", "--git-dir", out, "update-ref", r, commit], check=True)
print(r)
EOF
}
for kind in forged same wrongname othercommit; do
	R=$(make_ev $kind "$T/junk-$kind.git")
	RC=0; out=$(git --git-dir="$T/junk-$kind.git" push "$GURL" "$R:$R" 2>&1) || RC=$?
	assert_ne "$kind evidence: the hub refuses the push" 0 "$RC"
	assert_contains "... naming the ref" "${R#refs/heads/}" "$out"
done
assert_eq "the hub holds only the real evidence" "$EVREF" "$(evrefs "$HUB")"
git clone -q --bare "$HUB" "$T/audit-junk.git"
git --git-dir="$T/audit-junk.git" update-ref -d "$EVREF"
R=$(git --git-dir="$T/junk-forged.git" for-each-ref --format='%(refname)' refs/heads/evidence/)
git --git-dir="$T/junk-forged.git" push -q "$T/audit-junk.git" "$R:$R"
ss h --json audit verify --repo "$T/audit-junk.git" --district-pubkey "$RK"
assert_eq "audit of the hub's history with forged evidence in place of the real one: ok" "True" "$(jget "$OUT" 'j["ok"]')"
assert_contains "... the forgery is a finding, not a failure" "\"evidence\".*E_CORRUPT" "$(echo "$OUT" | tr -d '\n')"
for kind in forged same wrongname othercommit; do
	ssx f remote add j$kind "$T/junk-$kind.git" >/dev/null
done
ss f sync --remote jforged,jsame,jwrongname,jothercommit --json
assert_eq "f (never saw the fork) syncs the junk: exit 3 (quarantined)" 3 "$RC"
assert_eq "... four refusals, node 'evidence'" 4 "$(quarantine_codes f | grep -c '^evidence 0 ')"
assert_eq "f holds no evidence" "0" "$(wit f forks)"
assert_not_contains "... its status does not cry wolf" "HUB EQUIVOCATION" "$(ssx f status | tr '\n' ' ')"
assert_ok "f's verify passes" f verify
assert_eq "f took no evidence ref (nothing to relay)" "" "$(evrefs "$T/f/exchange.git")"
ss f sync --remote jforged,jsame,jwrongname,jothercommit --json
assert_eq "f's next sync with the same junk: judged once, exit 0" 0 "$RC"
sync_attn a hub >/dev/null
sync_attn f hub >/dev/null
assert_eq "f's data is a's" "$(state_hash a)" "$(state_hash f)"
assert_eq "f, once it met the hub, holds the real evidence like b" "$(forks b)" "$(forks f)"
ss c sync --remote hub --json
assert_eq "c, with the evidence: the junk changed nothing (same evidence)" "$(forks b)" "$(forks c)"

log "=== only one witness: a second hub certificate's node signs no checkpoint"
P=$(pubkey_of h3 hub-b)
ssx h district enroll hub-b --role hub --pubkey "$P" --root-key "$ROOT" >/dev/null
sync_attn h hub >/dev/null
ssx h3 join --district-pubkey "$RK" >/dev/null
ssx h3 remote add hub "$GURL" >/dev/null
sync_attn h3 >/dev/null
NB=$(wit h3 checkpoints)
ss h3 district checkpoint
assert_eq "district checkpoint on the second hub is refused (exit 1)" 1 "$RC"
assert_contains "... naming the witness" "district's witness is hub hub .*only one hub signs checkpoints" "$(echo "$ERR" | tr '\n' ' ')"
ssx h3 sql "INSERT INTO school(id,name) VALUES ('sch-z','Z')" >/dev/null
sync_attn h3 >/dev/null
assert_eq "its sync rounds sign none" "$NB" "$(wit h3 checkpoints)"
assert_eq "... and the hub's district branch holds none by hub-b" "" \
	"$(git --git-dir="$HUB" grep -l '"hub":"hub-b"' refs/heads/district -- witness 2>/dev/null || true)"

summary
