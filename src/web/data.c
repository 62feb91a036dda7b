/* The everyday tables over HTTP: their description for the forms
 * (/api/tables), their rows (list, one, add, edit, delete). Every write is
 * the CLI's own library call (ssync_domain_insert, _update, _delete): the
 * same validation, the same messages, one signed entry, with the logged-in
 * user as the actor. The write policy decides as for the CLI; "readonly"
 * in /api/tables only tells the form what the policy will refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schoolsync/domain.h"
#include "schoolsync/node.h"
#include "web_int.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 10000
#define MAXF 24

static const char *const english[][2] = {
	{ "zone", "Zones" }, { "edu_group", "Education groups" }, { "school", "Schools" },
	{ "teacher", "Teachers" }, { "rotation", "Rotations" }, { "course", "Shared courses" },
	{ "enrollment", "Enrolments" }, { "resource", "Venues and resources" }, { "booking", "Bookings" },
	{ "training", "Training" }, { "observation", "Observations" }, { "funding", "Funding" },
};

static const char *label_en(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(english) / sizeof(english[0]); i++)
		if (strcmp(english[i][0], name) == 0)
			return english[i][1];
	return name;
}

static const char *type_name(int t)
{
	static const char *const names[] = { "", "text", "code", "int", "real", "enum", "ref", "date", "time",
		"term", "days", "bool" };

	return t > 0 && t < (int)(sizeof(names) / sizeof(names[0])) ? names[t] : "text";
}

/* An everyday table by URL name ("group" as the CLI says it); NULL for an
 * unknown or private one (student_archive is never served). */
const ssync_table_spec *ssync_web__table(const char *name)
{
	const ssync_table_spec *t = ssync_domain_table(strcmp(name, "group") == 0 ? "edu_group" : name);

	return t && !t->priv ? t : NULL;
}

enum MHD_Result ssync_web__no_table(web_req *r, const char *name)
{
	return ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, "GET /api/tables lists them",
		"no everyday table '%.64s'", name);
}

int ssync_web__open(web_req *r, ssync_node **n, int flags, enum MHD_Result *res)
{
	ssync_error err;

	ssync_error_clear(&err);
	if (ssync_node_open(n, r->w->home, flags, &err) < 0) {
		*res = ssync_web__send_err(r, &err);
		return -1;
	}
	return 0;
}

/* ---- /api/tables ---- */

typedef struct policy { json_t *rules; } policy; /* {"tbl|col": rule} */

static int policy_row(int ncols, const char *const *names, const char *const *vals, const int *types, void *p)
{
	policy *po = p;
	char k[160];

	(void)names;
	(void)types;
	if (ncols == 3 && vals[0] && vals[1] && vals[2]) {
		snprintf(k, sizeof(k), "%s|%s", vals[0], vals[1]);
		json_object_set_new(po->rules, k, json_string(vals[2]));
	}
	return 0;
}

static const char *rule_of(policy *po, const char *tbl, const char *col)
{
	char k[160];
	const char *v;

	snprintf(k, sizeof(k), "%s|%s", tbl, col);
	if ((v = json_string_value(json_object_get(po->rules, k))))
		return v;
	snprintf(k, sizeof(k), "%s|*", tbl);
	return json_string_value(json_object_get(po->rules, k));
}

/* May a node of @p role change column @p col of @p tbl (docs/POLICY.md)? An
 * unmanaged node (role "") enforces no policy. */
static int readonly(policy *po, const char *role, const char *tbl, const char *col)
{
	const char *rule = rule_of(po, tbl, col), *dflt = rule_of(po, tbl, "*");

	if (!role[0])
		return 0;
	if (strcmp(role, "auditor") == 0 || !rule || strcmp(rule, "none") == 0)
		return 1;
	if (strcmp(role, "hub") == 0)
		return 0;
	if (strcmp(rule, "hub") == 0)
		return 1;
	/* owner:<col>: the owner column always names this school */
	return dflt && strncmp(dflt, "owner:", 6) == 0 && strcmp(dflt + 6, col) == 0;
}

