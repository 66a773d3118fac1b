/* SPDX-License-Identifier: MIT */
/*
 * test_discover.c: the policy discovery state machine (discover.h) with
 * fake DNS and HTTP operations over a real event_base. The fakes answer
 * from timers, so every callback really is asynchronous; they keep count
 * of what was asked and of what is still pending, so that cancellation
 * can be checked. Table-driven for every branch of the result mapping
 * (docs/internals/discover.md), plus the async contract: callback exactly
 * once and never synchronously, free with pending lookups, free from
 * inside the callback, taking the policy, 1000 lookups at once, and OOM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "mtasts/discover.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"
#include "mtasts/resolver.h"
#include "util/alloc.h"

#define GOOD_BODY                                                          \
	"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\n"      \
	"max_age: 86400\r\n"

/* ---- the fake world ----------------------------------------------------- */

/* What the fakes answer; one world per test case. */
struct world {
	/* TXT at _mta-sts.<domain> */
	int txt_code;
	bool txt_nx;
	const char *txt[4];	/* NULL-terminated records */
	/* A/AAAA at mta-sts.<domain> */
	int addr_code;
	bool addr_nx;
	const char *addrs[3];
	/* HTTPS GET */
	int http_code;
	long http_status;
	const char *body;
	/* synchronous failures of the start calls */
	int dns_start_fail;	/* fail the Nth lookup start (1-based) */
	int http_start_fail;	/* fail every get with this code */
};

struct fake_op {
	struct fake *fk;
	struct fake_op *prev, *next;
	struct event *ev;
	bool is_http;
	enum mtasts_dns_type type;
	char name[300];
	mtasts_dns_cb dcb;
	mtasts_http_cb hcb;
	void *arg;
};

struct fake {
	struct event_base *base;
	const struct world *w;
	struct fake_op *pending;
	unsigned npending;
	unsigned lookups[3];	/* per enum mtasts_dns_type */
	unsigned gets;
	unsigned cancels;
	char last_txt_name[300];
	char last_host[300];
	char last_url[400];
	char last_addr0[64];
	size_t last_naddrs;
};

static void
op_unlink(struct fake *fk, struct fake_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		fk->pending = op->next;
	if (op->next)
		op->next->prev = op->prev;
	fk->npending--;
}

static void
op_free(struct fake_op *op)
{
	event_free(op->ev);
	free(op);
}

static void
fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_op *op = arg;
	struct fake *fk = op->fk;
	const struct world *w = fk->w;

	(void)fd;
	(void)what;
	op_unlink(fk, op);
	if (op->is_http) {
		struct mtasts_http_response r;

		memset(&r, 0, sizeof(r));
		r.code = w->http_code;
		r.reason = w->http_code ? "fake failure at https://x/" : "";
		r.url = "https://fake/";
		r.status = w->http_status ? w->http_status : 200;
		r.body = w->body ? w->body : "";
		r.body_len = strlen(r.body);
		op->hcb(op->arg, &r);
	} else {
		struct mtasts_dns_answer a;
		size_t lens[4];
		size_t n = 0;

		memset(&a, 0, sizeof(a));
		a.type = op->type;
		a.name = op->name;
		if (op->type == MTASTS_DNS_TXT) {
			a.code = w->txt_code;
			a.nxdomain = w->txt_nx;
			while (n < 4 && w->txt[n]) {
				lens[n] = strlen(w->txt[n]);
				n++;
			}
			a.txt = w->txt;
			a.txt_len = lens;
		} else {
			a.code = w->addr_code;
			a.nxdomain = w->addr_nx;
			while (n < 3 && w->addrs[n])
				n++;
			a.addr = w->addrs;
		}
		a.count = a.code == MTASTS_OK ? n : 0;
		a.reason = a.code ? "fake DNS failure" : "";
		op->dcb(op->arg, &a);
	}
	op_free(op);
}

static struct fake_op *
op_new(struct fake *fk)
{
	struct fake_op *op = calloc(1, sizeof(*op));
	struct timeval tv = {0, 1000};

	assert_non_null(op);
	op->fk = fk;
	op->ev = evtimer_new(fk->base, fire, op);
	assert_non_null(op->ev);
	evtimer_add(op->ev, &tv);
	op->next = fk->pending;
	if (fk->pending)
		fk->pending->prev = op;
	fk->pending = op;
	fk->npending++;
	return op;
}

