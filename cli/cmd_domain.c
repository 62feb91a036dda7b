/* Everyday commands on the district's data: TABLE add|list|show for every
 * domain table, plus the workflow verbs (rotation propose/approve/reject/
 * complete, course share/approve, enroll, book). Options are derived from
 * the table spec (include/schoolsync/domain.h): column staff_no is
 * --staff-no, so every table gets the same validation and help without a
 * hand-written option list that could drift from the schema. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "i18n.h"
#include "schoolsync/domain.h"

#define SSYNC_DOMAIN_OPTS_MAX 20

typedef struct dom_cmd {
	const char *cmd;     /* command word */
	const char *table;
	const char *verb;    /* fixed verb (enroll, book) or NULL */
} dom_cmd;

typedef struct field_opts {
	cli_opt opts[SSYNC_DOMAIN_OPTS_MAX];
	char names[SSYNC_DOMAIN_OPTS_MAX][48];
	const char *vals[SSYNC_DOMAIN_OPTS_MAX];
	const char *id, *actor;
} field_opts;

static void build_opts(const ssync_table_spec *t, field_opts *fo)
{
	int i, k = 0;
	char *p;

	memset(fo, 0, sizeof(*fo));
	for (i = 0; i < t->nfields; i++, k++) {
		snprintf(fo->names[k], sizeof(fo->names[k]), "%s", t->fields[i].name);
		for (p = fo->names[k]; *p; p++)
			if (*p == '_')
				*p = '-';
		fo->opts[k].name = fo->names[k];
		fo->opts[k].takes_value = 1;
		fo->opts[k].value = &fo->vals[i];
	}
	/* --school is the natural name of school_id on owned tables. */
	if (t->owned)
		snprintf(fo->names[0], sizeof(fo->names[0]), "school");
	fo->opts[k].name = "id";
	fo->opts[k].takes_value = 1;
	fo->opts[k++].value = &fo->id;
	fo->opts[k].name = "actor";
	fo->opts[k].takes_value = 1;
	fo->opts[k++].value = &fo->actor;
	fo->opts[k].name = NULL;
}

static void print_fields(const ssync_table_spec *t)
{
	int i;

	printf(_("\nColumns (option, 中文, type):\n"));
	for (i = 0; i < t->nfields; i++) {
		const ssync_field *f = &t->fields[i];
		char opt[48], *p;
		const char *type = f->type == SSYNC_FT_TEXT ? "text" : f->type == SSYNC_FT_CODE ? "code" :
			f->type == SSYNC_FT_INT ? "integer" : f->type == SSYNC_FT_REAL ? "number" :
			f->type == SSYNC_FT_ENUM ? f->values : f->type == SSYNC_FT_REF ? f->ref :
			f->type == SSYNC_FT_DATE ? "YYYY-MM-DD" : f->type == SSYNC_FT_TIME ? "HH:MM" :
			f->type == SSYNC_FT_TERM ? "YYYY-1|YYYY-2" : f->type == SSYNC_FT_DAYS ? "weekdays, e.g. 12345" : "yes/no";
		snprintf(opt, sizeof(opt), "%s", t->owned && i == 0 ? "school" : f->name);
		for (p = opt; *p; p++)
			if (*p == '_')
				*p = '-';
		printf("  --%-14s %s", opt, f->label);
		printf("%*s %s%s%s\n", 12 - cli_display_width(f->label) > 0 ? 12 - cli_display_width(f->label) : 0, "",
			f->type == SSYNC_FT_REF ? "id of a " : "", type,
			t->owned && i == 0 ? _("  (default: this node's school)") : f->required ? _("  (required)") :
			f->hub ? _("  (hub)") : "");
	}
}

typedef struct list_out {
	cli_ctx *ctx;
	const char *table;
	json_t *arr;
	cli_table *tab;
	long n;
	int failed;
	ssync_node *node; /* for the names shown beside ids (rotation list) */
} list_out;

