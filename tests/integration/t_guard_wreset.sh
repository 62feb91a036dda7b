#!/usr/bin/env bash
# A guarded hub and witness resets (docs/TRUST.md §4b, OPERATIONS.md §10/§11):
# the hub's checkpoint signed 200 days ahead, the root's reset and the next
# checkpoint reach the guarded repository through the hook (judged with the
# receivers' own loader, commit by commit); a school then writes again. A
# forged reset (the root's line with a changed range, so its signature no
# longer verifies) and one at a junk path are refused by the hook and leave
# the repository's district branch where it was.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

NOW=$(( $(date +%s) * 1000 ))
D=86400000
ROOT=$T/root.key
HUB=$T/srv/hub.git
mkdir -p "$T/srv"
wit() { ssx "$1" status --json | "$PY" -c 'import json,sys; w=json.load(sys.stdin)["node"]["witness"]; print(w[sys.argv[1]])' "$2"; }
tip() { git --git-dir="$1" rev-parse refs/heads/district; }

log "=== setup: a guarded hub over git daemon, school a"
ssx h init --node hub --district d1 >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
ssx h guard init "$HUB" --district-pubkey "$RK" >/dev/null
start_git_daemon "$T/srv"
GURL="git://127.0.0.1:$GIT_DAEMON_PORT/hub.git"
ssx h remote add hub "$GURL" >/dev/null
P=$(ssx a --json init --node sch-a --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx h district enroll sch-a --role school --school sch-a --pubkey "$P" --root-key "$ROOT" >/dev/null
ssx a join --district-pubkey "$RK" >/dev/null
ssx a remote add hub "$GURL" >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','甲校')" >/dev/null
assert_ok "the hub's sync through the guard" h sync
sync_ok a >/dev/null

log "=== the hub signs 200 days ahead; the root voids it; all through the guard"
SCHOOLSYNC_HUB_CLOCK_OVERRIDE= ss_at $(( NOW + 200 * D )) h district checkpoint --json
assert_eq "the hub signs a checkpoint 200 days ahead" 0 "$RC"
BAD=$(wit h checkpoints)
assert_ok "... it reaches the guarded hub" h sync
sync_ok a >/dev/null
assert_fail "a, with a correct clock, cannot write" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','张一')"
assert_ok "the root voids it" h district reset-witness --from "$BAD" --root-key "$ROOT"
assert_ok "the reset and the next checkpoint pass the guard" h sync
assert_eq "... the guarded repository holds the hub's district branch" "$(tip "$T/h/exchange.git")" "$(tip "$HUB")"
sync_ok a >/dev/null
assert_ok "a writes again" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','张一')"
assert_ok "... and its entry passes the guard" a sync
assert_ok "the hub's next checkpoint (listing it) passes the guard" h sync
assert_eq "... at the position after the void one" $(( BAD + 1 )) "$(wit h checkpoints)"
assert_eq "... the guarded repository holds it" "$(tip "$T/h/exchange.git")" "$(tip "$HUB")"

log "=== forged resets pushed straight to the guarded hub are refused"
git init -q --bare "$T/forge.git"
git --git-dir="$T/forge.git" fetch -q "$HUB" refs/heads/district:refs/heads/district
G0=$(tip "$HUB")
RESET=$(git --git-dir="$T/forge.git" ls-tree --name-only "$G0" district/ | grep '\.reset$' | head -1)
LINE=$(git --git-dir="$T/forge.git" show "$G0:$RESET")
forge() { # forge PATH CONTENT: a commit on the hub's district tip adding one file
	local blob tree sub
	blob=$(printf '%s\n' "$2" | git --git-dir="$T/forge.git" hash-object -w --stdin)
	sub=$( (git --git-dir="$T/forge.git" ls-tree "$G0:district"; printf '100644 blob %s\t%s\n' "$blob" "${1#district/}") |
		git --git-dir="$T/forge.git" mktree)
	tree=$( (git --git-dir="$T/forge.git" ls-tree "$G0" | grep -v '	district$'; printf '040000 tree %s\tdistrict\n' "$sub") |
		git --git-dir="$T/forge.git" mktree)
	git --git-dir="$T/forge.git" commit-tree "$tree" -p "$G0" -m "district: forged" </dev/null
}
S=$("$PY" -c 'import sys; print(int(sys.argv[1].split(".")[1]) + 100)' "$RESET")
L=$(wit h checkpoints)
# a key-only reset after the latest checkpoint (every other rule holds): only its signature is wrong
FORGED=$("$PY" -c 'import re,sys; l=sys.argv[1]
l=re.sub(r"\"serial\":\d+", "\"serial\":" + sys.argv[2], l, count=1)
l=re.sub(r"\"from\":\d+", "\"from\":%d" % (int(sys.argv[3]) + 1), l, count=1)
print(re.sub(r"\"to\":\d+", "\"to\":" + sys.argv[3], l, count=1))' "$LINE" "$S" "$L")
assert_ne "(the forged line differs from the root's)" "$LINE" "$FORGED"
C1=$(forge "district/witness.$S.reset" "$FORGED")
if git --git-dir="$T/forge.git" push -q "$GURL" "$C1:refs/heads/district" 2>"$T/push1.err"; then
	fail "a reset whose signature does not verify is refused by the guard" "push succeeded"
else
	pass "a reset whose signature does not verify is refused by the guard"
fi
assert_contains "... for its signature" "not signed by the pinned district root" "$(cat "$T/push1.err")"
C2=$(forge "district/witness.junk.reset" "$LINE")
if git --git-dir="$T/forge.git" push -q "$GURL" "$C2:refs/heads/district" 2>"$T/push2.err"; then
	fail "a reset at a junk path is refused by the guard" "push succeeded"
else
	pass "a reset at a junk path is refused by the guard"
fi
assert_contains "... for its name" "is not allowed in district" "$(cat "$T/push2.err")"
assert_eq "the guarded repository's district branch did not move" "$G0" "$(tip "$HUB")"
sync_ok h >/dev/null
sync_ok a >/dev/null
assert_all_equal "hub and a are identical" "$(state_hash h)" "$(state_hash a)"

summary