static int
fake_lookup(void *impl, enum mtasts_dns_type type, const char *name,
    mtasts_dns_cb cb, void *arg, struct mtasts_dns_query **q,
    struct mtasts_error *err)
{
	struct fake *fk = impl;
	struct fake_op *op;
	unsigned total = fk->lookups[0] + fk->lookups[1] + fk->lookups[2];

	if (fk->w->dns_start_fail && (int)total + 1 == fk->w->dns_start_fail)
		return mtasts_error_set(err, MTASTS_EINTERNAL, "fake refuses");
	fk->lookups[type]++;
	if (type == MTASTS_DNS_TXT)
		snprintf(fk->last_txt_name, sizeof(fk->last_txt_name), "%s",
		    name);
	op = op_new(fk);
	op->type = type;
	op->dcb = cb;
	op->arg = arg;
	snprintf(op->name, sizeof(op->name), "%s", name);
	*q = (struct mtasts_dns_query *)op;
	return MTASTS_OK;
}

static void
fake_dns_cancel(void *impl, struct mtasts_dns_query *q)
{
	struct fake *fk = impl;
	struct fake_op *op = (struct fake_op *)q;

	fk->cancels++;
	op_unlink(fk, op);
	op_free(op);
}

static int
fake_get(void *impl, const char *host, const char *url,
    const char *const *addrs, size_t naddrs, mtasts_http_cb cb, void *arg,
    struct mtasts_http_request **req, struct mtasts_error *err)
{
	struct fake *fk = impl;
	struct fake_op *op;

	if (fk->w->http_start_fail)
		return mtasts_error_set(err, fk->w->http_start_fail,
		    "fake cannot start");
	fk->gets++;
	snprintf(fk->last_host, sizeof(fk->last_host), "%s", host);
	snprintf(fk->last_url, sizeof(fk->last_url), "%s", url);
	snprintf(fk->last_addr0, sizeof(fk->last_addr0), "%s",
	    naddrs ? addrs[0] : "");
	fk->last_naddrs = naddrs;
	op = op_new(fk);
	op->is_http = true;
	op->hcb = cb;
	op->arg = arg;
	*req = (struct mtasts_http_request *)op;
	return MTASTS_OK;
}

static void
fake_http_cancel(void *impl, struct mtasts_http_request *r)
{
	fake_dns_cancel(impl, (struct mtasts_dns_query *)r);
}

static const struct mtasts_dns_ops fake_dns_ops = {
	.lookup = fake_lookup,
	.cancel = fake_dns_cancel,
};

static const struct mtasts_http_ops fake_http_ops = {
	.get = fake_get,
	.cancel = fake_http_cancel,
};

/* ---- harness ------------------------------------------------------------ */

struct outcome {
	unsigned calls;
	bool started;		/* set once mtasts_discover() returned */
	bool sync_call;		/* callback ran before that */
	enum mtasts_result result;
	enum mtasts_failure failure;
	int code;
	char reason[700];
	char id[40];
	bool have_id;
	char domain[300];
	int mode;
	size_t body_len;
	size_t diag_count;
	bool take_policy;
	struct mtasts_policy *taken;
	struct mtasts_discovery **free_me; /* free the engine in the cb */
};

static void
record_cb(void *arg, struct mtasts_discovery_result *r)
{
	struct outcome *o = arg;

	o->calls++;
	if (!o->started)
		o->sync_call = true;
	o->result = r->result;
	o->failure = r->failure;
	o->code = r->code;
	snprintf(o->reason, sizeof(o->reason), "%s", r->reason);
	o->have_id = r->id != NULL;
	snprintf(o->id, sizeof(o->id), "%s", r->id ? r->id : "");
	snprintf(o->domain, sizeof(o->domain), "%s", r->domain);
	o->mode = r->policy ? (int)mtasts_policy_mode(r->policy) : -1;
	o->body_len = r->body_len;
	o->diag_count = r->diags ? r->diags->count : 0;
	assert_true(r->reason != NULL);
	if (r->result == MTASTS_RESULT_POLICY) {
		assert_non_null(r->policy);
		assert_non_null(r->body);
	} else {
		assert_null(r->policy);
	}
	if (o->take_policy) {
		o->taken = r->policy;
		r->policy = NULL;
	}
	if (o->free_me) {
		mtasts_discovery_free(*o->free_me);
		*o->free_me = NULL;
	}
}

