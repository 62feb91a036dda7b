#!/usr/bin/env bash
# A guarded hub (issue 13, "A guarded hub remote"): `schoolsync guard init`
# makes a bare repository whose update hook runs `guard update REF OLD NEW`
# (per ref: a bad ref in a push does not refuse its good ones), or with
# --all-or-nothing a pre-receive hook running `guard pre-receive`.
# Schools sync through it over git daemon and http-backend (through the
# hook) and as a path remote (direct file access, which no hook sees); what
# anyone with push access tries with the plain git CLI is refused, naming the ref
# and the reason, and the hub's refs do not move: a junk commit on another
# school's branch, a forged entry (another key), a non-fast-forward, a
# deletion, an unsigned district object, a ref of another name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

heads() { git --git-dir="$HUB" for-each-ref --format='%(refname) %(objectname)' refs/heads/; }
ROOT=$T/root.key
HUB=$T/srv/hub.git
mkdir -p "$T/srv"

log "=== guard init / check"
ss h init --node hub --district d1
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
RK=$(sed -n 's/^root public key //p' <<<"$OUT")
assert_eq "district root key" 64 "${#RK}"
assert_fail "guard check on a repository that is not guarded fails" h guard check "$T/nonexistent.git"
ss h --json guard init "$HUB" --district-pubkey "$RK"
assert_eq "guard init exits 0" 0 "$RC"
assert_eq "... and says it is installed" True "$(jget "$OUT" 'j["installed"] and j["changed"]')"
assert_true "... hooks/update is executable" test -x "$HUB/hooks/update"
assert_true "... the hook execs this binary by its absolute path, per ref" grep -qxF "exec '$SSYNC_BIN' guard update \"\$1\" \"\$2\" \"\$3\"" "$HUB/hooks/update"
assert_eq "... and no pre-receive hook (that would judge the push all or nothing)" no "$([ -e "$HUB/hooks/pre-receive" ] && echo yes || echo no)"
assert_eq "... the pinned key is in the repository" "$RK" "$(cat "$HUB/schoolsync-district.pub")"
ss h --json guard init "$HUB" --district-pubkey "$RK"
assert_eq "guard init again changes nothing" "0 False" "$RC $(jget "$OUT" 'j["changed"]')"
assert_fail "guard init with another district key is refused" h guard init "$HUB" --district-pubkey "$(printf 'ab%.0s' $(seq 32))"
assert_contains "... saying another key is pinned" "pins another district key" "$ERR"
assert_ok "guard check reports it guarded" h guard check "$HUB"
assert_contains "... naming the district key" "$RK" "$OUT"
ss h guard --help
assert_contains "guard --help documents pre-receive" "pre-receive" "$OUT"
start_git_daemon "$T/srv"
GURL="git://127.0.0.1:$GIT_DAEMON_PORT/hub.git"

log "=== normal syncs: the hub node and b over git daemon (through the hook), a as a path remote"
ssx h remote add hub "$GURL" >/dev/null
for s in a b c; do
	P=$(pubkey_of $s sch-$s)
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
done
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','A校'),('sch-b','B校'),('sch-c','C校')" >/dev/null
assert_ok "the hub node's first sync over git daemon (creates district and node/hub) is accepted" h sync
assert_true "... the district branch is on the hub" quiet git --git-dir="$HUB" rev-parse -q --verify refs/heads/district
ssx a remote add hub "$HUB" >/dev/null
assert_ok "school a's first sync (its certificate) is accepted" a sync
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
assert_ok "school a's sync is accepted" a sync
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','李四')" >/dev/null
assert_ok "school a's second sync is accepted" a sync
assert_eq "school a's branch has two commits on the hub" 2 "$(git --git-dir="$HUB" rev-list --count refs/heads/node/sch-a)"

