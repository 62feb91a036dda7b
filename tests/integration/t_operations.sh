#!/usr/bin/env bash
# docs/OPERATIONS.md as written: the commands of §2-§3 between the
# "<!-- walk: ... -->" markers are taken from the file and run as they stand
# (paths moved into a temp dir, sudo dropped, the two keys filled in), for
# three schools; then the hub and the schools must converge. The guide
# cannot drift from the program without this test failing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp
DOC=$SSYNC_SRC/docs/OPERATIONS.md
BINDIR=$(dirname "$SSYNC_BIN")
mkdir -p "$T/offline" "$T/srv/git"
export PATH="$BINDIR:$PATH"

# block NAME: the shell lines of the ```sh blocks after <!-- walk: NAME -->
block() {
	"$PY" - "$DOC" "$1" <<'PYEOF'
import re, sys
text = open(sys.argv[1], encoding='utf-8').read()
parts = re.split(r'<!-- walk: ([a-z]+) -->', text)
for i in range(1, len(parts) - 1, 2):
    if parts[i] == sys.argv[2]:
        for b in re.findall(r'```sh\n(.*?)```', parts[i + 1], re.S):
            print(b, end='')
PYEOF
}

ROOT_PUBKEY= NODE_PUBKEY=
# run_block NAME SCHOOL_NUMBER: each line with the test's paths, one at a time
run_block() {
	local name=$1 num=$2 line out
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		line=${line//sudo -u schoolsync /}
		line=${line//\/var\/lib\/schoolsync\/node/$T\/node-$num}
		line=${line//\/var\/lib\/schoolsync\//$T\/}
		line=${line//\/media\/offline\//$T\/offline\/}
		line=${line//\/srv\/git\//$T\/srv\/git\/}
		line=${line//git:\/\/hub.district.example\/district.git/$T\/srv\/git\/district.git}
		line=${line//chongming-sch-017/chongming-sch-$num}
		line=${line//cm-017/cm-$num}
		line=${line//ROOT_PUBKEY/$ROOT_PUBKEY}
		line=${line//NODE_PUBKEY/$NODE_PUBKEY}
		if out=$(bash -c "$line" 2>"$T/err"); then
			pass "[$name $num] ${line:0:90}"
		else
			fail "[$name $num] ${line:0:90}" "$(cat "$T/err")"
		fi
		if [[ $line == *"district init"* ]]; then
			ROOT_PUBKEY=$(printf '%s\n' "$out" | sed -n 's/^root public key \([0-9a-f]\{64\}\)$/\1/p')
		fi
		if [[ $line == *" init --node chongming-sch-"* ]]; then
			NODE_PUBKEY=$(printf '%s\n' "$out" | sed -n 's/^public key \([0-9a-f]\{64\}\)$/\1/p')
		fi
		LAST=$out
	done < <(block "$name")
}

[ -n "$(block hub)" ] && [ -n "$(block school)" ] && [ -n "$(block enroll)" ] && [ -n "$(block remote)" ] \
	&& pass "the guide has its four walk blocks" || fail "the guide has its four walk blocks"
run_block hub 017
assert_eq "district init printed the root key" 64 "${#ROOT_PUBKEY}"
for num in 017 021 033; do
	run_block school "$num"
	assert_eq "init of school $num printed its key" 64 "${#NODE_PUBKEY}"
	run_block enroll "$num"
	run_block remote "$num"
	assert_contains "status of school $num as the guide says" "trust: managed, enrolled: role school, school cm-$num" "$LAST"
done

# everyday use after the walk: a school's write reaches the hub and the others
S() { "$SSYNC_BIN" --home "$T/$1" "${@:2}"; }
ss node-021 teacher add --staff-no CM0211 --name 王芳 --title 高级 --birth-year 1980 --joined-year 2005
assert_eq "school 021 adds a teacher (its school by default)" 0 "$RC"
for h in node-021 hub node-017 node-033 hub node-017 node-021 node-033; do
	ss "$h" sync
	assert_eq "sync $h" 0 "$RC"
done
assert_contains "the hub has the teacher" "cm-021" "$(S hub teacher list)"
H=$(S hub state-hash)
for num in 017 021 033; do
	assert_eq "school $num converged with the hub" "$H" "$(S node-$num state-hash)"
	assert_eq "school $num: no quarantine" 0 "$(S node-$num --json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["node"]["quarantined"])')"
done
ss node-033 zone add --id zz --name 外区
assert_eq "a school may not write the hub's tables" 1 "$RC"
summary