struct env {
	struct event_base *base;
	struct fake fk;
	struct mtasts_discovery *d;
};

static void
env_open(struct env *e, const struct world *w)
{
	struct mtasts_discovery_options o;
	struct mtasts_error err;

	memset(e, 0, sizeof(*e));
	e->base = event_base_new();
	assert_non_null(e->base);
	e->fk.base = e->base;
	e->fk.w = w;
	mtasts_discovery_options_init(&o);
	o.dns_ops = &fake_dns_ops;
	o.dns_impl = &e->fk;
	o.http_ops = &fake_http_ops;
	o.http_impl = &e->fk;
	assert_int_equal(mtasts_discovery_new(e->base, &o, &e->d, &err),
	    MTASTS_OK);
}

static void
env_close(struct env *e)
{
	mtasts_discovery_free(e->d);
	assert_int_equal(e->fk.npending, 0);
	event_base_free(e->base);
}

/* Start one discovery and run the loop to completion. */
static void
run_one(struct env *e, const char *domain, const char *cached,
    struct outcome *o)
{
	struct mtasts_error err;

	assert_int_equal(mtasts_discover(e->d, domain, cached, record_cb, o,
	    &err), MTASTS_OK);
	o->started = true;
	assert_int_not_equal(event_base_dispatch(e->base), -1);
	assert_int_equal(o->calls, 1);
	assert_false(o->sync_call);
}

/* ---- table of branches -------------------------------------------------- */

struct dcase {
	const char *name;
	struct world w;
	const char *cached;
	enum mtasts_result result;
	enum mtasts_failure failure;
	int code;
	const char *reason;	/* substring, or NULL */
	bool id;		/* result carries the TXT id */
	unsigned addr_lookups;	/* expected A/AAAA lookups */
	unsigned gets;		/* expected HTTPS gets */
};

#define TXT_OK .txt = {"v=STSv1; id=abc123", NULL}
#define ADDR_OK .addrs = {"127.0.0.9", "::1", NULL}