static json_t *choices(const ssync_field *f)
{
	json_t *arr = json_array();
	const char *p = f->values;

	if (f->type == SSYNC_FT_BOOL) {
		json_array_append_new(arr, json_pack("{ssss}", "value", "1", "label", "是 yes"));
		json_array_append_new(arr, json_pack("{ssss}", "value", "0", "label", "否 no"));
		return arr;
	}
	/* "canon[:alias,alias]|canon2...": the canonical value, shown with its
	 * first non-ASCII alias (the Chinese word) when it has one */
	while (p && *p) {
		const char *end = strchr(p, '|'), *colon;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char item[200], label[200] = "";
		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		if ((colon = strchr(item, ':'))) {
			char *a = (char *)colon + 1, *tok;
			*(char *)colon = 0;
			for (tok = strtok(a, ","); tok; tok = strtok(NULL, ","))
				if ((unsigned char)tok[0] >= 0x80) {
					snprintf(label, sizeof(label), "%s %s", tok, item);
					break;
				}
		}
		if (item[0])
			json_array_append_new(arr, json_pack("{ssss}", "value", item, "label", label[0] ? label : item));
		p = end ? end + 1 : NULL;
	}
	return arr;
}

enum MHD_Result ssync_web__api_tables(web_req *r)
{
	char role[16], school[SSYNC_NODE_ID_MAX + 1], node[SSYNC_NODE_ID_MAX + 1], district[SSYNC_NODE_ID_MAX + 1];
	policy po = { json_object() };
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;
	json_t *out = json_array();
	int i, k;

	ssync_error_clear(&err);
	if (ssync_web__node_role(r->w->home, role, sizeof(role), school, sizeof(school), node, sizeof(node),
		district, sizeof(district), &err) < 0) {
		res = ssync_web__send_err(r, &err);
		goto done;
	}
	if (ssync_web__open(r, &n, SSYNC_NODE_READONLY, &res) < 0)
		goto done;
	if (ssync_node_sql(n, "SELECT tbl, col, rule FROM ssync_policy", NULL, policy_row, &po, NULL, &err) < 0) {
		res = ssync_web__send_err(r, &err);
		goto done;
	}
	for (i = 0; i < ssync_domain_ntables(); i++) {
		const ssync_table_spec *t = ssync_domain_table_at(i);
		json_t *cols, *o;
		int all_ro = 1;
		if (t->priv)
			continue;
		cols = json_array();
		json_array_append_new(cols, json_pack("{sssssssbsb}", "name", "id", "label", "编号", "type",
			t->code_ids ? "code" : "id", "required", t->code_ids, "readonly", !t->code_ids));
		for (k = 0; k < t->nfields; k++) {
			const ssync_field *f = &t->fields[k];
			int ro = readonly(&po, role, t->name, f->name);
			json_t *c = json_pack("{sssssssbsb}", "name", f->name, "label", f->label, "type", type_name(f->type),
				"required", f->required, "readonly", ro);
			all_ro &= ro;
			if (f->type == SSYNC_FT_ENUM || f->type == SSYNC_FT_BOOL)
				json_object_set_new(c, "choices", choices(f));
			if (f->type == SSYNC_FT_REF)
				json_object_set_new(c, "ref", json_string(f->ref));
			if (f->type == SSYNC_FT_INT || f->type == SSYNC_FT_REAL) {
				json_object_set_new(c, "min", json_integer(f->min));
				json_object_set_new(c, "max", json_integer(f->max));
			} else if (f->type == SSYNC_FT_TEXT && f->max > 0) {
				json_object_set_new(c, "max_chars", json_integer(f->max));
			}
			if (f->hub)
				json_object_set_new(c, "hub", json_true());
			json_array_append_new(cols, c);
		}
		o = json_pack("{sssssssssssbso}", "name", t->name, "label_zh", t->label, "label_en", label_en(t->name),
			"label", t->label, "key", "id", "readonly", all_ro, "columns", cols);
		if (t->unique)
			json_object_set_new(o, "unique", json_string(t->unique));
		json_object_set_new(o, "owned", json_boolean(t->owned));
		json_array_append_new(out, o);
	}
	res = ssync_web__send_json(r, MHD_HTTP_OK, out);
	out = NULL;
done:
	json_decref(out);
	json_decref(po.rules);
	ssync_node_free(n);
	return res;
}

