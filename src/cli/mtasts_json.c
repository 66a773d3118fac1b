/* SPDX-License-Identifier: MIT */
/*
 * mtasts_json.c: JSON renderings shared by the verbs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mtasts.h"

json_t *
cli_json_policy(const struct mtasts_policy *p)
{
	json_t *o = json_object(), *mx = json_array(), *ext = json_object();
	size_t i;

	for (i = 0; i < mtasts_policy_mx_count(p); i++)
		json_array_append_new(mx, json_string(mtasts_policy_mx(p, i)));
	for (i = 0; i < mtasts_policy_ext_count(p); i++) {
		const char *k, *v;

		/* First occurrence wins, as for known keys. */
		if (mtasts_policy_ext(p, i, &k, &v) &&
		    json_object_get(ext, k) == NULL)
			json_object_set_new(ext, k, json_string(v));
	}
	json_object_set_new(o, "version",
	    json_string(mtasts_policy_version(p)));
	json_object_set_new(o, "mode",
	    json_string(mtasts_mode_name(mtasts_policy_mode(p))));
	json_object_set_new(o, "max_age",
	    json_integer((json_int_t)mtasts_policy_max_age(p)));
	json_object_set_new(o, "mx", mx);
	json_object_set_new(o, "extensions", ext);
	return o;
}

json_t *
cli_json_diags(const struct mtasts_diags *d, enum mtasts_severity sev)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; d != NULL && i < d->count; i++) {
		const struct mtasts_diag *dg = &d->item[i];
		json_t *e;

		if (dg->severity != sev)
			continue;
		e = json_object();
		if (dg->line > 0)
			json_object_set_new(e, "line", json_integer(dg->line));
		if (dg->field[0] != '\0')
			json_object_set_new(e, "field",
			    json_string(dg->field));
		json_object_set_new(e, "message", json_string(dg->msg));
		json_array_append_new(a, e);
	}
	return a;
}

void
cli_json_print(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(v);
}

void
cli_print_diags(const char *what, const struct mtasts_diags *d)
{
	char line[MTASTS_DIAG_MSG_MAX + 96];
	size_t i;

	for (i = 0; d != NULL && i < d->count; i++)
		fprintf(stderr, "%s: %s\n", what,
		    mtasts_diag_format(&d->item[i], line, sizeof(line)));
	if (d != NULL && d->dropped > 0)
		fprintf(stderr, "%s: (%zu more findings not shown)\n", what,
		    d->dropped);
}