ssx b remote add hub "$GURL" >/dev/null
sync_ok b >/dev/null
ssx b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-t1','sch-b','王五')" >/dev/null
assert_ok "school b's sync over git daemon is accepted" b sync
assert_eq "... b holds a's teachers" 2 "$(ssx b sql "SELECT count(*) AS n FROM teacher WHERE school_id='sch-a'" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')"
assert_true "... b's branch is on the hub" quiet git --git-dir="$HUB" rev-parse -q --verify refs/heads/node/sch-b

log "=== attacks with the git CLI: refused, the hub unchanged"
git clone -q "$HUB" "$T/atk" 2>/dev/null
BEFORE=$(heads)
# push_refused NAME PATTERN GIT-PUSH-ARGS...: the push fails, git shows the
# guard's reason for the ref (matching PATTERN), and no ref of the hub moved
push_refused() {
	local name=$1 pat=$2 out rc=0
	shift 2
	out=$(git -C "$T/atk" push "$@" 2>&1) || rc=$?
	assert_ne "$name: the push fails" 0 "$rc"
	assert_contains "$name: the pusher sees the guard's reason" "$pat" "$out"
	assert_eq "$name: no ref of the hub moved" "$BEFORE" "$(heads)"
}
git -C "$T/atk" checkout -q -b junk origin/node/sch-a
echo junk >"$T/atk/junk.txt"
git -C "$T/atk" add junk.txt
git -C "$T/atk" commit -q -m junk
push_refused "junk commit on another school's branch" "refused refs/heads/node/sch-a: not the shape schoolsync writes" \
	origin junk:refs/heads/node/sch-a
push_refused "junk commit over git daemon" "refused refs/heads/node/sch-a: not the shape" \
	"$GURL" junk:refs/heads/node/sch-a
push_refused "non-fast-forward" "refused refs/heads/node/sch-a: not a fast-forward" \
	--force origin origin/node/sch-a~1:refs/heads/node/sch-a
push_refused "branch deletion" "refused refs/heads/node/sch-a: deleting a branch is refused" origin :refs/heads/node/sch-a
push_refused "branch deletion over git daemon" "refused refs/heads/district: deleting" \
	"$GURL" :refs/heads/district
push_refused "another ref name" "refused refs/heads/main: only refs/heads/district" origin junk:refs/heads/main

# Per ref: one push carrying a good update of school b's branch (b's new
# entry, taken from an unguarded copy) and a junk commit on a's: b's lands,
# a's is refused, alone.
git init -q --bare "$T/bcopy.git"
ssx b remote add bcopy "$T/bcopy.git" >/dev/null
ssx b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-t2','sch-b','孙七')" >/dev/null
sync_ok b bcopy >/dev/null
git -C "$T/atk" fetch -q "$T/bcopy.git" refs/heads/node/sch-b:refs/remotes/bcopy/sch-b
BGOOD=$(git -C "$T/atk" rev-parse refs/remotes/bcopy/sch-b)
ATIP=$(git --git-dir="$HUB" rev-parse refs/heads/node/sch-a)
out=$(git -C "$T/atk" push origin refs/remotes/bcopy/sch-b:refs/heads/node/sch-b junk:refs/heads/node/sch-a 2>&1) && rc=0 || rc=$?
assert_ne "a push with one bad ref fails" 0 "$rc"
assert_contains "... naming the bad ref and its reason" "refused refs/heads/node/sch-a: not the shape" "$out"
assert_eq "... the good school's update in the same push landed" "$BGOOD" "$(git --git-dir="$HUB" rev-parse refs/heads/node/sch-b)"
assert_eq "... the bad ref did not move" "$ATIP" "$(git --git-dir="$HUB" rev-parse refs/heads/node/sch-a)"
BEFORE=$(heads)

# A district object nobody with the root key signed: a copy of b's
# certificate made out to another node.
git -C "$T/atk" checkout -q -b dist origin/district
CERT=$(cd "$T/atk" && ls certs | grep sch-b | head -1)
sed 's/sch-b/sch-x/g' "$T/atk/certs/$CERT" >"$T/atk/certs/${CERT//sch-b/sch-x}"
git -C "$T/atk" add -A
git -C "$T/atk" commit -q -m "enroll sch-x"
push_refused "district object without the root's signature" "refused refs/heads/district: district commit" origin dist:refs/heads/district

