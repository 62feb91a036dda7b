#!/usr/bin/env bash
# A school rotates its own encryption key (issue 15 "key rotation",
# docs/PRIVACY.md §5): privacy rotate-key on school a, the hub certifies the
# new key (district enroll ... --enckey). After a's next stores, no box in
# a's key store opens with the old key -- neither new writes' data keys nor
# the history's (checked on the store itself: a home holding a's node.key
# and only the old enc.key takes nothing back from it) -- while the school
# (a, and a home with only the new key), the hub and a granted auditor read
# the history and the new writes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
nkeys() { git --git-dir="$1" show refs/heads/keys/sch-a:keystore | "$PY" -c 'import json,sys
print(len(json.loads(sys.stdin.read().split("\t")[0])["keys"]))'; }
round() { sync_ok h >/dev/null; sync_ok a >/dev/null; sync_ok h >/dev/null; sync_ok x >/dev/null; }
# a home of sch-a from its node.key and the given enc.key, fed a clone of the hub, never pushing
spy() { # HOME ENCKEYFILE
	rm -rf "$T/$1" "$T/clone.git"
	git clone -q --mirror "$T/hub.git" "$T/clone.git"
	mkdir -m 700 "$T/$1"
	cp "$2" "$T/$1/enc.key"
	ssx "$1" init --node sch-a --district d1 --restore-key "$T/keys/node.key" >/dev/null
	ssx "$1" join --district-pubkey "$RK" >/dev/null
	ssx "$1" remote add clone "$T/clone.git" >/dev/null
	ss "$1" sync --remote clone --no-push
}

log "=== setup: hub, school a, auditor x granted for sch-a"
new_hub "$T/hub.git"
ssx h --json init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name d1 --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
AJ=$(ssx a --json init --node sch-a --district d1)
XJ=$(ssx x --json init --node aud-1 --district d1)
for s in a x; do ssx $s join --district-pubkey "$RK" >/dev/null; ssx $s remote add hub "$T/hub.git" >/dev/null; done
AP=$(printf '%s' "$AJ" | jf pubkey)
ssx h district enroll sch-a --role school --school sch-a --pubkey "$AP" --enckey "$(printf '%s' "$AJ" | jf enckey)" \
	--root-key "$ROOT" >/dev/null
ssx h district enroll aud-1 --role auditor --pubkey "$(printf '%s' "$XJ" | jf pubkey)" \
	--enckey "$(printf '%s' "$XJ" | jf enckey)" --root-key "$ROOT" >/dev/null
ssx h district grant-auditor --auditor aud-1 --school sch-a >/dev/null
round
S1=$(ssx a student-archive add --name 赵一)
S2=$(ssx a student-archive add --name 钱二)
round; round
assert_eq "sanity: hub and auditor read a's students" "赵一 赵一" "$(archive_name h "$S1") $(archive_name x "$S1")"
mkdir -m 700 "$T/keys"
cp "$T/a/node.key" "$T/keys/node.key"; cp "$T/a/enc.key" "$T/keys/old-enc.key"
spy s0 "$T/keys/old-enc.key"
assert_eq "sanity: before the rotation, the old key opens a's store (S1 readable from it)" 赵一 "$(archive_name s0 "$S1")"

log "=== a rotates its encryption key; the hub certifies the new one"
NEW=$(ssx a privacy rotate-key)
cp "$T/a/enc.key" "$T/keys/new-enc.key"
assert_fail "a second rotate-key while enc.key.old is kept is refused (it would overwrite the previous key)" a privacy rotate-key
assert_contains "... saying what to do" "enc.key.old" "$ERR$OUT"
assert_eq "... and enc.key stays the new key" "$NEW" "$(ssx a privacy key)"
ssx h district enroll sch-a --role school --school sch-a --pubkey "$AP" --enckey "$NEW" --root-key "$ROOT" >/dev/null
round; round
ssx a student-archive edit "$S2" --name 钱二改 >/dev/null
S3=$(ssx a student-archive add --name 孙三)
round; round

log "=== who reads what"
assert_eq "a reads history and new writes" "赵一 钱二改 孙三" "$(archive_name a "$S1") $(archive_name a "$S2") $(archive_name a "$S3")"
assert_eq "the hub reads them" "赵一 钱二改 孙三" "$(archive_name h "$S1") $(archive_name h "$S2") $(archive_name h "$S3")"
assert_eq "the granted auditor reads them" "赵一 钱二改 孙三" "$(archive_name x "$S1") $(archive_name x "$S2") $(archive_name x "$S3")"

log "=== a's store after the rotation: nothing in it opens with the old key"
N=$(nkeys "$T/hub.git")
spy s1 "$T/keys/old-enc.key"
assert_eq "a home with only the old enc.key takes back none of a's $N data keys" 0 \
	"$(sqlite3 "$T/s1/keys.db" "SELECT count(*) FROM data_key WHERE owner='sch-a'")"
assert_eq "... every one of them stays sealed to another key (carried)" "$N" \
	"$(sqlite3 "$T/s1/keys.db" "SELECT count(DISTINCT kid) FROM carried WHERE node='sch-a'")"
assert_eq "... so it reads neither the new student nor the history" "[encrypted] [encrypted]" "$(archive_name s1 "$S3") $(archive_name s1 "$S1")"
spy s2 "$T/keys/new-enc.key"
assert_eq "a home with only the new enc.key reads history and new writes" "赵一 钱二改 孙三" \
	"$(archive_name s2 "$S1") $(archive_name s2 "$S2") $(archive_name s2 "$S3")"
assert_all_equal "state hashes equal" "$(state_hash h)" "$(state_hash a)" "$(state_hash x)"

log "=== the hub erases S1, then its machine dies: h2 restored from node.key + enc.key keeps notices and grants"
K1=$(archive_kid h "$S1")
ssx h student-archive erase "$S1" >/dev/null
round
mkdir -m 700 "$T/h2"
cp "$T/h/enc.key" "$T/h2/enc.key"
cp "$T/h/node.key" "$T/keys/hub.key"
rm -rf "$T/h"
ssx h2 init --node hub --district d1 --restore-key "$T/keys/hub.key" --never-published >/dev/null   # the hub signed no entry yet
ssx h2 join --district-pubkey "$RK" >/dev/null
ssx h2 remote add hub "$T/hub.git" >/dev/null
sync_ok h2 >/dev/null
assert_eq "h2 reads a's students" "钱二改 孙三" "$(archive_name h2 "$S2") $(archive_name h2 "$S3")"
ssx h2 student-archive edit "$S3" --name 孙三改 >/dev/null   # a key of the hub's own: its store changes
sync_ok h2 >/dev/null; sync_ok a >/dev/null; sync_ok h2 >/dev/null; sync_ok x >/dev/null; sync_ok a >/dev/null; sync_ok x >/dev/null
assert_contains "h2's new store (it wrote) still names the erasure" "$K1" "$(git --git-dir="$T/hub.git" show refs/heads/keys/hub:keystore)"
assert_contains "... and still grants the auditor" '\["aud-1","sch-a"\]' "$(git --git-dir="$T/hub.git" show refs/heads/keys/hub:keystore)"
assert_eq "the auditor still reads a's students, and the restored hub's write" "钱二改 孙三改" "$(archive_name x "$S2") $(archive_name x "$S3")"
assert_eq "S1 stays erased on a and the auditor" "[encrypted] [encrypted]" "$(archive_name a "$S1") $(archive_name x "$S1")"
summary