static const struct dcase cases[] = {
	{"policy", {TXT_OK, ADDR_OK, .body = GOOD_BODY}, NULL,
	    MTASTS_RESULT_POLICY, MTASTS_FAILURE_NONE, MTASTS_OK, NULL, true,
	    1, 1},
	{"txt-nxdomain", {.txt_code = MTASTS_ENOTFOUND, .txt_nx = true}, NULL,
	    MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE, MTASTS_ENOTFOUND,
	    "NXDOMAIN", false, 0, 0},
	{"txt-nodata", {.txt_code = MTASTS_ENOTFOUND}, NULL,
	    MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE, MTASTS_ENOTFOUND,
	    "NODATA", false, 0, 0},
	{"txt-servfail", {.txt_code = MTASTS_EDNSTEMP}, NULL,
	    MTASTS_RESULT_TEMPERROR, MTASTS_FAILURE_NONE, MTASTS_EDNSTEMP,
	    "_mta-sts.example.test", false, 0, 0},
	{"txt-refused", {.txt_code = MTASTS_EDNS}, NULL,
	    MTASTS_RESULT_TEMPERROR, MTASTS_FAILURE_NONE, MTASTS_EDNS,
	    "_mta-sts.example.test", false, 0, 0},
	{"txt-toobig", {.txt_code = MTASTS_ETOOBIG}, NULL,
	    MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE, MTASTS_ETOOBIG,
	    NULL, false, 0, 0},
	{"txt-oom", {.txt_code = MTASTS_ENOMEM}, NULL,
	    MTASTS_RESULT_TEMPERROR, MTASTS_FAILURE_NONE, MTASTS_ENOMEM,
	    NULL, false, 0, 0},
	{"txt-two", {.txt = {"v=STSv1; id=a1", "v=STSv1; id=b2", NULL}},
	    NULL, MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE,
	    MTASTS_EMULTIPLE, "2 v=STSv1 records", false, 0, 0},
	{"txt-none-sts", {.txt = {"foo=bar", "site=1", NULL}}, NULL,
	    MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE, MTASTS_ENOTFOUND,
	    "_mta-sts.example.test", false, 0, 0},
	{"txt-invalid", {.txt = {"v=STSv1; id=has-dash", NULL}}, NULL,
	    MTASTS_RESULT_NO_POLICY, MTASTS_FAILURE_NONE, MTASTS_ESYNTAX,
	    "invalid _mta-sts.example.test record", false, 0, 0},
	{"txt-other-discarded", {.txt = {"v=STSv1; id=abc123", "x=1", NULL},
	    ADDR_OK, .body = GOOD_BODY}, NULL, MTASTS_RESULT_POLICY,
	    MTASTS_FAILURE_NONE, MTASTS_OK, NULL, true, 1, 1},
	{"unchanged", {TXT_OK}, "abc123", MTASTS_RESULT_UNCHANGED,
	    MTASTS_FAILURE_NONE, MTASTS_OK, NULL, true, 0, 0},
	{"cached-differs", {TXT_OK, ADDR_OK, .body = GOOD_BODY}, "abc124",
	    MTASTS_RESULT_POLICY, MTASTS_FAILURE_NONE, MTASTS_OK, NULL, true,
	    1, 1},
	{"cached-case-differs", {TXT_OK, ADDR_OK, .body = GOOD_BODY},
	    "ABC123", MTASTS_RESULT_POLICY, MTASTS_FAILURE_NONE, MTASTS_OK,
	    NULL, true, 1, 1},
	{"cached-too-long", {TXT_OK, ADDR_OK, .body = GOOD_BODY},
	    "abc123abc123abc123abc123abc123abc123", MTASTS_RESULT_POLICY,
	    MTASTS_FAILURE_NONE, MTASTS_OK, NULL, true, 1, 1},
	{"host-nxdomain", {TXT_OK, .addr_code = MTASTS_ENOTFOUND,
	    .addr_nx = true}, NULL, MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH,
	    MTASTS_ENOTFOUND,
	    "policy host mta-sts.example.test does not resolve (NXDOMAIN)",
	    true, 1, 0},
	{"host-nodata", {TXT_OK, .addr_code = MTASTS_ENOTFOUND}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_ENOTFOUND,
	    "mta-sts.example.test has no A or AAAA", true, 1, 0},
	{"host-empty", {TXT_OK, .addrs = {NULL}}, NULL, MTASTS_RESULT_ERROR,
	    MTASTS_FAILURE_FETCH, MTASTS_ENOTFOUND, "no A or AAAA", true, 1,
	    0},
	{"host-servfail", {TXT_OK, .addr_code = MTASTS_EDNSTEMP}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_EDNSTEMP,
	    "mta-sts.example.test", true, 1, 0},
	{"http-cert", {TXT_OK, ADDR_OK, .http_code = MTASTS_ECERT}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_WEBPKI, MTASTS_ECERT,
	    "https://", true, 1, 1},
	{"http-tls", {TXT_OK, ADDR_OK, .http_code = MTASTS_ETLS}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_ETLS, NULL,
	    true, 1, 1},
	{"http-connect", {TXT_OK, ADDR_OK, .http_code = MTASTS_ECONNECT},
	    NULL, MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_ECONNECT,
	    NULL, true, 1, 1},
	{"http-timeout", {TXT_OK, ADDR_OK, .http_code = MTASTS_ETIMEOUT},
	    NULL, MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_ETIMEOUT,
	    NULL, true, 1, 1},
	{"http-status", {TXT_OK, ADDR_OK, .http_code = MTASTS_EHTTPSTATUS,
	    .http_status = 404}, NULL, MTASTS_RESULT_ERROR,
	    MTASTS_FAILURE_FETCH, MTASTS_EHTTPSTATUS, NULL, true, 1, 1},
	{"http-redirect", {TXT_OK, ADDR_OK, .http_code = MTASTS_EREDIRECT,
	    .http_status = 301}, NULL, MTASTS_RESULT_ERROR,
	    MTASTS_FAILURE_FETCH, MTASTS_EREDIRECT, NULL, true, 1, 1},
	{"http-ctype", {TXT_OK, ADDR_OK, .http_code = MTASTS_ECTYPE}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_ECTYPE, NULL,
	    true, 1, 1},
	{"http-toobig", {TXT_OK, ADDR_OK, .http_code = MTASTS_ETOOBIG,
	    .body = GOOD_BODY}, NULL, MTASTS_RESULT_ERROR,
	    MTASTS_FAILURE_FETCH, MTASTS_ETOOBIG, NULL, true, 1, 1},
	{"http-other", {TXT_OK, ADDR_OK, .http_code = MTASTS_EHTTP}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_EHTTP, NULL,
	    true, 1, 1},
	{"http-start-fails", {TXT_OK, ADDR_OK,
	    .http_start_fail = MTASTS_ENOMEM}, NULL, MTASTS_RESULT_ERROR,
	    MTASTS_FAILURE_FETCH, MTASTS_ENOMEM, "cannot fetch https://"
	    "mta-sts.example.test/.well-known/mta-sts.txt", true, 1, 0},
	{"addr-start-fails", {TXT_OK, .dns_start_fail = 2}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_FETCH, MTASTS_EINTERNAL,
	    "mta-sts.example.test", true, 0, 0},
	{"policy-invalid", {TXT_OK, ADDR_OK, .body = "version: STSv1\r\n"
	    "mode: Enforce\r\nmx: a.example.test\r\nmax_age: 1\r\n"}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_INVALID, MTASTS_ESYNTAX,
	    "line 2", true, 1, 1},
	{"policy-empty", {TXT_OK, ADDR_OK, .body = ""}, NULL,
	    MTASTS_RESULT_ERROR, MTASTS_FAILURE_INVALID, MTASTS_ESYNTAX,
	    "https://mta-sts.example.test/.well-known/mta-sts.txt", true, 1,
	    1},
};

