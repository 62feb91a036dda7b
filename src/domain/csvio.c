/* CSV import and export (libcsv) of the domain tables.
 *
 * Import is all or nothing: the whole file is read, every row is checked
 * (values, references, the table's rules, and against the other rows of the
 * same file), and only a file without a single problem is written, in one
 * ssync_node_sql_bound() call: the rows travel as one bound JSON array into
 * INSERT ... SELECT FROM json_each(?1), so no value is ever spliced into
 * SQL and the write is one transaction of signed entries.
 *
 * Lines: libcsv does not count lines, so the file is fed one physical line
 * at a time and a record's line is the first non-blank line fed after the
 * previous record ended (quoted fields may span lines). Duplicates inside
 * the file are found with an in-memory SQLite database, separate from the
 * replica. Workload: a school's list, 10^3-10^4 rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>
#include <sqlite3.h>

#include "csvenc_int.h"
#include "domain_int.h"
#include "schoolsync/csvio.h"
#include "schoolsync/entry.h"
#include "schoolsync/privacy.h"
#include "schoolsync/trust.h"

/* ---- reading ---- */

typedef struct rec {
	long line;
	int n;
	char **f;
} rec;

typedef struct reader {
	rec *v;
	long n, cap;
	char **cur;     /* fields of the record being read */
	int ncur, capcur;
	long line;      /* physical line being fed */
	long start;     /* first line of the record being read, 0 = none yet */
	int oom;
} reader;

static void on_field(void *s, size_t len, void *p)
{
	reader *r = p;
	char *f;

	if (r->oom)
		return;
	if (r->ncur == r->capcur) {
		int cap = r->capcur ? r->capcur * 2 : 16;
		char **nv = realloc(r->cur, (size_t)cap * sizeof(char *));
		if (!nv) {
			r->oom = 1;
			return;
		}
		r->cur = nv;
		r->capcur = cap;
	}
	if (!(f = malloc(len + 1))) {
		r->oom = 1;
		return;
	}
	if (len)
		memcpy(f, s, len);
	f[len] = 0;
	r->cur[r->ncur++] = f;
}

static void on_record(int c, void *p)
{
	reader *r = p;
	rec *x;

	(void)c;
	if (r->oom)
		return;
	if (r->n == r->cap) {
		long cap = r->cap ? r->cap * 2 : 256;
		rec *nv = realloc(r->v, (size_t)cap * sizeof(rec));
		if (!nv) {
			r->oom = 1;
			return;
		}
		r->v = nv;
		r->cap = cap;
	}
	x = &r->v[r->n++];
	x->line = r->start ? r->start : r->line;
	x->n = r->ncur;
	x->f = r->cur;
	r->cur = NULL;
	r->ncur = r->capcur = 0;
	r->start = 0;
}

