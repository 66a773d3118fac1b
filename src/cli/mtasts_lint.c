/* SPDX-License-Identifier: MIT */
/*
 * mtasts_lint.c: "mtasts lint sts-record|tlsrpt-record|policy".
 *
 * Exit status: 0 valid, 1 invalid (reasons on standard error, each naming
 * the line and field), 2 usage error. With --json the parsed result goes
 * to standard output as one JSON object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "mtasts/mx.h"
#include "mtasts/sts_record.h"
#include "mtasts/tlsrpt_record.h"

#define LINT_ARGS_MAX 64

/* Collect the operands as an RRset (one TXT record per operand). */
static int
collect(struct cli_opts *o, const char **txt, size_t *lens)
{
	int i;

	if (o->nargs < 1)
		return -1;
	for (i = 0; i < o->nargs && i < LINT_ARGS_MAX; i++) {
		txt[i] = o->args[i];
		lens[i] = strlen(o->args[i]);
	}
	return i;
}

static void
json_finish(json_t *j, bool valid, const struct mtasts_diags *d,
    const struct mtasts_error *err)
{
	json_t *errors = cli_json_diags(d, MTASTS_SEV_ERROR);

	/* A failure the parser did not itemise (e.g. no record at all). */
	if (!valid && json_array_size(errors) == 0) {
		json_t *e = json_object();

		json_object_set_new(e, "message", json_string(err->msg));
		json_array_append_new(errors, e);
	}
	json_object_set_new(j, "valid", json_boolean(valid));
	json_object_set_new(j, "errors", errors);
	json_object_set_new(j, "warnings",
	    cli_json_diags(d, MTASTS_SEV_WARNING));
	cli_json_print(j);
}

static void
text_finish(const char *what, bool valid, const struct mtasts_diags *d,
    const struct mtasts_error *err)
{
	cli_print_diags(what, d);
	if (!valid && d->errors == 0)
		fprintf(stderr, "%s: error: %s\n", what, err->msg);
}

static int
lint_sts(struct cli_opts *o)
{
	const char *txt[LINT_ARGS_MAX];
	size_t lens[LINT_ARGS_MAX];
	struct mtasts_sts_record rec;
	struct mtasts_diags d;
	struct mtasts_error err;
	int n, rc;

	n = collect(o, txt, lens);
	if (n < 0)
		return cli_usage_error("lint sts-record needs TEXT");
	if (o->nargs > LINT_ARGS_MAX)
		return cli_usage_error("at most %d records", LINT_ARGS_MAX);
	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	memset(&rec, 0, sizeof(rec));
	rc = mtasts_sts_rrset_select(txt, lens, (size_t)n, &rec, &d, &err);
	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "id",
		    rc == MTASTS_OK ? json_string(rec.id) : json_null());
		json_finish(j, rc == MTASTS_OK, &d, &err);
	} else {
		text_finish("sts-record", rc == MTASTS_OK, &d, &err);
		if (rc == MTASTS_OK)
			printf("valid: v=STSv1, id %s\n", rec.id);
	}
	return rc == MTASTS_OK ? EXIT_VALID : EXIT_INVALID;
}

static int
lint_tlsrpt(struct cli_opts *o)
{
	const char *txt[LINT_ARGS_MAX];
	size_t lens[LINT_ARGS_MAX];
	struct mtasts_tlsrpt_record *rec = NULL;
	struct mtasts_diags d;
	struct mtasts_error err;
	size_t i;
	int n, rc;

	n = collect(o, txt, lens);
	if (n < 0)
		return cli_usage_error("lint tlsrpt-record needs TEXT");
	if (o->nargs > LINT_ARGS_MAX)
		return cli_usage_error("at most %d records", LINT_ARGS_MAX);
	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	rc = mtasts_tlsrpt_rrset_select(txt, lens, (size_t)n, &rec, &d, &err);
	if (o->json) {
		json_t *j = json_object(), *rua = json_array();

		for (i = 0; rec != NULL &&
		     i < mtasts_tlsrpt_record_rua_count(rec); i++)
			json_array_append_new(rua,
			    json_string(mtasts_tlsrpt_record_rua(rec, i)));
		json_object_set_new(j, "rua", rua);
		json_finish(j, rc == MTASTS_OK, &d, &err);
	} else {
		text_finish("tlsrpt-record", rc == MTASTS_OK, &d, &err);
		if (rc == MTASTS_OK) {
			printf("valid: v=TLSRPTv1, reports go to:\n");
			for (i = 0; i < mtasts_tlsrpt_record_rua_count(rec); i++)
				printf("  %s\n", mtasts_tlsrpt_record_rua(rec, i));
		}
	}
	mtasts_tlsrpt_record_free(rec);
	return rc == MTASTS_OK ? EXIT_VALID : EXIT_INVALID;
}