static void
test_branches(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct env e;
		struct outcome o;

		memset(&o, 0, sizeof(o));
		env_open(&e, &c->w);
		run_one(&e, "example.test", c->cached, &o);
		if (o.result != c->result || o.failure != c->failure ||
		    o.code != c->code)
			fail_msg("%s: got %s/%d/%s (%s)", c->name,
			    mtasts_result_name(o.result), (int)o.failure,
			    mtasts_errname(o.code), o.reason);
		if (c->reason && strstr(o.reason, c->reason) == NULL)
			fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name,
			    o.reason, c->reason);
		if (c->result == MTASTS_RESULT_POLICY ||
		    c->result == MTASTS_RESULT_UNCHANGED)
			assert_string_equal(o.reason, "");
		else if (o.reason[0] == '\0')
			fail_msg("%s: empty reason", c->name);
		assert_int_equal(o.have_id, c->id);
		if (c->id)
			assert_string_equal(o.id, "abc123");
		if (e.fk.lookups[MTASTS_DNS_ADDR] != c->addr_lookups ||
		    e.fk.gets != c->gets)
			fail_msg("%s: %u address lookups, %u gets", c->name,
			    e.fk.lookups[MTASTS_DNS_ADDR], e.fk.gets);
		assert_string_equal(o.domain, "example.test");
		if (c->result == MTASTS_RESULT_POLICY)
			assert_int_equal(o.mode, MTASTS_MODE_ENFORCE);
		if (c->gets && c->result != MTASTS_RESULT_POLICY &&
		    c->w.http_code == 0)
			assert_true(o.diag_count > 0);
		env_close(&e);
	}
}

