#!/usr/bin/env bash
# `schoolsync reenter` (docs/TRUST.md §10a, OPERATIONS.md §11): a school's own
# entries that will never apply, written again as new entries.
#  * held for good: school f writes 200 days ahead (a new teacher, an edit of
#    two cells, a delete); the hub witnesses them on day 11, so they are held
#    for good everywhere. Meanwhile the hub corrects one of the cells. Once
#    f's clock is fixed, re-entering is refused while what it would sign is
#    still dated after its far-ahead entries (E_CLOCK with the hint), and
#    with the clock still wrong; once the clock passed them it re-enters:
#    the data is there on every node, the hub's cell is not clobbered, the
#    held entries stay held, a second run writes nothing;
#  * void: school a is re-enrolled with a cut below two of its entries; its
#    new home takes the void lines from the hub's listing (--from) and
#    re-enters them, a prev naming an old-generation seq resolved to its
#    re-entry (not to the new generation's entry at that seq);
#  * fork: a copy of school c's home signs another seq 2; the hub freezes c
#    and re-enrols it below the fork; the new home re-enters what the hub
#    holds of both histories (the copy's entries after the fork never reach
#    it: a frozen branch stops there);
#  * a clock far ahead, the other way back: school g's entries 200 days
#    ahead are held for good; instead of waiting, the hub re-enrols g with
#    the cut before them; they become void and the new home re-enters them;
#  * every node ends with the same state.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

