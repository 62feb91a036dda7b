/* `reenter` (docs/TRUST.md §10a). The mark (sync/lost.c): a re-entry's
 * actor names the lost entry it replaces; that is how a second run knows it
 * is done, so it must survive any clerk name and never be read where it is
 * not. The plan (domain/reenter.c): lost lines of a history the log no
 * longer holds (here E_ROLLBACK, as sync --adopt-remote leaves them) are
 * written again cell by cell, never over a cell changed since, with a prev
 * naming an earlier lost entry resolved to that entry's re-entry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers_core.h"
#include "log_int.h"
#include "lost_int.h"
#include "schoolsync/reenter.h"
#include "store_int.h"

static void fill(unsigned char h[SSYNC_HASH_BYTES], unsigned char v)
{
	int i;

	for (i = 0; i < SSYNC_HASH_BYTES; i++)
		h[i] = (unsigned char)(v + i);
}

static void test_reenter__mark_round_trip(void **state)
{
	unsigned char h[SSYNC_HASH_BYTES], got[SSYNC_HASH_BYTES];
	char actor[SSYNC_ACTOR_MAX + 1];

	(void)state;
	fill(h, 7);
	ssync_lost__actor(actor, sizeof(actor), "教务处 王老师", h);
	assert_non_null(strstr(actor, "教务处 王老师 (reenter 0708"));
	assert_int_equal(ssync_lost__marker(actor, got), 1);
	assert_memory_equal(got, h, SSYNC_HASH_BYTES);
}

static void test_reenter__long_name_cut_at_a_character(void **state)
{
	unsigned char h[SSYNC_HASH_BYTES], got[SSYNC_HASH_BYTES];
	char name[400], actor[SSYNC_ACTOR_MAX + 1];
	size_t i, n;

	(void)state;
	fill(h, 200);
	/* 3-byte characters: a cut at the byte bound would split one */
	for (i = 0; i + 3 < sizeof(name); i += 3)
		memcpy(name + i, "王", 3);
	name[i] = 0;
	ssync_lost__actor(actor, sizeof(actor), name, h);
	n = strlen(actor);
	assert_true(n <= SSYNC_ACTOR_MAX);
	assert_int_equal((n - strlen(SSYNC_REENTER_MARK) - 65) % 3, 0);
	assert_int_equal(ssync_lost__marker(actor, got), 1);
	assert_memory_equal(got, h, SSYNC_HASH_BYTES);
}

static void test_reenter__no_mark_where_none_is(void **state)
{
	unsigned char got[SSYNC_HASH_BYTES];

	(void)state;
	assert_int_equal(ssync_lost__marker("clerk", got), 0);
	assert_int_equal(ssync_lost__marker("", got), 0);
	assert_int_equal(ssync_lost__marker(NULL, got), 0);
	/* not hex, wrong length, not at the end */
	assert_int_equal(ssync_lost__marker("a (reenter zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f)", got), 0);
	assert_int_equal(ssync_lost__marker("a (reenter 0102)", got), 0);
	assert_int_equal(ssync_lost__marker("a (reenter 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f) x", got), 0);
	assert_int_equal(ssync_lost__marker("a (reenter 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f)", got), 1);
}

#define TEACHER(id, no, name) "INSERT INTO teacher(id,school_id,staff_no,name,title,birth_year,joined_year) " \
	"VALUES ('" id "','sch-a','" no "','" name "','初级',1980,2010)"

static char *name_of(ssync_node *n, const char *id)
{
	char sql[200], *out = NULL;
	sqlite3_stmt *q;

	snprintf(sql, sizeof(sql), "SELECT name || '|' || ifnull(subject, '') FROM teacher WHERE id='%s'", id);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(n)), sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		out = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return out ? out : strdup("none");
}

/* Entry @p seq of @p from, kept in @p to's quarantine as E_ROLLBACK. */
static void discard_into(ssync_node *from, int64_t seq, ssync_node *to)
{
	ssync_entry *e = NULL;
	ssync_error err;
	sqlite3_stmt *q;
	char *line = NULL;
	size_t len = 0;
	int state = 0;

	ssync_error_clear(&err);
	assert_int_equal(ssync_log__get(ssync_node_store(from), "sch-a", seq, &e, &state, &err), 0);
	assert_int_equal(ssync_entry_line(e, &line, &len, &err), 0);
	assert_int_equal(sqlite3_prepare_v2(ssync_store__db(ssync_node_store(to)), "INSERT INTO ssync_quarantine(node, seq, code, "
		"reason, line, source, received) VALUES ('sch-a', ?, 'E_ROLLBACK', 'discarded', ?, 'test', '2026-12-07T00:00:00Z')",
		-1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, seq);
	sqlite3_bind_text(q, 2, line, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	free(line);
	ssync_entry_free(e);
}

static json_t *run(ssync_node *n, int apply)
{
	ssync_reenter_opts o = SSYNC_REENTER_OPTS_INIT;
	ssync_error err;
	char *rep = NULL;
	json_t *j;

	o.apply = apply;
	ssync_error_clear(&err);
	if (ssync_reenter(n, &o, &rep, &err) != 0)
		fail_msg("reenter: %s", err.message);
	j = json_loads(rep, 0, NULL);
	free(rep);
	assert_non_null(j);
	return j;
}

static const char *status_of(json_t *rep, size_t i)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(rep, "entries"), i), "status"));
}

