#!/usr/bin/env bash
# Bounded receive (issue 13): anyone with push access to the hub adds, on a
# school's branch, a segment that is a 1 GB zero-filled file (about 1 MB of
# zlib on disk). A receiver must refuse it from the object's header, before
# reading it: no ~1 GB of memory, the branch quarantined with the reason,
# and every other branch still syncs.
#   SSYNC_BIG_MB  size of the hostile segment in MiB (default 1024)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

BIG_MB=${SSYNC_BIG_MB:-1024}
new_hub "$T/hub.git"
mk_node a sch-a hub "$T/hub.git"
mk_node b sch-b hub "$T/hub.git"
mk_node c sch-c hub "$T/hub.git"

ssx a sql "INSERT INTO zone(id,name) VALUES ('sch-a-z1','a1')" >/dev/null
sync_ok a >/dev/null
ssx c sql "INSERT INTO zone(id,name) VALUES ('sch-c-z1','c1')" >/dev/null
sync_ok c >/dev/null
sync_ok b >/dev/null
assert_eq "b has a's and c's first rows" 2 "$(ssx b sql "SELECT count(*) AS n FROM zone" --json | jget "$(cat)" 'j[0]["n"]')"

log "attacker: a ${BIG_MB} MiB zero-filled segment on node/sch-a, written as a loose object"
blob=$("$PY" - "$T/hub.git" "$BIG_MB" <<'EOF'
import hashlib, os, sys, zlib
git, mb = sys.argv[1], int(sys.argv[2])
size = mb << 20
head = b"blob %d\0" % size
chunk = bytes(1 << 20)
h = hashlib.sha1(head)
z = zlib.compressobj(1)
tmp = os.path.join(git, "objects", "tmp-big")
with open(tmp, "wb") as f:
    f.write(z.compress(head))
    for _ in range(mb):
        h.update(chunk)
        f.write(z.compress(chunk))
    f.write(z.flush())
oid = h.hexdigest()
d = os.path.join(git, "objects", oid[:2])
os.makedirs(d, exist_ok=True)
os.rename(tmp, os.path.join(d, oid[2:]))
print(oid)
EOF
)
du_k=$(du -k "$T/hub.git/objects/${blob:0:2}/${blob:2}" | cut -f1)
log "blob $blob: ${du_k} KiB on disk"
export GIT_DIR="$T/hub.git" GIT_INDEX_FILE="$T/atk.index"
tip=$(git rev-parse refs/heads/node/sch-a)
git read-tree "$tip"
git update-index --add --cacheinfo "100644,$blob,seg/0000000/000000000002.seg"
tree=$(git write-tree)
commit=$(git commit-tree "$tree" -p "$tip" -m "sch-a: entries 2..2")
git update-ref refs/heads/node/sch-a "$commit" "$tip"
unset GIT_DIR GIT_INDEX_FILE

ssx c sql "INSERT INTO zone(id,name) VALUES ('sch-c-z2','c2')" >/dev/null
sync_attn c >/dev/null

log "b syncs; its peak memory is measured"
# peak RSS of the sync process (KiB), its exit code, stdout
read -r rss rc < <("$PY" - "$SSYNC_BIN" "$T/b" <<'EOF'
import resource, subprocess, sys
p = subprocess.run([sys.argv[1], "--home", sys.argv[2], "sync", "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)
EOF
)
log "sync exited $rc, peak RSS ${rss} KiB"
if [ "$rss" -lt 200000 ]; then pass "peak RSS ${rss} KiB stays far below the segment's ${BIG_MB} MiB"; else fail "peak RSS ${rss} KiB"; fi
assert_eq "c's new row arrived (other branches go on)" 1 \
	"$(ssx b sql "SELECT count(*) AS n FROM zone WHERE id='sch-c-z2'" --json | jget "$(cat)" 'j[0]["n"]')"
q=$(ssx b quarantine --json)
assert_eq "the branch of sch-a is quarantined with the reason" 1 \
	"$(jget "$q" 'sum(1 for r in j if r["node"]=="sch-a" and ("not copied" in r["reason"] or "over the" in r["reason"]))')"
assert_eq "a's accepted row stays" 1 \
	"$(ssx b sql "SELECT count(*) AS n FROM zone WHERE id='sch-a-z1'" --json | jget "$(cat)" 'j[0]["n"]')"
# b does not relay the hostile tip: its own copy of node/sch-a did not move
assert_eq "b's copy of node/sch-a stays at the accepted tip" "$tip" \
	"$(git --git-dir="$T/b/exchange.git" rev-parse refs/heads/node/sch-a)"
# and the next round is as cheap (the refusal is not retried at full cost)
read -r rss2 rc2 < <("$PY" - "$SSYNC_BIN" "$T/b" <<'EOF'
import resource, subprocess, sys
p = subprocess.run([sys.argv[1], "--home", sys.argv[2], "sync", "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)
EOF
)
if [ "$rss2" -lt 200000 ]; then pass "second round: peak RSS ${rss2} KiB"; else fail "second round peak RSS ${rss2} KiB"; fi

log "over the network: d fetches the same hub through git's smart HTTP"
start_http_backend "$T"
mk_node d sch-d hub "http://127.0.0.1:$HTTP_PORT/hub.git"
read -r rss3 rc3 < <("$PY" - "$SSYNC_BIN" "$T/d" <<'EOF'
import resource, subprocess, sys
p = subprocess.run([sys.argv[1], "--home", sys.argv[2], "sync", "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)
EOF
)
log "sync exited $rc3, peak RSS ${rss3} KiB"
if [ "$rss3" -lt 200000 ]; then pass "http: peak RSS ${rss3} KiB"; else fail "http: peak RSS ${rss3} KiB"; fi
assert_eq "http: c's rows arrived" 2 \
	"$(ssx d sql "SELECT count(*) AS n FROM zone WHERE id LIKE 'sch-c-%'" --json | jget "$(cat)" 'j[0]["n"]')"
q=$(ssx d quarantine --json)
assert_eq "http: the segment is refused by its size, unread" 1 \
	"$(jget "$q" 'sum(1 for r in j if r["node"]=="sch-a" and "over the" in r["reason"])')"
summary