/* ---- rows ---- */

#define LABEL_CACHE 512
typedef struct label_cache {
	int n;
	struct { char table[32]; char id[96]; char label[200]; } e[LABEL_CACHE];
} label_cache;

/* The name shown beside an id (ssync_domain_label), remembered per request:
 * a list of 5,000 teachers names about a hundred schools. */
static const char *label(ssync_node *n, label_cache *lc, const char *table, const char *id)
{
	int i;

	for (i = 0; i < lc->n; i++)
		if (strcmp(lc->e[i].id, id) == 0 && strcmp(lc->e[i].table, table) == 0)
			return lc->e[i].label;
	i = lc->n < LABEL_CACHE ? lc->n++ : (int)(strlen(id) % LABEL_CACHE);
	snprintf(lc->e[i].table, sizeof(lc->e[i].table), "%s", table);
	snprintf(lc->e[i].id, sizeof(lc->e[i].id), "%s", id);
	(void)ssync_domain_label(n, table, id, lc->e[i].label, sizeof(lc->e[i].label));
	return lc->e[i].label;
}

typedef struct list_ctx {
	ssync_node *n;
	const ssync_table_spec *t;
	const char *q;
	long offset, limit, total;
	json_t *rows;
	label_cache *lc;
	int failed;
} list_ctx;

/* One row as the CLI's list --json prints it, with "_labels" {column: name}
 * for referencing columns and "_label" (the row's own name, e.g. a
 * rotation's "teacher -> school"). */
static json_t *row_json(list_ctx *c, int ncols, const char *const *names, const char *const *vals, const int *types)
{
	json_t *row = json_object(), *labels = json_object();
	const char *own;
	int i;

	for (i = 0; i < ncols; i++) {
		int fi = ssync_domain_field_index(c->t, names[i]);
		json_t *v;
		if (!vals[i])
			v = strcmp(c->t->name, "rotation") == 0 && strcmp(names[i], "status") == 0 ? json_string("proposed") :
				json_null();
		else if (types[i] == SSYNC_TYPE_INTEGER)
			v = json_integer(strtoll(vals[i], NULL, 10));
		else if (types[i] == SSYNC_TYPE_FLOAT)
			v = json_real(strtod(vals[i], NULL));
		else
			v = json_string(vals[i]);
		json_object_set_new(row, names[i], v ? v : json_null());
		if (vals[i] && fi >= 0 && c->t->fields[fi].type == SSYNC_FT_REF) {
			const char *l = label(c->n, c->lc, c->t->fields[fi].ref, vals[i]);
			if (l[0])
				json_object_set_new(labels, names[i], json_string(l));
		}
	}
	json_object_set_new(row, "_labels", labels);
	/* as the CLI's list: a rotation's ids mean nothing to people, "who -> where" does */
	if (strcmp(c->t->name, "rotation") == 0 && ncols > 0 && vals[0] &&
	    (own = label(c->n, c->lc, c->t->name, vals[0]))[0])
		json_object_set_new(row, "_label", json_string(own));
	return row;
}

/* @p q in @p s, ASCII letters in any case (UTF-8 bytes as they are). */
static int contains(const char *s, const char *q)
{
	size_t n = strlen(q);

	for (; *s; s++)
		if (strncasecmp(s, q, n) == 0)
			return 1;
	return 0;
}