static void test_reenter__discarded_history_reentered_without_clobbering(void **state)
{
	th_fx *fx = *state;
	char *copy = malloc(strlen(fx->dir) + 8), *v;
	ssync_node *c;
	json_t *rep, *cell;

	/* seq 1: the zone and school; seq 2: a teacher */
	th_sql(fx->n, "INSERT INTO zone(id,name) VALUES ('z1','崇西'); INSERT INTO school(id,name,zone_id,stage,students) "
		"VALUES ('sch-a','甲校','z1','primary',100)");
	th_sql(fx->n, TEACHER("sch-a-1", "A1", "one"));
	ssync_node_free(fx->n);
	sprintf(copy, "%s/copy", fx->dir);
	th_copy_tree(fx->home, copy);
	fx->n = th_open(fx->home);
	c = th_open(copy);
	/* another history from seq 3 on (an old copy that wrote, later discarded) */
	th_sql(c, "UPDATE teacher SET name='two' WHERE id='sch-a-1'");         /* 3: prevs sch-a#2 */
	th_sql(c, TEACHER("sch-a-2", "A2", "new"));                             /* 4 */
	th_sql(c, "UPDATE teacher SET name='newer' WHERE id='sch-a-2'");       /* 5: prevs sch-a#4, its own 4 */
	th_sql(c, "UPDATE teacher SET subject='物理' WHERE id='sch-a-1'");      /* 6: prevs sch-a#2 */
	/* this home's own seq 3 changes the subject meanwhile */
	th_sql(fx->n, "UPDATE teacher SET subject='化学' WHERE id='sch-a-1'");
	for (int64_t s = 3; s <= 6; s++)
		discard_into(c, s, fx->n);
	ssync_node_free(c);

	rep = run(fx->n, 0);
	/* four listed; three would write, 6's only cell changed since */
	assert_int_equal(json_array_size(json_object_get(rep, "entries")), 4);
	assert_int_equal(json_integer_value(json_object_get(rep, "pending")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(rep, "entries"), 0), "kind")), "rollback");
	cell = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(rep, "entries"), 3),
		"ops"), 0), "cells"), 0);
	assert_string_equal(json_string_value(json_object_get(cell, "column")), "subject");
	assert_string_equal(json_string_value(json_object_get(cell, "result")), "changed");
	json_decref(rep);

	rep = run(fx->n, 1);
	/* 3, 4, 5 written (5's prev sch-a#4 is the copy's 4: its re-entry, not
	 * this log's seq 4); 6 has nothing it may write */
	assert_int_equal(json_integer_value(json_object_get(rep, "written")), 3);
	assert_string_equal(status_of(rep, 2), "written");
	assert_string_equal(status_of(rep, 3), "nothing");
	assert_int_equal(json_integer_value(json_object_get(rep, "pending")), 0);
	json_decref(rep);
	{
		/* nothing left for status to ask about: 6 is settled in this home */
		int64_t left = -1;
		ssync_error err;
		ssync_error_clear(&err);
		assert_int_equal(ssync_lost__pending(ssync_node_store(fx->n), "sch-a", &left, &err), 0);
		assert_int_equal(left, 0);
	}
	v = name_of(fx->n, "sch-a-1");
	assert_string_equal(v, "two|化学");
	free(v);
	v = name_of(fx->n, "sch-a-2");
	assert_string_equal(v, "newer|");
	free(v);
	assert_int_equal(th_count(fx->n, "SELECT count(*) FROM ssync_entry WHERE node='sch-a'"), 6);

	/* again: nothing more */
	rep = run(fx->n, 1);
	assert_int_equal(json_integer_value(json_object_get(rep, "written")), 0);
	assert_string_equal(status_of(rep, 0), "done");
	assert_string_equal(status_of(rep, 2), "done");
	assert_string_equal(status_of(rep, 3), "nothing");
	json_decref(rep);
	assert_int_equal(th_count(fx->n, "SELECT count(*) FROM ssync_entry WHERE node='sch-a'"), 6);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reenter__mark_round_trip),
		cmocka_unit_test(test_reenter__long_name_cut_at_a_character),
		cmocka_unit_test(test_reenter__no_mark_where_none_is),
		cmocka_unit_test_setup_teardown(test_reenter__discarded_history_reentered_without_clobbering, th_fx_setup,
			th_fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