/* Names queried and passed on: normalisation and RFC 8461 3.2/3.3. */
static void
test_names(void **state)
{
	static const struct world w = {TXT_OK, ADDR_OK, .body = GOOD_BODY};
	struct env e;
	struct outcome o;

	(void)state;
	memset(&o, 0, sizeof(o));
	env_open(&e, &w);
	run_one(&e, "ExAmple.TEST.", NULL, &o);
	assert_int_equal(o.result, MTASTS_RESULT_POLICY);
	assert_string_equal(o.domain, "example.test");
	assert_string_equal(e.fk.last_txt_name, "_mta-sts.example.test");
	assert_string_equal(e.fk.last_host, "mta-sts.example.test");
	assert_string_equal(e.fk.last_url,
	    "https://mta-sts.example.test/.well-known/mta-sts.txt");
	assert_string_equal(e.fk.last_addr0, "127.0.0.9");
	assert_int_equal(e.fk.last_naddrs, 2);
	assert_int_equal(o.body_len, strlen(GOOD_BODY));
	env_close(&e);
}

static void
test_bad_domains(void **state)
{
	static const struct world w = {TXT_OK};
	static const char *bad[] = {
	    "", ".", "a..b", "-a.test", "a-.test", "a_b.test", "a b.test",
	    "*.example.test", "example.test..", "[192.0.2.1]",
	    /* 245 bytes: "_mta-sts." would push it over 253 */
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct env e;
	struct outcome o;
	struct mtasts_error err;

	(void)state;
	memset(&o, 0, sizeof(o));
	env_open(&e, &w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = mtasts_discover(e.d, bad[i], NULL, record_cb, &o,
		    &err);

		if (rc != MTASTS_EINVAL)
			fail_msg("\"%s\" accepted (%d)", bad[i], rc);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(mtasts_discover(e.d, NULL, NULL, record_cb, &o,
	    &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_discover(e.d, "a.test", NULL, NULL, &o, &err),
	    MTASTS_EINVAL);
	assert_int_equal(event_base_dispatch(e.base), 1); /* nothing to do */
	assert_int_equal(o.calls, 0);
	assert_int_equal(e.fk.lookups[MTASTS_DNS_TXT], 0);
	env_close(&e);
}

/* A failing first lookup: error return, callback never runs. */
static void
test_start_fails(void **state)
{
	static const struct world w = {TXT_OK, .dns_start_fail = 1};
	struct env e;
	struct outcome o;
	struct mtasts_error err;

	(void)state;
	memset(&o, 0, sizeof(o));
	env_open(&e, &w);
	assert_int_equal(mtasts_discover(e.d, "example.test", NULL, record_cb,
	    &o, &err), MTASTS_EINTERNAL);
	event_base_dispatch(e.base);
	assert_int_equal(o.calls, 0);
	env_close(&e);
}

/* The callback may keep the policy. */
static void
test_take_policy(void **state)
{
	static const struct world w = {TXT_OK, ADDR_OK, .body = GOOD_BODY};
	struct env e;
	struct outcome o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.take_policy = true;
	env_open(&e, &w);
	run_one(&e, "example.test", NULL, &o);
	assert_non_null(o.taken);
	env_close(&e);
	assert_int_equal(mtasts_policy_mode(o.taken), MTASTS_MODE_ENFORCE);
	assert_int_equal(mtasts_policy_max_age(o.taken), 86400);
	mtasts_policy_free(o.taken);
}

/* Free with lookups pending in each state: no callback, all canceled. */
static void
test_free_pending(void **state)
{
	static const struct world w = {TXT_OK, ADDR_OK, .body = GOOD_BODY};

	(void)state;
	/* 0: before any answer; 1: after TXT; 2: after A/AAAA. */
	for (int stage = 0; stage < 3; stage++) {
		struct env e;
		struct outcome o[5];
		struct mtasts_error err;

		memset(o, 0, sizeof(o));
		env_open(&e, &w);
		for (int i = 0; i < 5; i++)
			assert_int_equal(mtasts_discover(e.d, "example.test",
			    NULL, record_cb, &o[i], &err), MTASTS_OK);
		while ((stage == 1 && e.fk.lookups[MTASTS_DNS_ADDR] < 5) ||
		    (stage == 2 && e.fk.gets < 5))
			event_base_loop(e.base, EVLOOP_ONCE);
		assert_int_equal(e.fk.npending, 5);
		mtasts_discovery_free(e.d);
		e.d = NULL;
		assert_int_equal(e.fk.npending, 0);
		assert_int_equal(e.fk.cancels, 5);
		event_base_dispatch(e.base);
		for (int i = 0; i < 5; i++)
			assert_int_equal(o[i].calls, 0);
		assert_int_equal(e.fk.lookups[MTASTS_DNS_ADDR],
		    stage >= 1 ? 5 : 0);
		assert_int_equal(e.fk.gets, stage >= 2 ? 5 : 0);
		env_close(&e);
	}
}

/* Freeing the engine from inside a callback drops the others. */
static void
test_free_in_callback(void **state)
{
	static const struct world worlds[] = {
	    {TXT_OK, ADDR_OK, .body = GOOD_BODY},	/* from on_http */
	    {TXT_OK},					/* UNCHANGED, on_txt */
	    {TXT_OK, .addr_code = MTASTS_ENOTFOUND},	/* on_addr */
	};

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		struct env e;
		struct outcome o[4];
		struct mtasts_error err;
		unsigned total = 0;

		memset(o, 0, sizeof(o));
		env_open(&e, &worlds[k]);
		for (int i = 0; i < 4; i++) {
			o[i].free_me = &e.d;
			assert_int_equal(mtasts_discover(e.d, "example.test",
			    k == 1 ? "abc123" : NULL, record_cb, &o[i], &err),
			    MTASTS_OK);
		}
		event_base_dispatch(e.base);
		assert_null(e.d);
		for (int i = 0; i < 4; i++)
			total += o[i].calls;
		assert_int_equal(total, 1);
		env_close(&e);
	}
}

/* A new discovery started from inside a callback works. */
static struct mtasts_discovery *chain_d;
static struct outcome chain_second;

static void
chain_cb(void *arg, struct mtasts_discovery_result *r)
{
	struct mtasts_error err;

	record_cb(arg, r);
	assert_int_equal(mtasts_discover(chain_d, "second.test", NULL,
	    record_cb, &chain_second, &err), MTASTS_OK);
	chain_second.started = true;
}

static void
test_chain(void **state)
{
	static const struct world w = {TXT_OK, ADDR_OK, .body = GOOD_BODY};
	struct env e;
	struct outcome o;
	struct mtasts_error err;

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(&chain_second, 0, sizeof(chain_second));
	env_open(&e, &w);
	chain_d = e.d;
	assert_int_equal(mtasts_discover(e.d, "first.test", NULL, chain_cb,
	    &o, &err), MTASTS_OK);
	o.started = true;
	event_base_dispatch(e.base);
	assert_int_equal(o.calls, 1);
	assert_int_equal(chain_second.calls, 1);
	assert_false(chain_second.sync_call);
	assert_string_equal(chain_second.domain, "second.test");
	env_close(&e);
}

/* 1000 lookups in flight at once. */
static void
test_thousand(void **state)
{
	static const struct world w = {TXT_OK, ADDR_OK, .body = GOOD_BODY};
	enum { N = 1000 };
	struct outcome *o = calloc(N, sizeof(*o));
	struct env e;
	struct mtasts_error err;
	char name[64];

	(void)state;
	assert_non_null(o);
	env_open(&e, &w);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "bulk%05d.test", i);
		assert_int_equal(mtasts_discover(e.d, name, NULL, record_cb,
		    &o[i], &err), MTASTS_OK);
		o[i].started = true;
	}
	assert_int_equal(e.fk.npending, N);
	event_base_dispatch(e.base);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "bulk%05d.test", i);
		assert_int_equal(o[i].calls, 1);
		assert_false(o[i].sync_call);
		assert_int_equal(o[i].result, MTASTS_RESULT_POLICY);
		assert_string_equal(o[i].domain, name);
	}
	assert_int_equal(e.fk.gets, N);
	env_close(&e);
	free(o);
}

