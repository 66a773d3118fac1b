/* SPDX-License-Identifier: MIT */
/*
 * test_check.c: the checks engine (check.h) with fake DNS, HTTPS and
 * probe operations over a real event_base: every answer comes from a
 * zero-delay event, so the engine's asynchronous paths run as in real
 * use, but nothing touches the network. Each case builds a small world
 * (records, an HTTP answer, probe outcomes) and asserts item IDs and
 * states: the severity rule for TLS problems (WARN without MTA-STS, FAIL
 * under enforce, WARN with a note under testing), "could not test"
 * versus "fails", TXT and TLS-RPT record rules, implicit and null MX,
 * MX coverage and stale patterns, and the --state comparisons.
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

#include "mtasts/check.h"
#include "mtasts/fetch.h"
#include "mtasts/probe.h"
#include "mtasts/resolver.h"
#include "util/alloc.h"

#define ENFORCE_BODY                                                       \
	"version: STSv1\nmode: enforce\nmx: mx1.example.test\n"            \
	"max_age: 604800\n"
#define TESTING_BODY                                                       \
	"version: STSv1\nmode: testing\nmx: mx1.example.test\n"            \
	"max_age: 604800\n"

struct rr {
	enum mtasts_dns_type type;
	const char *name;
	int code;		/* 0: OK */
	bool nx;
	const char *vals[4];	/* TXT, addresses or MX hosts */
	size_t n;
};

struct world {
	struct rr rr[24];
	size_t nrr;
	int http_code;
	long http_status;
	const char *location;
	const char *ctype;
	const char *body;
	void (*tweak)(struct mtasts_probe_result *r);
	unsigned probes, fetches;
	struct event_base *base;
};

static void
add_rr(struct world *w, enum mtasts_dns_type t, const char *name, int code,
    bool nx, const char *v0, const char *v1)
{
	struct rr *r = &w->rr[w->nrr++];

	r->type = t;
	r->name = name;
	r->code = code;
	r->nx = nx;
	r->vals[0] = v0;
	r->vals[1] = v1;
	r->n = v1 ? 2 : v0 ? 1 : 0;
}

/* example.test with MTA-STS (body given), one MX with one address. */
static void
base_world(struct world *w, const char *body)
{
	memset(w, 0, sizeof(*w));
	add_rr(w, MTASTS_DNS_TXT, "_mta-sts.example.test", 0, false,
	    "v=STSv1; id=20260101", NULL);
	add_rr(w, MTASTS_DNS_ADDR, "mta-sts.example.test", 0, false,
	    "192.0.2.80", NULL);
	add_rr(w, MTASTS_DNS_TXT, "_smtp._tls.example.test", 0, false,
	    "v=TLSRPTv1; rua=mailto:tlsrpt@example.test", NULL);
	add_rr(w, MTASTS_DNS_MX, "example.test", 0, false, "mx1.example.test",
	    NULL);
	add_rr(w, MTASTS_DNS_ADDR, "mx1.example.test", 0, false, "192.0.2.25",
	    NULL);
	w->http_code = MTASTS_OK;
	w->http_status = 200;
	w->ctype = "text/plain";
	w->body = body;
}

/* ---- fakes ---- */

struct pending {
	struct world *w;
	struct event *ev;
	int kind;		/* 0 dns, 1 http, 2 probe */
	enum mtasts_dns_type type;
	char name[300];
	void *cb;
	void *arg;
	enum mtasts_probe_mode mode;
	char ip[48];
	unsigned port;
};