static void reader_free(reader *r)
{
	long i;
	int j;

	for (i = 0; i < r->n; i++) {
		for (j = 0; j < r->v[i].n; j++)
			free(r->v[i].f[j]);
		free(r->v[i].f);
	}
	for (j = 0; j < r->ncur; j++)
		free(r->cur[j]);
	free(r->cur);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static int read_csv(const char *path, const char *encoding, char used[16], reader *r, long *bad_line,
	ssync_error *err)
{
	struct csv_parser p;
	FILE *f = NULL;
	char *line = NULL, *text = NULL;
	size_t cap = 0, tlen = 0;
	ssize_t len;
	int error = 0, inited = 0;

	*bad_line = 0;
	/* The whole file as UTF-8 (converted from GB18030 if it is that, see
	 * csvenc.c), then parsed line by line as before. */
	if ((error = ssync_csvio__decode(path, encoding, &text, &tlen, used, err)) < 0)
		return error;
	if (!(f = tlen ? fmemopen(text, tlen, "rb") : fopen("/dev/null", "rb"))) {
		ssync_error_set(err, SSYNC_EIO, "read %s: %s", path, strerror(errno));
		free(text);
		return err ? err->code : SSYNC_EIO;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		error = ssync_error_set(err, SSYNC_ERROR, "csv_init failed");
		goto done;
	}
	inited = 1;
	while ((len = getline(&line, &cap, f)) > 0) {
		const char *s = line;
		size_t n = (size_t)len;
		r->line++;
		if (r->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3; /* UTF-8 byte order mark, as Excel writes it */
			n -= 3;
		}
		if (!r->start && !is_blank(s, n))
			r->start = r->line;
		/* fields are C strings: a NUL would cut the value silently */
		if (memchr(s, '\0', n)) {
			*bad_line = r->line;
			error = ssync_error_set(err, SSYNC_EINVAL, "%s line %ld: a NUL byte is not text (a file "
				"saved as UTF-16, or binary data?): save the sheet as CSV UTF-8", path, *bad_line);
			goto done;
		}
		if (csv_parse(&p, s, n, on_field, on_record, r) != n) {
			*bad_line = r->start ? r->start : r->line;
			error = ssync_error_set(err, SSYNC_EINVAL, "%s line %ld: %s (a quote \" inside a field must be doubled)",
				path, *bad_line, csv_strerror(csv_error(&p)));
			goto done;
		}
		if (r->oom)
			break;
	}
	if (ferror(f)) {
		error = ssync_error_set(err, SSYNC_EIO, "read %s: %s", path, strerror(errno));
		goto done;
	}
	if (csv_fini(&p, on_field, on_record, r) != 0) {
		*bad_line = r->start ? r->start : r->line;
		error = ssync_error_set(err, SSYNC_EINVAL, "%s line %ld: a quoted field is not closed before the end of the file",
			path, *bad_line);
		goto done;
	}
	if (r->oom)
		error = ssync_error_set(err, SSYNC_ERROR, "out of memory reading %s", path);
done:
	if (inited)
		csv_free(&p);
	free(line);
	fclose(f);
	free(text);
	return error;
}

/* ---- problems ---- */

static int add_problem(ssync_import_result *res, long line, int column, const char *colname, const char *msg)
{
	ssync_import_problem *p;

	if ((res->nproblems & (res->nproblems - 1)) == 0) {
		long cap = res->nproblems ? res->nproblems * 2 : 8;
		ssync_import_problem *nv = realloc(res->problems, (size_t)cap * sizeof(*nv));
		if (!nv)
			return -1;
		res->problems = nv;
	}
	p = &res->problems[res->nproblems++];
	p->line = line;
	p->column = column;
	snprintf(p->column_name, sizeof(p->column_name), "%s", colname ? colname : "");
	snprintf(p->message, sizeof(p->message), "%s", msg);
	return 0;
}

static int cmp_problem(const void *a, const void *b)
{
	const ssync_import_problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->column - y->column;
}

void ssync_csvio_result_clear(ssync_import_result *res)
{
	if (!res)
		return;
	free(res->problems);
	memset(res, 0, sizeof(*res));
}

/* ---- checks across the rows of the file ---- */

/* In-memory table of keys: kind, line, csv column, k1..k4. */
static int pending_open(sqlite3 **db)
{
	if (sqlite3_open(":memory:", db) != SQLITE_OK)
		return -1;
	return sqlite3_exec(*db, "CREATE TABLE p(kind TEXT, line INTEGER, col INTEGER, k1 TEXT, k2 TEXT, k3 TEXT, k4 TEXT);"
		"CREATE INDEX p_k ON p(kind, k1, k2)", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int pending_add(sqlite3_stmt *ins, const char *kind, long line, int col, const char *k1,
	const char *k2, const char *k3, const char *k4)
{
	int rc;

	sqlite3_reset(ins);
	sqlite3_bind_text(ins, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, line);
	sqlite3_bind_int(ins, 3, col);
	sqlite3_bind_text(ins, 4, k1, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 5, k2, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 6, k3, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 7, k4, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(ins);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Both lines of every pair that clashes are named. */
static int pending_report(sqlite3 *db, const char *sql, const char *fmt, const rec *hdr,
	ssync_import_result *res)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		long la = sqlite3_column_int64(q, 0), lb = sqlite3_column_int64(q, 1);
		int col = sqlite3_column_int(q, 2);
		const char *key = (const char *)sqlite3_column_text(q, 3);
		const char *cname = col > 0 && col <= hdr->n ? hdr->f[col - 1] : "";
		char msg[400];
		snprintf(msg, sizeof(msg), fmt, key ? key : "", lb);
		if (add_problem(res, la, col, cname, msg) < 0)
			break;
		snprintf(msg, sizeof(msg), fmt, key ? key : "", la);
		if (add_problem(res, lb, col, cname, msg) < 0)
			break;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int check_pending(sqlite3 *db, const rec *hdr, ssync_import_result *res)
{
	if (pending_report(db, "SELECT a.line, b.line, a.col, a.k1 FROM p a JOIN p b ON b.kind = a.kind AND b.k1 = a.k1 "
		"AND b.line > a.line WHERE a.kind = 'id' ORDER BY a.line",
		"id %s is also on line %ld", hdr, res) < 0 ||
	    pending_report(db, "SELECT a.line, b.line, a.col, a.k1 FROM p a JOIN p b ON b.kind = a.kind AND b.k1 = a.k1 "
		"AND b.line > a.line WHERE a.kind = 'uniq' ORDER BY a.line",
		"%s is also on line %ld (must be unique)", hdr, res) < 0 ||
	    pending_report(db, "SELECT a.line, b.line, a.col, a.k1 || ' in ' || a.k2 FROM p a JOIN p b ON b.kind = a.kind "
		"AND b.k1 = a.k1 AND b.k2 = a.k2 AND b.line > a.line WHERE a.kind = 'rot' ORDER BY a.line",
		"teacher %s: another rotation on line %ld (one rotation per teacher and term)", hdr, res) < 0 ||
	    pending_report(db, "SELECT a.line, b.line, a.col, a.k1 || ' on ' || a.k2 FROM p a JOIN p b ON b.kind = a.kind "
		"AND b.k1 = a.k1 AND b.k2 = a.k2 AND b.line > a.line AND b.k3 < a.k4 AND a.k3 < b.k4 "
		"WHERE a.kind = 'book' ORDER BY a.line",
		"booking of %s overlaps the booking on line %ld", hdr, res) < 0)
		return -1;
	return 0;
}

/* ---- import ---- */

static int add_row_json(json_t *rows, const char *id, const ssync_drow *row, int nf)
{
	json_t *a = json_array();
	int i;

	if (!a || json_array_append_new(a, json_string(id)) != 0) {
		json_decref(a);
		return -1;
	}
	for (i = 0; i < nf; i++)
		if (json_array_append_new(a, row->vals[i] ? json_string(row->vals[i]) : json_null()) != 0) {
			json_decref(a);
			return -1;
		}
	return json_array_append_new(rows, a);
}

static char *insert_sql(const ssync_table_spec *t)
{
	size_t cap = 128 + (size_t)t->nfields * 64;
	char *sql = malloc(cap), *p;
	int i;

	if (!sql)
		return NULL;
	/* Identifiers from the compiled-in spec; values only through ?1. */
	p = sql + snprintf(sql, cap, "INSERT INTO \"%s\"(\"id\"", t->name);
	for (i = 0; i < t->nfields; i++)
		p += snprintf(p, cap - (size_t)(p - sql), ", \"%s\"", t->fields[i].name);
	p += snprintf(p, cap - (size_t)(p - sql), ") SELECT json_extract(value, '$[0]')");
	for (i = 0; i < t->nfields; i++)
		p += snprintf(p, cap - (size_t)(p - sql), ", json_extract(value, '$[%d]')", i + 1);
	snprintf(p, cap - (size_t)(p - sql), " FROM json_each(?1)");
	return sql;
}

int ssync_csvio_import(ssync_node *n, const char *table, const char *path, const ssync_import_options *opts,
	ssync_import_result *res, ssync_error *err)
{
	const ssync_import_options defaults = SSYNC_IMPORT_OPTIONS_INIT;
	const ssync_table_spec *t = ssync_domain_table(table);
	reader r;
	ssync_dctx c;
	ssync_drow *row = NULL;
	sqlite3 *pend = NULL;
	sqlite3_stmt *ins = NULL, *exists = NULL;
	json_t *rows = NULL;
	ssync_privacy_batch *batch = NULL;
	char *sql = NULL, *json = NULL;
	int map[64], idcol = -1, error = 0, i, j;
	int owner_default = 0;
	char own[SSYNC_NODE_ID_MAX + 1] = "";
	long k, bad_line = 0, step;
	char msg[700];
	int (*progress)(const char *, long, long, void *) = NULL;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	if (!opts)
		opts = &defaults;
	if (opts->version >= 3)
		progress = opts->progress;
	ssync_domain__ctx_init(&c, ssync_node_store(n), t);
	if (!t) {
		error = ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
		goto done;
	}
	if (opts->school_id && t->owned && !ssync_ident_node_valid(opts->school_id)) {
		error = ssync_error_set(err, SSYNC_EINVAL, "invalid school id '%s'", opts->school_id);
		goto done;
	}
	if ((error = read_csv(path, opts->version >= 2 ? opts->encoding : NULL, res->encoding, &r, &bad_line, err)) < 0) {
		if (bad_line)
			(void)add_problem(res, bad_line, 0, "", err ? err->message : "CSV syntax error");
		goto done;
	}
	if (r.n == 0) {
		error = ssync_error_set(err, SSYNC_EINVAL, "%s is empty: the first row must name the columns", path);
		goto done;
	}
	/* Header: map each file column to a field (or the id). */
	{
		const rec *h = &r.v[0];
		int seen[SSYNC_DOMAIN_MAX_FIELDS] = { 0 };
		if (h->n > 64) {
			error = ssync_error_set(err, SSYNC_EINVAL, "%s: %d columns; %s has %d", path, h->n, t->name, t->nfields + 1);
			goto done;
		}
		for (j = 0; j < h->n; j++) {
			const char *name = h->f[j];
			size_t len = strlen(name);
			/* Header cells may carry spaces from spreadsheets. */
			while (len && (name[len - 1] == ' ' || name[len - 1] == '\r'))
				h->f[j][--len] = 0;
			while (*name == ' ')
				name++;
			map[j] = -2;
			if (strcmp(name, "id") == 0 || strcmp(name, "编号") == 0) {
				if (idcol >= 0)
					snprintf(msg, sizeof(msg), "column '%s' appears twice", name);
				else
					idcol = j;
				if (idcol != j && add_problem(res, h->line, j + 1, name, msg) < 0)
					goto oom;
				map[j] = -1;
				continue;
			}
			if ((i = ssync_domain_field_index(t, name)) < 0) {
				char list[900];
				size_t o = 0;
				int q;
				for (q = 0; q < t->nfields && o < sizeof(list); q++)
					o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s (%s)", q ? ", " : "",
						t->fields[q].name, t->fields[q].label);
				snprintf(msg, sizeof(msg), "unknown column '%.60s'; %s has: id, %.500s", name, t->name, list);
			} else if (seen[i]) {
				snprintf(msg, sizeof(msg), "column %s appears twice", t->fields[i].name);
				i = -1;
			} else {
				seen[i] = 1;
				map[j] = i;
				continue;
			}
			if (add_problem(res, h->line, j + 1, name, msg) < 0)
				goto oom;
		}
		for (i = 0; i < t->nfields; i++) {
			if (seen[i] || !t->fields[i].required)
				continue;
			if (t->owned && i == 0 && opts->school_id) {
				owner_default = 1;
				continue;
			}
			snprintf(msg, sizeof(msg), "required column %s (%s) is missing", t->fields[i].name, t->fields[i].label);
			if (t->owned && i == 0)
				snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; or give --school");
			if (add_problem(res, h->line, 0, "", msg) < 0)
				goto oom;
		}
		if (res->nproblems)
			goto problems;
		(void)owner_default;
	}
	if (!(row = malloc(sizeof(*row))) || !(rows = json_array()) || pending_open(&pend) < 0 ||
	    sqlite3_prepare_v2(pend, "INSERT INTO p VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &ins, NULL) != SQLITE_OK)
		goto oom;
	{
		char sqlx[128];
		snprintf(sqlx, sizeof(sqlx), "SELECT 1 FROM \"%s\" WHERE id = ?1", t->name);
		if (sqlite3_prepare_v2(c.db, sqlx, -1, &exists, NULL) != SQLITE_OK) {
			error = ssync_error_set(err, SSYNC_ERROR, "prepare: %s", sqlite3_errmsg(c.db));
			goto done;
		}
	}
	/* A managed school writes only its own rows (POLICY.md "Ownership"):
	 * a row of another school is named by line here, not refused whole
	 * by the writer after the checks (and, for private rows, the sealing). */
	if (t->owned && ssync_trust_managed(ssync_node_store(n)) && ssync_domain_node_school(n, own, sizeof(own), NULL) < 0)
		own[0] = 0;
	if (sqlite3_exec(pend, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto oom;
	step = r.n / 100 > 256 ? r.n / 100 : 256;
	for (k = 1; k < r.n; k++) {
		if (progress && (k - 1) % step == 0 && progress("check", k - 1, r.n - 1, opts->progress_payload) != 0)
			goto cancelled;
		const rec *x = &r.v[k];
		const char *raw[SSYNC_DOMAIN_MAX_FIELDS] = { NULL };
		int colof[SSYNC_DOMAIN_MAX_FIELDS], bad = 0, all_empty = 1, bf = -1, rc;
		char why[600], newid[160];
		const char *id = NULL;

		for (j = 0; j < x->n; j++)
			if (x->f[j][0] && !is_blank(x->f[j], strlen(x->f[j])))
				all_empty = 0;
		if (all_empty)
			continue; /* trailing ",,,," rows of a spreadsheet */
		res->rows++;
		if (x->n != r.v[0].n) {
			snprintf(msg, sizeof(msg), "row has %d fields, the header has %d", x->n, r.v[0].n);
			if (add_problem(res, x->line, 0, "", msg) < 0)
				goto oom;
			continue;
		}
		for (i = 0; i < t->nfields; i++)
			colof[i] = 0;
		for (j = 0; j < x->n; j++) {
			if (map[j] >= 0) {
				raw[map[j]] = x->f[j];
				colof[map[j]] = j + 1;
			} else if (map[j] == -1) {
				id = x->f[j][0] ? x->f[j] : NULL;
			}
		}
		if (t->owned && opts->school_id && (!raw[0] || !raw[0][0]))
			raw[0] = opts->school_id;
		/* Every bad cell of the row, not only the first. */
		for (i = 0; i < t->nfields; i++) {
			int is_null;
			row->vals[i] = NULL;
			if (ssync_domain_normalize(&t->fields[i], raw[i], row->buf[i], sizeof(row->buf[i]), &is_null,
				why, sizeof(why)) < 0) {
				snprintf(msg, sizeof(msg), "%s: %s", t->fields[i].name, why);
				if (add_problem(res, x->line, colof[i], colof[i] ? r.v[0].f[colof[i] - 1] : "", msg) < 0)
					goto oom;
				bad = 1;
			} else if (!is_null) {
				row->vals[i] = row->buf[i];
			}
		}
		if (bad)
			continue;
		if (own[0] && row->vals[0] && strcmp(row->vals[0], own) != 0) {
			snprintf(msg, sizeof(msg), "a row of school %.64s: this node speaks for %.64s, and only that school or the "
				"hub writes its rows (E_PERM)", row->vals[0], own);
			if (add_problem(res, x->line, colof[0], colof[0] ? r.v[0].f[colof[0] - 1] : "", msg) < 0)
				goto oom;
			continue;
		}
		if ((rc = ssync_domain__check_row(&c, row, &bf, why, sizeof(why))) < 0) {
			if (rc == SSYNC_ERROR) {
				error = ssync_error_set(err, SSYNC_ERROR, "line %ld: %s", x->line, why);
				goto done;
			}
			if (add_problem(res, x->line, bf >= 0 ? colof[bf] : 0, bf >= 0 && colof[bf] ? r.v[0].f[colof[bf] - 1] : "",
				why) < 0)
				goto oom;
			continue;
		}
		if (id) {
			while (*id == ' ')
				id++;
			snprintf(newid, sizeof(newid), "%s", id);
			if (t->code_ids ? !ssync_ident_node_valid(newid) : (strlen(newid) > 128 || strpbrk(newid, " \t\"'\\"))) {
				snprintf(msg, sizeof(msg), "'%.60s' is not a valid id", newid);
				if (add_problem(res, x->line, idcol + 1, r.v[0].f[idcol], msg) < 0)
					goto oom;
				continue;
			}
			if (ssync_domain__id_owned_ok(t, row, newid, msg, sizeof(msg)) < 0) {
				if (add_problem(res, x->line, idcol + 1, r.v[0].f[idcol], msg) < 0)
					goto oom;
				continue;
			}
			sqlite3_reset(exists);
			sqlite3_bind_text(exists, 1, newid, -1, SQLITE_STATIC);
			if ((rc = sqlite3_step(exists)) != SQLITE_ROW && rc != SQLITE_DONE) {
				/* a busy look-up must not pass for "no such id" */
				error = ssync_store__dberr(c.db, err, "look up ids");
				goto done;
			}
			if (rc == SQLITE_ROW) {
				snprintf(msg, sizeof(msg), "%s %s exists already", t->name, newid);
				if (add_problem(res, x->line, idcol + 1, r.v[0].f[idcol], msg) < 0)
					goto oom;
				continue;
			}
			sqlite3_reset(exists);
		} else if (t->code_ids) {
			if (add_problem(res, x->line, 0, "", "an id code is required for this table") < 0)
				goto oom;
			continue;
		} else if ((error = ssync_domain_new_id(t->owned ? row->vals[0] : NULL, newid, sizeof(newid), err)) < 0) {
			goto done;
		}
		/* Keys the other rows of the file must not repeat. */
		if (pending_add(ins, "id", x->line, idcol + 1, newid, NULL, NULL, NULL) < 0)
			goto oom;
		if (t->unique) {
			int u = ssync_domain_field_index(t, t->unique);
			if (row->vals[u] && pending_add(ins, "uniq", x->line, colof[u], row->vals[u], NULL, NULL, NULL) < 0)
				goto oom;
		}
		if (strcmp(t->name, "rotation") == 0 && !(row->vals[6] && strcmp(row->vals[6], "rejected") == 0) && pending_add(ins, "rot", x->line,
			colof[ssync_domain_field_index(t, "term")], row->vals[1], row->vals[5], NULL, NULL) < 0)
			goto oom;
		if (strcmp(t->name, "booking") == 0 && pending_add(ins, "book", x->line, colof[3],
			row->vals[1], row->vals[2], row->vals[3], row->vals[4]) < 0)
			goto oom;
		if (!res->nproblems && add_row_json(rows, newid, row, t->nfields) < 0)
			goto oom;
	}
	if (sqlite3_exec(pend, "COMMIT", NULL, NULL, NULL) != SQLITE_OK || check_pending(pend, &r.v[0], res) < 0)
		goto oom;
	if (res->nproblems)
		goto problems;
	if (progress && progress("check", r.n - 1, r.n - 1, opts->progress_payload) != 0)
		goto cancelled;
	if (opts->dry_run || json_array_size(rows) == 0)
		goto done;
	/* Private columns (student_archive) are encrypted as add does: their
	 * new data keys wait in one keys.db transaction (docs/PRIVACY.md). */
	if (t->priv && (error = ssync_archive__seal_rows(n, t, rows, &batch, err)) < 0)
		goto done;
	/* The last point to stop: past it the one transaction commits whole. */
	if (progress && progress("write", 0, (long)json_array_size(rows), opts->progress_payload) != 0)
		goto cancelled;
	if (!(sql = insert_sql(t)) || !(json = json_dumps(rows, JSON_COMPACT)))
		goto oom;
	/* keys before the values that need them (the replica's own rule) */
	if (batch && (error = ssync_privacy_batch_commit(batch, err)) < 0)
		goto done;
	{
		ssync_write_result wr;
		const char *params[1] = { json };
		ssync_domain__warm_json(c.db);
		if ((error = ssync_node_sql_bound(n, sql, 1, params, opts->actor, NULL, NULL, &wr, err)) < 0) {
			/* nothing written: the data keys made for it go too */
			if (batch)
				(void)ssync_privacy_batch_drop(batch, NULL);
			goto done;
		}
		res->inserted = (long)json_array_size(rows);
		res->entries = wr.entries;
		res->first_seq = wr.first_seq;
		res->last_seq = wr.last_seq;
		if (progress)
			(void)progress("write", res->inserted, res->inserted, opts->progress_payload);
	}
	goto done;
cancelled:
	error = ssync_error_set(err, SSYNC_ECANCELLED, "import of %s cancelled: nothing was imported", path);
	goto done;
problems:
	qsort(res->problems, (size_t)res->nproblems, sizeof(*res->problems), cmp_problem);
	{
		long lines = 0, last = -1;
		for (k = 0; k < res->nproblems; k++)
			if (res->problems[k].line != last) {
				lines++;
				last = res->problems[k].line;
			}
		error = ssync_error_set(err, SSYNC_EINVAL, "%s: %ld problem%s on %ld line%s; nothing was imported",
			path, res->nproblems, res->nproblems == 1 ? "" : "s", lines, lines == 1 ? "" : "s");
		ssync_error_hint(err, "fix the lines named and import the whole file again");
	}
	goto done;
oom:
	error = ssync_error_set(err, SSYNC_ERROR, "out of memory importing %s", path);
done:
	if (exists)
		sqlite3_finalize(exists);
	sqlite3_finalize(ins);
	if (pend)
		sqlite3_close(pend);
	ssync_domain__ctx_free(&c);
	ssync_privacy_batch_free(batch); /* rolls back keys of a cancelled import */
	json_decref(rows);
	free(json);
	free(sql);
	free(row);
	reader_free(&r);
	return error;
}

/* ---- export ---- */

int ssync_csvio_write_row(ssync_write_cb cb, void *payload, int n, const char *const *values)
{
	char small[512], *buf;
	int i;

	for (i = 0; i < n; i++) {
		const char *v = values[i] ? values[i] : "";
		size_t len = strlen(v), need;
		int formula = v[0] == '=' || v[0] == '+' || v[0] == '@' ||
			(v[0] == '-' && !(v[1] >= '0' && v[1] <= '9'));
		if (i > 0 && cb(",", 1, payload) != 0)
			return -1;
		if (formula && cb("'", 1, payload) != 0)
			return -1;
		if (!strpbrk(v, ",\"\r\n") && !(len && (v[0] == ' ' || v[len - 1] == ' '))) {
			if (len && cb(v, len, payload) != 0)
				return -1;
			continue;
		}
		/* libcsv quotes the field and doubles its quotes. */
		need = 2 * len + 2;
		buf = need <= sizeof(small) ? small : malloc(need);
		if (!buf)
			return -1;
		need = csv_write(buf, need, v, len);
		if (cb(buf, need, payload) != 0) {
			if (buf != small)
				free(buf);
			return -1;
		}
		if (buf != small)
			free(buf);
	}
	return cb("\r\n", 2, payload);
}

typedef struct export_ctx {
	int format;
	ssync_write_cb cb;
	void *payload;
	long rows;
	int failed;
} export_ctx;

static int export_row(int ncols, const char *const *names, const char *const *vals, const int *types, void *p)
{
	export_ctx *x = p;
	int i;

	if (x->format == SSYNC_FORMAT_CSV) {
		if (x->rows == 0 && ssync_csvio_write_row(x->cb, x->payload, ncols, names) != 0)
			return x->failed = 1;
		if (ssync_csvio_write_row(x->cb, x->payload, ncols, vals) != 0)
			return x->failed = 1;
	} else {
		json_t *o = json_object();
		char *s;
		if (!o)
			return x->failed = 1;
		for (i = 0; i < ncols; i++) {
			json_t *v = !vals[i] ? json_null() : types[i] == SSYNC_TYPE_INTEGER ? json_integer(strtoll(vals[i], NULL, 10)) :
				types[i] == SSYNC_TYPE_FLOAT ? json_real(strtod(vals[i], NULL)) : json_string(vals[i]);
			json_object_set_new(o, names[i], v ? v : json_null());
		}
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (!s || x->cb(x->rows ? ",\n  " : "\n  ", x->rows ? 4 : 3, x->payload) != 0 ||
		    x->cb(s, strlen(s), x->payload) != 0) {
			free(s);
			return x->failed = 1;
		}
		free(s);
	}
	x->rows++;
	return 0;
}

int ssync_csvio_export(ssync_node *n, const char *table, int format, ssync_write_cb cb, void *payload, ssync_error *err)
{
	const ssync_table_spec *t = ssync_domain_table(table);
	export_ctx x = { format, cb, payload, 0, 0 };
	int error;

	if (!t)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown table '%s'", table ? table : "");
	if (t->priv) {
		ssync_error_set(err, SSYNC_EPERM, "%s is private (student data): it is never exported", t->name);
		return SSYNC_EPERM;
	}
	if (format != SSYNC_FORMAT_CSV && format != SSYNC_FORMAT_JSON)
		return ssync_error_set(err, SSYNC_EINVAL, "unknown export format %d", format);
	if (format == SSYNC_FORMAT_JSON && cb("[", 1, payload) != 0)
		return ssync_error_set(err, SSYNC_EIO, "write failed");
	if ((error = ssync_domain_list(n, t->name, NULL, NULL, export_row, &x, err)) < 0)
		return error;
	if (x.failed)
		return ssync_error_set(err, SSYNC_EIO, "write failed while exporting %s", t->name);
	if (format == SSYNC_FORMAT_CSV && x.rows == 0) {
		/* Still a header, so the file can be filled in and imported. */
		const char *names[SSYNC_DOMAIN_MAX_FIELDS + 1];
		int i;
		names[0] = "id";
		for (i = 0; i < t->nfields; i++)
			names[i + 1] = t->fields[i].name;
		if (ssync_csvio_write_row(cb, payload, t->nfields + 1, names) != 0)
			return ssync_error_set(err, SSYNC_EIO, "write failed");
	}
	if (format == SSYNC_FORMAT_JSON && cb("\n]\n", 3, payload) != 0)
		return ssync_error_set(err, SSYNC_EIO, "write failed");
	return 0;
}
