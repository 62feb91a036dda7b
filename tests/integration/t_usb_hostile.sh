#!/usr/bin/env bash
# A prepared USB stick (issue 13): whoever prepares a stick controls every
# file on it. A symlinked ref would make our push write outside the stick; a
# symlinked folder would make us read elsewhere; a FIFO would hang the sync
# forever. Every such stick is refused before libgit2 opens anything in it
# (E_UNSAFE, non-zero exit, a message naming the path), and nothing outside
# the stick changes. The FIFO cases run under a short timeout: a hang shows
# as exit 124 and fails the test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

mkdir -p "$T/usb" "$T/outside"
STICK=$T/usb/stick.git
mk_node a sch-a stick "$STICK"
ssx a sql "INSERT INTO zone(id,name) VALUES ('z1','崇西')" >/dev/null
r=$(sync_ok a)
assert_eq "a plain stick is created and used" "1 1" "$(sync_field "$r" sealed pushed_refs)"
cp -a "$STICK" "$T/usb/clean.git"

fresh_stick() { rm -rf "$STICK"; cp -a "$T/usb/clean.git" "$STICK"; }

# quick_sync NAME: sync with the stick under a 60 s timeout; must fail with
# E_UNSAFE, not hang (124/137) and not succeed
quick_sync() {
	local rc=0
	timeout -k 5 60 "$SSYNC_BIN" --home "$T/a" sync --remote stick >"$T/.out" 2>"$T/.err" || rc=$?
	ERR=$(cat "$T/.err")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$1" "sync hung (killed by timeout)"
	elif [ "$rc" -eq 0 ]; then
		fail "$1" "sync exited 0"
	else
		assert_contains "$1" "E_UNSAFE" "$ERR"
	fi
}

# --- a symlinked ref: the push would write through it ---------------------------
echo precious >"$T/outside/victim"
ssx a sql "INSERT INTO zone(id,name) VALUES ('z2','崇东')" >/dev/null
rm "$STICK/refs/heads/node/sch-a"
ln -s "$T/outside/victim" "$STICK/refs/heads/node/sch-a"
quick_sync "a symlinked ref on the stick is refused"
assert_contains "the message names the link" "refs/heads/node/sch-a is a symbolic link" "$ERR"
assert_eq "the file the link points to is untouched" precious "$(cat "$T/outside/victim")"

# a link to a ref that does not exist yet (push would create a file outside)
fresh_stick
ln -s "$T/outside/created" "$STICK/refs/heads/node/sch-q"
quick_sync "a dangling symlinked ref is refused"
assert_eq "nothing was created outside the stick" no "$([ -e "$T/outside/created" ] && echo yes || echo no)"

# the refs folder itself as a link: the push would create sch-a's ref in it
fresh_stick
mkdir -p "$T/outside/refdir"
cp -a "$STICK/refs/heads/node/." "$T/outside/refdir/"
before=$(cat "$T/outside/refdir/sch-a")
rm -rf "$STICK/refs/heads/node"
ln -s "$T/outside/refdir" "$STICK/refs/heads/node"
quick_sync "a symlinked refs/heads/node folder is refused"
assert_eq "the ref outside the stick is not moved by our push" "$before" "$(cat "$T/outside/refdir/sch-a")"

# --- a symlinked folder in the object store --------------------------------------
fresh_stick
mkdir -p "$T/outside/objects"
ln -s "$T/outside/objects" "$STICK/objects/zz"
quick_sync "a symlinked folder in the objects is refused"

# the stick itself as a link
rm -rf "$STICK"
ln -s "$T/usb/clean.git" "$STICK"
quick_sync "a stick path that is itself a symlink is refused"
rm "$STICK"

# --- FIFOs: these would block the first read forever ---------------------------
fresh_stick
mkdir -p "$STICK/objects/info"
mkfifo "$STICK/objects/info/alternates"
quick_sync "a FIFO as objects/info/alternates is refused, without hanging"
assert_contains "the message says FIFO" "FIFO" "$ERR"

fresh_stick
mkfifo "$STICK/packed-refs"
quick_sync "a FIFO as packed-refs is refused, without hanging"

fresh_stick
mkfifo "$STICK/objects/pack/pack-0000000000000000000000000000000000000000.pack"
quick_sync "a FIFO in objects/pack is refused, without hanging"

# an alternates file borrowing the node's own objects: the push sent none and
# the stick was left with refs to objects it lacks (the next school's fetch failed)
for f in objects/info/alternates objects/info/http-alternates commondir; do
	fresh_stick
	echo "$T/a/exchange.git/objects" >"$STICK/$f"
	quick_sync "a stick with $f is refused"
	assert_contains "the message names $f" "$f is a pointer" "$ERR"
done

# --- the clean stick still works, and nothing was lost --------------------------
fresh_stick
r=$(sync_ok a)
assert_eq "after all that, a clean stick takes the pending entry" "1 1" "$(sync_field "$r" sealed pushed_refs)"
assert_eq "the clean stick holds both entries' branch tip of a" \
	"$(git --git-dir="$T/a/exchange.git" rev-parse refs/heads/node/sch-a)" \
	"$(git --git-dir="$STICK" rev-parse refs/heads/node/sch-a)"

summary
