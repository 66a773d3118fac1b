/* SPDX-License-Identifier: MIT */
/*
 * mtasts_policy.c: "mtasts policy DOMAIN...": discover and print each
 * domain's policy.
 *
 * All lookups run at once on one event loop (the library bounds the
 * number of simultaneous HTTPS fetches); results are printed in the order
 * the domains were given, each as soon as it and all before it are done.
 * Exit status: 0 when every domain got an answer (a policy or "no
 * policy"), 1 when any lookup failed, 2 on a usage error.
 */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "mtasts/discover.h"
#include "mtasts/mx.h"

#define POLICY_DOMAINS_MAX 1000000

struct run;

struct lookup {
	struct run *run;
	char domain[MTASTS_DOMAIN_MAX + 2];
	bool done;
	bool failed;
	char *out;		/* rendered output, printed in order */
};

struct run {
	const struct cli_opts *opts;
	struct lookup *l;
	size_t n;
	size_t next_print;
	size_t pending;
	int status;
};

static char *
render_json(const struct mtasts_discovery_result *r)
{
	json_t *j = json_object();
	char *s;

	json_object_set_new(j, "domain", json_string(r->domain));
	json_object_set_new(j, "result",
	    json_string(mtasts_result_name(r->result)));
	json_object_set_new(j, "failure",
	    r->failure != MTASTS_FAILURE_NONE
		? json_string(mtasts_failure_name(r->failure))
		: json_null());
	json_object_set_new(j, "reason",
	    json_string(r->reason != NULL ? r->reason : ""));
	json_object_set_new(j, "id", r->id ? json_string(r->id) : json_null());
	json_object_set_new(j, "policy",
	    r->policy ? cli_json_policy(r->policy) : json_null());
	json_object_set_new(j, "warnings",
	    cli_json_diags(r->diags, MTASTS_SEV_WARNING));
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	return s;
}

/* Append printf output to a growing string; returns the new string. */
static char *
append(char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
append(char *s, const char *fmt, ...)
{
	size_t have = s ? strlen(s) : 0;
	va_list ap;
	int need;
	char *n;

	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0)
		return s;
	n = realloc(s, have + (size_t)need + 1);
	if (n == NULL)
		return s;
	va_start(ap, fmt);
	vsnprintf(n + have, (size_t)need + 1, fmt, ap);
	va_end(ap);
	return n;
}

static char *
render_text(const struct mtasts_discovery_result *r)
{
	char *s = NULL;
	size_t i;

	switch (r->result) {
	case MTASTS_RESULT_POLICY:
	case MTASTS_RESULT_UNCHANGED:
		s = append(s, "%s: policy id %s\n", r->domain,
		    r->id ? r->id : "-");
		break;
	case MTASTS_RESULT_NO_POLICY:
		s = append(s, "%s: no policy%s%s\n", r->domain,
		    r->reason && *r->reason ? ": " : "",
		    r->reason ? r->reason : "");
		return s;
	case MTASTS_RESULT_TEMPERROR:
		s = append(s, "%s: temporary failure: %s\n", r->domain,
		    r->reason ? r->reason : "");
		return s;
	case MTASTS_RESULT_ERROR:
		s = append(s, "%s: error %s: %s\n", r->domain,
		    mtasts_failure_name(r->failure) ?
			mtasts_failure_name(r->failure) : "unknown",
		    r->reason ? r->reason : "");
		return s;
	}
	if (r->policy == NULL)
		return s;
	s = append(s, "  version: %s\n  mode: %s\n  max_age: %u\n",
	    mtasts_policy_version(r->policy),
	    mtasts_mode_name(mtasts_policy_mode(r->policy)),
	    mtasts_policy_max_age(r->policy));
	for (i = 0; i < mtasts_policy_mx_count(r->policy); i++)
		s = append(s, "  mx: %s\n", mtasts_policy_mx(r->policy, i));
	for (i = 0; r->diags && i < r->diags->count; i++) {
		char line[MTASTS_DIAG_MSG_MAX + 96];

		s = append(s, "  (%s)\n", mtasts_diag_format(&r->diags->item[i],
		    line, sizeof(line)));
	}
	return s;
}