/* Does the row contain @p q in a value or a name beside one? */
static int matches(json_t *row, const char *q)
{
	const char *k;
	json_t *v;

	json_object_foreach(row, k, v) {
		if (json_is_object(v) && matches(v, q))
			return 1;
		if (json_is_string(v) && contains(json_string_value(v), q))
			return 1;
		if (json_is_integer(v)) {
			char b[32];
			snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(v));
			if (strstr(b, q))
				return 1;
		}
	}
	return 0;
}

static int list_row(int ncols, const char *const *names, const char *const *vals, const int *types, void *p)
{
	list_ctx *c = p;
	json_t *row;

	/* Without a search only the rows of the page are built. */
	if (!c->q && (c->total < c->offset || c->total >= c->offset + c->limit)) {
		c->total++;
		return 0;
	}
	if (!(row = row_json(c, ncols, names, vals, types)))
		return c->failed = 1;
	if (c->q && !matches(row, c->q)) {
		json_decref(row);
		return 0;
	}
	if (c->total >= c->offset && c->total < c->offset + c->limit)
		json_array_append_new(c->rows, row);
	else
		json_decref(row);
	c->total++;
	return 0;
}

static long num_arg(web_req *r, const char *name, long dflt, long max, int *bad)
{
	const char *s = ssync_web__arg(r, name);
	char *end;
	long v;

	if (!s || !*s)
		return dflt;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > max)
		*bad = 1;
	return v;
}

static enum MHD_Result list_rows(web_req *r, const ssync_table_spec *t)
{
	list_ctx c;
	label_cache *lc = calloc(1, sizeof(*lc));
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;
	int bad = 0;
	const char *q = ssync_web__arg(r, "q");

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.q = q && *q ? q : NULL;
	c.offset = num_arg(r, "offset", 0, 1L << 30, &bad);
	c.limit = num_arg(r, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, &bad);
	c.lc = lc;
	if (bad || !lc) {
		free(lc);
		return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
			"limit must be 0..%d and offset a number >= 0", LIST_LIMIT_MAX);
	}
	if (ssync_web__open(r, &n, SSYNC_NODE_READONLY, &res) < 0) {
		free(lc);
		return res;
	}
	c.n = n;
	c.rows = json_array();
	ssync_error_clear(&err);
	if (ssync_domain_list_where(n, t->name, 0, NULL, NULL, list_row, &c, &err) < 0)
		res = ssync_web__send_err(r, &err);
	else if (c.failed)
		res = ssync_web__send_json(r, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	else
		res = ssync_web__send_json(r, MHD_HTTP_OK, json_pack("{sIsIsIsO}", "total", (json_int_t)c.total,
			"offset", (json_int_t)c.offset, "limit", (json_int_t)c.limit, "rows", c.rows));
	json_decref(c.rows);
	ssync_node_free(n);
	free(lc);
	return res;
}

static int one_row(int ncols, const char *const *names, const char *const *vals, const int *types, void *p)
{
	list_ctx *c = p;

	json_decref(c->rows);
	c->rows = row_json(c, ncols, names, vals, types);
	return 0;
}

static enum MHD_Result get_row(web_req *r, const ssync_table_spec *t, const char *key)
{
	list_ctx c;
	label_cache *lc = calloc(1, sizeof(*lc));
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;
	char id[160];

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.lc = lc;
	if (!lc || ssync_web__open(r, &n, SSYNC_NODE_READONLY, &res) < 0) {
		free(lc);
		return lc ? res : MHD_NO;
	}
	c.n = n;
	ssync_error_clear(&err);
	if (ssync_domain_find_id(n, t->name, key, id, sizeof(id), &err) < 0 ||
	    ssync_domain_get(n, t->name, id, one_row, &c, &err) < 0)
		res = ssync_web__send_err(r, &err);
	else
		res = ssync_web__send_json(r, MHD_HTTP_OK, json_incref(c.rows));
	json_decref(c.rows);
	ssync_node_free(n);
	free(lc);
	return res;
}

