/* SPDX-License-Identifier: MIT */
/*
 * mtasts_check.c: "mtasts check DOMAIN...": a domain's whole inbound
 * mail-TLS posture, as a grouped report or as JSON; plus what check and
 * scan share: the checker set-up, the JSON rendering of a report, the
 * exit status of a report and the --state file.
 *
 * JSON schema (one object per domain, stable; fields are only added):
 *   {"domain": "...", "status": "pass|warn|fail|not-tested",
 *    "exit": 0-3, "counts": {"PASS": n, "WARN": n, ...},
 *    "facts": {"has_mx": b, "null_mx": b, "mx_hosts": n, "mx_addrs": n,
 *              "mx_addrs_tested": n, "all_starttls": b, "all_tls12": b,
 *              "all_cert_ok": b, "sts_published": b, "sts_valid": b,
 *              "sts_mode": "enforce|testing|none"|null,
 *              "tlsrpt_valid": b},
 *    "sts_id": "..."|null, "policy_sha256": "..."|null,
 *    "mx": ["host", ...]|null,
 *    "items": [{"id": "MX-STARTTLS", "group": "mx", "state": "FAIL",
 *               "mx": "host"|null, "ip": "addr"|null,
 *               "message": "..."}]}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts.h"
#include "mtasts/check.h"
#include "mtasts/mx.h"

#define STATE_MAX_BYTES (512L * 1024 * 1024)

int
cli_checker_new(const struct cli_opts *o, struct event_base *base,
    struct mtasts_checker **out)
{
	struct mtasts_checker_options co;
	struct mtasts_error err;
	int rc;

	mtasts_checker_options_init(&co);
	co.resolver = o->resolver;
	co.ca_file = o->ca_file;
	co.probe.ehlo_name = o->ehlo_name;
	if (o->timeout_ms > 0) {
		unsigned t = o->timeout_ms;

		co.fetch_timeout_ms = t;
		if (co.connect_timeout_ms > t)
			co.connect_timeout_ms = t;
		if (co.dns_timeout_ms > t)
			co.dns_timeout_ms = t;
		if (co.probe.connect_timeout_ms > t)
			co.probe.connect_timeout_ms = t;
		co.probe.reply_timeout_ms = t;
		co.probe.tls_timeout_ms = t;
		co.probe.total_timeout_ms = t * 4;
		if (co.probe.quit_timeout_ms > t)
			co.probe.quit_timeout_ms = t;
	}
	if (o->concurrency > 0 && o->concurrency < co.probe.max_connections)
		co.probe.max_connections = o->concurrency;
	mtasts_error_clear(&err);
	rc = mtasts_checker_new(base, &co, out, &err);
	if (rc == MTASTS_OK)
		return 0;
	if (rc == MTASTS_EINVAL)
		return cli_usage_error("%s", err.msg);
	cli_warn("%s", err.msg);
	return 3;
}

int
cli_report_status(const struct mtasts_check_report *r)
{
	const struct mtasts_check_facts *f = mtasts_check_report_facts(r);
	size_t pass = mtasts_check_report_states(r, MTASTS_CHECK_PASS);
	size_t warn = mtasts_check_report_states(r, MTASTS_CHECK_WARN);
	size_t nt = mtasts_check_report_states(r, MTASTS_CHECK_NOT_TESTED);

	if (mtasts_check_report_states(r, MTASTS_CHECK_FAIL) > 0 ||
	    mtasts_check_report_states(r, MTASTS_CHECK_ERROR) > 0)
		return 2;
	if ((f->addrs > 0 && f->addrs_tested == 0) ||
	    (pass + warn == 0 && nt > 0))
		return 3;
	if (warn > 0 || nt > 0)
		return 1;
	return 0;
}

static const char *
status_word(int st)
{
	static const char *const w[] = {"pass", "warn", "fail", "not-tested"};

	return st >= 0 && st <= 3 ? w[st] : "?";
}

static json_t *
jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
cli_json_report(const struct mtasts_check_report *r)
{
	const struct mtasts_check_facts *f = mtasts_check_report_facts(r);
	json_t *j = json_object(), *counts = json_object();
	json_t *facts = json_object(), *items = json_array(), *mx;
	int st = cli_report_status(r);

	json_object_set_new(j, "domain",
	    json_string(mtasts_check_report_domain(r)));
	json_object_set_new(j, "status", json_string(status_word(st)));
	json_object_set_new(j, "exit", json_integer(st));
	for (int s = 0; s < MTASTS_CHECK_NSTATES; s++)
		json_object_set_new(counts, mtasts_check_state_name(s),
		    json_integer((json_int_t)mtasts_check_report_states(r, s)));
	json_object_set_new(j, "counts", counts);
	json_object_set_new(facts, "has_mx", json_boolean(f->has_mx));
	json_object_set_new(facts, "null_mx", json_boolean(f->null_mx));
	json_object_set_new(facts, "mx_hosts", json_integer(f->mx_hosts));
	json_object_set_new(facts, "mx_addrs", json_integer(f->addrs));
	json_object_set_new(facts, "mx_addrs_tested",
	    json_integer(f->addrs_tested));
	json_object_set_new(facts, "all_starttls",
	    json_boolean(f->all_starttls));
	json_object_set_new(facts, "all_tls12", json_boolean(f->all_tls12));
	json_object_set_new(facts, "all_cert_ok",
	    json_boolean(f->all_cert_ok));
	json_object_set_new(facts, "sts_published",
	    json_boolean(f->sts_published));
	json_object_set_new(facts, "sts_valid", json_boolean(f->sts_valid));
	json_object_set_new(facts, "sts_mode", f->sts_valid ?
	    json_string(mtasts_mode_name(f->sts_mode)) : json_null());
	json_object_set_new(facts, "tlsrpt_valid",
	    json_boolean(f->tlsrpt_valid));
	json_object_set_new(j, "facts", facts);
	json_object_set_new(j, "sts_id",
	    jstr_or_null(mtasts_check_report_sts_id(r)));
	json_object_set_new(j, "policy_sha256",
	    jstr_or_null(mtasts_check_report_body_sha256(r)));
	if (mtasts_check_report_mx_known(r)) {
		mx = json_array();
		for (size_t i = 0; i < mtasts_check_report_mx_count(r); i++)
			json_array_append_new(mx,
			    json_string(mtasts_check_report_mx(r, i)));
	} else {
		mx = json_null();
	}
	json_object_set_new(j, "mx", mx);
	for (size_t i = 0; i < mtasts_check_report_count(r); i++) {
		const struct mtasts_check_item *it =
		    mtasts_check_report_item(r, i);
		json_t *e = json_object();

		json_object_set_new(e, "id", json_string(it->id));
		json_object_set_new(e, "group", json_string(it->group));
		json_object_set_new(e, "state",
		    json_string(mtasts_check_state_name(it->state)));
		json_object_set_new(e, "mx", jstr_or_null(it->mx));
		json_object_set_new(e, "ip", jstr_or_null(it->ip));
		json_object_set_new(e, "message", json_string(it->msg));
		json_array_append_new(items, e);
	}
	json_object_set_new(j, "items", items);
	return j;
}

/* ---- --state ---- */

