/* Looking at and settling what sync left: conflicted cells (as `schoolsync
 * conflicts --json`), resolving one (ssync_domain_resolve, as `schoolsync
 * resolve`), and a record's history (ssync_audit_history, as `schoolsync
 * audit history --json`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schoolsync/audit.h"
#include "schoolsync/domain.h"
#include "schoolsync/hlc.h"
#include "schoolsync/node.h"
#include "schoolsync/review.h"
#include "web_int.h"

typedef struct conf_ctx { ssync_node *n; json_t *arr; } conf_ctx;

static int conflict_row(const ssync_conflict *c, void *p)
{
	conf_ctx *o = p;
	json_t *leaves = json_array(), *obj;
	char label[200];
	int i;

	/* student_archive is never served, not even its ciphertext or who wrote it */
	if (!ssync_web__table(c->table))
		return 0;
	for (i = 0; i < c->nleaves; i++) {
		char when[40], vid[SSYNC_NODE_ID_MAX + 32];
		json_t *v = json_loads(c->leaves[i].value_json ? c->leaves[i].value_json : "null", JSON_DECODE_ANY, NULL);
		ssync_hlc_format(c->leaves[i].hlc, when, sizeof(when));
		/* "id": the version as resolve's pick names it (beside the CLI's keys) */
		snprintf(vid, sizeof(vid), "%s#%lld", c->leaves[i].node, (long long)c->leaves[i].seq);
		json_array_append_new(leaves, json_pack("{sosssIsssssbss}", "value", v ? v : json_null(),
			"node", c->leaves[i].node, "seq", (json_int_t)c->leaves[i].seq, "time", when,
			"actor", c->leaves[i].actor, "winner", c->leaves[i].winner, "id", vid));
	}
	obj = json_pack("{ssssssso}", "table", c->table, "key", c->pk, "column", c->column, "versions", leaves);
	/* beside the CLI's keys: the names people know */
	if (ssync_domain_label(o->n, c->table, c->pk, label, sizeof(label)) > 0)
		json_object_set_new(obj, "name", json_string(label));
	{
		const ssync_table_spec *t = ssync_domain_table(c->table);
		int fi = t ? ssync_domain_field_index(t, c->column) : -1;
		if (t)
			json_object_set_new(obj, "table_label", json_string(t->label));
		if (fi >= 0)
			json_object_set_new(obj, "column_label", json_string(t->fields[fi].label));
	}
	json_array_append_new(o->arr, obj);
	return 0;
}

static enum MHD_Result conflicts(web_req *r)
{
	conf_ctx o;
	ssync_error err;
	enum MHD_Result res;

	if (ssync_web__open(r, &o.n, SSYNC_NODE_READONLY, &res) < 0)
		return res;
	o.arr = json_array();
	ssync_error_clear(&err);
	if (ssync_review_conflicts(ssync_node_store(o.n), conflict_row, &o, &err) < 0)
		res = ssync_web__send_err(r, &err);
	else
		res = ssync_web__send_json(r, MHD_HTTP_OK, json_incref(o.arr));
	json_decref(o.arr);
	ssync_node_free(o.n);
	return res;
}

static enum MHD_Result resolve(web_req *r)
{
	json_error_t jerr;
	json_t *body = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr), *val;
	const char *table, *key, *column, *pick;
	char vbuf[64], kept[4096];
	const char *value = NULL;
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;

	if (!json_is_object(body)) {
		json_decref(body);
		return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
			"the body must be {\"table\",\"key\",\"column\",\"pick\":\"node#seq\"} or {..,\"value\":V}");
	}
	table = json_string_value(json_object_get(body, "table"));
	key = json_string_value(json_object_get(body, "key"));
	column = json_string_value(json_object_get(body, "column"));
	pick = json_string_value(json_object_get(body, "pick"));
	val = json_object_get(body, "value");
	if (json_is_string(val))
		value = json_string_value(val);
	else if (json_is_integer(val))
		snprintf(vbuf, sizeof(vbuf), "%lld", (long long)json_integer_value(val)), value = vbuf;
	else if (json_is_real(val))
		snprintf(vbuf, sizeof(vbuf), "%.15g", json_real_value(val)), value = vbuf;
	else if (json_is_null(val))
		value = "";
	if (!table || !key || !column || !ssync_web__table(table) || (!pick == !val) || (val && !value)) {
		json_decref(body);
		return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL,
			"give table (an everyday table), key, column and exactly one of pick (\"node#seq\") or value");
	}
	if (ssync_web__open(r, &n, 0, &res) == 0) {
		ssync_error_clear(&err);
		if (ssync_domain_resolve(n, strcmp(table, "group") == 0 ? "edu_group" : table, key, column, pick ? NULL : value,
			pick, r->s.user, kept, sizeof(kept), &err) < 0)
			res = ssync_web__send_err(r, &err);
		else
			res = ssync_web__send_json(r, MHD_HTTP_OK, json_pack("{ssssssssss?}", "table", table, "key", key,
				"column", column, "result", "resolved", "value", kept[0] ? kept : NULL));
	}
	json_decref(body);
	ssync_node_free(n);
	return res;
}