/* The body's {"column": value} as the values array of the domain calls:
 * strings as they are, numbers in decimal, true/false as 1/0; null is
 * "unset" for an add and "clear" (= "") for an edit. Column names or their
 * Chinese labels. 0, or the refusal was queued. */
static int body_values(web_req *r, const ssync_table_spec *t, json_t *body, int edit, const char *key,
	const char **vals, char (*bufs)[40], const char **id, enum MHD_Result *res)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body)) {
		*res = ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
			"the body must be a JSON object {\"column\": value, ...}");
		return -1;
	}
	json_object_foreach(body, k, v) {
		int fi = ssync_domain_field_index(t, k);
		const char *s = NULL;
		if (strcmp(k, "id") == 0 || strcmp(k, "编号") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v) || (edit && strcmp(json_string_value(v), key) != 0)) {
				*res = ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
					edit ? "an id never changes" : "id must be text");
				return -1;
			}
			if (!edit)
				*id = json_string_value(v);
			continue;
		}
		if (k[0] == '_')
			continue; /* _labels, _label: what a list answer carried */
		if (fi < 0) {
			*res = ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, "GET /api/tables lists the columns",
				"%s has no column '%.64s'", t->name, k);
			return -1;
		}
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(bufs[fi], 40, "%lld", (long long)json_integer_value(v)), s = bufs[fi];
		else if (json_is_real(v))
			snprintf(bufs[fi], 40, "%.15g", json_real_value(v)), s = bufs[fi];
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "1" : "0";
		else if (json_is_null(v))
			s = edit ? "" : NULL;
		else {
			*res = ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
				"%s: a value must be text, a number, true/false or null", t->fields[fi].name);
			return -1;
		}
		vals[fi] = s;
	}
	return 0;
}

static enum MHD_Result write_row(web_req *r, const ssync_table_spec *t, const char *key)
{
	const char *vals[MAXF] = { NULL }, *id_in = NULL;
	char bufs[MAXF][40], id[160] = "", school[64];
	int edit = strcmp(r->method, "PATCH") == 0, del = strcmp(r->method, "DELETE") == 0, changed = 0, e;
	json_t *body = NULL;
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;
	const char *what;

	if (t->nfields > MAXF)
		return ssync_web__send_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, SSYNC_ERROR, NULL, "table too wide");
	if (!del) {
		json_error_t jerr;
		if (!(body = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr)))
			return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
				"the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
		if (body_values(r, t, body, edit, key, vals, bufs, &id_in, &res) < 0)
			goto done;
	}
	if (ssync_web__open(r, &n, 0, &res) < 0)
		goto done;
	ssync_error_clear(&err);
	if (del) {
		e = ssync_domain_delete(n, t->name, key, r->s.user, id, sizeof(id), &err);
		what = "deleted";
	} else if (edit) {
		e = ssync_domain_update(n, t->name, key, vals, r->s.user, id, sizeof(id), &changed, &err);
		what = changed ? "updated" : "unchanged";
	} else {
		/* as the CLI's add: owned rows default to this node's school */
		if (t->owned && !vals[0] && ssync_domain_node_school(n, school, sizeof(school), NULL) == 0)
			vals[0] = school;
		e = ssync_domain_insert(n, t->name, vals, id_in, r->s.user, id, sizeof(id), &err);
		if (e < 0 && t->owned && !vals[0] && strstr(err.message, "school_id"))
			ssync_error_hint(&err, "give school_id: this node speaks for no school");
		what = "added";
	}
	if (e < 0)
		res = ssync_web__send_err(r, &err);
	else
		res = ssync_web__send_json(r, edit || del ? MHD_HTTP_OK : MHD_HTTP_CREATED,
			json_pack("{ssssss}", "table", t->name, "id", id[0] ? id : key, "result", what));