struct cli_state {
	char *path;
	json_t *root;		/* {"version":1,"domains":{...}} */
	json_t *domains;	/* borrowed from root */
};

struct cli_state *
cli_state_load(const char *path)
{
	struct cli_state *st = calloc(1, sizeof(*st));
	json_error_t je;

	if (st == NULL)
		return NULL;
	st->path = strdup(path);
	if (st->path == NULL) {
		free(st);
		return NULL;
	}
	if (access(path, F_OK) == 0) {
		st->root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (st->root == NULL || !json_is_object(st->root)) {
			cli_warn("%s: not a state file (%s); starting afresh",
			    path, st->root ? "not an object" : je.text);
			json_decref(st->root);
			st->root = NULL;
		}
	}
	if (st->root == NULL) {
		st->root = json_object();
		json_object_set_new(st->root, "version", json_integer(1));
	}
	st->domains = json_object_get(st->root, "domains");
	if (!json_is_object(st->domains)) {
		st->domains = json_object();
		json_object_set_new(st->root, "domains", st->domains);
	}
	return st;
}

bool
cli_state_prev(struct cli_state *st, const char *domain,
    struct mtasts_check_prev *prev, const char **mxbuf, size_t cap)
{
	json_t *d, *mx;
	size_t i;

	memset(prev, 0, sizeof(*prev));
	if (st == NULL)
		return false;
	d = json_object_get(st->domains, domain);
	if (!json_is_object(d))
		return true;	/* known state file, domain not in it */
	prev->sts_id = json_string_value(json_object_get(d, "sts_id"));
	prev->body_sha256 = json_string_value(json_object_get(d,
	    "policy_sha256"));
	mx = json_object_get(d, "mx");
	if (json_is_array(mx)) {
		prev->have_mx = true;
		for (i = 0; i < json_array_size(mx) && i < cap; i++) {
			const char *s = json_string_value(json_array_get(mx,
			    i));

			if (s != NULL)
				mxbuf[prev->nmx++] = s;
		}
		prev->mx = mxbuf;
	}
	return true;
}