static void
deliver(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct world *w = p->w;

	(void)fd;
	(void)what;
	if (p->kind == 0) {
		struct mtasts_dns_answer a;
		struct mtasts_dns_mx mx[4];
		size_t lens[4];
		const struct rr *r = NULL;

		memset(&a, 0, sizeof(a));
		a.type = p->type;
		a.name = p->name;
		a.reason = "";
		for (size_t i = 0; i < w->nrr; i++)
			if (w->rr[i].type == p->type &&
			    strcmp(w->rr[i].name, p->name) == 0)
				r = &w->rr[i];
		if (r == NULL) {
			a.code = MTASTS_ENOTFOUND;
			a.nxdomain = true;
			a.reason = "no such name";
		} else if (r->code != 0) {
			a.code = r->code;
			a.nxdomain = r->nx;
			a.reason = "fake failure";
		} else {
			a.count = r->n;
			for (size_t i = 0; i < r->n; i++) {
				lens[i] = strlen(r->vals[i]);
				mx[i].preference = 10 * (unsigned)(i + 1);
				mx[i].host = r->vals[i];
			}
			a.txt = r->vals;
			a.txt_len = lens;
			a.addr = r->vals;
			a.mx = mx;
		}
		((mtasts_dns_cb)p->cb)(p->arg, &a);
	} else if (p->kind == 1) {
		struct mtasts_http_response h;

		memset(&h, 0, sizeof(h));
		h.code = w->http_code;
		h.status = w->http_status;
		h.reason = w->http_code ? "fake HTTP failure" : "";
		h.content_type = w->ctype;
		h.location = w->location;
		h.body = w->body;
		h.body_len = w->body ? strlen(w->body) : 0;
		((mtasts_http_cb)p->cb)(p->arg, &h);
	} else {
		struct mtasts_probe_result r;

		memset(&r, 0, sizeof(r));
		r.mode = p->mode;
		snprintf(r.host, sizeof(r.host), "%.250s", p->name);
		snprintf(r.ip, sizeof(r.ip), "%s", p->ip);
		r.port = p->port;
		r.status = MTASTS_PROBE_OK;
		r.stage = MTASTS_STAGE_DONE;
		r.banner_code = 220;
		snprintf(r.banner, sizeof(r.banner), "%.200s ESMTP", p->name);
		r.ehlo_code = 250;
		r.starttls_offered = true;
		r.starttls_code = 220;
		snprintf(r.tls_version, sizeof(r.tls_version), "TLSv1.3");
		r.tls_version_num = 0x0304;
		snprintf(r.cipher, sizeof(r.cipher), "TLS_AES_256_GCM_SHA384");
		r.cert_present = true;
		r.chain_trusted = true;
		r.name_match = true;
		r.days_left = 80;
		snprintf(r.key_type, sizeof(r.key_type), "EC");
		r.key_bits = 256;
		r.old_tested = p->mode == MTASTS_PROBE_SMTP;
		if (w->tweak && p->mode == MTASTS_PROBE_SMTP)
			w->tweak(&r);
		((mtasts_probe_cb)p->cb)(p->arg, &r);
	}
}

static void
on_pending(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	event_free(p->ev);
	deliver(fd, what, p);
	free(p);
}

static void
drop(void *h)
{
	struct pending *p = h;

	if (p == NULL)
		return;
	event_free(p->ev);
	free(p);
}

static int
schedule(struct world *w, struct pending *p)
{
	struct timeval tv = {0, 0};

	p->w = w;
	p->ev = evtimer_new(w->base, on_pending, p);
	return evtimer_add(p->ev, &tv) == 0 ? MTASTS_OK : MTASTS_EINTERNAL;
}

static int
f_lookup(void *impl, enum mtasts_dns_type type, const char *name,
    mtasts_dns_cb cb, void *arg, struct mtasts_dns_query **q,
    struct mtasts_error *err)
{
	struct pending *p = calloc(1, sizeof(*p));

	(void)err;
	if (q)
		*q = (struct mtasts_dns_query *)p;
	p->kind = 0;
	p->type = type;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->cb = (void *)cb;
	p->arg = arg;
	return schedule(impl, p);
}

static void
f_dns_cancel(void *impl, struct mtasts_dns_query *q)
{
	(void)impl;
	drop(q);
}

static int
f_get(void *impl, const char *host, const char *url,
    const char *const *addrs, size_t naddrs, mtasts_http_cb cb, void *arg,
    struct mtasts_http_request **req, struct mtasts_error *err)
{
	struct world *w = impl;
	struct pending *p = calloc(1, sizeof(*p));

	(void)host;
	(void)url;
	(void)addrs;
	(void)naddrs;
	(void)err;
	if (req)
		*req = (struct mtasts_http_request *)p;
	w->fetches++;
	p->kind = 1;
	p->cb = (void *)cb;
	p->arg = arg;
	return schedule(w, p);
}

static void
f_http_cancel(void *impl, struct mtasts_http_request *r)
{
	(void)impl;
	drop(r);
}

