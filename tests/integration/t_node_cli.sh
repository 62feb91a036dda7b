#!/usr/bin/env bash
# The foundation's command line: every command has --help, --json is valid
# JSON, bad input gives a clear error, a non-zero exit and no change.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

log "every command answers --help"
cmds=$("$SSYNC_BIN" --help | awk '/^Commands:/{f=1;next} f&&NF{print $1}')
[ -n "$cmds" ] || fail "command list" "schoolsync --help lists no commands"
for c in $cmds; do
	RC=0; out=$("$SSYNC_BIN" "$c" --help 2>&1) || RC=$?
	# (a pattern, not printf | grep -q: grep leaving early made printf die of
	# SIGPIPE, and pipefail turned a match into a failure)
	if [ "$RC" = 0 ] && [[ $out == *usage* ]]; then pass "$c --help"; else fail "$c --help" "exit $RC" "$out"; fi
done
assert_fail "unknown command is a usage error" x nosuchcommand
assert_eq "usage errors exit 2" 2 "$RC"

log "init: ids are checked before anything is created"
for bad in "School1" "../x" "a/b" "-a" ".git" "x.lock" "$(printf 'a%.0s' $(seq 1 64))" "" "a b"; do
	assert_fail "init refuses node id '$bad'" "bad-$RANDOM" init --node "$bad"
	assert_contains "error names the id rule ('$bad')" "invalid node id" "$ERR"
done
assert_eq "nothing created for bad ids" 0 "$(find "$T" -name replica.db | wc -l)"
ssx a init --node sch-a --district chongming >/dev/null
assert_true "key file is mode 0600" test "$(stat -c %a "$T/a/node.key")" = 600
assert_fail "init twice refuses" a init --node sch-a
assert_contains "init twice says a node lives there" "already lives" "$ERR"
ss a --json init --node other
assert_contains "errors are JSON with --json" '"code": ?"E_EXISTS"' "$ERR"
ss a --json state-hash
assert_true "state-hash --json is JSON" "$PY" -c 'import json,sys; json.loads(sys.argv[1])' "$OUT"

log "sql: writes, reads, refusals"
ssx a sql "INSERT INTO teacher(id, school_id, name, title) VALUES ('t1', 'sch-a', '张三', '中级')" >/dev/null
h0=$(state_hash a)
e0=$(ssx a --json sql "SELECT count(*) AS n FROM ssync_entry")
for bad in "INSERT INTO teacher(id) VALUES ('t1')" "SELEC 1" "DELETE FROM ssync_entry" \
	"UPDATE ssync_peer SET role='hub'" "DROP TABLE teacher" "PRAGMA writable_schema=1" \
	"ATTACH DATABASE '$T/evil.db' AS e" "x'); DROP TABLE teacher;--" \
	"INSERT INTO teacher(id,name) VALUES ('t9','a'); INSERT INTO nosuch VALUES (1)"; do
	assert_fail "refused: $bad" a sql "$bad"
	assert_contains "error is explained: $bad" "error: .+" "$ERR"
done
assert_eq "refused statements changed nothing" "$h0" "$(state_hash a)"
assert_eq "refused statements wrote no entry" "$e0" "$(ssx a --json sql "SELECT count(*) AS n FROM ssync_entry")"
out=$(ssx a --json sql "SELECT id, name, title FROM teacher")
assert_eq "read --json keeps UTF-8" "张三" "$(jget "$out" 'j[0]["name"]')"
out=$(ssx a --json sql "UPDATE teacher SET title=?1 WHERE id=?2" 高级 t1)
assert_eq "bound parameters write one entry" 1 "$(jget "$out" 'j["entries"]')"
assert_ok "log verifies" a log
out=$(ssx a --json log)
assert_eq "log --json lists both entries" 2 "$(jget "$out" 'len(j)')"
assert_ok "verify passes" a verify

log "keys: missing or readable by others"
chmod 644 "$T/a/node.key"
assert_fail "world-readable key refused" a sql "INSERT INTO zone(id) VALUES ('z')"
assert_contains "error names the mode and the fix" "0644.*|chmod 600" "$ERR"
chmod 600 "$T/a/node.key"
mv "$T/a/node.key" "$T/key.bak"
assert_fail "missing key refused for writes" a sql "INSERT INTO zone(id) VALUES ('z')"
assert_contains "error says the key is missing" "node.key" "$ERR"
assert_ok "reads work without the key" a sql "SELECT count(*) FROM teacher"
mv "$T/key.bak" "$T/a/node.key"
assert_eq "nothing changed by refused writes" "$(state_hash a)" "$(state_hash a)"

log "read-only home"
if [ "$(id -u)" = 0 ] && mkdir -p "$T/ro" && mount --bind "$T/a" "$T/ro" 2>/dev/null && mount -o remount,bind,ro "$T/ro" 2>/dev/null; then
	h1=$(ssx a state-hash)
	assert_fail "write on a read-only home fails" "$T/ro" sql "INSERT INTO zone(id) VALUES ('zro')"
	assert_contains "error says read-only" "read.only|readonly" "$ERR"
	umount "$T/ro"
	assert_eq "read-only failure changed nothing" "$h1" "$(state_hash a)"
	assert_ok "verify after read-only failure" a verify
else
	umount "$T/ro" 2>/dev/null || true
	echo "SKIP read-only home: bind mounts need root"
fi
assert_fail "no home at all" "$T/nothing-here" sql "SELECT 1"
assert_contains "error says how to create one" "init" "$ERR"
summary
