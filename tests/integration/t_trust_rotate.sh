#!/usr/bin/env bash
# Root rotation (issue #14): the district root in office signs the hand-over
# to a new root. Nodes that pinned the old root follow the chain: a school
# enrolled afterwards with the new root is accepted everywhere, including by a
# school that was offline during the rotation and catches up from a USB
# stick. The old root's signature on anything after the rotation is refused,
# by the CLI and by every receiver (a district branch carrying one is refused
# whole). Every node ends with the same state.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
ROOT2=$T/root2.key
seqs_of() { ssx "$1" log --json | "$PY" -c 'import json,sys
print(" ".join(str(e["seq"]) for e in json.load(sys.stdin) if e["node"]==sys.argv[1]))' "$2"; }

log "=== setup: hub, schools a and b; b then goes offline"
district_setup a b
sync_ok h >/dev/null
sync_ok a >/dev/null
sync_ok b >/dev/null
cp -a "$T/h" "$T/hold"      # the hub's home as it was before the rotation

log "=== the hub rotates the root"
ss h district rotate-root --new-root-key "$ROOT2" --root-key "$ROOT"
assert_eq "rotate-root exits 0" 0 "$RC"
assert_contains "... and names the new root" "district root handed over to [0-9a-f]{64}" "$OUT"
RK2=$(printf '%s\n' "$OUT" | grep -o 'handed over to [0-9a-f]\{64\}' | sed 's/handed over to //')
assert_fail "the old root signs nothing more" h district enroll sch-x --role school --school sch-x --pubkey "$(pubkey_of x sch-x)" --root-key "$ROOT"
assert_contains "... saying it is not the root in office" "not the district root in office" "$ERR"
P=$(pubkey_of c sch-c)
assert_ok "the new root enrols school c" h district enroll sch-c --role school --school sch-c --pubkey "$P" --root-key "$ROOT2"
sync_ok h >/dev/null

log "=== c pinned the original root (as every school does) and follows the chain"
ssx c remote add hub "$T/hub.git" >/dev/null
ssx c join --district-pubkey "$RK" >/dev/null
sync_ok c >/dev/null
assert_ok "c (certified by the new root) writes" c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-1','sch-c','c1')"
sync_ok c >/dev/null
sync_ok a >/dev/null
assert_eq "a takes c's entry" "1" "$(seqs_of a sch-c)"

log "=== d pins the new root at join (§3a): the genesis and the rotation to it are taken"
P=$(pubkey_of d sch-d)
ssx h district enroll sch-d --role school --school sch-d --pubkey "$P" --root-key "$ROOT2" >/dev/null
sync_ok h >/dev/null
ssx d remote add hub "$T/hub.git" >/dev/null
assert_ok "d joins with the new root" d join --district-pubkey "$RK2"
sync_ok d >/dev/null
assert_eq "d takes c's entry (certified by the new root)" "1" "$(seqs_of d sch-c)"
assert_eq "... and holds the district's state" "$(state_hash c)" "$(state_hash d)"
assert_ok "d verifies" d verify
ssx e init --node sch-e --district d1 >/dev/null
ssx e remote add hub "$T/hub.git" >/dev/null
ssx e join --district-pubkey "$(pubkey_of f sch-f)" >/dev/null
ss e sync --json
assert_ne "e, pinned to a key the district's roots never were, refuses the district branch" 0 "$RC"
assert_contains "... E_ROOT in quarantine" "not signed by the pinned district root: the genesis record names another root.*E_ROOT" "$(ssx e quarantine --json)"

log "=== an old-root certificate slipped onto the district branch after the rotation is refused"
# the pre-rotation hub home signs one with the old root (it takes the rotation's serial)
ssx hold district enroll sch-x --role school --school sch-x --pubkey "$(pubkey_of x2 sch-x)" --root-key "$ROOT" >/dev/null
cp -a "$T/hub.git" "$T/evil.git"
CERT=$(git --git-dir="$T/hold/exchange.git" ls-tree -r --name-only refs/heads/district | grep '^certs/sch-x\.')
BLOB=$(git --git-dir="$T/hold/exchange.git" rev-parse "refs/heads/district:$CERT")
git --git-dir="$T/hold/exchange.git" cat-file blob "$BLOB" | git --git-dir="$T/evil.git" hash-object -w --stdin >/dev/null
TIP=$(git --git-dir="$T/evil.git" rev-parse refs/heads/district)
export GIT_INDEX_FILE=$T/evil.index
git --git-dir="$T/evil.git" read-tree "$TIP"
git --git-dir="$T/evil.git" update-index --add --cacheinfo 100644 "$BLOB" "$CERT"
TREE=$(git --git-dir="$T/evil.git" write-tree)
unset GIT_INDEX_FILE
NEW=$(git --git-dir="$T/evil.git" commit-tree "$TREE" -p "$TIP" -m "district: certificate for sch-x")
git --git-dir="$T/evil.git" update-ref refs/heads/district "$NEW"
ssx b remote add evil "$T/evil.git" >/dev/null
ss b sync --remote evil --no-push
assert_contains "b (offline during the rotation) refuses that district branch whole" \
	"district.*E_CERT" "$(quarantine_codes b | tr '\n' ' ')"
assert_contains "... the reason: the old root signed after handing over" "handed over to a new one.*E_ROOT" \
	"$(ssx b quarantine --json)"
assert_eq "... so b holds no rotation and no certificate of c or x yet" "" "$(ssx b district list --json | "$PY" -c 'import json,sys; print(" ".join(c["node"] for c in json.load(sys.stdin) if c["node"] in ("sch-c","sch-x")))')"

log "=== b catches up by USB stick, the hub's copy"
ssx h remote add stick "$T/stick.git" >/dev/null
sync_ok h hub >/dev/null
sync_ok h stick >/dev/null
ssx b remote add stick "$T/stick.git" >/dev/null
sync_ok b stick >/dev/null
assert_eq "b follows the rotation: it holds c's certificate and entry" "1" "$(seqs_of b sch-c)"
sync_ok b hub >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
assert_all_equal "hub, a, b and c hold the same state" "$(state_hash h)" "$(state_hash a)" "$(state_hash b)" "$(state_hash c)"
assert_ok "audit verify with the original root follows the chain" h audit verify --repo "$T/hub.git" --district-pubkey "$RK"

summary