static int
f_probe(void *impl, enum mtasts_probe_mode mode, const char *host,
    const char *ip, unsigned port, mtasts_probe_cb cb, void *arg,
    struct mtasts_probe_handle **h, struct mtasts_error *err)
{
	struct world *w = impl;
	struct pending *p = calloc(1, sizeof(*p));

	(void)err;
	if (h)
		*h = (struct mtasts_probe_handle *)p;
	if (mode == MTASTS_PROBE_SMTP)
		w->probes++;
	p->kind = 2;
	p->mode = mode;
	snprintf(p->name, sizeof(p->name), "%s", host);
	snprintf(p->ip, sizeof(p->ip), "%s", ip);
	p->port = port;
	p->cb = (void *)cb;
	p->arg = arg;
	return schedule(w, p);
}

static void
f_probe_cancel(void *impl, struct mtasts_probe_handle *h)
{
	(void)impl;
	drop(h);
}

static const struct mtasts_dns_ops fake_dns = {f_lookup, f_dns_cancel};
static const struct mtasts_http_ops fake_http = {f_get, f_http_cancel};
static const struct mtasts_probe_ops fake_probe = {f_probe, f_probe_cancel};

static void
on_report(void *arg, struct mtasts_check_report *rep)
{
	*(struct mtasts_check_report **)arg = rep;
}

static struct mtasts_check_report *
run(struct world *w, const char *domain, const struct mtasts_check_prev *prev)
{
	struct mtasts_checker_options o;
	struct mtasts_checker *c = NULL;
	struct mtasts_check_report *rep = NULL;
	struct mtasts_error err;

	w->base = event_base_new();
	assert_non_null(w->base);
	mtasts_checker_options_init(&o);
	o.dns_ops = &fake_dns;
	o.dns_impl = w;
	o.http_ops = &fake_http;
	o.http_impl = w;
	o.probe_ops = &fake_probe;
	o.probe_impl = w;
	assert_int_equal(mtasts_checker_new(w->base, &o, &c, &err), MTASTS_OK);
	assert_int_equal(mtasts_check(c, domain, prev, on_report, &rep, &err),
	    MTASTS_OK);
	assert_null(rep);	/* never synchronous */
	event_base_dispatch(w->base);
	assert_non_null(rep);
	mtasts_checker_free(c);
	event_base_free(w->base);
	return rep;
}

/* State of the first item with id (and mx when not NULL); -1 if none. */
static int
state_of(const struct mtasts_check_report *r, const char *id, const char *mx)
{
	for (size_t i = 0; i < mtasts_check_report_count(r); i++) {
		const struct mtasts_check_item *it =
		    mtasts_check_report_item(r, i);

		if (strcmp(it->id, id) == 0 &&
		    (mx == NULL || (it->mx && strcmp(it->mx, mx) == 0)))
			return (int)it->state;
	}
	return -1;
}

static const char *
msg_of(const struct mtasts_check_report *r, const char *id)
{
	for (size_t i = 0; i < mtasts_check_report_count(r); i++) {
		const struct mtasts_check_item *it =
		    mtasts_check_report_item(r, i);

		if (strcmp(it->id, id) == 0)
			return it->msg;
	}
	return "";
}

/* ---- cases ---- */

static void
test_all_good(void **state)
{
	struct world w;
	struct mtasts_check_report *r;
	const struct mtasts_check_facts *f;

	(void)state;
	base_world(&w, ENFORCE_BODY);
	r = run(&w, "example.test", NULL);
	assert_int_equal(mtasts_check_report_states(r, MTASTS_CHECK_FAIL), 0);
	assert_int_equal(mtasts_check_report_states(r, MTASTS_CHECK_WARN), 0);
	assert_int_equal(mtasts_check_report_states(r,
	    MTASTS_CHECK_NOT_TESTED), 0);
	assert_int_equal(state_of(r, "STS-TXT-VALID", NULL), MTASTS_CHECK_PASS);
	assert_int_equal(state_of(r, "STS-MODE", NULL), MTASTS_CHECK_PASS);
	assert_int_equal(state_of(r, "STS-MX-COVERED", "mx1.example.test"),
	    MTASTS_CHECK_PASS);
	assert_int_equal(state_of(r, "RPT-TXT-VALID", NULL), MTASTS_CHECK_PASS);
	assert_int_equal(state_of(r, "MX-CERT-NAME", "mx1.example.test"),
	    MTASTS_CHECK_PASS);
	assert_int_equal(state_of(r, "MX-TLS-OLD", NULL), MTASTS_CHECK_PASS);
	assert_int_equal(state_of(r, "DANE-TLSA", NULL), MTASTS_CHECK_INFO);
	f = mtasts_check_report_facts(r);
	assert_true(f->has_mx && f->all_starttls && f->all_tls12 &&
	    f->all_cert_ok && f->sts_valid && f->tlsrpt_valid);
	assert_int_equal(f->sts_mode, MTASTS_MODE_ENFORCE);
	assert_string_equal(mtasts_check_report_sts_id(r), "20260101");
	assert_non_null(mtasts_check_report_body_sha256(r));
	assert_int_equal(strlen(mtasts_check_report_body_sha256(r)), 64);
	assert_int_equal(mtasts_check_report_mx_count(r), 1);
	assert_int_equal(w.probes, 1);
	assert_int_equal(w.fetches, 1);
	mtasts_check_report_free(r);
}