# A forged entry: someone holding another key writes as sch-c (enrolled, not
# yet synced) and pushes that branch with git, then with schoolsync itself.
ssx f init --node sch-c --district d1 >/dev/null
git init -q --bare "$T/scratch.git"
ssx f remote add scratch "$T/scratch.git" >/dev/null
ssx f sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t1','sch-c','forged')" >/dev/null
ss f sync
assert_true "the forger's branch exists" quiet git --git-dir="$T/scratch.git" rev-parse -q --verify refs/heads/node/sch-c
out=$(git --git-dir="$T/scratch.git" push "$HUB" refs/heads/node/sch-c:refs/heads/node/sch-c 2>&1) && rc=0 || rc=$?
assert_ne "forged entry (another key than sch-c's certificate): the push fails" 0 "$rc"
assert_contains "... naming the ref and the failed check" "refused refs/heads/node/sch-c: sch-c#1" "$out"
assert_eq "... no ref of the hub moved" "$BEFORE" "$(heads)"
ssx f remote add hub "$GURL" >/dev/null
assert_fail "the forger's own sync over git daemon fails" f sync
assert_contains "... showing the guard's reason" "refused refs/heads/node/sch-c: the hub's guard says: sch-c#1" "$ERR"
ss f status
assert_contains "... and status says the hub refuses its branch" "PUSH REJECTED by remote hub" "$OUT"
assert_eq "... no ref of the hub moved" "$BEFORE" "$(heads)"

log "=== over git http-backend (the hook runs with the CGI's environment)"
git --git-dir="$HUB" config http.receivepack true
start_http_backend "$T/srv"
HURL="http://127.0.0.1:$HTTP_PORT/hub.git"
ssx a remote add web "$HURL" >/dev/null
ssx a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t3','sch-a','赵六')" >/dev/null
assert_ok "school a's sync over http-backend is accepted" a sync --remote web
BEFORE=$(heads)
push_refused "forced junk commit over http-backend" "refused refs/heads/node/sch-a: not a fast-forward" --force "$HURL" junk:refs/heads/node/sch-a

log "=== all or nothing (pre-receive), for servers that own the update hook"
ss h --json guard init "$T/srv/aon.git" --district-pubkey "$RK" --all-or-nothing
assert_eq "guard init --all-or-nothing installs hooks/pre-receive" "0 pre-receive" "$RC $(jget "$OUT" 'j["hook"]')"
assert_contains "... which runs guard pre-receive" "exec '$SSYNC_BIN' guard pre-receive" "$(cat "$T/srv/aon.git/hooks/pre-receive")"
git --git-dir="$HUB" push -q "$T/srv/aon.git" refs/heads/district:refs/heads/district refs/heads/node/sch-b:refs/heads/node/sch-b 2>/dev/null
out=$(git -C "$T/atk" push "$T/srv/aon.git" refs/remotes/bcopy/sch-b:refs/heads/node/sch-b junk:refs/heads/node/sch-a 2>&1) && rc=0 || rc=$?
assert_contains "... a push with one bad ref is refused whole" "push refused .*nothing was updated" "$out"
ss h --json guard init "$T/srv/aon.git" --district-pubkey "$RK"
assert_eq "guard init without it switches to per ref (update hook; pre-receive removed)" "0 update no" \
	"$RC $(jget "$OUT" 'j["hook"]') $([ -e "$T/srv/aon.git/hooks/pre-receive" ] && echo yes || echo no)"

