#!/usr/bin/env bash
# Transport matrix (TESTPLAN B.21, issue #3): one scenario -- a hub bare
# repository, three schools, inserts/updates/deletes with Chinese text and a
# concurrent edit of one cell -- over a plain path, file://, git:// (git
# daemon) and smart HTTP (git http-backend). Within each transport every node
# converges to one state hash with identical conflicts; across transports the
# same writes give the same state hash; a sync after convergence is a no-op.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

mkdir -p "$T/srv/git" "$T/srv/http"
new_hub "$T/srv/path/hub.git"
new_hub "$T/srv/file/hub.git"
new_hub "$T/srv/git/hub.git"
new_hub "$T/srv/http/hub.git"
start_git_daemon "$T/srv/git"
start_http_backend "$T/srv/http"
log "git daemon on 127.0.0.1:$GIT_DAEMON_PORT, http-backend on 127.0.0.1:$HTTP_PORT"

# sync_round TAG NODE...: one sync of each node, in the given order
sync_round() {
	local tag=$1 n
	shift
	for n in "$@"; do
		ss "$tag/$n" sync --json
		if [ "$RC" -ne 0 ]; then
			fail "$tag: sync of $n exits 0" "exit $RC" "stderr: $ERR"
		fi
	done
}

declare -A HASH

scenario() {
	local tag=$1 url=$2 n h
	local -a hashes=() cj=() ct=()
	log "=== transport $tag: $url"
	mkdir -p "$T/$tag"
	mk_node "$tag/a" sch-a hub "$url"
	mk_node "$tag/b" sch-b hub "$url"
	mk_node "$tag/c" sch-c hub "$url"

	ssx "$tag/a" sql "INSERT INTO teacher(id,school_id,name,subject,title) VALUES
		('sch-a-t1','sch-a','张三','语文','中级'),
		('sch-a-t2','sch-a','李四','数学','初级'),
		('sch-a-t3','sch-a','王五','英语','高级')" >/dev/null
	ssx "$tag/b" sql "INSERT INTO teacher(id,school_id,name,subject,title,tier) VALUES
		('sch-b-t1','sch-b','赵六','物理','中级','骨干'),
		('sch-b-t2','sch-b','钱七','化学','初级','见习')" >/dev/null
	ssx "$tag/c" sql "INSERT INTO teacher(id,school_id,name,subject,title) VALUES ('sch-c-t1','sch-c','孙八','生物','中级')" >/dev/null
	sync_round "$tag" a b c

	# b and c both hold a's row; they edit the same cell without seeing each other
	ssx "$tag/b" sql "UPDATE teacher SET title='高级' WHERE id='sch-a-t1'" >/dev/null
	ssx "$tag/c" sql "UPDATE teacher SET title='正高级' WHERE id='sch-a-t1'" >/dev/null
	ssx "$tag/a" sql "DELETE FROM teacher WHERE id='sch-a-t3'" >/dev/null
	ssx "$tag/a" sql "UPDATE teacher SET name=?1 WHERE id='sch-a-t2'" "李四（崇明·城桥）" >/dev/null
	ssx "$tag/b" sql "DELETE FROM teacher WHERE id='sch-b-t2'" >/dev/null
	ssx "$tag/c" sql "INSERT INTO teacher(id,school_id,name,title) VALUES (?1,'sch-c',?2,'中级')" \
		sch-c-t2 "周九 \"小周\" O'Brien	tab" >/dev/null

	sync_round "$tag" c b a
	sync_round "$tag" a c b
	sync_round "$tag" b a c

	for n in a b c; do
		h=$(state_hash "$tag/$n")
		hashes+=("$h")
		cj+=("$(ssx "$tag/$n" conflicts --json)")
		ct+=("$(ssx "$tag/$n" conflicts)")
		assert_ok "$tag: log on $n verifies every entry" "$tag/$n" log
		assert_eq "$tag: $n holds 9 entries" 9 "$(ssx "$tag/$n" log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
		assert_eq "$tag: quarantine of $n is empty" 0 "$(quarantine_count "$tag/$n")"
	done
	assert_all_equal "$tag: state-hash equal on a, b, c" "${hashes[@]}"
	HASH[$tag]=${hashes[0]}
	assert_all_equal "$tag: 'conflicts --json' identical on a, b, c" "${cj[@]}"
	assert_all_equal "$tag: 'conflicts' (text) identical on a, b, c" "${ct[@]}"
	assert_contains "$tag: the concurrent edit is listed as a conflict, 正高级 shown, 高级 kept" \
		'^teacher sch-a-t1 \(张三\) \.title' "${ct[0]}"
	assert_contains "$tag: conflict versions in text output" '^  shown  "正高级".*sch-c#2' "${ct[0]}"
	assert_contains "$tag: the losing version is kept" '^  other  "高级".*sch-b#2' "${ct[0]}"
	if regression B1 "conflicts --json prints [] although 'conflicts' lists the conflict"; then
		assert_eq "$tag: conflicts --json lists 1 conflict with 2 versions" "1 2 sch-c" \
			"$(jget "${cj[0]}" '"%d %d %s" % (len(j), len(j[0]["versions"]) if j else 0, [v["node"] for v in j[0]["versions"] if v["winner"]][0] if j else "")')"
	fi
	assert_eq "$tag: visible rows after merge" \
		"sch-a-t1|张三|正高级;sch-a-t2|李四（崇明·城桥）|初级;sch-b-t1|赵六|中级;sch-c-t1|孙八|中级;sch-c-t2|周九 \"小周\" O'Brien	tab|中级" \
		"$(ssx "$tag/b" sql "SELECT id, name, title FROM teacher ORDER BY id" --json |
			"$PY" -c 'import json,sys; print(";".join("%s|%s|%s" % (r["id"], r["name"], r["title"]) for r in json.load(sys.stdin)))')"

	# converged: another sync moves nothing
	for n in c a b; do
		ss "$tag/$n" sync --json
		assert_eq "$tag: no-op sync on $n: exit 0, received/applied/sealed/pushed all 0" "0 0 0 0 0" \
			"$RC $(sync_field "$OUT" received applied sealed pushed_refs)"
	done
	assert_eq "$tag: state-hash unchanged by no-op syncs" "${hashes[0]}" "$(state_hash "$tag/a")"
}

scenario path "$T/srv/path/hub.git"
scenario file "file://$T/srv/file/hub.git"
scenario git "git://127.0.0.1:$GIT_DAEMON_PORT/hub.git"
scenario http "http://127.0.0.1:$HTTP_PORT/hub.git"

assert_all_equal "same writes give the same state-hash over path, file://, git://, http://" \
	"${HASH[path]}" "${HASH[file]}" "${HASH[git]}" "${HASH[http]}"
for k in path file git http; do
	assert_true "git fsck --strict of the $k hub is clean" \
		quiet git --git-dir="$T/srv/$k/hub.git" fsck --strict --no-progress --no-dangling
	assert_eq "$k hub has the three node branches" "refs/heads/node/sch-a refs/heads/node/sch-b refs/heads/node/sch-c" \
		"$(git --git-dir="$T/srv/$k/hub.git" for-each-ref --format='%(refname)' refs/heads/ | tr '\n' ' ' | sed 's/ $//')"
done

summary
