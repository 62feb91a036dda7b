/* district init|enroll|revoke|list, join: the district's trust data
 * (docs/TRUST.md). Signing needs the root key file, kept offline by the
 * hub admin; every decision lives in src/trust.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "schoolsync/hlc.h"
#include "schoolsync/trust.h"
#include "schoolsync/privacy.h"
#include "schoolsync/witness.h"

/* "YYYY-MM-DD" (a real date: UTC midnight, or its last millisecond) or
 * milliseconds since the epoch; -1 if bad. */
static int64_t parse_when(const char *s, int end_of_day)
{
	char *end = NULL;
	long long v;
	int64_t ms;

	if (!s || !*s)
		return -1;
	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		if (ssync_time_parse_date(s, &ms) < 0 || ms < 0)
			return -1;
		return ms + (end_of_day ? 86399999 : 0);
	}
	v = strtoll(s, &end, 10);
	return (*end || v < 0) ? -1 : (int64_t)v;
}

/* For people: local time ("-" for none). */
static void when_text(int64_t ms, char *buf, size_t len)
{
	(void)ssync_time_local(ms, buf, len);
}

static int district_help(void)
{
	printf(_("usage: schoolsync district init --id ID --name NAME --root-key FILE\n"
		"       schoolsync district enroll NODE --role school|hub|auditor [--school SCHOOL_ID]\n"
		"                                  --pubkey HEX [--enckey HEX] --root-key FILE [--valid-from DATE] [--valid-until DATE]\n"
		"  schoolsync district grant-auditor|revoke-auditor --auditor NODE --school SCHOOL   (hub: private rows)\n"
		"       schoolsync district revoke NODE --after-seq N --root-key FILE\n"
		"       schoolsync district reenroll NODE --new-key HEX [--enckey HEX] --void-after N --root-key FILE\n"
		"       schoolsync district rotate-root --new-root-key FILE --root-key FILE\n"
		"       schoolsync district reset-witness --from N [--hub NODE] [--pubkey HEX] --root-key FILE\n"
		"       schoolsync district list [--json]\n"
		"       schoolsync district checkpoint [--json]\n\n"
		"The district's trust data, on the branch refs/heads/district (docs/TRUST.md).\n"
		"  init    on the hub's home: creates the root key file (mode 0600) if absent,\n"
		"          the district's genesis record and the hub's certificate, and prints\n"
		"          the root public key every school pins with 'schoolsync join'.\n"
		"  enroll  certify a node's key (its 'init' printed it): its role, the school it\n"
		"          speaks for, and the time its entries may carry (DATE: YYYY-MM-DD, UTC).\n"
		"  revoke  refuse NODE's entries after seq N on every node, whatever order they\n"
		"          learn things in; rows already applied from them are rebuilt.\n"
		"  reenroll  the way back for a school frozen for equivocation: its entries up to\n"
		"          seq N stay, the new key (printed by 'init' in the school's new home)\n"
		"          continues from N+1, everything the old key signed after N is void;\n"
		"          --enckey: the new home's encryption key (a school that reads private rows).\n"
		"  rotate-root  the root in office signs the hand-over to a new root key (the\n"
		"          file is created if absent); later objects need the new one.\n"
		"  reset-witness  when the hub signed checkpoints with its clock ahead (schools\n"
		"          then refuse to write: E_CLOCK), or its key leaked: checkpoints from N\n"
		"          to the latest are void on every node, and only --hub's key (default:\n"
		"          the witness hub's newest certified key, or --pubkey) signs the next\n"
		"          ones. Fix the hub's clock first (docs/OPERATIONS.md, TRUST.md §4b).\n"
		"  list    the certificates this node holds.\n"
		"  checkpoint  on the hub: sign a checkpoint of every head it holds at its clock's\n"
		"          time (every sync round of the hub does this too; docs/TRUST.md §4a).\n"
		"Keep the root key offline: whoever holds it decides who belongs to the district.\n"));
	return CLI_EXIT_OK;
}

