#!/usr/bin/env bash
# Regenerate the seed corpus (corpus/<target>/) from a real district made
# with the schoolsync program: a hub, one school "sa" enrolled and later
# revoked, a teacher written and edited, synced through a bare repository.
# Usage: tests/fuzz/make_corpus.sh BUILD_DIR
set -euo pipefail
S="$(cd "$1" && pwd)/schoolsync"
here="$(cd "$(dirname "$0")" && pwd)"
C="$here/corpus"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cd "$D"
export SCHOOLSYNC_ACTOR=fuzz
git init -q --bare hub.git
"$S" --home hub init --node hub --district cm >/dev/null
"$S" --home hub remote add hub "$D/hub.git" >/dev/null
ROOT=$("$S" --home hub district init --id cm --name 崇明区 --root-key root.key | grep -o '[0-9a-f]\{64\}' | head -1)
ini=$("$S" --home sa --json init --node sa --district cm)
pub=$(printf '%s' "$ini" | grep -o '"pubkey": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
enc=$(printf '%s' "$ini" | grep -o '"enckey": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
"$S" --home hub district enroll sa --role school --school sa --pubkey "$pub" --enckey "$enc" --root-key root.key >/dev/null
"$S" --home sa join --district-pubkey "$ROOT" >/dev/null
"$S" --home sa remote add hub "$D/hub.git" >/dev/null
"$S" --home hub zone add --id z1 --name 崇西 >/dev/null
"$S" --home hub school add --id sa --name 崇西中学 --zone-id z1 --town 新河镇 --stage middle --students 612 >/dev/null
"$S" --home hub sync >/dev/null
"$S" --home sa sync >/dev/null
"$S" --home sa teacher add --id sa-t1 --staff-no CX001 --name 王芳 --subject 语文 --title 中级 --birth-year 1978 --joined-year 2008 >/dev/null
"$S" --home sa sql "UPDATE teacher SET title='高级' WHERE id='sa-t1'" >/dev/null
"$S" --home sa sync >/dev/null
# private rows (docs/PRIVACY.md): key stores of the school and of the hub (an erasure)
s1=$("$S" --home sa student-archive add --name 张小红 --grade 初二)
"$S" --home sa student-archive add --name 李明 >/dev/null
"$S" --home sa sync >/dev/null
"$S" --home hub sync >/dev/null
"$S" --home hub student-archive erase "$s1" >/dev/null
"$S" --home hub sync >/dev/null
"$S" --home hub district revoke sa --after-seq 5 --root-key root.key >/dev/null
"$S" --home hub sync >/dev/null
"$S" --home sa --json sync | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0], separators=(",", ":")), end="")' > report.json

mkdir -p "$C"/{entry,tobj,segment,csv,control,report,keystore,witness}
g() { git --git-dir hub.git show "$1"; }
for b in sa hub; do
	for f in $(git --git-dir hub.git ls-tree -r --name-only "refs/heads/node/$b" | grep '\.seg$'); do
		g "refs/heads/node/$b:$f" > "$C/segment/$b-$(basename "$f")"
		i=0
		while IFS= read -r line; do
			i=$((i + 1))
			printf '%s\n' "$line" > "$C/entry/$b-$i.line"
		done < "$C/segment/$b-$(basename "$f")"
	done
done
for f in $(git --git-dir hub.git ls-tree -r --name-only refs/heads/district); do
	case $f in
	witness/*) g "refs/heads/district:$f" > "$C/witness/$(basename "$f")" ;; # hub checkpoints
	*) g "refs/heads/district:$f" > "$C/tobj/$(basename "$f")" ;;
	esac
done
cp report.json "$C/report/sync.json"
for b in sa hub; do
	g "refs/heads/keys/$b:keystore" > "$C/keystore/$b.keystore"
done
