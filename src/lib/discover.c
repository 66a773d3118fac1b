/* SPDX-License-Identifier: MIT */
/*
 * discover.c: the policy discovery state machine (RFC 8461 3.1-3.3).
 *
 *   TXT _mta-sts.D --> select one record --> id == cached? --> UNCHANGED
 *        |                  |                    | no
 *        | NXDOMAIN/NODATA  | none/several/bad   v
 *        | -> NO_POLICY     | -> NO_POLICY    A+AAAA mta-sts.D
 *        | SERVFAIL/timeout/                     | ok
 *        | other rcode -> TEMPERROR              v
 *                                           HTTPS GET --> parse --> POLICY
 *
 * Failures after a valid record are MTASTS_RESULT_ERROR with an RFC 8460
 * result type (see docs/internals/discover.md for the full table). DNS
 * and HTTP go through struct mtasts_dns_ops / mtasts_http_ops, so tests
 * can substitute fakes. The user callback is always the last thing a
 * lookup does, so the user may free the engine from inside it.
 */
#include <stdio.h>
#include <string.h>

#include "mtasts/discover.h"
#include "mtasts/fetch.h"
#include "mtasts/mx.h"
#include "mtasts/resolver.h"
#include "mtasts/sts_record.h"
#include "mtasts/version.h"
#include "util/alloc.h"

#define TXT_PREFIX "_mta-sts."
#define HOST_PREFIX "mta-sts."
#define WELL_KNOWN "/.well-known/mta-sts.txt"
/* "_mta-sts." + D must fit in a 253-byte name. */
#define DOMAIN_MAX (MTASTS_DOMAIN_MAX - (sizeof(TXT_PREFIX) - 1))
#define REASON_MAX 600

struct mtasts_discovery {
	const struct mtasts_dns_ops *dns;
	void *dns_impl;
	const struct mtasts_http_ops *http;
	void *http_impl;
	struct mtasts_resolver *own_resolver;
	struct mtasts_fetcher *own_fetcher;
	struct lookup *head;
};

enum lstate {
	ST_TXT,
	ST_ADDR,
	ST_FETCH
};

struct lookup {
	struct mtasts_discovery *d;
	struct lookup *prev, *next;
	enum lstate state;
	mtasts_discover_cb cb;
	void *arg;
	struct mtasts_dns_query *dq;
	struct mtasts_http_request *hq;
	bool have_cached;
	bool have_rec;
	char cached_id[MTASTS_STS_ID_MAX + 1];
	char domain[MTASTS_DOMAIN_MAX + 1];
	char host[MTASTS_DOMAIN_MAX + sizeof(HOST_PREFIX)];
	char url[MTASTS_DOMAIN_MAX + sizeof(HOST_PREFIX) + sizeof("https://") +
	    sizeof(WELL_KNOWN)];
	char reason[REASON_MAX];
	struct mtasts_sts_record rec;
	struct mtasts_diags diags;
};

void
mtasts_discovery_options_init(struct mtasts_discovery_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->dns_timeout_ms = 5000;
	opt->connect_timeout_ms = 10000;
	opt->timeout_ms = 60000;
	opt->max_body = MTASTS_POLICY_BODY_MAX;
	opt->max_fetches = 256;
	opt->user_agent = "mtasts/" MTASTS_VERSION;
}

const char *
mtasts_result_name(enum mtasts_result r)
{
	switch (r) {
	case MTASTS_RESULT_POLICY:
		return "policy";
	case MTASTS_RESULT_NO_POLICY:
		return "no-policy";
	case MTASTS_RESULT_TEMPERROR:
		return "temperror";
	case MTASTS_RESULT_ERROR:
		return "error";
	case MTASTS_RESULT_UNCHANGED:
		return "unchanged";
	}
	return "unknown";
}

const char *
mtasts_failure_name(enum mtasts_failure f)
{
	switch (f) {
	case MTASTS_FAILURE_NONE:
		return NULL;
	case MTASTS_FAILURE_FETCH:
		return "sts-policy-fetch-error";
	case MTASTS_FAILURE_INVALID:
		return "sts-policy-invalid";
	case MTASTS_FAILURE_WEBPKI:
		return "sts-webpki-invalid";
	}
	return NULL;
}

/* ---- engine ------------------------------------------------------------- */

int
mtasts_discovery_new(struct event_base *base,
    const struct mtasts_discovery_options *opt,
    struct mtasts_discovery **out, struct mtasts_error *err)
{
	struct mtasts_discovery_options defaults;
	struct mtasts_discovery *d;
	int rc;