static void
bad_name(struct mtasts_probe_result *p)
{
	p->name_match = false;
}

static void
no_starttls(struct mtasts_probe_result *p)
{
	p->stage = MTASTS_STAGE_EHLO;
	p->status = MTASTS_PROBE_FAILED;
	p->starttls_offered = false;
	snprintf(p->reason, sizeof(p->reason), "STARTTLS is not offered");
}

static void
untested_421(struct mtasts_probe_result *p)
{
	p->stage = MTASTS_STAGE_BANNER;
	p->status = MTASTS_PROBE_UNTESTED;
	p->banner_code = 421;
	snprintf(p->reason, sizeof(p->reason), "421 busy");
}

static void
refused(struct mtasts_probe_result *p)
{
	p->stage = MTASTS_STAGE_CONNECT;
	p->status = MTASTS_PROBE_UNTESTED;
	p->code = MTASTS_ECONNECT;
	snprintf(p->reason, sizeof(p->reason), "connection refused");
}

static void
old_tls(struct mtasts_probe_result *p)
{
	p->tls10_accepted = true;
}

static void
expired(struct mtasts_probe_result *p)
{
	p->cert_expired = true;
	p->days_left = -3;
}

static void
soon(struct mtasts_probe_result *p)
{
	p->days_left = 5;
}

static void
untrusted(struct mtasts_probe_result *p)
{
	p->chain_trusted = false;
	snprintf(p->chain_error, sizeof(p->chain_error),
	    "self-signed certificate (depth 0)");
}

static void
weak_key(struct mtasts_probe_result *p)
{
	snprintf(p->key_type, sizeof(p->key_type), "RSA");
	p->key_bits = 1024;
}

static void
handshake_fail(struct mtasts_probe_result *p)
{
	p->stage = MTASTS_STAGE_HANDSHAKE;
	p->status = MTASTS_PROBE_FAILED;
	p->tls10_accepted = true;
	snprintf(p->reason, sizeof(p->reason), "TLS handshake failed");
}

