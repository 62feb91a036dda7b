#!/usr/bin/env bash
# Local tampering (issue 13): anyone who can write the home can open
# replica.db with the stock sqlite3 tool. A planted trigger must never run
# inside our statements (it would fire while remote entries apply and could
# rewrite the policy), and `verify` must name it (E_TAMPER); sync refuses to
# apply under it. An edit of the node's own role (or a certificate) in the
# trust tables must show in `verify` as E_TAMPER, since the signed trust
# objects held say otherwise. Undoing the edit makes everything pass again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_tmp

ROOT=$T/root.key
DB=$T/a/replica.db

log "=== setup: hub with a district, school a enrolled"
new_hub "$T/hub.git"
ssx h init --node hub --district d1 >/dev/null
ssx h remote add hub "$T/hub.git" >/dev/null
ss h district init --id d1 --name "崇明区" --root-key "$ROOT"
RK=$(printf '%s\n' "$OUT" | sed -n 's/^root public key //p')
P=$(pubkey_of a sch-a)
ssx a remote add hub "$T/hub.git" >/dev/null
ssx a join --district-pubkey "$RK" >/dev/null
ssx h district enroll sch-a --role school --school sch-a --pubkey "$P" --root-key "$ROOT" >/dev/null
ssx h district enroll sch-b --role school --school sch-b --pubkey "$(pubkey_of b sch-b)" --root-key "$ROOT" >/dev/null
ssx h sql "INSERT INTO school(id,name) VALUES ('sch-a','A校')" >/dev/null
sync_ok h >/dev/null
sync_ok a >/dev/null
ssx a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t1','sch-a','张三','中级')" >/dev/null
sync_ok a >/dev/null
assert_ok "a fresh replica verifies" a verify

log "=== a trigger planted with the sqlite3 tool"
sqlite3 "$DB" "CREATE TRIGGER evil AFTER INSERT ON teacher BEGIN INSERT INTO school(id,name) VALUES ('pwned','x'); END;"
assert_fail "verify fails on the planted trigger" a verify --json
assert_contains "... E_TAMPER naming it" "E_TAMPER" "$OUT$ERR"
assert_contains "... names the trigger" "extra trigger evil on teacher" "$OUT$ERR"
assert_eq "... verify --json says tamper" True "$(jget "$OUT" 'j["tamper"]' 2>/dev/null || echo unparsable)"
assert_fail "a local write to the table does not run the trigger" a sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t2','sch-a','李四','中级')"
assert_contains "... the write fails E_TAMPER" "E_TAMPER" "$ERR"
assert_eq "... the trigger never fired" 0 "$(sqlite3 "$DB" "SELECT count(*) FROM school WHERE id='pwned'")"
ssx h sql "INSERT INTO teacher(id,school_id,name,title) VALUES ('sch-a-t9','sch-a','王五','高级')" >/dev/null
sync_ok h >/dev/null
assert_fail "sync refuses to apply remote entries under the trigger" a sync
assert_contains "... E_TAMPER" "E_TAMPER" "$ERR"
assert_eq "... the trigger never fired" 0 "$(sqlite3 "$DB" "SELECT count(*) FROM school WHERE id='pwned'")"
sqlite3 "$DB" "CREATE VIEW v_evil AS SELECT * FROM teacher; CREATE INDEX i_evil ON teacher(name);"
assert_fail "verify lists a view and an index too" a verify
assert_contains "... all three" "extra index i_evil on teacher.*extra trigger evil on teacher.*extra view v_evil" "$ERR"
sqlite3 "$DB" "DROP TRIGGER evil; DROP VIEW v_evil; DROP INDEX i_evil;"
assert_ok "once removed, verify passes" a verify
assert_ok "... and sync applies the hub's entry" a sync
assert_eq "... which arrived" 1 "$(sqlite3 "$DB" "SELECT count(*) FROM teacher WHERE id='sch-a-t9'")"