done:
	json_decref(body);
	ssync_node_free(n);
	return res;
}

/* The workflow verbs of the CLI (rotation approve|reject|complete, course
 * share|approve), by the same library calls:
 * POST /api/tables/{rotation|course}/{id}/{verb}. */
static enum MHD_Result action(web_req *r, const ssync_table_spec *t, const char *key, const char *verb)
{
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;
	char id[160];
	int rot = strcmp(t->name, "rotation") == 0, e;
	const char *what = NULL;

	if (rot && (strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0 || strcmp(verb, "complete") == 0))
		what = strcmp(verb, "approve") == 0 ? SSYNC_ROT_APPROVED : strcmp(verb, "reject") == 0 ? SSYNC_ROT_REJECTED :
			SSYNC_ROT_DONE;
	else if (strcmp(t->name, "course") == 0 && (strcmp(verb, "share") == 0 || strcmp(verb, "approve") == 0))
		what = strcmp(verb, "share") == 0 ? "offered" : "shared";
	if (!what)
		return ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, NULL,
			"no action '%.32s' on %s (rotation: approve, reject, complete; course: share, approve)", verb, t->name);
	if (ssync_web__open(r, &n, 0, &res) < 0)
		return res;
	ssync_error_clear(&err);
	if ((e = ssync_domain_find_id(n, t->name, key, id, sizeof(id), &err)) == 0) {
		if (rot)
			e = ssync_domain_rotation_set_status(n, id, what, r->s.user, &err);
		else if (strcmp(verb, "share") == 0)
			e = ssync_domain_course_offer(n, id, r->s.user, &err);
		else
			e = ssync_domain_course_approve(n, id, r->s.user, &err);
	}
	res = e < 0 ? ssync_web__send_err(r, &err) :
		ssync_web__send_json(r, MHD_HTTP_OK, json_pack("{ssssss}", "table", t->name, "id", id, "result", what));
	ssync_node_free(n);
	return res;
}

/* /api/tables, /api/tables/{t}, /api/tables/{t}/{key}, /api/tables/{t}/{key}/{verb} */
int ssync_web__api_rows(web_req *r, const char *path, enum MHD_Result *res)
{
	char tname[64];
	const char *slash, *key = NULL;
	const ssync_table_spec *t;
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (strcmp(path, "tables") == 0) {
		*res = get ? ssync_web__api_tables(r) : ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
			SSYNC_EINVAL, NULL, "GET only");
		return 1;
	}
	if (strncmp(path, "tables/", 7) != 0)
		return 0;
	path += 7;
	slash = strchr(path, '/');
	snprintf(tname, sizeof(tname), "%.*s", (int)(slash ? (size_t)(slash - path) : strlen(path)), path);
	if (slash)
		key = slash + 1;
	if (!(t = ssync_web__table(tname))) {
		*res = ssync_web__no_table(r, tname);
		return 1;
	}
	if (key && (slash = strchr(key, '/')) && strcmp(r->method, "POST") == 0 && *key != '/') {
		char k[160];
		snprintf(k, sizeof(k), "%.*s", (int)(slash - key), key);
		*res = action(r, t, k, slash + 1);
		return 1;
	}
	if (key && (!*key || strchr(key, '/'))) {
		*res = ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, NULL, "no such row path");
		return 1;
	}
	if (!key && get)
		*res = list_rows(r, t);
	else if (!key && strcmp(r->method, "POST") == 0)
		*res = write_row(r, t, NULL);
	else if (key && get)
		*res = get_row(r, t, key);
	else if (key && (strcmp(r->method, "PATCH") == 0 || strcmp(r->method, "DELETE") == 0))
		*res = write_row(r, t, key);
	else
		*res = ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL,
			"%s is not a method of /api/tables/%s%s", r->method, t->name, key ? "/{key}" : "");
	return 1;
}
