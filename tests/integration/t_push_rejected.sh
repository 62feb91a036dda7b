#!/usr/bin/env bash
# A school cut off by a junk commit on its own branch (issue 13): anyone with
# push access to the shared remote adds one commit onto node/sch-a (no key
# needed). The school's later pushes are not fast-forwards. That must never
# be silent: sync exits non-zero with E_PUSH_REJECTED naming the remote and
# the branch and what to do, status (text and --json) shows it until a push
# gets through, and `remote repair` puts the school's own signed branch back
# (leased on the exact tip it inspected, only if that tip holds nothing the
# school signed that its branch lacks). Over a local path and over git://.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

tip() { git --git-dir="$1" rev-parse -q --verify "$2" 2>/dev/null || echo none; }
names() { ssx "$1" sql "SELECT id FROM teacher ORDER BY id" --json | "$PY" -c 'import json,sys; print(",".join(r["id"] for r in json.load(sys.stdin)))'; }
push_rejected() { ssx "$1" status --json | "$PY" -c 'import json,sys
j=json.load(sys.stdin); j=j.get("node", j)
print(";".join("%s %s" % (p["remote"], p["code"]) for p in j["push_rejected"]))'; }

# junk_commit HUBDIR: an attacker's commit on top of node/sch-a (a garbage segment)
junk_commit() {
	rm -rf "$T/atk"
	git clone -q --branch node/sch-a "$1" "$T/atk" 2>/dev/null
	mkdir -p "$T/atk/seg"
	printf 'not an entry\n' > "$T/atk/seg/99999999999999999999.seg"
	git -C "$T/atk" add -A
	git -C "$T/atk" commit -q -m "junk"
	git -C "$T/atk" push -q origin node/sch-a
}

run_case() { # NAME URL HUBDIR
	local name=$1 url=$2 hub=$3 junk
	log "=== $name: a junk commit on sch-a's branch"
	mk_node "$name/a" sch-a hub "$url"
	mk_node "$name/b" sch-b hub "$url"
	ssx "$name/a" sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','张三')" >/dev/null
	sync_ok "$name/a" >/dev/null
	sync_ok "$name/b" >/dev/null
	junk_commit "$hub"
	junk=$(tip "$hub" refs/heads/node/sch-a)
	ssx "$name/a" sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','李四')" >/dev/null

	ss "$name/a" sync
	assert_ne "$name: sync exits non-zero" 0 "$RC"
	assert_contains "$name: E_PUSH_REJECTED names the remote and the branch" \
		"push to hub refused: node/sch-a there ends in commit ${junk:0:12}.*E_PUSH_REJECTED" "$ERR"
	assert_contains "$name: ... and says what to do" "schoolsync remote repair hub" "$ERR"
	ss "$name/a" sync --json
	assert_contains "$name: sync --json gives the code" '"E_PUSH_REJECTED"' "$OUT$ERR"
	assert_eq "$name: the remote still ends in the junk" "$junk" "$(tip "$hub" refs/heads/node/sch-a)"
	assert_eq "$name: status --json shows the refusal" "hub E_PUSH_REJECTED" "$(push_rejected "$name/a")"
	assert_contains "$name: status shows it to people" "PUSH REJECTED by remote hub.*what to do: run: schoolsync remote repair hub" \
		"$(ssx "$name/a" status 2>&1 | tr '\n' ' ')"

	ss "$name/a" remote repair hub
	assert_eq "$name: remote repair exits 0" 0 "$RC"
	assert_contains "$name: ... and says what it replaced" "node/sch-a repaired: its tip ${junk:0:12} .* replaced by ours" "$OUT"
	assert_eq "$name: the remote holds our branch again" "$(tip "$T/$name/a/exchange.git" refs/heads/node/sch-a)" \
		"$(tip "$hub" refs/heads/node/sch-a)"
	assert_eq "$name: status no longer shows a refusal" "" "$(push_rejected "$name/a")"
	assert_ok "$name: sync works again" "$name/a" sync
	sync_ok "$name/b" >/dev/null
	assert_eq "$name: the other school gets the entries written while cut off" "sch-a-t1,sch-a-t2" "$(names "$name/b")"
	assert_eq "$name: both agree" "$(state_hash "$name/a")" "$(state_hash "$name/b")"
	ss "$name/a" remote repair hub
	assert_contains "$name: a second repair has nothing to do" "needs no repair" "$OUT"
}

new_hub "$T/hub.git"
run_case path "$T/hub.git" "$T/hub.git"

mkdir -p "$T/srv"
new_hub "$T/srv/hub.git"
start_git_daemon "$T/srv"
run_case gitd "git://127.0.0.1:$GIT_DAEMON_PORT/hub.git" "$T/srv/hub.git"

log "=== a server that forbids rewrites: repair fails clearly, nothing changes"
junk_commit "$T/srv/hub.git"
JUNK=$(tip "$T/srv/hub.git" refs/heads/node/sch-a)
git --git-dir="$T/srv/hub.git" config receive.denyNonFastForwards true
ssx gitd/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t3','sch-a','王五')" >/dev/null
ss gitd/a sync
assert_contains "refused again: E_PUSH_REJECTED" "E_PUSH_REJECTED" "$ERR"
ss gitd/a remote repair hub
assert_ne "repair on a server that forbids rewrites exits non-zero" 0 "$RC"
assert_contains "... saying the server refused to replace the branch" "server refused to replace refs/heads/node/sch-a" "$ERR"
assert_eq "... the remote is unchanged" "$JUNK" "$(tip "$T/srv/hub.git" refs/heads/node/sch-a)"
assert_eq "... and status still shows the refusal" "hub E_PUSH_REJECTED" "$(push_rejected gitd/a)"

log "=== the daemon logs it every round"
if [ -x "${SSYNC_DAEMON:-}" ]; then
	"$SSYNC_DAEMON" --home "$T/gitd/a" >"$T/daemon.log" 2>&1 &
	DPID=$!
	for i in $(seq 1 600); do   # polls the log, up to 60 s on a busy machine
		grep -q 'E_PUSH_REJECTED' "$T/daemon.log" && break
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	assert_contains "the daemon's log names the refusal" "sync with hub failed \[E_PUSH_REJECTED\].*node/sch-a" \
		"$(cat "$T/daemon.log")"
	kill -TERM "$DPID" 2>/dev/null || true
	wait "$DPID" || true
else
	log "(no schoolsyncd: SSYNC_DAEMON not set, daemon check skipped)"
fi

log "=== never lose an entry: a home restored from an old backup"
new_hub "$T/hub3.git"
mk_node r/a sch-a hub "$T/hub3.git"
ssx r/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t1','sch-a','one')" >/dev/null
sync_ok r/a >/dev/null
cp -a "$T/r/a" "$T/r/old"                                   # the backup
ssx r/a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-t2','sch-a','two')" >/dev/null
sync_ok r/a >/dev/null                                      # a#2 is on the remote only
junk_commit "$T/hub3.git"
rm -rf "$T/r/a.dead" && mv "$T/r/a" "$T/r/a.dead" && mv "$T/r/old" "$T/r/a"   # disk lost, backup restored
ss r/a sync
assert_contains "the restored home is refused too" "E_PUSH_REJECTED" "$ERR"
ss r/a remote repair hub
assert_eq "repair succeeds" 0 "$RC"
assert_eq "the restored home took its own entry back from the remote" "sch-a-t1,sch-a-t2" "$(names r/a)"
git clone -q --branch node/sch-a "$T/hub3.git" "$T/r/check" 2>/dev/null
assert_eq "the repaired branch still holds a#2 (nothing signed was lost)" 1 \
	"$(find "$T/r/check/seg" -type f -exec cat {} + | grep -c '"seq":2,' || true)"

summary