/* The severity rule, across modes and problems. */
static void
test_severity(void **state)
{
	static const struct {
		const char *body;	/* NULL: no MTA-STS */
		void (*tweak)(struct mtasts_probe_result *);
		const char *id;
		int want;
	} cases[] = {
		{ENFORCE_BODY, bad_name, "MX-CERT-NAME", MTASTS_CHECK_FAIL},
		{TESTING_BODY, bad_name, "MX-CERT-NAME", MTASTS_CHECK_WARN},
		{NULL, bad_name, "MX-CERT-NAME", MTASTS_CHECK_WARN},
		{ENFORCE_BODY, no_starttls, "MX-STARTTLS", MTASTS_CHECK_FAIL},
		{TESTING_BODY, no_starttls, "MX-STARTTLS", MTASTS_CHECK_WARN},
		{NULL, no_starttls, "MX-STARTTLS", MTASTS_CHECK_WARN},
		{ENFORCE_BODY, untested_421, "MX-BANNER",
		    MTASTS_CHECK_NOT_TESTED},
		{ENFORCE_BODY, refused, "MX-CONNECT", MTASTS_CHECK_NOT_TESTED},
		{ENFORCE_BODY, old_tls, "MX-TLS-OLD", MTASTS_CHECK_WARN},
		{ENFORCE_BODY, expired, "MX-CERT-EXPIRY", MTASTS_CHECK_FAIL},
		{NULL, expired, "MX-CERT-EXPIRY", MTASTS_CHECK_WARN},
		{ENFORCE_BODY, soon, "MX-CERT-EXPIRY", MTASTS_CHECK_WARN},
		{ENFORCE_BODY, untrusted, "MX-CERT-TRUSTED", MTASTS_CHECK_FAIL},
		{ENFORCE_BODY, weak_key, "MX-CERT-KEY", MTASTS_CHECK_WARN},
		{ENFORCE_BODY, handshake_fail, "MX-TLS-VERSION",
		    MTASTS_CHECK_FAIL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct mtasts_check_report *r;

		base_world(&w, cases[i].body ? cases[i].body : "");
		if (cases[i].body == NULL)
			w.rr[0].code = MTASTS_ENOTFOUND; /* no _mta-sts */
		w.tweak = cases[i].tweak;
		r = run(&w, "example.test", NULL);
		if (state_of(r, cases[i].id, "mx1.example.test") !=
		    cases[i].want)
			fail_msg("case %zu: %s is %d, want %d", i, cases[i].id,
			    state_of(r, cases[i].id, "mx1.example.test"),
			    cases[i].want);
		if (cases[i].body != NULL &&
		    strstr(cases[i].body, "testing") != NULL &&
		    strstr(msg_of(r, cases[i].id), "FAIL once") == NULL)
			fail_msg("case %zu: no 'would FAIL once enforced' note",
			    i);
		mtasts_check_report_free(r);
	}
}

static void
test_txt_rules(void **state)
{
	struct world w;
	struct mtasts_check_report *r;

	(void)state;
	base_world(&w, ENFORCE_BODY);
	w.rr[0].vals[1] = "v=STSv1; id=2";
	w.rr[0].n = 2;
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "STS-TXT-SINGLE", NULL),
	    MTASTS_CHECK_FAIL);
	mtasts_check_report_free(r);

	base_world(&w, ENFORCE_BODY);
	w.rr[0].vals[0] = "v=STSv1; id=has-dash";
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "STS-TXT-VALID", NULL), MTASTS_CHECK_FAIL);
	mtasts_check_report_free(r);

	/* Temporary DNS failure: could not test, not "no MTA-STS". */
	base_world(&w, ENFORCE_BODY);
	w.rr[0].code = MTASTS_EDNSTEMP;
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "STS-TXT-PRESENT", NULL),
	    MTASTS_CHECK_NOT_TESTED);
	assert_int_equal(w.fetches, 0);
	mtasts_check_report_free(r);

	/* TLS-RPT: absent with MTA-STS is a warning; old name noted. */
	base_world(&w, ENFORCE_BODY);
	w.rr[2].name = "_smtp-tlsrpt.example.test";
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "RPT-TXT-PRESENT", NULL),
	    MTASTS_CHECK_WARN);
	assert_int_equal(state_of(r, "RPT-OLD-NAME", NULL), MTASTS_CHECK_WARN);
	mtasts_check_report_free(r);

	base_world(&w, ENFORCE_BODY);
	w.rr[2].vals[0] = "v=TLSRPTv1; rua=ftp://x.example.test/";
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "RPT-TXT-VALID", NULL), MTASTS_CHECK_FAIL);
	mtasts_check_report_free(r);
}