static int list_row(int ncols, const char *const *names, const char *const *vals, const int *types, void *p)
{
	list_out *o = p;
	const char *shown[SSYNC_DOMAIN_OPTS_MAX + 1];
	int i;

	if (ncols > SSYNC_DOMAIN_OPTS_MAX)
		ncols = SSYNC_DOMAIN_OPTS_MAX;
	for (i = 0; i < ncols; i++) {
		shown[i] = vals[i];
		/* rotation.status NULL is the initial state (docs/POLICY.md). */
		if (!vals[i] && strcmp(o->table, "rotation") == 0 && strcmp(names[i], "status") == 0)
			shown[i] = "proposed";
		else if (!vals[i])
			shown[i] = "";
	}
	o->n++;
	if (o->ctx->json) {
		json_t *row = json_object();
		if (!row)
			return o->failed = 1;
		for (i = 0; i < ncols; i++) {
			json_t *v = !vals[i] && shown[i][0] == 0 ? json_null() :
				types[i] == SSYNC_TYPE_INTEGER ? json_integer(strtoll(vals[i], NULL, 10)) :
				types[i] == SSYNC_TYPE_FLOAT ? json_real(strtod(vals[i], NULL)) : json_string(shown[i]);
			json_object_set_new(row, names[i], v ? v : json_null());
		}
		json_array_append_new(o->arr, row);
		return 0;
	}
	/* A rotation's ids mean nothing to people: who goes where beside them. */
	if (strcmp(o->table, "rotation") == 0 && ncols < SSYNC_DOMAIN_OPTS_MAX && o->node) {
		const char *hdr[SSYNC_DOMAIN_OPTS_MAX + 1];
		char label[200];
		for (i = 0; i < ncols; i++)
			hdr[i] = names[i];
		hdr[ncols] = _("who -> where");
		(void)ssync_domain_label(o->node, "rotation", vals[0], label, sizeof(label));
		shown[ncols] = label;
		if (!o->tab && !(o->tab = cli_table_new_raw(ncols + 1, hdr)))
			return o->failed = 1;
		return cli_table_add(o->tab, shown) != 0 ? (o->failed = 1) : 0;
	}
	if (!o->tab && !(o->tab = cli_table_new_raw(ncols, names)))
		return o->failed = 1;
	return cli_table_add(o->tab, shown) != 0 ? (o->failed = 1) : 0;
}

static int show_row(int ncols, const char *const *names, const char *const *vals, const int *types, void *p)
{
	list_out *o = p;
	const ssync_table_spec *t = ssync_domain_table(o->table);
	int i;

	o->n++;
	if (o->ctx->json)
		return list_row(ncols, names, vals, types, p);
	for (i = 0; i < ncols; i++) {
		int fi = ssync_domain_field_index(t, names[i]);
		const char *label = fi >= 0 ? t->fields[fi].label : "编号";
		const char *v = vals[i] ? vals[i] : strcmp(names[i], "status") == 0 && strcmp(o->table, "rotation") == 0 ? "proposed" : "";
		int pad = 8 - cli_display_width(label);
		printf("%-12s %s%*s %s\n", names[i], label, pad > 0 ? pad : 0, "", v);
	}
	return 0;
}

static int do_list(cli_ctx *ctx, const ssync_table_spec *t, field_opts *fo, int show_key, const char *key)
{
	list_out o = { ctx, t->name, NULL, NULL, 0, 0, NULL };
	const char *fcols[SSYNC_DOMAIN_OPTS_MAX], *fvals[SSYNC_DOMAIN_OPTS_MAX];
	ssync_node *n;
	ssync_error err;
	int i, rc = CLI_EXIT_OK, e, nf = 0;

	for (i = 0; i < t->nfields; i++)
		if (fo->vals[i]) {
			fcols[nf] = t->fields[i].name;
			fvals[nf++] = fo->vals[i];
		}
	if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
		return rc;
	o.node = n;
	ssync_error_clear(&err);
	if (ctx->json && !(o.arr = json_array())) {
		ssync_node_free(n);
		return CLI_EXIT_ERROR;
	}
	if (show_key)
		e = ssync_domain_get(n, t->name, key, show_row, &o, &err);
	else
		e = ssync_domain_list_where(n, t->name, nf, fcols, fvals, list_row, &o, &err);
	if (e < 0) {
		rc = cli_fail(ctx, &err);
	} else if (ctx->json) {
		if (show_key) {
			rc = cli_print_json(json_incref(json_array_get(o.arr, 0)));
		} else {
			rc = cli_print_json(o.arr);
			o.arr = NULL;
		}
	} else if (!show_key) {
		if (o.tab)
			cli_table_print(o.tab, stdout);
		else
			printf(_("(no %s rows)\n"), t->name);
	}
	if (o.failed)
		rc = CLI_EXIT_ERROR;
	json_decref(o.arr);
	cli_table_free(o.tab);
	ssync_node_free(n);
	return rc;
}

static int report_write(cli_ctx *ctx, const char *what, const char *table, const char *id, int rc_in, ssync_error *err)
{
	if (rc_in < 0)
		return cli_fail(ctx, err);
	if (ctx->json)
		return cli_print_json(json_pack("{ssssss}", "table", table, "id", id, "result", what));
	printf("%s %s %s\n", table, id, _(what));
	return CLI_EXIT_OK;
}

