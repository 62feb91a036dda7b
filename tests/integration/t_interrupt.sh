#!/usr/bin/env bash
# Ctrl-C (issue 16): every command exits 130 on SIGINT and leaves nothing
# half-written. import stops before its one write (nothing imported) and
# prints its progress; sync stops at a safe point (the replica verifies, the
# next sync completes and converges); a command that is one SQLite
# transaction dies of the signal like any program.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp
ok() { PASS=$((PASS + 1)); }
bad() { fail "$*"; }
S() { local h=$1; shift; "$SSYNC_BIN" --home "$T/$h" "$@"; }
# Background programs are started directly (not through S, whose subshell
# would take the signal). wait_for FILE TEXT: until TEXT is in FILE or the process $BG ended
wait_for() {
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		kill -0 "$BG" 2>/dev/null || return 1
		sleep 0.05 # polls the child's stderr; no event to wait on
	done
}
rows() { S "$1" --json sql "SELECT count(*) AS n FROM teacher" | "$PY" -c "import json,sys; print(json.load(sys.stdin)[0]['n'])"; }

S a init --node cm-001 >/dev/null
S a demo-data --schools 40 --teachers 40 >/dev/null
before=$(rows a)
"$PY" -c "
print('school_id,staff_no,name,subject,title,birth_year,joined_year')
for i in range(60000): print('cm-001,X%06d,教师%d,语文,中级,1980,2005'%(i,i))" >"$T/big.csv"

# --- import: Ctrl-C while checking rows ---
"$SSYNC_BIN" --home "$T/a" import teacher "$T/big.csv" --progress >"$T/out" 2>"$T/err" &
BG=$!
if wait_for "$T/err" "import: checked 0/60000 rows"; then ok; else bad "import progress on stderr"; cat "$T/err" >&2; fi
kill -INT "$BG"
set +e; wait "$BG"; rc=$?; set -e
[ "$rc" -eq 130 ] && ok || { bad "import after Ctrl-C exits $rc, wanted 130"; cat "$T/err" >&2; }
grep -qF "interrupted (Ctrl-C)" "$T/err" && ok || bad "import says it was interrupted"
grep -qF "nothing was imported" "$T/err" && ok || bad "import says nothing was imported"
[ "$(rows a)" = "$before" ] && ok || bad "rows after a cancelled import: $(rows a), before $before"
S a verify >/dev/null && ok || bad "replica verifies after a cancelled import"

# --- sync: Ctrl-C during the first push of many entries ---
git init -q --bare "$T/hub.git"
S a remote add hub "$T/hub.git" >/dev/null
"$SSYNC_BIN" --home "$T/a" sync --progress >"$T/out" 2>"$T/err" &
BG=$!
wait_for "$T/err" " " || true
kill -INT "$BG" 2>/dev/null || true
set +e; wait "$BG"; rc=$?; set -e
if [ "$rc" -eq 130 ]; then ok; elif [ "$rc" -eq 0 ]; then
	echo "note: the sync finished before Ctrl-C arrived" >&2; ok
else bad "sync after Ctrl-C exits $rc, wanted 130"; cat "$T/err" >&2; fi
S a verify >/dev/null && ok || bad "replica verifies after an interrupted sync"
S a sync >"$T/out" 2>"$T/err" && ok || { bad "the next sync completes"; cat "$T/err" >&2; }
S b init --node cm-002 >/dev/null
S b remote add hub "$T/hub.git" >/dev/null
S b sync >/dev/null 2>&1 && ok || bad "another node syncs from the hub"
[ "$(S a state-hash)" = "$(S b state-hash)" ] && ok || bad "replicas converge after the interrupted sync"

# --- a one-transaction command dies of the signal: 130 from the shell ---
set +e
"$SSYNC_BIN" --home "$T/a" sql "SELECT 1" >/dev/null & BG=$!; kill -INT "$BG" 2>/dev/null; wait "$BG"; rc=$?
set -e
{ [ "$rc" -eq 130 ] || [ "$rc" -eq 0 ]; } && ok || bad "sql after Ctrl-C exits $rc (130 or, if it finished first, 0)"
S a verify >/dev/null && ok || bad "replica verifies"

summary