void
cli_state_record(struct cli_state *st, const struct mtasts_check_report *r)
{
	json_t *d, *old, *mx;
	const char *id = mtasts_check_report_sts_id(r);
	const char *h = mtasts_check_report_body_sha256(r);

	if (st == NULL)
		return;
	old = json_object_get(st->domains, mtasts_check_report_domain(r));
	d = json_object();
	/* Keep what this run could not see (a failed fetch is no news). */
	if (id && h) {
		json_object_set_new(d, "sts_id", json_string(id));
		json_object_set_new(d, "policy_sha256", json_string(h));
	} else if (json_is_object(old)) {
		json_t *v;

		if ((v = json_object_get(old, "sts_id")) != NULL)
			json_object_set(d, "sts_id", v);
		if ((v = json_object_get(old, "policy_sha256")) != NULL)
			json_object_set(d, "policy_sha256", v);
	}
	if (mtasts_check_report_mx_known(r)) {
		mx = json_array();
		for (size_t i = 0; i < mtasts_check_report_mx_count(r); i++)
			json_array_append_new(mx,
			    json_string(mtasts_check_report_mx(r, i)));
		json_object_set_new(d, "mx", mx);
	} else if (json_is_object(old) && json_object_get(old, "mx")) {
		json_object_set(d, "mx", json_object_get(old, "mx"));
	}
	json_object_set_new(st->domains, mtasts_check_report_domain(r), d);
}