/* OOM torture: fail the Nth allocation; the outcome is an error return
 * or exactly one callback, and nothing leaks (ASan). */
static void
test_oom(void **state)
{
	static const struct world w = {TXT_OK, ADDR_OK, .body = GOOD_BODY};

	(void)state;
	for (unsigned long n = 1; n < 400; n++) {
		struct env e;
		struct outcome o;
		struct mtasts_error err;
		int rc;

		memset(&o, 0, sizeof(o));
		env_open(&e, &w);
		mtasts__alloc_fail_at(n);
		rc = mtasts_discover(e.d, "example.test", NULL, record_cb, &o,
		    &err);
		o.started = true;
		event_base_dispatch(e.base);
		mtasts__alloc_fail_at(0);
		if (rc != MTASTS_OK)
			assert_int_equal(o.calls, 0);
		else
			assert_int_equal(o.calls, 1);
		env_close(&e);
		if (rc == MTASTS_OK && o.result == MTASTS_RESULT_POLICY &&
		    n > 50)
			break;	/* past every allocation */
	}
}

static void
test_names_and_options(void **state)
{
	struct mtasts_discovery_options o;

	(void)state;
	mtasts_discovery_options_init(&o);
	assert_int_equal(o.dns_timeout_ms, 5000);
	assert_int_equal(o.connect_timeout_ms, 10000);
	assert_int_equal(o.timeout_ms, 60000);
	assert_int_equal(o.max_body, 65536);
	assert_int_equal(o.max_fetches, 256);
	assert_null(o.resolver);
	assert_null(o.ca_file);
	assert_non_null(o.user_agent);
	assert_string_equal(mtasts_result_name(MTASTS_RESULT_POLICY),
	    "policy");
	assert_string_equal(mtasts_result_name(MTASTS_RESULT_NO_POLICY),
	    "no-policy");
	assert_string_equal(mtasts_result_name(MTASTS_RESULT_TEMPERROR),
	    "temperror");
	assert_string_equal(mtasts_result_name(MTASTS_RESULT_ERROR), "error");
	assert_string_equal(mtasts_result_name(MTASTS_RESULT_UNCHANGED),
	    "unchanged");
	assert_null(mtasts_failure_name(MTASTS_FAILURE_NONE));
	assert_string_equal(mtasts_failure_name(MTASTS_FAILURE_FETCH),
	    "sts-policy-fetch-error");
	assert_string_equal(mtasts_failure_name(MTASTS_FAILURE_INVALID),
	    "sts-policy-invalid");
	assert_string_equal(mtasts_failure_name(MTASTS_FAILURE_WEBPKI),
	    "sts-webpki-invalid");
}