static int list_cb(const ssync_cert_info *c, void *p)
{
	void **pp = p;
	cli_ctx *ctx = pp[0];
	char from[40], until[40], serial[24], rev[24];

	if (ctx->json) {
		json_t *o = json_pack("{sssIsssssssIsI}", "node", c->node, "serial", (json_int_t)c->serial, "role", c->role,
			"school_id", c->school_id, "pubkey", c->pubkey, "valid_from", (json_int_t)c->valid_from,
			"valid_until", (json_int_t)c->valid_until);
		if (o) {
			if (!c->school_id[0])
				json_object_set_new(o, "school_id", json_null());
			json_object_set_new(o, "revoked_after_seq", c->revoked_after < 0 ? json_null() : json_integer(c->revoked_after));
			json_object_set_new(o, "enckey", c->enckey[0] ? json_string(c->enckey) : json_null());
			json_array_append_new(pp[1], o);
		}
		return 0;
	}
	when_text(c->valid_from, from, sizeof(from));
	when_text(c->valid_until, until, sizeof(until));
	snprintf(serial, sizeof(serial), "%lld", (long long)c->serial);
	if (c->revoked_after >= 0)
		snprintf(rev, sizeof(rev), "after seq %lld", (long long)c->revoked_after);
	else
		snprintf(rev, sizeof(rev), "-");
	{
		const char *row[8] = { c->node, serial, c->role, c->school_id[0] ? c->school_id : "-", from, until, rev, c->pubkey };
		cli_table_add(pp[2], row);
	}
	return 0;
}