	*out = NULL;
	if (opt == NULL) {
		mtasts_discovery_options_init(&defaults);
		opt = &defaults;
	}
	if (base == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no event base");
	if ((opt->dns_ops && !(opt->dns_ops->lookup && opt->dns_ops->cancel)) ||
	    (opt->http_ops && !(opt->http_ops->get && opt->http_ops->cancel)))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "incomplete DNS or HTTP operations table");
	d = mtasts__calloc(1, sizeof(*d));
	if (d == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	if (opt->dns_ops) {
		d->dns = opt->dns_ops;
		d->dns_impl = opt->dns_impl;
	} else {
		struct mtasts_resolver_options ro;

		mtasts_resolver_options_init(&ro);
		ro.forward = opt->resolver;
		if (opt->dns_timeout_ms)
			ro.timeout_ms = opt->dns_timeout_ms;
		rc = mtasts_resolver_new(base, &ro, &d->own_resolver, err);
		if (rc != MTASTS_OK)
			goto fail;
		d->dns = &mtasts_resolver_dns_ops;
		d->dns_impl = d->own_resolver;
	}
	if (opt->http_ops) {
		d->http = opt->http_ops;
		d->http_impl = opt->http_impl;
	} else {
		struct mtasts_fetch_options fo;

		mtasts_fetch_options_init(&fo);
		fo.ca_file = opt->ca_file;
		if (opt->connect_timeout_ms)
			fo.connect_timeout_ms = opt->connect_timeout_ms;
		if (opt->timeout_ms)
			fo.timeout_ms = opt->timeout_ms;
		if (opt->max_body)
			fo.max_body = opt->max_body;
		if (opt->max_fetches)
			fo.max_fetches = opt->max_fetches;
		fo.user_agent = opt->user_agent;
		rc = mtasts_fetcher_new(base, &fo, &d->own_fetcher, err);
		if (rc != MTASTS_OK)
			goto fail;
		d->http = &mtasts_fetcher_http_ops;
		d->http_impl = d->own_fetcher;
	}
	*out = d;
	return MTASTS_OK;
fail:
	mtasts_resolver_free(d->own_resolver);
	mtasts__free(d);
	return rc;
}

static void
unlink_lookup(struct mtasts_discovery *d, struct lookup *lk)
{
	if (lk->prev)
		lk->prev->next = lk->next;
	else
		d->head = lk->next;
	if (lk->next)
		lk->next->prev = lk->prev;
	lk->prev = lk->next = NULL;
}

void
mtasts_discovery_free(struct mtasts_discovery *d)
{
	struct lookup *lk;

	if (d == NULL)
		return;
	while ((lk = d->head) != NULL) {
		unlink_lookup(d, lk);
		if (lk->dq)
			d->dns->cancel(d->dns_impl, lk->dq);
		if (lk->hq)
			d->http->cancel(d->http_impl, lk->hq);
		mtasts__free(lk);
	}
	/* Both defer their own teardown if we are inside their callback. */
	mtasts_fetcher_free(d->own_fetcher);
	mtasts_resolver_free(d->own_resolver);
	mtasts__free(d);
}

/* ---- completion --------------------------------------------------------- */

/*
 * Deliver the result and free lk. Nothing may touch lk->d afterwards:
 * the callback may have freed the engine.
 */
static void
complete(struct lookup *lk, enum mtasts_result result,
    enum mtasts_failure failure, int code, struct mtasts_policy *policy,
    const char *body, size_t body_len)
{
	struct mtasts_discovery_result res;

	unlink_lookup(lk->d, lk);
	lk->d = NULL;
	memset(&res, 0, sizeof(res));
	res.domain = lk->domain;
	res.result = result;
	res.failure = failure;
	res.code = code;
	res.reason = (result == MTASTS_RESULT_POLICY ||
	    result == MTASTS_RESULT_UNCHANGED) ? "" : lk->reason;
	res.id = lk->have_rec ? lk->rec.id : NULL;
	res.policy = policy;
	res.body = body;
	res.body_len = body ? body_len : 0;
	res.diags = &lk->diags;
	lk->cb(lk->arg, &res);
	mtasts_policy_free(res.policy);
	mtasts__free(lk);
}

static void
fail_fetch(struct lookup *lk, enum mtasts_failure failure, int code,
    const char *body, size_t body_len)
{
	complete(lk, MTASTS_RESULT_ERROR, failure, code, NULL, body,
	    body_len);
}

/* ---- step 3: HTTPS ------------------------------------------------------ */

static void
on_http(void *arg, const struct mtasts_http_response *hr)
{
	struct lookup *lk = arg;
	struct mtasts_policy *policy = NULL;
	struct mtasts_error perr;
	const struct mtasts_diag *first = NULL;
	char line[MTASTS_DIAG_MSG_MAX + 80];
	int rc;

	lk->hq = NULL;
	if (hr->code != MTASTS_OK) {
		snprintf(lk->reason, sizeof(lk->reason), "%s",
		    hr->reason && *hr->reason ? hr->reason
					      : mtasts_strerror(hr->code));
		fail_fetch(lk, hr->code == MTASTS_ECERT ? MTASTS_FAILURE_WEBPKI
							: MTASTS_FAILURE_FETCH,
		    hr->code, hr->body, hr->body_len);
		return;
	}
	mtasts_error_clear(&perr);
	rc = mtasts_policy_parse(hr->body ? hr->body : "", hr->body_len,
	    &policy, &lk->diags, &perr);
	if (rc == MTASTS_OK) {
		complete(lk, MTASTS_RESULT_POLICY, MTASTS_FAILURE_NONE,
		    MTASTS_OK, policy, hr->body, hr->body_len);
		return;
	}
	if (rc == MTASTS_ENOMEM) {
		snprintf(lk->reason, sizeof(lk->reason), "out of memory "
		    "parsing the policy from %s", lk->url);
		fail_fetch(lk, MTASTS_FAILURE_FETCH, rc, hr->body,
		    hr->body_len);
		return;
	}
	for (size_t i = 0; i < lk->diags.count; i++)
		if (lk->diags.item[i].severity == MTASTS_SEV_ERROR) {
			first = &lk->diags.item[i];
			break;
		}
	if (first)
		mtasts_diag_format(first, line, sizeof(line));
	else
		snprintf(line, sizeof(line), "%s",
		    perr.msg[0] ? perr.msg : mtasts_strerror(rc));
	snprintf(lk->reason, sizeof(lk->reason), "policy at %s is invalid: %s",
	    lk->url, line);
	fail_fetch(lk, MTASTS_FAILURE_INVALID, rc, hr->body, hr->body_len);
}

/* ---- step 2: policy host address --------------------------------------- */

static void
on_addr(void *arg, const struct mtasts_dns_answer *ans)
{
	struct lookup *lk = arg;
	struct mtasts_discovery *d = lk->d;
	struct mtasts_error err;
	int rc;

	lk->dq = NULL;
	if (ans->code != MTASTS_OK) {
		if (ans->code == MTASTS_ENOTFOUND && ans->nxdomain)
			snprintf(lk->reason, sizeof(lk->reason), "policy host "
			    "%s does not resolve (NXDOMAIN)", lk->host);
		else if (ans->code == MTASTS_ENOTFOUND)
			snprintf(lk->reason, sizeof(lk->reason), "policy host "
			    "%s has no A or AAAA record", lk->host);
		else
			snprintf(lk->reason, sizeof(lk->reason), "policy host "
			    "%s does not resolve: %s", lk->host,
			    ans->reason && *ans->reason
				? ans->reason : mtasts_strerror(ans->code));
		fail_fetch(lk, MTASTS_FAILURE_FETCH, ans->code, NULL, 0);
		return;
	}
	if (ans->count == 0) {
		snprintf(lk->reason, sizeof(lk->reason), "policy host %s has "
		    "no A or AAAA record", lk->host);
		fail_fetch(lk, MTASTS_FAILURE_FETCH, MTASTS_ENOTFOUND, NULL, 0);
		return;
	}
	mtasts_error_clear(&err);
	lk->state = ST_FETCH;
	rc = d->http->get(d->http_impl, lk->host, lk->url, ans->addr,
	    ans->count, on_http, lk, &lk->hq, &err);
	if (rc != MTASTS_OK) {
		snprintf(lk->reason, sizeof(lk->reason), "cannot fetch %s: %s",
		    lk->url, err.msg[0] ? err.msg : mtasts_strerror(rc));
		fail_fetch(lk, MTASTS_FAILURE_FETCH, rc, NULL, 0);
	}
}

/* ---- step 1: TXT record ------------------------------------------------- */

static size_t
count_sts(const struct mtasts_dns_answer *ans)
{
	static const char pfx[] = "v=STSv1;";
	size_t n = 0;

	for (size_t i = 0; i < ans->count; i++)
		if (ans->txt_len[i] >= sizeof(pfx) - 1 &&
		    memcmp(ans->txt[i], pfx, sizeof(pfx) - 1) == 0)
			n++;
	return n;
}

static void
on_txt(void *arg, const struct mtasts_dns_answer *ans)
{
	struct lookup *lk = arg;
	struct mtasts_discovery *d = lk->d;
	struct mtasts_error err;
	const char *why;
	int rc;

	lk->dq = NULL;
	why = ans->reason && *ans->reason ? ans->reason
					  : mtasts_strerror(ans->code);
	switch (ans->code) {
	case MTASTS_OK:
		break;
	case MTASTS_ENOTFOUND:
		snprintf(lk->reason, sizeof(lk->reason), "no MTA-STS TXT "
		    "record at _mta-sts.%s (%s)", lk->domain,
		    ans->nxdomain ? "NXDOMAIN" : "NODATA");
		complete(lk, MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE,
		    ans->code, NULL, NULL, 0);
		return;
	case MTASTS_ETOOBIG:
		snprintf(lk->reason, sizeof(lk->reason), "no usable MTA-STS "
		    "record: %s", why);
		complete(lk, MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE,
		    ans->code, NULL, NULL, 0);
		return;
	default:
		/* SERVFAIL, timeouts, REFUSED...: we could not find out. The
		 * resolver's reasons already name the query. */
		if (strstr(why, lk->domain) != NULL)
			snprintf(lk->reason, sizeof(lk->reason), "%s", why);
		else
			snprintf(lk->reason, sizeof(lk->reason), "DNS TXT "
			    "lookup of _mta-sts.%s failed: %s", lk->domain,
			    why);
		complete(lk, MTASTS_RESULT_TEMPERROR, MTASTS_FAILURE_NONE,
		    ans->code, NULL, NULL, 0);
		return;
	}
	mtasts_error_clear(&err);
	rc = mtasts_sts_rrset_select(ans->txt, ans->txt_len, ans->count,
	    &lk->rec, &lk->diags, &err);
	if (rc != MTASTS_OK) {
		if (rc == MTASTS_EMULTIPLE)
			snprintf(lk->reason, sizeof(lk->reason), "%zu v=STSv1 "
			    "records at _mta-sts.%s: a domain must publish "
			    "exactly one", count_sts(ans), lk->domain);
		else if (rc == MTASTS_ENOTFOUND)
			snprintf(lk->reason, sizeof(lk->reason), "no MTA-STS "
			    "record at _mta-sts.%s: %s", lk->domain,
			    err.msg[0] ? err.msg : "no v=STSv1 record");
		else
			snprintf(lk->reason, sizeof(lk->reason), "invalid "
			    "_mta-sts.%s record: %s", lk->domain,
			    err.msg[0] ? err.msg : mtasts_strerror(rc));
		complete(lk, MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE, rc,
		    NULL, NULL, 0);
		return;
	}
	lk->have_rec = true;
	if (lk->have_cached && strcmp(lk->cached_id, lk->rec.id) == 0) {
		complete(lk, MTASTS_RESULT_UNCHANGED, MTASTS_FAILURE_NONE,
		    MTASTS_OK, NULL, NULL, 0);
		return;
	}
	mtasts_error_clear(&err);
	lk->state = ST_ADDR;
	rc = d->dns->lookup(d->dns_impl, MTASTS_DNS_ADDR, lk->host, on_addr,
	    lk, &lk->dq, &err);
	if (rc != MTASTS_OK) {
		snprintf(lk->reason, sizeof(lk->reason), "cannot look up "
		    "policy host %s: %s", lk->host,
		    err.msg[0] ? err.msg : mtasts_strerror(rc));
		fail_fetch(lk, MTASTS_FAILURE_FETCH, rc, NULL, 0);
	}
}

int
mtasts_discover(struct mtasts_discovery *d, const char *domain,
    const char *cached_id, mtasts_discover_cb cb, void *arg,
    struct mtasts_error *err)
{
	struct lookup *lk;
	char name[MTASTS_DOMAIN_MAX + sizeof(TXT_PREFIX)];
	const char *why = NULL;
	size_t len;
	int rc;