log "=== the node's own role edited in an internal table"
sqlite3 "$DB" "UPDATE ssync_peer SET role='hub' WHERE node='sch-a'"
assert_fail "verify fails on the edited role" a verify
assert_contains "... E_TAMPER naming the table and row" "ssync_peer holds 'sch-a\|[0-9A-F]+\|hub\|sch-a' where the signed trust data gives 'sch-a\|[0-9A-F]+\|school\|sch-a'.*E_TAMPER" "$ERR"
sqlite3 "$DB" "UPDATE ssync_peer SET role='school' WHERE node='sch-a'"
assert_ok "undone, verify passes" a verify
sqlite3 "$DB" "UPDATE ssync_cert SET school_id='sch-b' WHERE node='sch-a'"
assert_fail "verify fails on an edited certificate row" a verify
assert_contains "... naming ssync_cert" "ssync_cert holds .*E_TAMPER" "$ERR"
sqlite3 "$DB" "UPDATE ssync_cert SET school_id='sch-a' WHERE node='sch-a'"
sqlite3 "$DB" "DELETE FROM ssync_revocation; INSERT INTO ssync_revocation(node,serial,after_seq) VALUES ('hub', 99, 0)"
assert_fail "verify fails on a revocation nobody signed" a verify
assert_contains "... naming ssync_revocation" "ssync_revocation holds 'hub\|99\|0'" "$ERR"
sqlite3 "$DB" "DELETE FROM ssync_revocation"
assert_ok "all undone, verify passes" a verify

log "=== rows removed whole: the newest checkpoints, a certificate (a smaller set that agrees with itself)"
sqlite3 "$DB" ".backup '$T/replica.bak'"
N=$(sqlite3 "$DB" "SELECT max(pos) FROM ssync_witness")
assert_true "a holds the hub's checkpoints" test "${N:-0}" -ge 1
sqlite3 "$DB" "DELETE FROM ssync_witness_head WHERE pos=$N; DELETE FROM ssync_witness WHERE pos=$N"
assert_fail "verify fails on the newest checkpoint removed" a verify
assert_contains "... E_TAMPER naming it against the district branch" "ssync_witness lacks checkpoint $N .*district branch holds.*E_TAMPER" "$ERR"
sqlite3 "$DB" ".restore '$T/replica.bak'"
assert_ok "restored, verify passes" a verify
sqlite3 "$DB" "DELETE FROM ssync_trust_obj WHERE path LIKE 'certs/sch-b.%'; DELETE FROM ssync_cert WHERE node='sch-b';
	DELETE FROM ssync_peer WHERE node='sch-b' AND source='cert'"
assert_fail "verify fails on sch-b's certificate removed with its rows" a verify
assert_contains "... E_TAMPER naming the file" "ssync_trust_obj lacks certs/sch-b\.[0-9]+\.cert .*E_TAMPER" "$ERR"
sqlite3 "$DB" ".restore '$T/replica.bak'"
assert_ok "restored, verify passes" a verify

log "=== homes others can write"
mkdir -p "$T/w" && chmod 777 "$T/w"
assert_fail "init refuses a world-writable home" w init --node sch-w
assert_contains "... E_UNSAFE saying so and how to fix it" "writable by everyone.*E_UNSAFE" "$ERR"
assert_contains "... with the fix" "chmod 700" "$ERR"
assert_eq "... and creates nothing in it" "" "$(ls -A "$T/w")"
chmod 770 "$T/w"
assert_fail "init refuses a group-writable home" w init --node sch-w
assert_contains "... E_UNSAFE" "writable by its group.*E_UNSAFE" "$ERR"
if [ "$(id -u)" = 0 ]; then
	chmod 700 "$T/w" && chown 65534 "$T/w"
	assert_fail "init refuses a home owned by another user" w init --node sch-w
	assert_contains "... E_UNSAFE" "owned by another user.*E_UNSAFE" "$ERR"
	chown 0 "$T/w"
fi
chmod 700 "$T/w"
(umask 000 && "$SSYNC_BIN" --home "$T/w" init --node sch-w >/dev/null)
assert_eq "init under umask 000: home, exchange.git, replica.db, node.key are 700 700 600 600" "700 700 600 600" \
	"$(stat -c %a "$T/w" "$T/w/exchange.git" "$T/w/replica.db" "$T/w/node.key" | tr '\n' ' ' | sed 's/ $//')"
chmod 777 "$T/w"
assert_fail "every command refuses the home once others can write it" w status
assert_contains "... E_UNSAFE" "E_UNSAFE" "$ERR"
chmod 700 "$T/w"
assert_ok "... and works again after chmod 700" w status

summary