int cmd_district(cli_ctx *ctx, int argc, char **argv)
{
	const char *id = NULL, *name = NULL, *root = NULL, *role = NULL, *school = NULL, *pubkey = NULL,
		*vfrom = NULL, *vuntil = NULL, *after = NULL, *enckey = NULL, *auditor = NULL, *newkey = NULL,
		*voidafter = NULL, *newroot = NULL, *wfrom = NULL, *hubid = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL, cmd[64];
	const cli_opt opts[] = {
		{ "id", 1, &id, NULL }, { "name", 1, &name, NULL }, { "root-key", 1, &root, NULL },
		{ "role", 1, &role, NULL }, { "school", 1, &school, NULL }, { "pubkey", 1, &pubkey, NULL },
		{ "valid-from", 1, &vfrom, NULL }, { "valid-until", 1, &vuntil, NULL }, { "after-seq", 1, &after, NULL },
		{ "enckey", 1, &enckey, NULL }, { "auditor", 1, &auditor, NULL },
		{ "new-key", 1, &newkey, NULL }, { "void-after", 1, &voidafter, NULL }, { "new-root-key", 1, &newroot, NULL },
		{ "from", 1, &wfrom, NULL }, { "hub", 1, &hubid, NULL },
		{ NULL, 0, NULL, NULL }
	};
	ssync_node *n = NULL;
	ssync_error err;
	const char *sub;

	if (cli_parse(ctx, "district", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	if (help || npos == 0) {
		free(pos);
		return help ? district_help() : cli_usage(ctx, "district", "a subcommand is required: init, enroll, revoke or list");
	}
	sub = pos[0];
	snprintf(cmd, sizeof(cmd), "district %s", sub);
	ssync_error_clear(&err);
	if (strcmp(sub, "init") == 0) {
		char hex[65];
		if (npos != 1 || !id || !name || !root) {
			free(pos);
			return cli_usage(ctx, cmd, "--id ID --name NAME --root-key FILE are required");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_trust_district_init(n, id, name, root, hex, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{ssssssss}", "district", id, "name", name, "root_pubkey", hex, "root_key", root));
		else
			printf(_("district %s (%s) created; root key in %s (keep it offline)\n"
				"root public key %s\n"
				"schools join with: schoolsync join --district %s --district-pubkey %s\n"), id, name, root, hex, id, hex);
	} else if (strcmp(sub, "grant-auditor") == 0 || strcmp(sub, "revoke-auditor") == 0) {
		int on = strcmp(sub, "grant-auditor") == 0;
		if (npos != 1 || !auditor || !school) {
			free(pos);
			return cli_usage(ctx, cmd, "--auditor NODE --school SCHOOL are required");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_privacy_grant(n, auditor, school, on, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sssssb}", "auditor", auditor, "school", school, "granted", on));
		else
			printf(_("%s %s read %s's private rows; it takes effect at the next syncs (docs/PRIVACY.md)\n"),
				auditor, on ? "may now" : "may no longer", school);
	} else if (strcmp(sub, "enroll") == 0) {
		ssync_cert_info c;
		if (npos != 2 || !role || !pubkey || !root) {
			free(pos);
			return cli_usage(ctx, cmd, "NODE --role ROLE --pubkey HEX --root-key FILE are required");
		}
		memset(&c, 0, sizeof(c));
		snprintf(c.node, sizeof(c.node), "%s", pos[1]);
		snprintf(c.role, sizeof(c.role), "%s", role);
		snprintf(c.school_id, sizeof(c.school_id), "%s", school ? school : "");
		snprintf(c.pubkey, sizeof(c.pubkey), "%s", pubkey);
		snprintf(c.enckey, sizeof(c.enckey), "%s", enckey ? enckey : "");
		if ((vfrom && (c.valid_from = parse_when(vfrom, 0)) < 0) || (vuntil && (c.valid_until = parse_when(vuntil, 1)) < 0)) {
			free(pos);
			return cli_usage(ctx, cmd, "dates are YYYY-MM-DD (UTC) or milliseconds since 1970");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_trust_district_enroll(n, &c, root, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sssIssss}", "node", c.node, "serial", (json_int_t)c.serial, "role", c.role,
				"school_id", c.school_id));
		else
			printf(_("certificate %lld: %s is a %s%s%s; it takes effect on each node at its next sync\n"),
				(long long)c.serial, c.node, c.role, c.school_id[0] ? " of school " : "", c.school_id);
	} else if (strcmp(sub, "revoke") == 0) {
		int64_t seq = after ? parse_when(after, 0) : -1;
		if (npos != 2 || !after || seq < 0 || !root) {
			free(pos);
			return cli_usage(ctx, cmd, "NODE --after-seq N --root-key FILE are required (N >= 0)");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_trust_district_revoke(n, pos[1], seq, root, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sssI}", "node", pos[1], "after_seq", (json_int_t)seq));
		else
			printf(_("%s revoked: its entries after seq %lld are refused on every node from its next sync\n"), pos[1], (long long)seq);
	} else if (strcmp(sub, "checkpoint") == 0) {
		int64_t wpos = 0;
		if (npos != 1) {
			free(pos);
			return cli_usage(ctx, cmd, "unexpected argument");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_witness_publish(n, 1, &wpos, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sI}", "checkpoint", (json_int_t)wpos));
		else
			printf(_("checkpoint %lld signed; it reaches every node with the district branch\n"), (long long)wpos);
	} else if (strcmp(sub, "rotate-root") == 0) {
		char hex[65];
		if (npos != 1 || !newroot || !root) {
			free(pos);
			return cli_usage(ctx, cmd, "--new-root-key FILE --root-key FILE are required");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_trust_district_rotate_root(n, newroot, root, hex, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{ssss}", "new_root_pubkey", hex, "new_root_key", newroot));
		else
			printf("district root handed over to %s (key in %s, keep it offline); every node follows at its next "
				"sync; sign with --root-key %s from now on\n", hex, newroot, newroot);
	} else if (strcmp(sub, "reset-witness") == 0) {
		int64_t from = wfrom ? parse_when(wfrom, 0) : -1, to = 0;
		if (npos != 1 || from < 1 || !root) {
			free(pos);
			return cli_usage(ctx, cmd, "--from N (a checkpoint position, 1 or more) and --root-key FILE are required");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_trust_district_reset_witness(n, from, hubid, pubkey, root, &to, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sIsI}", "void_from", (json_int_t)from, "void_to", (json_int_t)to));
		else if (to >= from)
			printf(_("checkpoints %lld to %lld are void on every node from its next sync; the next checkpoint is "
				"signed at the hub's clock: check it reads the right time\n"), (long long)from, (long long)to);
		else
			printf(_("no checkpoint voided; the next checkpoints are signed by the key this reset names\n"));
	} else if (strcmp(sub, "reenroll") == 0) {
		int64_t seq = voidafter ? parse_when(voidafter, 0) : -1, gen = 0;
		if (npos != 2 || !newkey || seq < 0 || !root) {
			free(pos);
			return cli_usage(ctx, cmd, "NODE --new-key HEX --void-after N --root-key FILE are required (N >= 0)");
		}
		if (!(n = cli_open_node(ctx, 0, &rc)))
			goto out;
		if (ssync_trust_district_reenroll(n, pos[1], newkey, enckey, seq, root, &gen, &err) < 0) {
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json)
			rc = cli_print_json(json_pack("{sssIsI}", "node", pos[1], "gen", (json_int_t)gen, "void_after", (json_int_t)seq));
		else
			printf("%s re-enrolled: key generation %lld writes from seq %lld on (branch node/%s.g%lld); what the old key "
				"signed after seq %lld is void on every node from its next sync\n", pos[1], (long long)gen,
				(long long)(seq + 1), pos[1], (long long)gen, (long long)seq);
	} else if (strcmp(sub, "list") == 0) {
		static const char *const hdr[8] = { N_("node"), N_("serial"), N_("role"), N_("school"), N_("valid from"), N_("valid until"), N_("revoked"), N_("key") };
		void *pp[3];
		if (npos != 1) {
			free(pos);
			return cli_usage(ctx, cmd, "unexpected argument");
		}
		if (!(n = cli_open_node(ctx, SSYNC_NODE_READONLY, &rc)))
			goto out;
		pp[0] = ctx;
		pp[1] = json_array();
		pp[2] = cli_table_new(8, hdr);
		if (!pp[1] || !pp[2]) {
			json_decref(pp[1]);
			cli_table_free(pp[2]);
			ssync_error_set(&err, SSYNC_ERROR, "out of memory");
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ssync_trust_district_list(ssync_node_store(n), list_cb, pp, &err) < 0) {
			json_decref(pp[1]);
			cli_table_free(pp[2]);
			rc = cli_fail(ctx, &err);
			goto out;
		}
		if (ctx->json) {
			rc = cli_print_json(pp[1]);
		} else {
			json_decref(pp[1]);
			cli_table_print(pp[2], stdout);
		}
		cli_table_free(pp[2]);
	} else {
		free(pos);
		return cli_usage(ctx, "district", "unknown subcommand '%s' (init, enroll, revoke, reenroll, rotate-root, reset-witness, list, checkpoint)", sub);
	}
out:
	free(pos);
	ssync_node_free(n);
	return rc;
}

int cmd_join(cli_ctx *ctx, int argc, char **argv)
{
	const char *pub = NULL, *district = NULL;
	int help = 0, npos = 0, rc = CLI_EXIT_OK;
	char **pos = NULL;
	const cli_opt opts[] = { { "district-pubkey", 1, &pub, NULL }, { "district", 1, &district, NULL },
		{ NULL, 0, NULL, NULL } };
	ssync_node *n = NULL;
	ssync_error err;

	if (cli_parse(ctx, "join", argc, argv, opts, &help, &pos, &npos) < 0) {
		free(pos);
		return CLI_EXIT_USAGE;
	}
	free(pos);
	if (help) {
		printf(_("usage: schoolsync join --district ID --district-pubkey HEX [--json]\n\n"
			"Pin the district's root public key on this node (get it and the district id\n"
			"from the hub out of band, like an SSH host key; 'district init' printed both).\n"
			"The node must have been created for that district (init --district ID): a\n"
			"mismatch is refused here, because the district would refuse all its entries.\n"
			"--district may be left out only when the node's district is not 'default'.\n"
			"From then on the node accepts only district\n"
			"branches, certificates and entries that chain to that root, takes every\n"
			"node's key from its certificate, and enforces the write policy. Give the\n"
			"hub this node's public key ('init' printed it) so it can enroll the node.\n"));
		return CLI_EXIT_OK;
	}
	if (npos > 0 || !pub)
		return cli_usage(ctx, "join", "--district-pubkey HEX is required");
	if (!(n = cli_open_node(ctx, 0, &rc)))
		return rc;
	ssync_error_clear(&err);
	if ((district && strcmp(district, ssync_node_district(n)) != 0) ||
	    (!district && strcmp(ssync_node_district(n), "default") == 0)) {
		/* Entries carry the author's district; a hub of another district
		 * quarantines every one of them (E_DISTRICT). Refuse before that. */
		ssync_error_set(&err, SSYNC_EINVAL, "node %s belongs to district '%s'%s%s%s", ssync_node_id(n),
			ssync_node_district(n), district ? ", not '" : " (created without --district)",
			district ? district : "", district ? "'" : "");
		ssync_error_hint(&err, "a node's district is fixed at init: move %s aside and run "
			"'schoolsync --home %s init --node %s --district %s', then join again",
			ctx->home, ctx->home, ssync_node_id(n), district ? district : "ID");
		rc = cli_fail(ctx, &err);
		ssync_node_free(n);
		return rc;
	}
	if (ssync_trust_district_join(n, pub, &err) < 0)
		rc = cli_fail(ctx, &err);
	else if (ctx->json)
		rc = cli_print_json(json_pack("{sssssb}", "node", ssync_node_id(n), "district_pubkey", pub, "joined", 1));
	else
		printf(_("node %s pinned district root %s\nnext: the hub enrolls this node's key %s; then run 'schoolsync sync'\n"),
			ssync_node_id(n), pub, ssync_node_pubkey_hex(n));
	ssync_node_free(n);
	return rc;
}