static int do_add(cli_ctx *ctx, const ssync_table_spec *t, field_opts *fo)
{
	ssync_node *n;
	ssync_error err;
	char id[160] = "", school[64];
	int rc = CLI_EXIT_OK, e;

	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	/* Owned rows default to the school this node speaks for. */
	if (t->owned && !fo->vals[0] && ssync_domain_node_school(n, school, sizeof(school), NULL) == 0)
		fo->vals[0] = school;
	e = ssync_domain_insert(n, t->name, fo->vals, fo->id, fo->actor, id, sizeof(id), &err);
	if (e < 0 && t->owned && !fo->vals[0] && strstr(err.message, "school_id"))
		ssync_error_hint(&err, "give --school ID: this node speaks for no school");
	rc = report_write(ctx, N_("added"), t->name, id, e, &err);
	ssync_node_free(n);
	return rc;
}

static int do_edit(cli_ctx *ctx, const ssync_table_spec *t, field_opts *fo, const char *key)
{
	ssync_node *n;
	ssync_error err;
	char id[160] = "";
	int rc = CLI_EXIT_OK, e, changed = 0, i, given = 0;

	for (i = 0; i < t->nfields; i++)
		given += fo->vals[i] != NULL;
	if (!given)
		return cli_usage(ctx, t->name, "edit %s: give the fields to change, e.g. --%s VALUE", key,
			t->nfields > 1 ? t->fields[1].name : "name");
	if (fo->id)
		return cli_usage(ctx, t->name, "an id never changes (--id is for add)");
	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	e = ssync_domain_update(n, t->name, key, fo->vals, fo->actor, id, sizeof(id), &changed, &err);
	if (e == 0 && changed == 0 && !ctx->json) {
		printf(_("%s %s unchanged (the values given are the ones it has); no entry written\n"), t->name, id);
		rc = CLI_EXIT_OK;
	} else {
		rc = report_write(ctx, changed ? N_("updated") : N_("unchanged"), t->name, id, e, &err);
	}
	ssync_node_free(n);
	return rc;
}

static int do_delete(cli_ctx *ctx, const ssync_table_spec *t, field_opts *fo, const char *key)
{
	ssync_node *n;
	ssync_error err;
	char id[160] = "";
	int rc = CLI_EXIT_OK, e, i;

	for (i = 0; i < t->nfields; i++)
		if (fo->vals[i])
			return cli_usage(ctx, t->name, "delete takes only the row's id");
	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	e = ssync_domain_delete(n, t->name, key, fo->actor, id, sizeof(id), &err);
	rc = report_write(ctx, N_("deleted"), t->name, id[0] ? id : key, e, &err);
	ssync_node_free(n);
	return rc;
}

static int do_transition(cli_ctx *ctx, const ssync_table_spec *t, const char *verb, const char *id, const char *actor)
{
	ssync_node *n;
	ssync_error err;
	int rc = CLI_EXIT_OK, e = 0;
	/* the words a transition reports, for the catalogue */
	static const char *const said[] = { N_("approved"), N_("rejected"), N_("done") };
	const char *what = verb;

	(void)said;

	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	if (strcmp(t->name, "rotation") == 0) {
		const char *st = strcmp(verb, "approve") == 0 ? SSYNC_ROT_APPROVED : strcmp(verb, "reject") == 0 ?
			SSYNC_ROT_REJECTED : SSYNC_ROT_DONE;
		e = ssync_domain_rotation_set_status(n, id, st, actor, &err);
		what = st;
	} else if (strcmp(verb, "share") == 0) {
		e = ssync_domain_course_offer(n, id, actor, &err);
		what = N_("offered for sharing (the hub approves it)");
	} else {
		e = ssync_domain_course_approve(n, id, actor, &err);
		what = N_("approved as a shared course");
	}
	rc = report_write(ctx, what, t->name, id, e, &err);
	ssync_node_free(n);
	return rc;
}

static const dom_cmd dom_cmds[] = {
	{ "zone", "zone", NULL }, { "group", "edu_group", NULL }, { "school", "school", NULL },
	{ "teacher", "teacher", NULL }, { "rotation", "rotation", NULL }, { "course", "course", NULL },
	{ "enrollment", "enrollment", NULL }, { "resource", "resource", NULL }, { "booking", "booking", NULL },
	{ "training", "training", NULL }, { "observation", "observation", NULL }, { "funding", "funding", NULL },
	{ "enroll", "enrollment", "add" }, { "book", "booking", "add" },
	{ NULL, NULL, NULL }
};

