#!/usr/bin/env bash
# Hub-witnessed time (issue 14, docs/TRUST.md §4a). Clocks come from
# schoolsync-testclock (a test build), on a timeline that ends at the real
# time NOW:
#  * writers whose clocks are years ahead, years behind or at the HLC limit
#    sign nothing (E_CLOCK: what the clock says, what the district says);
#  * a school 200 days ahead (inside the writer's window) is held
#    W_FUTURE_HLC everywhere, for good once the hub witnessed it, and moves
#    no clock; one 8 h ahead (a time zone) is held until the hub's time
#    reaches it, then applied everywhere;
#  * a USB-only school offline for weeks (correct clock) reaches the district
#    through a neighbour: held on the neighbour until the hub witnessed it,
#    then final everywhere; the hub's checkpoint lists it;
#  * a stolen key backdating an entry before the checkpoint that covered the
#    node's head is refused everywhere (E_BACKDATED);
#  * every node ends with the same state, nothing valid lost, no clock past
#    the real time plus the allowance.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

NOW=$(( $(date +%s) * 1000 ))
D=86400000
H=3600000
BASE=$(( NOW - 100 * D ))
TOP=32503679999999
ROOT=$T/root.key
at() { echo $(( BASE + $1 )); }                       # ms since BASE -> epoch ms
sync_at() { # MS HOME: a sync at that clock; exit 0 or 3 (held/quarantined)
	ss_at "$1" "$2" sync --json
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 3 ]; then
		printf 'sync of %s at %s exited %d: %s\n' "$2" "$1" "$RC" "$ERR" | tee "$T/.aborted" >&2
		exit 1
	fi
}
q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
ids() { ssx "$1" sql "SELECT id FROM teacher ORDER BY id" --json | "$PY" -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)))'; }
wit() { ssx "$1" status --json | "$PY" -c 'import json,sys; w=json.load(sys.stdin)["node"]["witness"]; print(w[sys.argv[1]])' "$2"; }
clock_ms() { "$PY" - "$(_home "$1")/replica.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
v = [int(r[0]) for r in db.execute("SELECT value FROM ssync_meta WHERE key='hlc'")]
v += [r[0] or 0 for r in db.execute("SELECT max(hlc) FROM ssync_entry WHERE state=1")]
print(max(v + [0]) >> 16)
EOF
}

log "=== setup at NOW-100d: hub; schools a b f g u; the hub's first checkpoint"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
for s in a b f g u; do
	P=$(ssx $s --json init --node sch-$s --district d1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["pubkey"])')
	ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null
	ssx $s join --district-pubkey "$RK" >/dev/null
	[ $s = u ] || ssx $s remote add hub "$T/hub.git" >/dev/null
done
ssx u remote add stick "$T/stick" >/dev/null
ssx b remote add stick "$T/stick" >/dev/null
sync_at "$(at 0)" h
for s in a b f g; do sync_at "$(at 0)" $s; done
sync_at "$(at 0)" u # u gets the district (and its certificate) by the stick only
assert_eq "a holds the hub's checkpoint" 1 "$(wit a checkpoints)"
assert_eq "u (USB only) holds it too, via b's stick" 1 "$(wit u checkpoints)"

log "=== clocks years ahead, years behind, at the HLC limit: nothing is signed"
ss_at $(( NOW + 3 * 365 * D )) f sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-f-x','sch-f','3 years ahead')"
assert_ne "f with a clock 3 years ahead cannot write" 0 "$RC"
assert_contains "... what the clock says, what the district says, how to fix" \
	"clock reads .*days past the latest time the district hub witnessed.*E_CLOCK.*set this PC's date" "$(echo "$ERR" | tr '\n' ' ')"