/* Built-in engine: option validation, and an idle engine does not keep
 * the event loop running (no network is touched). */
static void
test_builtin_setup(void **state)
{
	struct mtasts_discovery_options o;
	struct mtasts_discovery *d = NULL;
	struct mtasts_error err;
	struct event_base *base = event_base_new();
	static const char *bad[] = {"", "x", "127.0.0.1@", "127.0.0.1@0",
	    "127.0.0.1@65536", "127.0.0.1@5a", "300.0.0.1", "@53"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mtasts_discovery_options_init(&o);
		o.resolver = bad[i];
		if (mtasts_discovery_new(base, &o, &d, &err) != MTASTS_EINVAL)
			fail_msg("resolver \"%s\" accepted", bad[i]);
		assert_null(d);
	}
	mtasts_discovery_options_init(&o);
	o.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(mtasts_discovery_new(base, &o, &d, &err),
	    MTASTS_EINVAL);
	mtasts_discovery_options_init(&o);
	o.resolver = "127.0.0.1@5353";
	assert_int_equal(mtasts_discovery_new(base, &o, &d, &err), MTASTS_OK);
	assert_int_equal(event_base_dispatch(base), 1);
	mtasts_discovery_free(d);
	mtasts_discovery_options_init(&o);
	o.resolver = "::1";
	assert_int_equal(mtasts_discovery_new(base, &o, &d, &err), MTASTS_OK);
	mtasts_discovery_free(d);
	mtasts_discovery_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_branches),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_bad_domains),
	    cmocka_unit_test(test_start_fails),
	    cmocka_unit_test(test_take_policy),
	    cmocka_unit_test(test_free_pending),
	    cmocka_unit_test(test_free_in_callback),
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_thousand),
	    cmocka_unit_test(test_oom),
	    cmocka_unit_test(test_names_and_options),
	    cmocka_unit_test(test_builtin_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