/*
 * Read at most max + 1 bytes of path ("-" = standard input) into a new
 * buffer, so an over-long file is detected without reading all of it.
 */
static char *
read_bounded(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t got = 0, n;

	if (f == NULL) {
		cli_warn("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 2);
	if (buf == NULL) {
		cli_warn("out of memory");
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	while (got < max + 1 &&
	    (n = fread(buf + got, 1, max + 1 - got, f)) > 0)
		got += n;
	if (ferror(f)) {
		cli_warn("%s: read error", path);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = got;
	return buf;
}

static int
lint_policy(struct cli_opts *o)
{
	struct mtasts_policy *p = NULL;
	struct mtasts_diags d;
	struct mtasts_error err;
	char hosts[CLI_MX_MAX][MTASTS_DOMAIN_MAX + 2];
	bool match[CLI_MX_MAX];
	bool all_match = true;
	size_t len, i;
	char *body;
	int rc;

	if (o->nargs != 1)
		return cli_usage_error("lint policy needs exactly one FILE "
				       "('-' for standard input)");
	for (i = 0; i < o->mx_count; i++) {
		const char *why;

		if (cli_domain_to_ascii(o->mx[i], hosts[i], sizeof(hosts[i]),
			&why) != 0)
			return cli_usage_error("--mx '%s': %s", o->mx[i], why);
	}
	body = read_bounded(o->args[0], MTASTS_POLICY_BODY_MAX, &len);
	if (body == NULL)
		return EXIT_USAGE;
	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	rc = mtasts_policy_parse(body, len, &p, &d, &err);
	free(body);
	for (i = 0; i < o->mx_count; i++) {
		match[i] = p != NULL && mtasts_policy_match_mx(p, hosts[i]);
		all_match = all_match && match[i];
	}
	if (o->json) {
		json_t *j = p ? cli_json_policy(p) : json_object();
		json_t *mm = json_object();

		if (p == NULL) {
			json_object_set_new(j, "version", json_null());
			json_object_set_new(j, "mode", json_null());
			json_object_set_new(j, "max_age", json_null());
			json_object_set_new(j, "mx", json_array());
			json_object_set_new(j, "extensions", json_object());
		}
		for (i = 0; i < o->mx_count; i++)
			json_object_set_new(mm, hosts[i], json_boolean(match[i]));
		json_object_set_new(j, "mx_match", mm);
		json_finish(j, rc == MTASTS_OK, &d, &err);
	} else {
		text_finish("policy", rc == MTASTS_OK, &d, &err);
		if (p != NULL)
			printf("valid: mode %s, max_age %u, %zu mx pattern%s\n",
			    mtasts_mode_name(mtasts_policy_mode(p)),
			    mtasts_policy_max_age(p), mtasts_policy_mx_count(p),
			    mtasts_policy_mx_count(p) == 1 ? "" : "s");
		for (i = 0; i < o->mx_count; i++) {
			if (p == NULL)
				break;
			if (match[i])
				printf("mx %s: matches the policy\n", hosts[i]);
			else
				fprintf(stderr, "policy: error: mx host %s is "
						"not matched by any mx pattern\n",
				    hosts[i]);
		}
	}
	mtasts_policy_free(p);
	return rc == MTASTS_OK && all_match ? EXIT_VALID : EXIT_INVALID;
}

int
cli_lint(struct cli_opts *o)
{
	const char *what;

	if (o->nargs < 1)
		return cli_usage_error("lint needs sts-record, tlsrpt-record "
				       "or policy");
	what = o->args[0];
	o->args++;
	o->nargs--;
	if (o->mx_count > 0 && strcmp(what, "policy") != 0)
		return cli_usage_error("--mx goes with 'lint policy'");
	if (strcmp(what, "sts-record") == 0)
		return lint_sts(o);
	if (strcmp(what, "tlsrpt-record") == 0)
		return lint_tlsrpt(o);
	if (strcmp(what, "policy") == 0)
		return lint_policy(o);
	return cli_usage_error("unknown lint target '%s' (sts-record, "
			       "tlsrpt-record, policy)",
	    what);
}