ss_at $(( BASE - 5 * 365 * D )) g sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-g-x','sch-g','5 years behind')"
assert_ne "g with a clock 5 years behind cannot write" 0 "$RC"
assert_contains "... the district had witnessed a later time" "but the district hub had already witnessed .*E_CLOCK" "$ERR"
ss_at $TOP a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-x','sch-a','at the limit')"
assert_ne "a with a clock at the HLC limit (2999-12-31) cannot write" 0 "$RC"
assert_contains "... E_CLOCK" "E_CLOCK" "$ERR"
assert_eq "none of them signed anything" "0 0 0" \
	"$(for s in f g a; do ssx $s log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; done | tr '\n' ' ' | sed 's/ $//')"

log "=== day 40: a writes (correct clock); a copy of a's home (its key) is stolen"
ssx a status >/dev/null
ss_at "$(at $((40 * D)))" a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','a')"
assert_eq "a writes" 0 "$RC"
sync_at "$(at $((40 * D)))" a
cp -a "$T/a" "$T/thief"

log "=== day 41: f's clock is 200 days ahead (inside the writer's window) and writes"
ss_at "$(at $((241 * D)))" f sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-f-1','sch-f','from the future')"
assert_eq "f signs (200 days past the witnessed time is inside its one-year window)" 0 "$RC"
sync_at "$(at $((241 * D)))" f
sync_at "$(at $((41 * D)))" b
assert_eq "b's sync report counts both held; exit 3 (someone must look)" "3 2" "$RC $(sync_field "$OUT" held)"
assert_true "b holds f#1 (W_FUTURE_HLC: past the witnessed time, not yet witnessed)" q_has b sch-f 1 W_FUTURE_HLC
assert_true "b holds a#1 too: 40 days past the latest time the hub witnessed (day 0)" q_has b sch-a 1 W_FUTURE_HLC
assert_eq "b applied neither" "" "$(ids b)"

log "=== day 80: the hub syncs: it witnesses a#1 and f#1"
sync_at "$(at $((80 * D)))" h
assert_true "hub: f#1 held for good (200 days ahead of when it first saw it)" q_has h sch-f 1 W_FUTURE_HLC
assert_contains "hub: its latest checkpoint lists a and f" "sch-a.*sch-f" \
	"$("$PY" - "$T/h/replica.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(" ".join(r[0] for r in db.execute("SELECT node FROM ssync_witness_head ORDER BY node")))
EOF
)"

log "=== the thief (a's key) writes a#2 dated day 41, after the hub witnessed a#1 on day 80"
"$PY" - "$T/thief/replica.db" <<'EOF'
import sqlite3, sys
# the thief's own program would not check its clock either
db = sqlite3.connect(sys.argv[1]); db.execute("DELETE FROM ssync_witness"); db.commit()
EOF
ss_at "$(at $((41 * D)))" thief sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-9','sch-a','backdated')"
assert_eq "the thief signs a#2 at day 41 (after a#1 on day 40: the chain allows it)" 0 "$RC"
ss_at "$(at $((81 * D)))" thief sync --remote hub --json
sync_at "$(at $((81 * D)))" h
assert_true "hub: a#2 refused as backdated (E_BACKDATED)" q_has h sch-a 2 E_BACKDATED
sync_at "$(at $((81 * D)))" b
assert_true "b: a#2 refused as backdated too" q_has b sch-a 2 E_BACKDATED
assert_true "b: f#1 still held" q_has b sch-f 1 W_FUTURE_HLC
assert_eq "b: a#1 applied now that the hub witnessed it (day 80)" "sch-a-1" "$(ids b)"

log "=== day 90: g's clock is 8 h ahead (a time zone): held until the hub's time reaches it"
ss_at "$(at $((90 * D + 8 * H)))" g sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-g-1','sch-g','8 h ahead')"
assert_eq "g writes" 0 "$RC"
sync_at "$(at $((90 * D + 8 * H)))" g
sync_at "$(at $((90 * D)))" h
assert_true "hub: g#1 held (8 h past its witnessed time)" q_has h sch-g 1 W_FUTURE_HLC
sync_at "$(at $((90 * D + 8 * H + 60000)))" h
assert_eq "hub: applied once its own time reached it" 1 \
	"$(ssx h sql "SELECT count(*) AS n FROM teacher WHERE id='sch-g-1'" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["n"])')"