static void help(const dom_cmd *d, const ssync_table_spec *t)
{
	const char *idopt = t->code_ids ? "--id CODE" : "[--id ID]";
	const char *key = t->unique ? "ID|STAFF_NO" : ssync_domain_field_index(t, "name") >= 0 ? "ID|NAME" : "ID";

	if (d->verb) {
		printf(_("usage: schoolsync %s --OPTION VALUE ... %s [--actor NAME] [--json]\n\n"
			"Add one %s row (%s): validated, then written as one signed entry.\n"), d->cmd, idopt, t->name, t->label);
	} else {
		printf(_("usage: schoolsync %s add --OPTION VALUE ... %s [--actor NAME] [--json]\n"
			"       schoolsync %s edit %s --OPTION VALUE ... [--actor NAME] [--json]\n"
			"       schoolsync %s delete %s [--actor NAME] [--json]\n"
			"       schoolsync %s list [--OPTION VALUE ...] [--json]   (filters, e.g. --school cm-001)\n"
			"       schoolsync %s show %s [--json]\n"), d->cmd, idopt, d->cmd, key, d->cmd, key, d->cmd, d->cmd, key);
		if (strcmp(t->name, "rotation") == 0)
			printf(_("       schoolsync rotation propose --teacher-id T --to-school S --kind K --term YYYY-N\n"
				"       schoolsync rotation approve|reject|complete ID     (the hub)\n"));
		if (strcmp(t->name, "course") == 0)
			printf(_("       schoolsync course share ID      (the owner school offers it)\n"
				"       schoolsync course approve ID    (the hub approves it as shared)\n"));
		printf(_("\n%s (%s). Every write is validated (values, references, rules) and becomes\n"
			"one signed entry in this node's log. edit runs the same checks as add on the\n"
			"edited row (--OPTION \"\" clears a field); delete refuses a row others refer to.\n"
			"A conflicted cell is resolved with: schoolsync resolve %s ID COLUMN --value V\n"), t->name, t->label, t->name);
	}
	printf(_("\n  --actor NAME     who does this, recorded in the entry (default: $SCHOOLSYNC_ACTOR,\n"
		"                   else \"actor\" in HOME/config.json, else the OS user)\n"));
	if (t->code_ids)
		printf(_("  --id CODE        the %s's code (required): 1-63 characters of a-z, 0-9 and '-'\n"), t->name);
	else
		printf(_("  --id ID          the row's id (default: a new one, SCHOOL-<16 hex>)\n"));
	print_fields(t);
}

int cmd_domain(cli_ctx *ctx, int argc, char **argv)
{
	const dom_cmd *d;
	const ssync_table_spec *t;
	field_opts *fo = NULL;
	const char *verb;
	char **pos = NULL;
	int help_flag = 0, npos = 0, rc = CLI_EXIT_OK, first = 0;

	for (d = dom_cmds; d->cmd && strcmp(d->cmd, argv[0]) != 0; d++)
		;
	if (!d->cmd || !(t = ssync_domain_table(d->table)))
		return cli_usage(ctx, argv[0], "unknown command");
	if (!(fo = malloc(sizeof(*fo))))
		return CLI_EXIT_ERROR;
	build_opts(t, fo);
	if (cli_parse(ctx, d->cmd, argc, argv, fo->opts, &help_flag, &pos, &npos) < 0) {
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if (help_flag || (!d->verb && npos == 0)) {
		help(d, t);
		rc = help_flag ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto done;
	}
	verb = d->verb ? d->verb : pos[first++];
	if (strcmp(verb, "add") == 0 || (strcmp(verb, "propose") == 0 && strcmp(t->name, "rotation") == 0)) {
		if (npos > first) {
			rc = cli_usage(ctx, d->cmd, "unexpected argument '%s' (values go with --options)", pos[first]);
			goto done;
		}
		rc = do_add(ctx, t, fo);
	} else if (strcmp(verb, "list") == 0) {
		rc = npos > first ? cli_usage(ctx, d->cmd, "unexpected argument '%s'", pos[first]) :
			do_list(ctx, t, fo, 0, NULL);
	} else if (strcmp(verb, "edit") == 0) {
		rc = npos != first + 1 ? cli_usage(ctx, d->cmd, "edit takes one id, then --OPTION VALUE ...") :
			do_edit(ctx, t, fo, pos[first]);
	} else if (strcmp(verb, "delete") == 0) {
		rc = npos != first + 1 ? cli_usage(ctx, d->cmd, "delete takes one id") : do_delete(ctx, t, fo, pos[first]);
	} else if (strcmp(verb, "show") == 0) {
		rc = npos != first + 1 ? cli_usage(ctx, d->cmd, "show takes one id") : do_list(ctx, t, fo, 1, pos[first]);
	} else if ((strcmp(t->name, "rotation") == 0 && (strcmp(verb, "approve") == 0 || strcmp(verb, "reject") == 0 ||
		strcmp(verb, "complete") == 0)) || (strcmp(t->name, "course") == 0 && (strcmp(verb, "share") == 0 ||
		strcmp(verb, "approve") == 0))) {
		rc = npos != first + 1 ? cli_usage(ctx, d->cmd, "%s takes one id", verb) :
			do_transition(ctx, t, verb, pos[first], fo->actor);
	} else {
		rc = cli_usage(ctx, d->cmd, "unknown subcommand '%s'", verb);
	}
done:
	free(pos);
	free(fo);
	return rc;
}