	if (d == NULL || domain == NULL || cb == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "bad arguments to policy discovery");
	len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len > DOMAIN_MAX)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "domain is longer than %zu bytes, so it cannot have an "
		    "_mta-sts record", DOMAIN_MAX);
	if (!mtasts_domain_valid(domain, len, false, &why))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "\"%.*s\" is not a valid domain: %s", (int)len, domain,
		    why ? why : "bad syntax");
	lk = mtasts__calloc(1, sizeof(*lk));
	if (lk == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		char c = domain[i];

		lk->domain[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	lk->domain[len] = '\0';
	snprintf(lk->host, sizeof(lk->host), HOST_PREFIX "%s", lk->domain);
	snprintf(lk->url, sizeof(lk->url), "https://%s" WELL_KNOWN, lk->host);
	snprintf(name, sizeof(name), TXT_PREFIX "%s", lk->domain);
	if (cached_id && strlen(cached_id) <= MTASTS_STS_ID_MAX) {
		lk->have_cached = true;
		memcpy(lk->cached_id, cached_id, strlen(cached_id) + 1);
	}
	lk->d = d;
	lk->cb = cb;
	lk->arg = arg;
	lk->state = ST_TXT;
	mtasts_diags_init(&lk->diags);
	rc = d->dns->lookup(d->dns_impl, MTASTS_DNS_TXT, name, on_txt, lk,
	    &lk->dq, err);
	if (rc != MTASTS_OK) {
		mtasts__free(lk);
		return rc;
	}
	lk->next = d->head;
	if (d->head)
		d->head->prev = lk;
	d->head = lk;
	return MTASTS_OK;
}