log "=== days 92-99: u (USB only, correct clock) writes; b carries it, holds it until the hub witnessed it"
ss_at "$(at $((99 * D)))" u sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-u-1','sch-u','by stick')"
assert_eq "u writes (offline 9 days, correct clock)" 0 "$RC"
sync_at "$(at $((99 * D)))" u
assert_eq "u applies its own entry at once" "sch-a-1 sch-u-1" "$(ids u)"
sync_at "$(at $((99 * D)))" b
assert_true "b holds u#1: past the time the hub witnessed" q_has b sch-u 1 W_FUTURE_HLC
sync_at "$NOW" h
sync_at "$NOW" b
assert_contains "b: u#1 applied once the hub witnessed it (via b's own sync)" "sch-u-1" "$(ids b)"

log "=== everyone converges at NOW"
for s in h a b f g u h a b f g u; do sync_at "$NOW" $s; done
sync_at "$NOW" u
assert_eq "the valid rows, on the hub" "sch-a-1 sch-g-1 sch-u-1" "$(ids h)"
assert_all_equal "hub, a, b, f, g, u hold the same state" "$(state_hash h)" "$(state_hash a)" "$(state_hash b)" \
	"$(state_hash f)" "$(state_hash g)" "$(state_hash u)"
assert_eq "f's own replica holds its entry back too (the hub saw it 200 days early)" "sch-a-1 sch-g-1 sch-u-1" "$(ids f)"
for s in h a b g u; do
	c=$(clock_ms $s)
	assert_true "$s's clock is not past the real time + 10 min" test "$c" -le $(( NOW + 600000 ))
done
assert_eq "status counts f#1 held" 1 "$(wit b held)"
assert_eq "status counts a#2 backdated" 1 "$(wit b backdated)"
assert_contains "status says what to do" "HELD \\(W_FUTURE_HLC\\).*BACKDATED" "$(ssx b status | tr '\n' ' ')"

log "=== the witness is watched: a hub that signs two checkpoints for one position is caught"
cp -a "$T/h" "$T/h2"         # the same hub key, showing another history elsewhere
git init -q --bare "$T/hub2.git"
ssx h2 remote add hub2 "$T/hub2.git" >/dev/null
N0=$(wit h checkpoints)
ss_at $(( NOW + 60000 )) h district checkpoint
assert_eq "the hub signs checkpoint N+1" 0 "$RC"
ss_at $(( NOW + 120000 )) h2 district checkpoint
assert_eq "its copy signs another checkpoint N+1" 0 "$RC"
ss_at $(( NOW + 120000 )) h2 sync --remote hub2 --json
sync_at $(( NOW + 60000 )) h
sync_at $(( NOW + 60000 )) b
ssx b remote add hub2 "$T/hub2.git" >/dev/null
ss_at $(( NOW + 120000 )) b sync --remote hub2 --json
assert_true "b: E_WITNESS_FORK at position N+1, the other checkpoint kept as evidence" q_has b witness $((N0 + 1)) E_WITNESS_FORK
assert_eq "b's status counts it" 1 "$(wit b forks)"
assert_contains "... and says so" "HUB EQUIVOCATION" "$(ssx b status | tr '\n' ' ')"
assert_eq "b keeps the chain it had" $((N0 + 1)) "$(wit b checkpoints)"
ss b verify
assert_eq "b's verify fails on the evidence (exit 1) ..." 1 "$RC"
assert_contains "... naming the hub's equivocation" "E_WITNESS_FORK" "$ERR"
ss a verify
assert_eq "a (no evidence held) verifies clean" 0 "$RC"

log "=== a checkpoint row edited with the sqlite3 tool (to fool the writer's clock check) is tamper"
"$PY" - "$T/g/replica.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE ssync_witness SET time = time + 400 * 86400000 WHERE pos = 2"); db.commit()
EOF
ss g verify
assert_eq "g's verify fails" 1 "$RC"
assert_contains "... E_TAMPER naming the checkpoint table" "ssync_witness.*E_TAMPER" "$(echo "$ERR" | tr '\n' ' ')"

summary