static void
test_http_rules(void **state)
{
	static const struct {
		int code;
		const char *id;
	} cases[] = {
		{MTASTS_EREDIRECT, "STS-HTTP-REDIRECT"},
		{MTASTS_EHTTPSTATUS, "STS-HTTP-STATUS"},
		{MTASTS_ECTYPE, "STS-HTTP-CTYPE"},
		{MTASTS_ETOOBIG, "STS-HTTP-SIZE"},
		{MTASTS_ECERT, "STS-CERT-VALID"},
		{MTASTS_ETIMEOUT, "STS-HTTP-FETCH"},
	};
	struct world w;
	struct mtasts_check_report *r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base_world(&w, ENFORCE_BODY);
		w.http_code = cases[i].code;
		w.http_status = 302;
		w.location = "https://elsewhere.test/";
		r = run(&w, "example.test", NULL);
		assert_int_equal(state_of(r, cases[i].id, NULL),
		    MTASTS_CHECK_FAIL);
		/* No policy: the MX checks are WARN, not FAIL. */
		assert_int_equal(mtasts_check_report_facts(r)->sts_valid,
		    false);
		mtasts_check_report_free(r);
	}
	base_world(&w, "version: STSv1\nmode: enforce\nmax_age: x\n");
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "STS-POLICY-SYNTAX", NULL),
	    MTASTS_CHECK_FAIL);
	assert_non_null(strstr(msg_of(r, "STS-POLICY-SYNTAX"), "line"));
	mtasts_check_report_free(r);

	base_world(&w, "version: STSv1\nmode: enforce\nmx: mx1.example.test\n"
		       "max_age: 600\n");
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "STS-MAXAGE", NULL), MTASTS_CHECK_WARN);
	assert_non_null(strstr(msg_of(r, "STS-MAXAGE"), "local threshold"));
	mtasts_check_report_free(r);
}

static void
test_mx_rules(void **state)
{
	struct world w;
	struct mtasts_check_report *r;

	(void)state;
	/* Null MX: nothing probed. */
	base_world(&w, ENFORCE_BODY);
	w.rr[3].vals[0] = ".";
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "MX-NULL", NULL), MTASTS_CHECK_INFO);
	assert_int_equal(w.probes, 0);
	assert_true(mtasts_check_report_facts(r)->null_mx);
	mtasts_check_report_free(r);

	/* No MX (NODATA): implicit MX is the domain itself. */
	base_world(&w, ENFORCE_BODY);
	w.rr[3].code = MTASTS_ENOTFOUND;
	w.rr[4].name = "example.test";
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "MX-IMPLICIT", NULL), MTASTS_CHECK_WARN);
	assert_int_equal(state_of(r, "STS-MX-COVERED", "example.test"),
	    MTASTS_CHECK_FAIL);
	assert_int_equal(w.probes, 1);
	mtasts_check_report_free(r);

	/* NXDOMAIN. */
	base_world(&w, ENFORCE_BODY);
	w.rr[3].code = MTASTS_ENOTFOUND;
	w.rr[3].nx = true;
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "MX-SET", NULL), MTASTS_CHECK_FAIL);
	mtasts_check_report_free(r);

	/* Second MX not covered, one stale pattern, no address for it. */
	base_world(&w, "version: STSv1\nmode: enforce\nmx: mx1.example.test\n"
		       "mx: old.example.test\nmax_age: 604800\n");
	w.rr[3].vals[1] = "mx2.example.test";
	w.rr[3].n = 2;
	r = run(&w, "example.test", NULL);
	assert_int_equal(state_of(r, "STS-MX-COVERED", "mx2.example.test"),
	    MTASTS_CHECK_FAIL);
	assert_int_equal(state_of(r, "STS-MX-STALE", NULL), MTASTS_CHECK_WARN);
	assert_int_equal(state_of(r, "MX-RESOLVES", "mx2.example.test"),
	    MTASTS_CHECK_FAIL);
	mtasts_check_report_free(r);

	/* Every address untested: the facts say so. */
	base_world(&w, ENFORCE_BODY);
	w.tweak = refused;
	r = run(&w, "example.test", NULL);
	assert_int_equal(mtasts_check_report_facts(r)->addrs, 1);
	assert_int_equal(mtasts_check_report_facts(r)->addrs_tested, 0);
	mtasts_check_report_free(r);
}