int
cli_state_save(struct cli_state *st)
{
	char tmp[4096];
	int n;

	if (st == NULL)
		return 0;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", st->path,
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		cli_warn("%s: path too long", st->path);
		return -1;
	}
	if (json_dump_file(st->root, tmp, JSON_COMPACT | JSON_SORT_KEYS) !=
	    0) {
		cli_warn("%s: cannot write the state file", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, st->path) != 0) {
		cli_warn("%s: %s", st->path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void
cli_state_free(struct cli_state *st)
{
	if (st == NULL)
		return;
	json_decref(st->root);
	free(st->path);
	free(st);
}

/* ---- mtasts check ---- */

#define CHECK_DOMAINS_MAX 64
#define PREV_MX_MAX 64

struct check_run {
	const struct cli_opts *o;
	struct cli_state *st;
	bool color;
	size_t pending;
	int worst;		/* 0 < 1 < 3 < 2 */
	struct mtasts_check_report **reps;
	size_t nreps;
	struct event_base *base;
};

static const char *
state_color(enum mtasts_check_state s)
{
	switch (s) {
	case MTASTS_CHECK_PASS:
		return "\033[32m";
	case MTASTS_CHECK_WARN:
		return "\033[33m";
	case MTASTS_CHECK_FAIL:
	case MTASTS_CHECK_ERROR:
		return "\033[1;31m";
	case MTASTS_CHECK_NOT_TESTED:
		return "\033[35m";
	default:
		return "\033[36m";
	}
}

static void
print_text(const struct mtasts_check_report *r, bool color)
{
	static const struct {
		const char *key, *title;
	} groups[] = {{"mta-sts", "MTA-STS"}, {"tls-rpt", "TLS-RPT"},
		{"mx", "MX hosts"}, {"dane", "DANE"}};
	int st = cli_report_status(r);

	printf("%s%s%s\n", color ? "\033[1m" : "",
	    mtasts_check_report_domain(r), color ? "\033[0m" : "");
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		bool head = false;

		for (size_t i = 0; i < mtasts_check_report_count(r); i++) {
			const struct mtasts_check_item *it =
			    mtasts_check_report_item(r, i);
			char where[400] = "";

			if (strcmp(it->group, groups[g].key) != 0)
				continue;
			if (!head) {
				printf("  %s\n", groups[g].title);
				head = true;
			}
			if (it->mx && it->ip)
				snprintf(where, sizeof(where), " [%s %s]",
				    it->mx, it->ip);
			else if (it->mx)
				snprintf(where, sizeof(where), " [%s]", it->mx);
			printf("    %s%-10s%s %s%s: %s\n",
			    color ? state_color(it->state) : "",
			    mtasts_check_state_name(it->state),
			    color ? "\033[0m" : "", it->id, where, it->msg);
		}
	}
	printf("  Result: %zu pass, %zu warn, %zu fail, %zu not tested, "
	       "%zu info: %s\n",
	    mtasts_check_report_states(r, MTASTS_CHECK_PASS),
	    mtasts_check_report_states(r, MTASTS_CHECK_WARN),
	    mtasts_check_report_states(r, MTASTS_CHECK_FAIL) +
		mtasts_check_report_states(r, MTASTS_CHECK_ERROR),
	    mtasts_check_report_states(r, MTASTS_CHECK_NOT_TESTED),
	    mtasts_check_report_states(r, MTASTS_CHECK_INFO),
	    st == 0 ? "all checks pass" : st == 1 ? "warnings" :
	    st == 2 ? "failures" : "nothing could be tested");
}

static int
rank(int st)
{
	static const int rk[] = {0, 1, 3, 2};

	return rk[st];
}

static void
on_check_done(void *arg, struct mtasts_check_report *rep)
{
	struct check_run *run = arg;
	int st;

	run->pending--;
	if (rep == NULL) {
		cli_warn("out of memory");
		if (rank(2) > rank(run->worst))
			run->worst = 2;
		if (run->pending == 0)
			event_base_loopbreak(run->base);
		return;
	}
	st = cli_report_status(rep);
	if (rank(st) > rank(run->worst))
		run->worst = st;
	cli_state_record(run->st, rep);
	run->reps[run->nreps++] = rep;
	/* Timers (a back-off after 421, resolver upkeep) may still be
	 * pending: do not wait for them. */
	if (run->pending == 0)
		event_base_loopbreak(run->base);
}

int
cli_check(struct cli_opts *o)
{
	char dom[CHECK_DOMAINS_MAX][MTASTS_DOMAIN_MAX + 2];
	struct mtasts_checker *chk = NULL;
	struct mtasts_check_report *reps[CHECK_DOMAINS_MAX];
	struct event_base *base;
	struct check_run run;
	const char *no_color = getenv("NO_COLOR");
	int i, rc;

	if (o->nargs < 1)
		return cli_usage_error("check needs a DOMAIN");
	if (o->nargs > CHECK_DOMAINS_MAX)
		return cli_usage_error("check takes at most %d domains; use "
				       "'mtasts scan' for more",
		    CHECK_DOMAINS_MAX);
	if (o->summary_only)
		return cli_usage_error("--summary-only goes with 'scan'");
	for (i = 0; i < o->nargs; i++) {
		const char *why;

		if (cli_domain_to_ascii(o->args[i], dom[i], sizeof(dom[i]),
			&why) != 0)
			return cli_usage_error("'%s' is not a domain name: %s",
			    o->args[i], why);
	}
	memset(&run, 0, sizeof(run));
	run.o = o;
	run.reps = reps;
	run.color = !o->json && !o->no_color && isatty(STDOUT_FILENO) &&
	    (no_color == NULL || no_color[0] == '\0');
	if (o->state_file != NULL) {
		run.st = cli_state_load(o->state_file);
		if (run.st == NULL) {
			cli_warn("out of memory");
			return 3;
		}
	}
	base = event_base_new();
	if (base == NULL) {
		cli_state_free(run.st);
		cli_warn("cannot create the event loop");
		return 3;
	}
	run.base = base;
	rc = cli_checker_new(o, base, &chk);
	if (rc != 0) {
		event_base_free(base);
		cli_state_free(run.st);
		return rc;
	}
	for (i = 0; i < o->nargs; i++) {
		struct mtasts_check_prev prev;
		const char *mxbuf[PREV_MX_MAX];
		struct mtasts_error err;
		bool have = cli_state_prev(run.st, dom[i], &prev, mxbuf,
		    PREV_MX_MAX);

		if (mtasts_check(chk, dom[i], have ? &prev : NULL,
			on_check_done, &run, &err) != MTASTS_OK) {
			cli_warn("%s: %s", dom[i], err.msg);
			run.worst = 2;
			continue;
		}
		run.pending++;
	}
	if (run.pending > 0)
		event_base_dispatch(base);
	/* Print in the order given. */
	for (i = 0; i < o->nargs; i++)
		for (size_t k = 0; k < run.nreps; k++) {
			if (reps[k] == NULL ||
			    strcmp(mtasts_check_report_domain(reps[k]),
				dom[i]) != 0)
				continue;
			if (o->json)
				cli_json_print(cli_json_report(reps[k]));
			else
				print_text(reps[k], run.color);
			mtasts_check_report_free(reps[k]);
			reps[k] = NULL;
			break;
		}
	for (size_t k = 0; k < run.nreps; k++)
		mtasts_check_report_free(reps[k]);
	mtasts_checker_free(chk);
	event_base_free(base);
	if (run.st != NULL && cli_state_save(run.st) != 0 && run.worst == 0)
		run.worst = 1;
	cli_state_free(run.st);
	return run.worst;
}
