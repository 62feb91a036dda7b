#!/usr/bin/env bash
# Everyday use by clerks, the hub and auditors (issue 16): status shows the
# other schools and the trust state, join refuses a district mismatch,
# edit/delete/resolve, audit history by natural id, Chinese CSV encodings.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp
ok() { PASS=$((PASS + 1)); }
bad() { fail "$*"; }
# expect CODE DESCRIPTION -- command...
expect() {
	local want=$1 what=$2
	shift 3
	set +e
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	set -e
	if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; cat "$T/out" "$T/err" >&2; fi
}
contains() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; head -20 "$1" >&2; fi; }
lacks() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' in $(basename "$1")"; else ok; fi; }
json() { "$PY" -c "import json,sys; d=json.load(open('$T/out')); sys.exit(0 if ($1) else 1)" && ok || { bad "json: $1"; head -c 800 "$T/out" >&2; }; }
S() { local h=$1; shift; "$SSYNC_BIN" --home "$T/$h" "$@"; }

git init -q --bare "$T/hub.git"
expect 0 "hub init" -- S hub init --node hub --district d1
expect 0 "district init" -- S hub --json district init --id d1 --name 崇明区 --root-key "$T/root.key"
RK=$("$PY" -c "import json; print(json.load(open('$T/out'))['root_pubkey'])")
expect 0 "hub remote" -- S hub remote add origin "$T/hub.git"
expect 0 "zone" -- S hub zone add --id z1 --name 城桥
expect 0 "school" -- S hub school add --id cm-001 --name 城桥中学 --zone-id z1 --stage middle --students 900

# --- status: other nodes, managed/enrolled (1) ---
expect 0 "school init" -- S a --json init --node sch-a --district d1
PK=$("$PY" -c "import json; print(json.load(open('$T/out'))['pubkey'])")
expect 0 "status unmanaged" -- S a status
contains "$T/out" "UNMANAGED" "status says unmanaged"
expect 0 "join" -- S a join --district d1 --district-pubkey "$RK"
expect 0 "enroll" -- S hub district enroll sch-a --role school --school cm-001 --pubkey "$PK" --root-key "$T/root.key"
expect 0 "status hub json" -- S hub --json status
json "d['node']['managed'] and d['node']['enrolled'] and d['node']['role'] == 'hub'"
json "[n['node'] for n in d['node']['nodes']] == ['sch-a'] and d['node']['nodes'][0]['last_received'] is None and d['node']['nodes'][0]['school'] == 'cm-001'"
expect 0 "hub sync" -- S hub sync
expect 0 "a remote" -- S a remote add origin "$T/hub.git"
expect 0 "a sync" -- S a sync
expect 0 "status a json" -- S a --json status
json "d['node']['managed'] and d['node']['enrolled'] and d['node']['role'] == 'school' and d['node']['school'] == 'cm-001'"
json "[n['node'] for n in d['node']['nodes']] == ['hub'] and d['node']['nodes'][0]['last_received'].endswith('Z') and d['node']['nodes'][0]['last_seq'] >= 1"
expect 0 "status a local time" -- env TZ=Asia/Shanghai "$SSYNC_BIN" --home "$T/a" status
contains "$T/out" "CST" "status shows local time"
contains "$T/out" "role school, school cm-001" "status shows role"
expect 0 "status a --utc" -- env TZ=Asia/Shanghai "$SSYNC_BIN" --home "$T/a" --utc status
contains "$T/out" "UTC" "--utc shows UTC"

# --- join refuses a district mismatch (5) ---
expect 0 "b init default" -- S b init --node sch-b
expect 1 "join without district on a default node" -- S b join --district-pubkey "$RK"
contains "$T/err" "created without --district" "join says why"
expect 0 "c init d2" -- S c init --node sch-c --district d2
expect 1 "join d1 on a d2 node" -- S c join --district d1 --district-pubkey "$RK"
contains "$T/err" "init --node sch-c --district d1" "join gives the exact fix"

summary
