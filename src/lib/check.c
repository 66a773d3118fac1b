/* SPDX-License-Identifier: MIT */
/*
 * check.c: gathering for the checks engine (see check.h).
 *
 * A job starts five DNS lookups at once (_mta-sts TXT, _smtp._tls TXT,
 * _smtp-tlsrpt TXT, MX, the policy host's addresses). Once the TXT and
 * the policy host are known it fetches the policy and probes the policy
 * host's certificate on port 443; once the MX set is known it resolves
 * every MX host, looks up its TLSA records and probes each address.
 * Every outstanding operation is one "op" on the job's list, so that
 * freeing the checker cancels them all. When the last op ends, the job
 * is judged (check_eval.c) and the report handed to the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "check_int.h"
#include "mtasts/fetch.h"
#include "mtasts/mx.h"
#include "mtasts/resolver.h"
#include "util/alloc.h"

#define WELL_KNOWN "/.well-known/mta-sts.txt"

enum op_kind {
	K_STS_TXT,
	K_RPT_TXT,
	K_RPT_OLD_TXT,
	K_MX,
	K_PHOST,
	K_FETCH,
	K_PTLS,
	K_HOST_ADDR,
	K_TLSA,
	K_PROBE
};

struct op {
	struct op *next, *prev;
	struct mtasts__check_job *job;
	enum op_kind kind;
	size_t hi, ai;
	struct mtasts_dns_query *dq;	/* pending handle, by kind */
	struct mtasts_http_request *hq;
	struct mtasts_probe_handle *ph;
};

/* Per job list of ops: kept in a side table keyed by the job. */
struct job_ops {
	struct op *head;
};

struct job_ext {
	struct mtasts__check_job j;
	struct job_ops ops;
};

void
mtasts_checker_options_init(struct mtasts_checker_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->dns_timeout_ms = 5000;
	opt->fetch_timeout_ms = 20000;
	opt->connect_timeout_ms = 10000;
	mtasts_probe_options_init(&opt->probe);
	opt->probe_mx = true;
	opt->max_mx_hosts = 16;
	opt->max_addrs = 8;
	opt->cert_warn_days = 14;
	opt->max_age_warn = 86400;
}

int
mtasts_checker_new(struct event_base *base,
    const struct mtasts_checker_options *opt, struct mtasts_checker **out,
    struct mtasts_error *err)
{
	struct mtasts_checker *c;
	int rc;