log "=== a guard that cannot judge refuses"
RC=0; out=$(echo "not a ref update" | "$SSYNC_BIN" guard pre-receive 2>&1) || RC=$?
assert_ne "guard pre-receive run by hand on junk input exits non-zero" 0 "$RC"
assert_contains "... saying it runs only as git's hook" "run only as git's hook" "$out"
ssx h guard init "$T/srv/nokey.git" --district-pubkey "$RK" >/dev/null
rm "$T/srv/nokey.git/schoolsync-district.pub"
assert_fail "guard check without the pinned key fails" h guard check "$T/srv/nokey.git"
assert_contains "... saying the key is missing" "no pinned district key" "$ERR"
out=$(git --git-dir="$HUB" push "$T/srv/nokey.git" refs/heads/district:refs/heads/district 2>&1) && rc=0 || rc=$?
assert_ne "a push to a guarded repository whose key was removed fails" 0 "$rc"
assert_contains "... the guard says it cannot judge" "cannot judge the (push|update), so it is refused: no pinned district key" "$out"
RC=0; out=$("$SSYNC_BIN" guard update refs/heads/node/x nothex alsonot 2>&1) || RC=$?
assert_ne "guard update run by hand on junk arguments exits non-zero" 0 "$RC"
assert_contains "... saying it runs only as git's hook" "run only as git's hook" "$out"
assert_eq "... and nothing landed there" "" "$(git --git-dir="$T/srv/nokey.git" for-each-ref refs/heads/)"

log "=== the real school c still syncs, and the others are untouched"
ssx c remote add hub "$GURL" >/dev/null
sync_ok c >/dev/null
ssx c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-c-t1','sch-c','真的')" >/dev/null
assert_ok "school c's own sync is accepted" c sync
sync_ok a >/dev/null
assert_eq "school a sees c's real teacher" "真的" "$(ssx a sql "SELECT name FROM teacher WHERE id='sch-c-t1'" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')"
ss h --json audit verify --repo "$HUB" --district-pubkey "$RK"
assert_eq "the guarded hub passes audit verify" "0 True" "$RC $(jget "$OUT" 'j["ok"]')"

log "=== key stores (docs/PRIVACY.md): replaced only by a newer version signed by their node"
PB=$(ssx h --json district list | "$PY" -c 'import json,sys; print([c["pubkey"] for c in json.load(sys.stdin) if c["node"]=="sch-b"][-1])')
ssx h district enroll sch-b --role school --school sch-b --pubkey "$PB" --enckey "$(ssx b privacy key)" --root-key "$ROOT" >/dev/null
sync_ok h >/dev/null
sync_ok b >/dev/null
SB=$(ssx b student-archive add --name 周七)
assert_ok "school b's key store is accepted by the guard (a new ref)" b sync
K1=$(git --git-dir="$HUB" rev-parse refs/heads/keys/sch-b)
ssx b student-archive add --name 吴八 >/dev/null
assert_ok "b's replacement key store (not a fast-forward) is accepted by the guard" b sync
K2=$(git --git-dir="$HUB" rev-parse refs/heads/keys/sch-b)
assert_ne "... the hub's keys/sch-b moved to the new store" "$K1" "$K2"
sync_ok h >/dev/null
assert_eq "the hub reads b's student through the guarded hub" 周七 "$(ssx h --json student-archive show "$SB" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["name"])')"
RC=0; out=$(git --git-dir="$T/b/exchange.git" push --force "$GURL" "$K1:refs/heads/keys/sch-b" 2>&1) || RC=$?
assert_ne "pushing back the older key store is refused" 0 "$RC"
assert_contains "... the guard names it an older copy" "does not replace version" "$out"
RC=0; out=$(git -C "$T/atk" push --force origin "HEAD:refs/heads/keys/sch-b" 2>&1) || RC=$?
assert_ne "a junk commit as b's key store is refused" 0 "$RC"
assert_contains "... by its shape" "not one parentless commit" "$out"
assert_eq "the hub's keys/sch-b did not move" "$K2" "$(git --git-dir="$HUB" rev-parse refs/heads/keys/sch-b)"

summary