NOW=$(( $(date +%s) * 1000 ))
D=86400000
BASE=$(( NOW - 230 * D ))
ROOT=$T/root.key
at() { echo $(( BASE + $1 )); }
sync_at() { # MS HOME: a sync at that clock; exit 0 or 3 (held/quarantined)
	ss_at "$1" "$2" sync --json
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 3 ]; then
		printf 'sync of %s at %s exited %d: %s\n' "$2" "$1" "$RC" "$ERR" | tee "$T/.aborted" >&2
		exit 1
	fi
}
q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
teacher() { # HOME ID: "name|title|subject" or "none"
	ssx "$1" sql "SELECT name, title, subject FROM teacher WHERE id='$2'" --json | "$PY" -c 'import json,sys
r=json.load(sys.stdin); print("|".join(str(r[0][k]) for k in ("name","title","subject")) if r else "none")'
}
head_of() { ssx "$1" log --json | "$PY" -c 'import json,sys; print(max([e["seq"] for e in json.load(sys.stdin) if e["node"]==sys.argv[1]] or [0]))' "$2"; }
rj() { "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
row() { echo "INSERT INTO teacher(id,school_id,staff_no,name,title,subject,birth_year,joined_year) VALUES ('$1','$2','$3','$4','初级','数学',1980,2010)"; }

log "=== setup: hub, schools a, b, f; the hub's first checkpoint"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
for s in a b c f g; do
	P=$(ssx $s --json init --node sch-$s --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
	ssx $s remote add hub "$T/hub.git" >/dev/null
done
ss_at "$(at 0)" h sql "INSERT INTO zone(id,name) VALUES ('z1','崇西'); INSERT INTO school(id,name,zone_id,stage,students) VALUES ('sch-a','甲校','z1','primary',300), ('sch-b','乙校','z1','primary',300), ('sch-c','丁校','z1','primary',200), ('sch-g','戊校','z1','primary',120), ('sch-f','丙校','z1','middle',150)"
assert_eq "the hub adds the zone and the schools" 0 "$RC"
sync_at "$(at 0)" h
for s in a b c f g; do sync_at "$(at 0)" $s; done

log "=== day 1: f (correct clock) writes two teachers"
ss_at "$(at $D)" f sql "$(row sch-f-1 sch-f F1 f1); $(row sch-f-3 sch-f F3 f3)"
assert_eq "f writes" 0 "$RC"
sync_at "$(at $D)" f
sync_at "$(at $D)" h

log "=== day 10: f's clock is 200 days ahead: a new teacher, an edit of two cells, a delete"
F=$(at $((210 * D)))
ss_at "$F" f sql "$(row sch-f-2 sch-f F2 f2)"
assert_eq "f writes a new teacher" 0 "$RC"
ss_at "$F" f sql "UPDATE teacher SET title='中级', subject='语文' WHERE id='sch-f-1'"
assert_eq "... an edit of title and subject" 0 "$RC"
ss_at "$F" f sql "DELETE FROM teacher WHERE id='sch-f-3'"
assert_eq "... a delete" 0 "$RC"
sync_at "$F" f

log "=== day 11: the hub witnesses them (held for good) and corrects sch-f-1's subject"
sync_at "$(at $((11 * D)))" h
for q in 2 3 4; do assert_true "hub: sch-f#$q held for good" q_has h sch-f $q W_FUTURE_HLC; done
ss_at "$(at $((11 * D)))" h sql "UPDATE teacher SET subject='物理' WHERE id='sch-f-1'"
assert_eq "the hub edits sch-f-1.subject" 0 "$RC"
sync_at "$(at $((11 * D)))" h
sync_at "$(at $((11 * D)))" b

log "=== day 12: f's clock is fixed; f lists what will never apply"
sync_at "$(at $((12 * D)))" f
assert_eq "f's replica holds them back too" "f1|初级|物理" "$(teacher f sch-f-1)"
ss_at "$(at $((12 * D)))" f status --json
assert_eq "status counts 3 entries to re-enter" 3 "$(rj "$OUT" 'j["node"]["reenter"]')"
ss_at "$(at $((12 * D)))" f status
assert_contains "status points to the command" "RE-ENTER: 3 .*schoolsync reenter --apply" "$(tr '\n' ' ' <<<"$OUT")"
ss_at "$(at $((12 * D)))" f reenter --json
assert_eq "reenter lists 3 held entries, pending" "3 held,held,held pending,pending,pending" \
	"$(rj "$OUT" 'str(len(j["entries"]))+" "+",".join(e["kind"] for e in j["entries"])+" "+",".join(e["status"] for e in j["entries"])')"
assert_eq "... in human terms: the edit's title would be written, its subject changed since" "subject:changed title:ok" \
	"$(rj "$OUT" '" ".join(c["column"]+":"+c["result"] for c in j["entries"][1]["ops"][0]["cells"])')"
ss_at "$(at $((12 * D)))" f reenter
assert_contains "the table shows table, row, change and result" "sch-f#3 .*teacher .*sch-f-1 \(f1\) .*subject = 语文 .*CHANGED SINCE" "$(tr '\n' ' ' <<<"$OUT")"
H0=$(head_of f sch-f)
ss_at "$(at $((12 * D)))" f reenter --apply
assert_eq "re-entering now is refused (exit 1)" 1 "$RC"
assert_contains "... E_CLOCK: its log is dated ahead, wait or re-enrol" "log already holds entries dated up to.*E_CLOCK.*wait until.*re-enrol" "$(tr '\n' ' ' <<<"$ERR")"
ss_at "$F" f reenter --apply
assert_eq "with the clock still 200 days ahead: refused too" 1 "$RC"
assert_contains "... naming this PC's clock" "clock reads .*past the latest time the district hub witnessed.*E_CLOCK" "$(tr '\n' ' ' <<<"$ERR")"
assert_eq "nothing was written" "$H0" "$(head_of f sch-f)"

log "=== day 211: f's clock passed its far-ahead entries; the clerk re-enters"
sync_at "$(at $((211 * D)))" h
sync_at "$(at $((211 * D)))" f
ss_at "$(at $((211 * D)))" f reenter --apply --json --actor "教务处 王老师"
assert_eq "reenter --apply exits 3: a cell changed since was left" 3 "$RC"
assert_eq "3 entries written, none left" "3 0" "$(rj "$OUT" 'str(j["written"])+" "+str(j["pending"])')"
assert_eq "f: the new teacher, the title, the hub's subject kept" "f2|初级|数学 f1|中级|物理 none" \
	"$(teacher f sch-f-2) $(teacher f sch-f-1) $(teacher f sch-f-3)"
assert_contains "the re-entry names the held entry in its actor" "教务处 王老师 \(reenter [0-9a-f]{64}\)" \
	"$(ssx f log --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[-1]["actor"])')"
H1=$(head_of f sch-f)
ss_at "$(at $((211 * D)))" f reenter --apply --json
assert_eq "a second run writes nothing" "0 0 $H1" "$(rj "$OUT" 'str(j["written"])+" "+str(j["pending"])') $(head_of f sch-f)"
assert_eq "... and shows each as done" "done,done,done" "$(rj "$OUT" '",".join(e["status"] for e in j["entries"])')"
ss_at "$(at $((211 * D)))" f status --json
assert_eq "status: nothing left to re-enter" 0 "$(rj "$OUT" 'j["node"]["reenter"]')"

log "=== void: a is re-enrolled with a cut below its seqs 2 and 3"
ss_at "$(at $((212 * D)))" a sql "$(row sch-a-1 sch-a A1 a1)"
ss_at "$(at $((212 * D)))" a sql "$(row sch-a-2 sch-a A2 a2)"
ss_at "$(at $((212 * D)))" a sql "UPDATE teacher SET name='a2 renamed' WHERE id='sch-a-2'"
assert_eq "a wrote seqs 1..3" 3 "$(head_of a sch-a)"
sync_at "$(at $((212 * D)))" a
sync_at "$(at $((212 * D)))" h
P2=$(ssx a2 --json init --node sch-a --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx a2 join --district-pubkey "$RK" >/dev/null
ssx a2 remote add hub "$T/hub.git" >/dev/null
ss_at "$(at $((213 * D)))" h district reenroll sch-a --new-key "$P2" --void-after 1 --root-key "$ROOT"
assert_eq "the hub re-enrols sch-a, cut after seq 1" 0 "$RC"
sync_at "$(at $((213 * D)))" h
ss_at "$(at $((213 * D)))" h reenter --node sch-a --json
assert_eq "the hub lists sch-a's void entries 2 and 3" "sch-a#2:void sch-a#3:void" \
	"$(rj "$OUT" '" ".join(e["entry"]+":"+e["kind"] for e in j["entries"])')"
printf '%s' "$OUT" >"$T/void.json"
ss_at "$(at $((213 * D)))" h reenter --node sch-a --apply
assert_eq "the hub cannot apply them for the school" 1 "$RC"
sync_at "$(at $((213 * D)))" a2
ss_at "$(at $((213 * D)))" a2 sql "$(row sch-a-9 sch-a A9 a9)"
assert_eq "the new home writes seq 2 (of generation 2)" "0 2" "$RC $(head_of a2 sch-a)"
ss_at "$(at $((213 * D)))" a2 reenter --json
assert_eq "a2 holds no void line itself" 0 "$(rj "$OUT" 'len(j["entries"])')"
ss_at "$(at $((213 * D)))" a2 reenter --from "$T/void.json" --apply --json
assert_eq "a2 re-enters both from the hub's listing" "0 2 0" "$RC $(rj "$OUT" 'str(j["written"])+" "+str(j["pending"])')"
assert_eq "... the rename resolved to the re-entry of seq 2, not to generation 2's seq 2" "a2 renamed|初级|数学" "$(teacher a2 sch-a-2)"
ss_at "$(at $((213 * D)))" a2 reenter --from "$T/void.json" --apply --json
assert_eq "a second run writes nothing" "0 0 4" "$(rj "$OUT" 'str(j["written"])+" "+str(j["pending"])') $(head_of a2 sch-a)"

log "=== fork: a copy of c's home signs another seq 2 and 3 onto a stick; the hub freezes c"
ss_at "$(at $((214 * D)))" c sql "$(row sch-c-1 sch-c C1 c1)"
sync_at "$(at $((214 * D)))" c
cp -a "$T/c" "$T/ccopy"
ss_at "$(at $((214 * D)))" c sql "$(row sch-c-2 sch-c C2 c2)"
ss_at "$(at $((214 * D)))" c sql "UPDATE teacher SET name='c1 from c' WHERE id='sch-c-1'"
sync_at "$(at $((214 * D)))" c
ssx ccopy remote remove hub >/dev/null
ssx ccopy remote add stick "$T/stick.git" >/dev/null
ss_at "$(at $((214 * D)))" ccopy sql "$(row sch-c-3 sch-c C3 c3)"
ss_at "$(at $((214 * D)))" ccopy sql "UPDATE teacher SET name='c1 from the copy' WHERE id='sch-c-1'"
sync_at "$(at $((214 * D)))" ccopy
ss_at "$(at $((214 * D)))" h sync --remote hub --json
ssx h remote add stick "$T/stick.git" >/dev/null
ss_at "$(at $((214 * D)))" h sync --remote stick --json
assert_true "hub: E_FORK at sch-c#2" q_has h sch-c 2 E_FORK
P3=$(ssx c2 --json init --node sch-c --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx c2 join --district-pubkey "$RK" >/dev/null
ssx c2 remote add hub "$T/hub.git" >/dev/null
ss_at "$(at $((215 * D)))" h district reenroll sch-c --new-key "$P3" --void-after 1 --root-key "$ROOT"
assert_eq "the hub re-enrols sch-c below the fork" 0 "$RC"
sync_at "$(at $((215 * D)))" h
ss_at "$(at $((215 * D)))" h reenter --node sch-c --json
assert_eq "the hub lists both seq 2 (c's and the copy's) and c's seq 3" "sch-c#2 sch-c#2 sch-c#3" \
	"$(rj "$OUT" '" ".join(e["entry"] for e in j["entries"])')"
printf '%s' "$OUT" >"$T/fork.json"
sync_at "$(at $((215 * D)))" c2
ss_at "$(at $((215 * D)))" c2 reenter --from "$T/fork.json" --apply --json
assert_eq "c2 re-enters the three" "0 3 0" "$RC $(rj "$OUT" 'str(j["written"])+" "+str(j["pending"])')"
assert_eq "... both histories' new rows and c's rename" "c1 from c|初级|数学 c2 c3" \
	"$(teacher c2 sch-c-1) $(teacher c2 sch-c-2 | cut -d'|' -f1) $(teacher c2 sch-c-3 | cut -d'|' -f1)"
ss_at "$(at $((215 * D)))" c2 reenter --from "$T/fork.json" --apply --json
assert_eq "a second run writes nothing" "0 0" "$(rj "$OUT" 'str(j["written"])+" "+str(j["pending"])')"

log "=== g, 200 days ahead too, does not wait: the hub re-enrols it with the cut before its held entries"
ss_at "$(at $((216 * D)))" g sql "$(row sch-g-1 sch-g G1 g1)"
sync_at "$(at $((216 * D)))" g
ss_at "$(at $((416 * D)))" g sql "$(row sch-g-2 sch-g G2 g2)"
assert_eq "g writes 200 days ahead" 0 "$RC"
sync_at "$(at $((416 * D)))" g
sync_at "$(at $((216 * D)))" h
assert_true "hub: sch-g#2 held for good" q_has h sch-g 2 W_FUTURE_HLC
P4=$(ssx g2 --json init --node sch-g --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
ssx g2 join --district-pubkey "$RK" >/dev/null
ssx g2 remote add hub "$T/hub.git" >/dev/null
ss_at "$(at $((216 * D)))" h district reenroll sch-g --new-key "$P4" --void-after 1 --root-key "$ROOT"
assert_eq "the hub re-enrols sch-g, cut after seq 1" 0 "$RC"
sync_at "$(at $((216 * D)))" h
ss_at "$(at $((216 * D)))" h reenter --node sch-g --json
assert_eq "the held entry is void now" "sch-g#2:void" "$(rj "$OUT" '" ".join(e["entry"]+":"+e["kind"] for e in j["entries"])')"
printf '%s' "$OUT" >"$T/g.json"
sync_at "$(at $((216 * D)))" g2
ss_at "$(at $((216 * D)))" g2 reenter --from "$T/g.json" --apply --json
assert_eq "the new home re-enters it at once, with today's clock" "0 1" "$RC $(rj "$OUT" 'j["written"]')"
sync_at "$(at $((216 * D)))" g2
sync_at "$(at $((216 * D)))" h
assert_eq "the hub applies it (witnessed, not ahead)" "g2|初级|数学" "$(teacher h sch-g-2)"

log "=== everyone converges; the held entries stay held"
for s in a2 c2 g2 h b f h a2 c2 g2 b f; do sync_at "$NOW" $s; done
assert_all_equal "hub, a2, b, c2, g2 and f hold the same state" "$(state_hash h)" "$(state_hash a2)" "$(state_hash b)" \
	"$(state_hash c2)" "$(state_hash g2)" "$(state_hash f)"
for s in h b f; do
	assert_eq "$s: f's data is there" "f2|初级|数学 f1|中级|物理 none a2 renamed|初级|数学" \
		"$(teacher $s sch-f-2) $(teacher $s sch-f-1) $(teacher $s sch-f-3) $(teacher $s sch-a-2)"
	for q in 2 3 4; do assert_true "$s: sch-f#$q still held" q_has $s sch-f $q W_FUTURE_HLC; done
done

summary