	*out = NULL;
	if (base == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no event base");
	c = mtasts__calloc(1, sizeof(*c));
	if (c == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	c->base = base;
	if (opt)
		c->opt = *opt;
	else
		mtasts_checker_options_init(&c->opt);
	if (c->opt.max_mx_hosts == 0)
		c->opt.max_mx_hosts = 16;
	if (c->opt.max_addrs == 0)
		c->opt.max_addrs = 8;
	c->opt.resolver = NULL;
	c->opt.ca_file = NULL;
	c->dns = c->opt.dns_ops;
	c->dns_impl = c->opt.dns_impl;
	c->http = c->opt.http_ops;
	c->http_impl = c->opt.http_impl;
	c->probe = c->opt.probe_ops;
	c->probe_impl = c->opt.probe_impl;
	if (c->dns == NULL) {
		struct mtasts_resolver_options ro;

		mtasts_resolver_options_init(&ro);
		ro.forward = opt ? opt->resolver : NULL;
		if (c->opt.dns_timeout_ms)
			ro.timeout_ms = c->opt.dns_timeout_ms;
		rc = mtasts_resolver_new(base, &ro, &c->own_resolver, err);
		if (rc != MTASTS_OK)
			goto fail;
		c->dns = &mtasts_resolver_dns_ops;
		c->dns_impl = c->own_resolver;
	}
	if (c->http == NULL) {
		struct mtasts_fetch_options fo;

		mtasts_fetch_options_init(&fo);
		fo.ca_file = opt ? opt->ca_file : NULL;
		if (c->opt.connect_timeout_ms)
			fo.connect_timeout_ms = c->opt.connect_timeout_ms;
		if (c->opt.fetch_timeout_ms)
			fo.timeout_ms = c->opt.fetch_timeout_ms;
		rc = mtasts_fetcher_new(base, &fo, &c->own_fetcher, err);
		if (rc != MTASTS_OK)
			goto fail;
		c->http = &mtasts_fetcher_http_ops;
		c->http_impl = c->own_fetcher;
	}
	if (c->probe == NULL) {
		struct mtasts_probe_options po = c->opt.probe;

		po.ca_file = opt ? opt->ca_file : NULL;
		rc = mtasts_prober_new(base, &po, &c->own_prober, err);
		if (rc != MTASTS_OK)
			goto fail;
		c->probe = &mtasts_prober_probe_ops;
		c->probe_impl = c->own_prober;
	}
	*out = c;
	return MTASTS_OK;
fail:
	mtasts_fetcher_free(c->own_fetcher);
	mtasts_resolver_free(c->own_resolver);
	mtasts__free(c);
	return rc;
}

static struct job_ops *
ops_of(struct mtasts__check_job *j)
{
	return &((struct job_ext *)(void *)j)->ops;
}

static void
txt_release(struct mtasts__chk_txt *t)
{
	for (size_t i = 0; i < t->n; i++)
		mtasts__free(t->txt[i]);
	t->n = 0;
}

static void
job_free(struct mtasts__check_job *j)
{
	if (j == NULL)
		return;
	txt_release(&j->sts);
	txt_release(&j->rpt);
	txt_release(&j->rpt_old);
	for (size_t i = 0; i < j->nhost; i++)
		mtasts__free(j->host[i].addr);
	mtasts__free(j->host);
	mtasts__free(j->body);
	mtasts__free(j->prev_id);
	mtasts__free(j->prev_hash);
	for (size_t i = 0; i < j->prev_nmx; i++)
		mtasts__free(j->prev_mx[i]);
	mtasts__free(j->prev_mx);
	if (j->done_ev)
		event_free(j->done_ev);
	mtasts__free(j);
}

static void
unlink_job(struct mtasts_checker *c, struct mtasts__check_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		c->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
}

static void
cancel_op(struct mtasts_checker *c, struct op *o)
{
	if (o->hq != NULL)
		c->http->cancel(c->http_impl, o->hq);
	if (o->ph != NULL)
		c->probe->cancel(c->probe_impl, o->ph);
	if (o->dq != NULL)
		c->dns->cancel(c->dns_impl, o->dq);
}

void
mtasts_checker_free(struct mtasts_checker *c)
{
	struct mtasts__check_job *j;

	if (c == NULL)
		return;
	while ((j = c->jobs) != NULL) {
		struct op *o;

		unlink_job(c, j);
		while ((o = ops_of(j)->head) != NULL) {
			ops_of(j)->head = o->next;
			cancel_op(c, o);
			mtasts__free(o);
		}
		job_free(j);
	}
	mtasts_prober_free(c->own_prober);
	mtasts_fetcher_free(c->own_fetcher);
	mtasts_resolver_free(c->own_resolver);
	mtasts__free(c);
}

static void
on_job_done(evutil_socket_t fd, short what, void *arg)
{
	struct mtasts__check_job *j = arg;
	struct mtasts_checker *c = j->chk;
	struct mtasts_check_report *rep;
	mtasts_check_cb cb = j->cb;
	void *cbarg = j->arg;

	(void)fd;
	(void)what;
	rep = mtasts__check_eval(j, &c->opt);
	unlink_job(c, j);
	job_free(j);
	cb(cbarg, rep);
}

static struct op *
new_op(struct mtasts__check_job *j, enum op_kind kind, size_t hi, size_t ai)
{
	struct op *o = mtasts__calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->job = j;
	o->kind = kind;
	o->hi = hi;
	o->ai = ai;
	o->next = ops_of(j)->head;
	if (o->next)
		o->next->prev = o;
	ops_of(j)->head = o;
	j->pending++;
	return o;
}

/* The op ended (its callback ran, or it never started). */
static void
end_op(struct op *o)
{
	struct mtasts__check_job *j = o->job;

	if (o->prev)
		o->prev->next = o->next;
	else
		ops_of(j)->head = o->next;
	if (o->next)
		o->next->prev = o->prev;
	mtasts__free(o);
	if (--j->pending == 0)
		event_active(j->done_ev, EV_TIMEOUT, 0);
}

static void on_dns(void *arg, const struct mtasts_dns_answer *a);

/* Start a DNS op; on a start failure record it and end the op. */
static void
start_dns(struct mtasts__check_job *j, enum op_kind kind, size_t hi,
    enum mtasts_dns_type type, const char *name)
{
	struct mtasts_checker *c = j->chk;
	struct mtasts_dns_answer fake;
	struct mtasts_error err;
	struct op *o = new_op(j, kind, hi, 0);
	int rc;

	if (o == NULL) {
		/* Without an op we cannot record anything: count it. */
		return;
	}
	rc = c->dns->lookup(c->dns_impl, type, name, on_dns, o, &o->dq, &err);
	if (rc == MTASTS_OK)
		return;
	memset(&fake, 0, sizeof(fake));
	fake.type = type;
	fake.code = rc;
	fake.name = name;
	fake.reason = err.msg;
	o->dq = NULL;
	on_dns(o, &fake);
}

static void
keep_txt(struct mtasts__chk_txt *t, const struct mtasts_dns_answer *a)
{
	t->done = true;
	t->code = a->code;
	snprintf(t->reason, sizeof(t->reason), "%s", a->reason ? a->reason :
	    "");
	if (a->code != MTASTS_OK)
		return;
	for (size_t i = 0; i < a->count && t->n < CHK_TXT_MAX; i++) {
		t->txt[t->n] = mtasts__strndup(a->txt[i], a->txt_len[i]);
		if (t->txt[t->n] == NULL)
			break;
		t->len[t->n] = a->txt_len[i];
		t->n++;
	}
}

static void on_fetch(void *arg, const struct mtasts_http_response *r);
static void on_probe(void *arg, const struct mtasts_probe_result *r);

/* Start the probe op kind for host at ip:port. */
static void
start_probe(struct mtasts__check_job *j, enum op_kind kind, size_t hi,
    size_t ai, enum mtasts_probe_mode mode, const char *host, const char *ip,
    unsigned port)
{
	struct mtasts_checker *c = j->chk;
	struct mtasts_probe_result fake;
	struct mtasts_error err;
	struct op *o = new_op(j, kind, hi, ai);
	int rc;

	if (o == NULL)
		return;
	rc = c->probe->probe(c->probe_impl, mode, host, ip, port, on_probe, o,
	    &o->ph, &err);
	if (rc == MTASTS_OK)
		return;
	memset(&fake, 0, sizeof(fake));
	fake.mode = mode;
	snprintf(fake.host, sizeof(fake.host), "%s", host);
	snprintf(fake.ip, sizeof(fake.ip), "%s", ip);
	fake.port = port;
	fake.status = MTASTS_PROBE_UNTESTED;
	fake.code = rc;
	snprintf(fake.reason, sizeof(fake.reason), "%s", err.msg);
	o->ph = NULL;
	on_probe(o, &fake);
}

/* Does some TXT record of t start with prefix? */
static bool
has_prefix(const struct mtasts__chk_txt *t, const char *prefix)
{
	size_t pl = strlen(prefix);

	for (size_t i = 0; i < t->n; i++)
		if (t->len[i] >= pl && memcmp(t->txt[i], prefix, pl) == 0)
			return true;
	return false;
}

/* After the STS TXT and the policy host addresses: fetch and probe. */
static void
maybe_fetch(struct mtasts__check_job *j)
{
	struct mtasts_checker *c = j->chk;
	char host[300], url[400];
	const char *addrs[CHK_ADDR_MAX];
	struct mtasts_error err;
	struct op *o;
	int rc;

	if (!j->sts.done || !j->phost_done || j->fetch_started)
		return;
	if (j->sts.code != MTASTS_OK || !has_prefix(&j->sts, "v=STSv1"))
		return;
	if (j->phost_code != MTASTS_OK || j->phost_n == 0)
		return;
	j->fetch_started = true;
	snprintf(host, sizeof(host), "mta-sts.%s", j->domain);
	snprintf(url, sizeof(url), "https://%s" WELL_KNOWN, host);
	for (size_t i = 0; i < j->phost_n; i++)
		addrs[i] = j->phost_addr[i];
	o = new_op(j, K_FETCH, 0, 0);
	if (o != NULL) {
		rc = c->http->get(c->http_impl, host, url, addrs, j->phost_n,
		    on_fetch, o, &o->hq, &err);
		if (rc != MTASTS_OK) {
			struct mtasts_http_response fake;

			memset(&fake, 0, sizeof(fake));
			fake.code = rc;
			fake.reason = err.msg;
			fake.url = url;
			o->hq = NULL;
			on_fetch(o, &fake);
		}
	}
	j->ptls_started = true;
	start_probe(j, K_PTLS, 0, 0, MTASTS_PROBE_TLS, host, j->phost_addr[0],
	    443);
}

static int
cmp_host(const void *a, const void *b)
{
	const struct mtasts__chk_host *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* The MX answer arrived: build the host list and start per-host work. */
static void
got_mx(struct mtasts__check_job *j, const struct mtasts_dns_answer *a)
{
	struct mtasts_checker *c = j->chk;
	size_t n = 0, cap = c->opt.max_mx_hosts;

	j->mx_done = true;
	j->mx_code = a->code;
	j->mx_nx = a->nxdomain;
	snprintf(j->mx_reason, sizeof(j->mx_reason), "%s",
	    a->reason ? a->reason : "");
	if (a->code == MTASTS_OK) {
		j->mx_found = a->count;
		if (a->count == 1 && (strcmp(a->mx[0].host, ".") == 0 ||
					 a->mx[0].host[0] == '\0')) {
			j->mx_null = true;
			return;
		}
		j->host = mtasts__calloc(a->count < cap ? (a->count ?
		    a->count : 1) : cap, sizeof(*j->host));
		if (j->host == NULL)
			return;
		for (size_t i = 0; i < a->count && n < cap; i++) {
			const char *h = a->mx[i].host;
			bool dup = false;

			if (strcmp(h, ".") == 0 || strlen(h) >= 254)
				continue;
			for (size_t k = 0; k < n; k++)
				if (strcasecmp(j->host[k].name, h) == 0)
					dup = true;
			if (dup)
				continue;
			snprintf(j->host[n].name, sizeof(j->host[n].name),
			    "%s", h);
			lower(j->host[n].name);
			j->host[n].pref = a->mx[i].preference;
			n++;
		}
		qsort(j->host, n, sizeof(*j->host), cmp_host);
	} else if (a->code == MTASTS_ENOTFOUND && !a->nxdomain) {
		/* RFC 5321 5.1: no MX, the domain itself is the MX. */
		j->mx_implicit = true;
		j->host = mtasts__calloc(1, sizeof(*j->host));
		if (j->host == NULL)
			return;
		snprintf(j->host[0].name, sizeof(j->host[0].name), "%s",
		    j->domain);
		n = 1;
	} else {
		return;
	}
	j->nhost = n;
	for (size_t i = 0; i < n; i++) {
		char tlsa[300];

		start_dns(j, K_HOST_ADDR, i, MTASTS_DNS_ADDR, j->host[i].name);
		snprintf(tlsa, sizeof(tlsa), "_25._tcp.%s", j->host[i].name);
		start_dns(j, K_TLSA, i, MTASTS_DNS_TLSA, tlsa);
	}
}

static void
got_host_addr(struct mtasts__check_job *j, size_t hi,
    const struct mtasts_dns_answer *a)
{
	struct mtasts_checker *c = j->chk;
	struct mtasts__chk_host *h = &j->host[hi];
	size_t n;

	h->addr_done = true;
	h->addr_code = a->code;
	snprintf(h->addr_reason, sizeof(h->addr_reason), "%s",
	    a->reason ? a->reason : "");
	if (a->code != MTASTS_OK)
		return;
	h->naddr_found = a->count;
	n = a->count < c->opt.max_addrs ? a->count : c->opt.max_addrs;
	if (n == 0)
		return;
	h->addr = mtasts__calloc(n, sizeof(*h->addr));
	if (h->addr == NULL)
		return;
	h->naddr = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(h->addr[i].res.host, sizeof(h->addr[i].res.host),
		    "%s", h->name);
		snprintf(h->addr[i].res.ip, sizeof(h->addr[i].res.ip), "%s",
		    a->addr[i]);
	}
	if (!c->opt.probe_mx)
		return;
	for (size_t i = 0; i < n; i++)
		start_probe(j, K_PROBE, hi, i, MTASTS_PROBE_SMTP, h->name,
		    h->addr[i].res.ip, 25);
}

static void
on_dns(void *arg, const struct mtasts_dns_answer *a)
{
	struct op *o = arg;
	struct mtasts__check_job *j = o->job;

	o->dq = NULL;
	switch (o->kind) {
	case K_STS_TXT:
		keep_txt(&j->sts, a);
		maybe_fetch(j);
		break;
	case K_RPT_TXT:
		keep_txt(&j->rpt, a);
		break;
	case K_RPT_OLD_TXT:
		keep_txt(&j->rpt_old, a);
		break;
	case K_MX:
		got_mx(j, a);
		break;
	case K_PHOST:
		j->phost_done = true;
		j->phost_code = a->code;
		snprintf(j->phost_reason, sizeof(j->phost_reason), "%s",
		    a->reason ? a->reason : "");
		if (a->code == MTASTS_OK)
			for (size_t i = 0; i < a->count && j->phost_n <
			     CHK_ADDR_MAX; i++)
				snprintf(j->phost_addr[j->phost_n++], 48, "%s",
				    a->addr[i]);
		maybe_fetch(j);
		break;
	case K_HOST_ADDR:
		got_host_addr(j, o->hi, a);
		break;
	case K_TLSA:
		j->host[o->hi].tlsa_done = true;
		j->host[o->hi].tlsa_code = a->code;
		j->host[o->hi].tlsa_count = a->code == MTASTS_OK ? a->count :
		    0;
		break;
	default:
		break;
	}
	end_op(o);
}

static void
on_fetch(void *arg, const struct mtasts_http_response *r)
{
	struct op *o = arg;
	struct mtasts__check_job *j = o->job;

	o->hq = NULL;
	j->fetch_done = true;
	j->fetch_code = r->code;
	j->fetch_status = r->status;
	snprintf(j->fetch_reason, sizeof(j->fetch_reason), "%s",
	    r->reason ? r->reason : "");
	snprintf(j->fetch_ctype, sizeof(j->fetch_ctype), "%s",
	    r->content_type ? r->content_type : "");
	snprintf(j->fetch_location, sizeof(j->fetch_location), "%s",
	    r->location ? r->location : "");
	if (r->body != NULL && (r->code == MTASTS_OK ||
				   r->code == MTASTS_ETOOBIG)) {
		j->body = mtasts__malloc(r->body_len + 1);
		if (j->body != NULL) {
			memcpy(j->body, r->body, r->body_len);
			j->body[r->body_len] = '\0';
			j->body_len = r->body_len;
		}
	}
	end_op(o);
}

static void
on_probe(void *arg, const struct mtasts_probe_result *r)
{
	struct op *o = arg;
	struct mtasts__check_job *j = o->job;

	o->ph = NULL;
	if (o->kind == K_PTLS) {
		j->ptls_done = true;
		j->ptls = *r;
	} else {
		struct mtasts__chk_addr *ad = &j->host[o->hi].addr[o->ai];

		ad->done = true;
		ad->res = *r;
	}
	end_op(o);
}

static char *
dup_or_null(const char *s)
{
	return s ? mtasts__strdup(s) : NULL;
}

int
mtasts_check(struct mtasts_checker *c, const char *domain,
    const struct mtasts_check_prev *prev, mtasts_check_cb cb, void *arg,
    struct mtasts_error *err)
{
	struct job_ext *x;
	struct mtasts__check_job *j;
	const char *why = NULL;
	char name[300];
	size_t len;
	struct op *guard;

	if (c == NULL || domain == NULL || cb == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "bad arguments");
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (!mtasts_domain_valid(domain, len, false, &why))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "'%.80s' is not a domain name: %s", domain,
		    why ? why : "invalid");
	x = mtasts__calloc(1, sizeof(*x));
	if (x == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	j = &x->j;
	j->chk = c;
	j->cb = cb;
	j->arg = arg;
	memcpy(j->domain, domain, len);
	j->domain[len] = '\0';
	lower(j->domain);
	j->done_ev = event_new(c->base, -1, 0, on_job_done, j);
	if (j->done_ev == NULL)
		goto oom;
	if (prev != NULL) {
		j->have_prev = true;
		j->prev_id = dup_or_null(prev->sts_id);
		j->prev_hash = dup_or_null(prev->body_sha256);
		j->prev_have_mx = prev->have_mx;
		if (prev->nmx > 0) {
			j->prev_mx = mtasts__calloc(prev->nmx,
			    sizeof(*j->prev_mx));
			if (j->prev_mx == NULL)
				goto oom;
			for (size_t i = 0; i < prev->nmx; i++) {
				j->prev_mx[i] = mtasts__strdup(prev->mx[i]);
				if (j->prev_mx[i] == NULL)
					goto oom;
				j->prev_nmx = i + 1;
			}
		}
	}
	j->next = c->jobs;
	if (j->next)
		j->next->prev = j;
	c->jobs = j;
	/* A guard op keeps the job open while the lookups start. */
	guard = new_op(j, K_STS_TXT, 0, 0);
	if (guard == NULL) {
		unlink_job(c, j);
		job_free(j);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	snprintf(name, sizeof(name), "_mta-sts.%s", j->domain);
	start_dns(j, K_STS_TXT, 0, MTASTS_DNS_TXT, name);
	snprintf(name, sizeof(name), "_smtp._tls.%s", j->domain);
	start_dns(j, K_RPT_TXT, 0, MTASTS_DNS_TXT, name);
	snprintf(name, sizeof(name), "_smtp-tlsrpt.%s", j->domain);
	start_dns(j, K_RPT_OLD_TXT, 0, MTASTS_DNS_TXT, name);
	start_dns(j, K_MX, 0, MTASTS_DNS_MX, j->domain);
	snprintf(name, sizeof(name), "mta-sts.%s", j->domain);
	start_dns(j, K_PHOST, 0, MTASTS_DNS_ADDR, name);
	end_op(guard);
	return MTASTS_OK;
oom:
	job_free(j);
	return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
}