static void
test_state(void **state)
{
	struct world w;
	struct mtasts_check_report *r;
	struct mtasts_check_prev prev;
	const char *mx[] = {"mx0.example.test"};
	char hash[65];

	(void)state;
	base_world(&w, ENFORCE_BODY);
	r = run(&w, "example.test", NULL);
	snprintf(hash, sizeof(hash), "%s", mtasts_check_report_body_sha256(r));
	mtasts_check_report_free(r);

	memset(&prev, 0, sizeof(prev));
	r = run(&w, "example.test", &prev);
	assert_int_equal(state_of(r, "STS-STATE-ID", NULL), MTASTS_CHECK_INFO);
	mtasts_check_report_free(r);

	/* Same id, other body: the owner forgot to change the id. */
	prev.sts_id = "20260101";
	prev.body_sha256 = "00";
	prev.mx = mx;
	prev.nmx = 1;
	prev.have_mx = true;
	r = run(&w, "example.test", &prev);
	assert_int_equal(state_of(r, "STS-STATE-ID", NULL), MTASTS_CHECK_WARN);
	assert_int_equal(state_of(r, "STS-STATE-MX", NULL), MTASTS_CHECK_WARN);
	assert_non_null(strstr(msg_of(r, "STS-STATE-MX"), "mx0.example.test"));
	mtasts_check_report_free(r);

	/* New id, same body: harmless. */
	prev.sts_id = "2025";
	prev.body_sha256 = hash;
	r = run(&w, "example.test", &prev);
	assert_int_equal(state_of(r, "STS-STATE-ID", NULL), MTASTS_CHECK_INFO);
	mtasts_check_report_free(r);

	prev.sts_id = "20260101";
	{
		const char *same[] = {"mx1.example.test"};

		prev.mx = same;
		r = run(&w, "example.test", &prev);
		assert_int_equal(state_of(r, "STS-STATE-ID", NULL),
		    MTASTS_CHECK_PASS);
		assert_int_equal(state_of(r, "STS-STATE-MX", NULL),
		    MTASTS_CHECK_PASS);
		mtasts_check_report_free(r);
	}
}

static void
test_bad_input(void **state)
{
	struct mtasts_checker_options o;
	struct mtasts_checker *c = NULL;
	struct mtasts_error err;
	struct event_base *base = event_base_new();
	struct world w;
	char longname[400];

	(void)state;
	assert_string_equal(mtasts_dns_type_name(MTASTS_DNS_TLSA), "TLSA");
	memset(&w, 0, sizeof(w));
	w.base = base;
	mtasts_checker_options_init(&o);
	o.dns_ops = &fake_dns;
	o.dns_impl = &w;
	o.http_ops = &fake_http;
	o.http_impl = &w;
	o.probe_ops = &fake_probe;
	o.probe_impl = &w;
	assert_int_equal(mtasts_checker_new(base, &o, &c, &err), MTASTS_OK);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mtasts_check(c, "", NULL, on_report, NULL, &err),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_check(c, "a..b", NULL, on_report, NULL, &err),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_check(c, longname, NULL, on_report, NULL,
	    &err), MTASTS_EINVAL);
	/* Freeing with a check in flight drops it without a callback. */
	assert_int_equal(mtasts_check(c, "example.test", NULL, on_report,
	    NULL, &err), MTASTS_OK);
	mtasts_checker_free(c);
	event_base_free(base);
}

/* OOM torture: fail the n-th library allocation, for every n. */
static void
test_oom(void **state)
{
	unsigned long n, used = 0;

	(void)state;
	for (n = 1; n < 2000; n++) {
		struct mtasts_checker_options o;
		struct mtasts_checker *c = NULL;
		struct mtasts_check_report *rep = NULL;
		struct mtasts_error err;
		struct world w;
		int rc;

		base_world(&w, ENFORCE_BODY);
		w.base = event_base_new();
		mtasts_checker_options_init(&o);
		o.dns_ops = &fake_dns;
		o.dns_impl = &w;
		o.http_ops = &fake_http;
		o.http_impl = &w;
		o.probe_ops = &fake_probe;
		o.probe_impl = &w;
		mtasts__alloc_fail_at(n);
		rc = mtasts_checker_new(w.base, &o, &c, &err);
		if (rc == MTASTS_OK) {
			rc = mtasts_check(c, "example.test", NULL, on_report,
			    &rep, &err);
			if (rc == MTASTS_OK)
				event_base_dispatch(w.base);
			else
				assert_int_equal(rc, MTASTS_ENOMEM);
		} else {
			assert_int_equal(rc, MTASTS_ENOMEM);
		}
		used = mtasts__alloc_fail_at(0);
		mtasts_check_report_free(rep);
		mtasts_checker_free(c);
		event_base_free(w.base);
		if (used < n)
			break;	/* the whole run needed fewer allocations */
	}
	assert_true(n > 20 && n < 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_good),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_txt_rules),
		cmocka_unit_test(test_http_rules),
		cmocka_unit_test(test_mx_rules),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
