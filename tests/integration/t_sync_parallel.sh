#!/usr/bin/env bash
# The remotes of one round side by side (issue 13): a school syncs with a
# good hub (git://) and a server that accepts the connection and then says
# nothing (tests/integration/netproxy.c --blackhole). No wall-time
# assertions: the order of the command's own lines is the evidence.
#  - the good hub's entries are applied and this node's branch pushed there,
#    and its line is printed before the dead remote's (which is printed when
#    the dead remote's --timeout expires);
#  - sync exits 1 naming the dead remote with E_CANCELLED; --json gives its
#    error object with "remote";
#  - quarantined entries: a round that completes but quarantined entries
#    exits 3 with a summary saying what to do.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

${CC:-cc} -O2 -o "$T/netproxy" "$SSYNC_SRC/tests/integration/netproxy.c"
mkdir -p "$T/srv"
new_hub "$T/srv/hub.git"
start_git_daemon "$T/srv"
GOOD="git://127.0.0.1:$GIT_DAEMON_PORT/hub.git"
BH=$(free_port)
_spawn "$T/blackhole.log" "$T/netproxy" "127.0.0.1:$BH" --blackhole
for i in $(seq 1 100); do port_open "$BH" && break; sleep 0.05; done

# b publishes entries on the good hub
mk_node b sch-b hub "$GOOD"
ssx b sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-b-t1','sch-b','赵六','中级')" >/dev/null
sync_ok b >/dev/null
# a syncs with both; the dead one is listed (and started) first
mk_node a sch-a a-dead "git://127.0.0.1:$BH/hub.git" hub "$GOOD"
ssx a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t1','sch-a','张三','中级')" >/dev/null

log "=== 1. a dead remote does not hold up the good one"
RC=0
timeout -k 5 120 "$SSYNC_BIN" --home "$T/a" sync --timeout 8 >"$T/both.out" 2>&1 || RC=$?
BOTH=$(cat "$T/both.out")
printf '%s\n' "$BOTH" | sed 's/^/    | /'
assert_eq "sync exits 1: a remote failed" 1 "$RC"
assert_contains "the dead remote is named, E_CANCELLED, with its timeout" \
	"remote a-dead gave no result within 8 s.*\[E_CANCELLED\]" "$BOTH"
good_line=$(grep -n '^hub: ' "$T/both.out" | head -1 | cut -d: -f1)
dead_line=$(grep -n 'a-dead gave no result' "$T/both.out" | head -1 | cut -d: -f1)
assert_eq "the good hub finished (applied 1, pushed) before the dead remote's deadline expired" yes \
	"$([ -n "$good_line" ] && [ -n "$dead_line" ] && [ "$good_line" -lt "$dead_line" ] && echo yes || echo "no (hub line ${good_line:-none}, dead line ${dead_line:-none})")"
assert_contains "the good hub's report: b's entry applied, a's branch pushed" "^hub: received 1, applied 1, .*pushed [1-9]" "$BOTH"
assert_eq "the good hub holds sch-a's tip" "$(git --git-dir="$T/a/exchange.git" rev-parse refs/heads/node/sch-a)" \
	"$(git --git-dir="$T/srv/hub.git" rev-parse refs/heads/node/sch-a 2>/dev/null)"
assert_eq "b's teacher is at a" 1 "$(jget "$(ssx a --json sql "SELECT count(*) AS n FROM teacher WHERE id='sch-b-t1'")" 'j[0]["n"] if isinstance(j, list) else j["n"]')"

log "=== 2. --json: one error object per failed remote, naming it"
RC=0
timeout -k 5 120 "$SSYNC_BIN" --home "$T/a" sync --timeout 3 --json >"$T/j.out" 2>"$T/j.err" || RC=$?
assert_eq "sync --json exits 1" 1 "$RC"
assert_eq "stderr: the error object names a-dead, E_CANCELLED" "a-dead E_CANCELLED" \
	"$(grep '^{' "$T/j.err" | tail -1 | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["remote"], j["error"]["code"])' 2>&1)"
assert_eq "stdout: the good hub's report" hub "$("$PY" -c 'import json,sys; print(",".join(r["remote"] for r in json.load(open(sys.argv[1]))))' "$T/j.out" 2>&1)"
assert_ok "--timeout 0 is accepted (no limit) with only the good remote" a sync --remote hub --timeout 0
assert_fail "--timeout takes seconds" a sync --timeout soon
assert_eq "--timeout soon is a usage error (2)" 2 "$RC"

log "=== 3. a round that quarantines entries exits 3 and says what to do"
# A junk commit on b's branch on the hub (anyone with push access can):
# c's round quarantines it, applies the rest, and must not exit 0.
git clone -q --bare "$T/srv/hub.git" "$T/junk.git"
tree=$(printf 'junk\n' | git --git-dir="$T/junk.git" hash-object -w --stdin)
tree=$(printf '100644 blob %s\tseg-junk\n' "$tree" | git --git-dir="$T/junk.git" mktree)
tip=$(git --git-dir="$T/junk.git" rev-parse refs/heads/node/sch-b)
c=$(GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x \
	git --git-dir="$T/junk.git" commit-tree "$tree" -p "$tip" -m junk)
git --git-dir="$T/srv/hub.git" fetch -q "$T/junk.git" "$c:refs/heads/node/sch-b" 2>/dev/null || \
	git --git-dir="$T/junk.git" push -q "$T/srv/hub.git" "$c:refs/heads/node/sch-b"
mk_node c sch-c hub "$GOOD"
ss c sync
assert_eq "sync with quarantined entries exits 3" 3 "$RC"
assert_contains "the summary says what was quarantined and what to do" "attention: .*quarantined [1-9].*schoolsync quarantine" "$ERR"
assert_contains "the report line is there too" "^hub: " "$OUT"
ss c quarantine --json
assert_contains "quarantine lists it" "sch-b" "$OUT"

summary
