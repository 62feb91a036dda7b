#!/usr/bin/env bash
# Clocks (issue #14, first part): the production binary ignores
# SCHOOLSYNC_FAKE_TIME_MS; a writer whose PC clock is outside 2000..2999
# signs nothing (E_CLOCK, says what the clock reads), nor one far past the
# district's witnessed time; entries from far-future clocks that receivers
# refuse or hold -- unenrolled node, beyond witnessed time, expired
# certificate at the HLC limit -- never move a receiver's clock, and every
# node ends with the same state and sane times. (A far-future entry applied
# first and revoked later: test_trust; witnessed time: t_trust_witness.sh.)
# Skewed clocks come from schoolsync-testclock (a test build, never
# installed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

Y2900=29379456000000      # 2900-12-31T00:00:00Z
TOP=32503679999999        # 2999-12-31T23:59:59.999Z, the last millisecond an entry may carry
YEAR=$(date -u +%Y)
q_has() { quarantine_codes "$1" | grep -qx "$2 $3 $4"; }
# last_time HOME NODE: the time of NODE's newest entry held by HOME
last_time() { ssx "$1" log --json | "$PY" -c 'import json,sys
e=[x for x in json.load(sys.stdin) if x["node"]==sys.argv[1]]
print(e[-1]["time"] if e else "none")' "$2"; }
ahead_by() { ssx "$1" status --json | "$PY" -c 'import json,sys; c=json.load(sys.stdin)["node"]["clock_ahead"]; print(c["entry"] if c else "none")'; }
nlog() { ssx "$1" log --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
ROOT=$T/root.key

log "=== setup: hub, schools a b e joined; c enrolled but not joined; v enrolled until 2027; x unenrolled"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
RK=$(ssx h district init --id d1 --name "崇明区" --root-key "$ROOT" | sed -n 's/^root public key //p')
assert_eq "the root public key is 64 hex" 64 "${#RK}"
for s in a b e c v x; do
	P=$(pubkey_of $s sch-$s)
	ssx $s remote add hub "$T/hub.git" >/dev/null
	case $s in
	a | b | e) ssx $s join --district-pubkey "$RK" >/dev/null ;;
	esac
	case $s in
	v) ssx h district enroll sch-v --role school --school sch-v --pubkey "$P" --root-key "$ROOT" --valid-until 2027-12-31 >/dev/null ;;
	x) ;;
	*) ssx h district enroll sch-$s --role school --school sch-$s --pubkey "$P" --root-key "$ROOT" >/dev/null ;;
	esac
done
sync_ok h >/dev/null
for s in a b e c v x; do sync_ok $s >/dev/null; done

log "=== the production binary ignores SCHOOLSYNC_FAKE_TIME_MS"
SCHOOLSYNC_FAKE_TIME_MS=978307200000 ss a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-1','sch-a','ok')"
assert_eq "a write with the variable set to 2001 succeeds" 0 "$RC"
assert_contains "... and carries the real time, not 2001" "^$YEAR-" "$(last_time a sch-a)"
ssx ctl init --node ctl >/dev/null
ss_at 978307200000 ctl sql "INSERT INTO teacher(id,school_id,name) VALUES ('ctl-1','ctl','t')"
assert_eq "control: the test build does honour it (a fresh node writes in 2001)" "2001-01-01T00:00:00.000Z" "$(last_time ctl ctl)"

log "=== the writer's clock guard"
N=$(nlog a)
ss_at 946684799999 a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-old','sch-a','x')"
assert_ne "a PC clock at 1999-12-31 cannot write" 0 "$RC"
assert_contains "... E_CLOCK saying what the clock reads" "clock reads 1999-12-31T23:59:59.999Z.*E_CLOCK" "$ERR"
assert_contains "... and how to fix it" "set this PC's date, time" "$ERR"
ss_at 32503680000000 a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-new','sch-a','x')"
assert_ne "a PC clock at 3000-01-01 cannot write" 0 "$RC"
assert_contains "... E_CLOCK" "clock reads .*E_CLOCK" "$ERR"
assert_eq "nothing was signed" "$N" "$(nlog a)"

log "=== a's PC clock jumps to 2900: the district's witnessed time refuses it (TRUST.md §4a)"
sync_ok a >/dev/null
N=$(nlog a)
ss_at $Y2900 a sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-2','sch-a','from 2900')"
assert_ne "a's clock in 2900 signs nothing: a holds the hub's checkpoints" 0 "$RC"
assert_contains "... E_CLOCK: what the clock reads, what the district witnessed, how to fix" \
	"clock reads 2900-12-31.*days past the latest time the district hub witnessed \($YEAR-.*E_CLOCK.*set this PC's date" "$(echo "$ERR" | tr '\n' ' ')"
assert_eq "nothing was signed" "$N" "$(nlog a)"
sync_ok a >/dev/null
sync_ok e >/dev/null
assert_eq "e's status: clock not ahead" none "$(ahead_by e)"

log "=== the hub revokes a after seq 1; refused far-future entries from x, c and v"
ssx h district revoke sch-a --after-seq 1 --root-key "$ROOT" >/dev/null
sync_ok h >/dev/null
ss_at $Y2900 x sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-x-1','sch-x','unenrolled')"
sync_ok x >/dev/null
ss_at $Y2900 c sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-a-c9','sch-a','not c''s row')"
assert_eq "c (no local policy) signs another school's row" 0 "$RC"
sync_ok c >/dev/null
ss_at $TOP v sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-v-1','sch-v','at the limit')"
assert_eq "v signs at the last millisecond of the range" 0 "$RC"
assert_eq "... 2999-12-31T23:59:59.999Z" "2999-12-31T23:59:59.999Z" "$(last_time v sch-v)"
sync_ok v >/dev/null

log "=== b learns everything at once: all refused, its clock does not move"
sync_attn b >/dev/null
assert_true "b: x's entry is E_CERT (unenrolled)" q_has b sch-x 1 E_CERT
assert_true "b: c's entry (2900, c holds no checkpoint) is held W_FUTURE_HLC (judged before policy)" q_has b sch-c 1 W_FUTURE_HLC
assert_true "b: v's entry is E_CERT_EXPIRED (beyond its certificate)" q_has b sch-v 1 E_CERT_EXPIRED
ssx b sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-b-1','sch-b','after')" >/dev/null
assert_contains "b's next write carries today's time" "^$YEAR-" "$(last_time b sch-b)"
assert_eq "b's status: clock not ahead" none "$(ahead_by b)"

log "=== e learns everything too"
sync_attn e >/dev/null
ssx e sql "INSERT INTO teacher(id,school_id,name) VALUES ('sch-e-1','sch-e','after')" >/dev/null
assert_contains "e's next write carries today's time" "^$YEAR-" "$(last_time e sch-e)"
assert_eq "e's status: clock not ahead" none "$(ahead_by e)"

log "=== everyone converges"
sync_attn e >/dev/null
sync_attn b >/dev/null
sync_attn h >/dev/null
sync_attn b >/dev/null
sync_attn e >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-b','B校')" >/dev/null
assert_contains "the hub's next write carries today's time" "^$YEAR-" "$(last_time h hub)"
sync_attn h >/dev/null
sync_attn b >/dev/null
sync_attn e >/dev/null
assert_all_equal "hub, b and e hold the same state" "$(state_hash h)" "$(state_hash b)" "$(state_hash e)"
assert_eq "the valid rows only: a#1, b's and e's" "sch-a-1 sch-b-1 sch-e-1" \
	"$(ssx b sql "SELECT id FROM teacher ORDER BY id" --json | "$PY" -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)))')"

summary