typedef struct hist_ctx { const char *column; json_t *arr; } hist_ctx;

static int on_change(const ssync_audit_change *c, void *p)
{
	hist_ctx *h = p;
	json_t *r;
	char *text;

	if (h->column && strcmp(h->column, c->column) != 0)
		return 0;
	/* the object `audit history --json` prints (cli/cmd_audit.c) */
	text = ssync_audit_change_json(c, NULL, NULL);
	r = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!r)
		return 1;
	json_array_append_new(h->arr, r);
	return 0;
}

static enum MHD_Result history(web_req *r, const char *path)
{
	const char *slash = strchr(path, '/'), *col = ssync_web__arg(r, "column");
	const ssync_table_spec *t;
	char tname[64], id[160];
	hist_ctx h = { NULL, NULL };
	ssync_node *n = NULL;
	ssync_error err;
	enum MHD_Result res;
	int e;

	if (!slash || !slash[1] || strchr(slash + 1, '/'))
		return ssync_web__send_error(r, MHD_HTTP_NOT_FOUND, SSYNC_ENOTFOUND, NULL, "history is /api/history/TABLE/KEY");
	snprintf(tname, sizeof(tname), "%.*s", (int)(slash - path), path);
	if (!(t = ssync_web__table(tname)))
		return ssync_web__no_table(r, tname);
	if (col && *col) {
		int fi = ssync_domain_field_index(t, col);
		if (fi < 0 && strcmp(col, "$row") != 0)
			return ssync_web__send_error(r, MHD_HTTP_BAD_REQUEST, SSYNC_EINVAL, NULL, "%s has no column '%.64s'",
				t->name, col);
		h.column = fi >= 0 ? t->fields[fi].name : "$row";
	}
	if (ssync_web__open(r, &n, SSYNC_NODE_READONLY, &res) < 0)
		return res;
	ssync_error_clear(&err);
	/* as the CLI: a key people know; a deleted row by its id alone */
	e = ssync_domain_find_id(n, t->name, slash + 1, id, sizeof(id), &err);
	if (e == SSYNC_ENOTFOUND)
		snprintf(id, sizeof(id), "%s", slash + 1);
	else if (e < 0) {
		res = ssync_web__send_err(r, &err);
		goto done;
	}
	h.arr = json_array();
	ssync_error_clear(&err);
	if (ssync_audit_history(n, t->name, id, on_change, &h, &err) < 0) {
		res = ssync_web__send_err(r, &err);
	} else if (json_array_size(h.arr) == 0 && (e < 0 || !h.column)) {
		ssync_error_set(&err, SSYNC_ENOTFOUND, "no history of %s '%s' in this node's log", t->name, slash + 1);
		ssync_error_hint(&err, "give the record's id%s", t->unique ? " or staff number" : "");
		res = ssync_web__send_err(r, &err);
	} else {
		res = ssync_web__send_json(r, MHD_HTTP_OK, json_incref(h.arr));
	}
done:
	json_decref(h.arr);
	ssync_node_free(n);
	return res;
}

int ssync_web__api_review(web_req *r, const char *path, enum MHD_Result *res)
{
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (strcmp(path, "conflicts") == 0)
		*res = get ? conflicts(r) : ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL, "GET only");
	else if (strcmp(path, "resolve") == 0)
		*res = strcmp(r->method, "POST") == 0 ? resolve(r) :
			ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL, "POST only");
	else if (strncmp(path, "history/", 8) == 0)
		*res = get ? history(r, path + 8) : ssync_web__send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, SSYNC_EINVAL, NULL,
			"GET only");
	else
		return 0;
	return 1;
}