static void
flush_ready(struct run *run)
{
	while (run->next_print < run->n && run->l[run->next_print].done) {
		struct lookup *l = &run->l[run->next_print++];

		if (l->out != NULL) {
			fputs(l->out, stdout);
			if (run->opts->json)
				fputc('\n', stdout);
			free(l->out);
			l->out = NULL;
		}
	}
	fflush(stdout);
}

static void
on_result(void *arg, struct mtasts_discovery_result *r)
{
	struct lookup *l = arg;
	struct run *run = l->run;

	l->done = true;
	l->failed = r->result == MTASTS_RESULT_TEMPERROR ||
	    r->result == MTASTS_RESULT_ERROR;
	if (l->failed)
		run->status = EXIT_INVALID;
	l->out = run->opts->json ? render_json(r) : render_text(r);
	run->pending--;
	flush_ready(run);
}

int
cli_policy(struct cli_opts *o)
{
	struct mtasts_discovery_options dopt;
	struct mtasts_discovery *disc = NULL;
	struct event_base *base;
	struct mtasts_error err;
	struct run run;
	size_t i;
	int rc;

	if (o->nargs < 1)
		return cli_usage_error("policy needs at least one DOMAIN");
	if ((size_t)o->nargs > POLICY_DOMAINS_MAX)
		return cli_usage_error("at most %d domains",
		    POLICY_DOMAINS_MAX);
	memset(&run, 0, sizeof(run));
	run.opts = o;
	run.n = (size_t)o->nargs;
	run.l = calloc(run.n, sizeof(*run.l));
	if (run.l == NULL) {
		cli_warn("out of memory");
		return EXIT_INVALID;
	}
	for (i = 0; i < run.n; i++) {
		const char *why;

		run.l[i].run = &run;
		if (cli_domain_to_ascii(o->args[i], run.l[i].domain,
			sizeof(run.l[i].domain), &why) != 0) {
			free(run.l);
			return cli_usage_error("'%s' is not a domain name: %s",
			    o->args[i], why);
		}
	}

	mtasts_discovery_options_init(&dopt);
	dopt.resolver = o->resolver;
	dopt.ca_file = o->ca_file;
	if (o->timeout_ms > 0) {
		dopt.timeout_ms = o->timeout_ms;
		if (dopt.connect_timeout_ms > o->timeout_ms)
			dopt.connect_timeout_ms = o->timeout_ms;
		if (dopt.dns_timeout_ms > o->timeout_ms)
			dopt.dns_timeout_ms = o->timeout_ms;
	}
	base = event_base_new();
	if (base == NULL) {
		free(run.l);
		cli_warn("cannot create the event loop");
		return EXIT_INVALID;
	}
	mtasts_error_clear(&err);
	rc = mtasts_discovery_new(base, &dopt, &disc, &err);
	if (rc != MTASTS_OK) {
		event_base_free(base);
		free(run.l);
		if (rc == MTASTS_EINVAL)
			return cli_usage_error("%s", err.msg);
		cli_warn("%s", err.msg);
		return EXIT_INVALID;
	}
	for (i = 0; i < run.n; i++) {
		rc = mtasts_discover(disc, run.l[i].domain, NULL, on_result,
		    &run.l[i], &err);
		if (rc != MTASTS_OK) {
			/* The callback will not run: report it here. */
			run.l[i].done = true;
			run.l[i].failed = true;
			run.status = EXIT_INVALID;
			cli_warn("%s: %s", run.l[i].domain, err.msg);
			continue;
		}
		run.pending++;
	}
	if (run.pending > 0)
		event_base_dispatch(base);
	flush_ready(&run);
	mtasts_discovery_free(disc);
	event_base_free(base);
	for (i = 0; i < run.n; i++)
		free(run.l[i].out);
	free(run.l);
	return run.status;
}
