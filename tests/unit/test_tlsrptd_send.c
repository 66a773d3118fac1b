/* SPDX-License-Identifier: MIT */
/*
 * test_tlsrptd_send.c: the reporter's send pass with an injected clock,
 * DNS, HTTPS and mail (tlsrptd_send.h): day close and send time spread,
 * rua discovery (skipped invalid/unsupported URIs, no record, DNS
 * trouble), HTTPS payload (gzip JSON valid against the RFC schema),
 * retries with exponential back-off, give-up after 24 h (R8460-39),
 * permanent failures, suppression of destinations that keep failing;
 * the sample libtlsrpt datagrams give the sample reports; the report
 * mail (RFC 8460 section 5.3) parsed back with GMime.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mtasts/tlsrpt_datagram.h"
#include "mtasts/tlsrpt_report.h"
/* The reporter's sources are compiled in so this test links whether or
 * not the build links tlsrptd_core into unit tests (as the collector's
 * test does). */
#include "util/alloc.h"
#include "tlsrptd_counters.h"
#include "tlsrptd_sched.h"
#include "tlsrptd_build.h"
#include "tlsrptd_mail.h"
#include "tlsrptd_send.h"
#include "tlsrpt_schema.h"

#ifndef HAVE_GMIME
/* Without tlsrptd_core there is no zlib in unit tests: a stored-block
 * gzip writer and reader stand in (RFC 1952 with RFC 1951 stored
 * blocks), enough to carry the JSON through the tests. */
static uint32_t
crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

int
mtasts_tlsrpt_gzip(const void *data, size_t len, int64_t mtime,
		   unsigned char **out, size_t *outlen,
		   struct mtasts_error *err)
{
	const unsigned char *in = data;
	size_t blocks = len / 65535 + 1, i, o = 10;
	unsigned char *b = mtasts__malloc(len + blocks * 5 + 18);
	uint32_t crc = crc32_of(in, len);

	(void)mtime;
	(void)err;
	if (b == NULL)
		return MTASTS_ENOMEM;
	memcpy(b, "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10);
	for (i = 0; i < blocks; i++) {
		size_t n = len - i * 65535 > 65535 ? 65535 : len - i * 65535;

		b[o++] = i + 1 == blocks;
		b[o++] = n & 0xff;
		b[o++] = n >> 8;
		b[o++] = ~n & 0xff;
		b[o++] = (~n >> 8) & 0xff;
		memcpy(b + o, in + i * 65535, n);
		o += n;
	}
	for (i = 0; i < 4; i++)
		b[o++] = (crc >> (8 * i)) & 0xff;
	for (i = 0; i < 4; i++)
		b[o++] = (len >> (8 * i)) & 0xff;
	*out = b;
	*outlen = o;
	return MTASTS_OK;
}

int
mtasts_tlsrpt_gunzip(const void *data, size_t len, size_t max_out,
		     char **out, size_t *outlen, struct mtasts_error *err)
{
	const unsigned char *p = data;
	size_t o = 10, n = 0;
	char *b = mtasts__malloc(len + 1);
	int last = 0;

	(void)err;
	if (b == NULL)
		return MTASTS_ENOMEM;
	while (!last && o + 5 <= len) {
		size_t k = p[o + 1] | (size_t)p[o + 2] << 8;

		last = p[o] & 1;
		o += 5;
		memcpy(b + n, p + o, k);
		n += k;
		o += k;
	}
	if (n > max_out) {
		mtasts__free(b);
		return MTASTS_ETOOBIG;
	}
	b[n] = '\0';
	*out = b;
	*outlen = n;
	return MTASTS_OK;
}
#else
#include <gmime/gmime.h>
#endif

#define DAY0 20413		/* 2025-11-21 */
#define T0 ((int64_t)DAY0 * 86400)

static char dbpath[256], uri[300];

/* ---- fake world ---------------------------------------------------------- */

struct call {
	char dest[200];
	char *body;		/* gunzipped JSON (POST) or message (mail) */
	size_t len;
};

static struct {
	int64_t now;
	int dns_code;		/* forced DNS result, 0: use records */
	const char *txt;	/* the _smtp._tls record for every domain */
	long http_status;	/* scripted POST outcome */
	int sendmail_status;
	struct call calls[64];
	size_t ncalls;
	char log[8192];
} W;

static int64_t
f_now(void *arg)
{
	(void)arg;
	return W.now;
}

static uint64_t
f_random(void *arg)
{
	(void)arg;
	return 0;
}

static int
f_lookup(void *arg, const char *name, char ***txt, size_t *n,
	 struct mtasts_error *err)
{
	(void)arg;
	(void)name;
	*txt = NULL;
	*n = 0;
	if (W.dns_code != 0)
		return mtasts_error_set(err, W.dns_code, "fake DNS trouble");
	if (W.txt == NULL)
		return mtasts_error_set(err, MTASTS_ENOTFOUND, "NXDOMAIN");
	*txt = mtasts__calloc(1, sizeof(char *));
	(*txt)[0] = mtasts__strdup(W.txt);
	*n = 1;
	return MTASTS_OK;
}

static void
record(const char *dest, char *body, size_t len)
{
	assert_true(W.ncalls < 64);
	snprintf(W.calls[W.ncalls].dest, sizeof(W.calls[0].dest), "%s", dest);
	W.calls[W.ncalls].body = body;
	W.calls[W.ncalls].len = len;
	W.ncalls++;
}

static enum tlsrptd_outcome
f_post(void *arg, const char *url, const struct tlsrptd_payload *p,
       char *why, size_t whylen)
{
	char *json;
	size_t len;

	(void)arg;
	assert_int_equal(p->gz[0], 0x1f);
	assert_int_equal(p->gz[1], 0x8b);
	assert_int_equal(mtasts_tlsrpt_gunzip(p->gz, p->gz_len, 1 << 24, &json,
	    &len, NULL), 0);
	assert_int_equal(len, p->json_len);
	record(url, json, len);
	snprintf(why, whylen, "status %ld", W.http_status);
	return tlsrptd_http_outcome(W.http_status);
}

static enum tlsrptd_outcome
f_mail(void *arg, const char *rcpt, const char *msg, size_t len, char *why,
       size_t whylen)
{
	(void)arg;
	record(rcpt, mtasts__strndup(msg, len), len);
	snprintf(why, whylen, "sendmail status %d", W.sendmail_status);
	return tlsrptd_sendmail_outcome(W.sendmail_status);
}

static void
f_log(void *arg, int prio, const char *msg)
{
	size_t n = strlen(W.log);

	(void)arg;
	(void)prio;
	snprintf(W.log + n, sizeof(W.log) - n, "%s\n", msg);
}

static const struct tlsrptd_send_ops ops = {
	.now = f_now,
	.random = f_random,
	.lookup_txt = f_lookup,
	.post = f_post,
	.mail = f_mail,
	.log = f_log,
};

static struct tlsrptd_send_conf conf;

static void
calls_clear(void)
{
	size_t i;

	for (i = 0; i < W.ncalls; i++)
		mtasts__free(W.calls[i].body);
	W.ncalls = 0;
	W.log[0] = '\0';
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dbpath, sizeof(dbpath), "/tmp/test_tlsrptd_send.%d.db",
		 (int)getpid());
	unlink(dbpath);
	snprintf(uri, sizeof(uri), "sqlite:%s", dbpath);
	memset(&W, 0, sizeof(W));
	W.http_status = 200;
	memset(&conf, 0, sizeof(conf));
	conf.id.organization = "Example Sender Org";
	conf.id.contact = "tlsrpt@sender.example";
	conf.id.submitter = "sender.example";
	conf.id.sending_ip = "192.0.2.1";
	tlsrptd_sched_defaults(&conf.sched);
	conf.sched.jitter_pct = 0;
	conf.close_delay = 900;
	conf.report_window = 3 * 86400;
	conf.mail_from = "tlsrpt@sender.example";
	conf.max_per_pass = 100;
	conf.force_day = -1;
	return 0;
}

static int
teardown(void **state)
{
	char p[300];

	(void)state;
	calls_clear();
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static struct tlsrptd_counters *
store_with_sessions(const char *domain, int64_t when, unsigned ok,
		    unsigned failed)
{
	static const char *const sts[] = {"version: STSv1", "mode: enforce",
	    "mx: mx.d.example", "max_age: 86400"};
	static const char *const mx[] = {"mx.d.example"};
	struct tlsrptd_counters *c = tlsrptd_counters_open(uri, NULL);
	struct mtasts_tlsrpt_session s;
	unsigned i;

	assert_non_null(c);
	memset(&s, 0, sizeof(s));
	s.time = when;
	s.policy_domain = domain;
	s.policy_type = MTASTS_TLSRPT_POLICY_STS;
	s.policy_strings = sts;
	s.policy_string_count = 4;
	s.mx_patterns = mx;
	s.mx_pattern_count = 1;
	for (i = 0; i < ok + failed; i++) {
		s.success = i < ok;
		s.result = MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED;
		s.sending_mta_ip = "192.0.2.1";
		s.receiving_mx_hostname = "mx.d.example";
		s.receiving_ip = "198.51.100.7";
		s.failure_reason_code = "X509_V_ERR_CERT_HAS_EXPIRED";
		assert_int_equal(tlsrptd_counters_add(c, &s, 1, NULL, NULL), 0);
	}
	assert_int_equal(tlsrptd_counters_flush(c, NULL), 0);
	return c;
}

struct got {
	enum tlsrptd_delivery_status status;
	uint32_t attempts;
	int64_t next_retry;
	char dest[200];
	char err[200];
	int n;
};

static int
got_cb(const struct tlsrptd_delivery *d, void *arg)
{
	struct got *g = arg;

	g->status = d->status;
	g->attempts = d->attempts;
	g->next_retry = d->next_retry;
	snprintf(g->dest, sizeof(g->dest), "%s", d->destination);
	snprintf(g->err, sizeof(g->err), "%s", d->last_error ?
	    d->last_error : "");
	g->n++;
	return 0;
}

static struct got
one_delivery(struct tlsrptd_counters *c, int64_t day)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	assert_int_equal(tlsrptd_counters_delivery_list(c, day, 0, got_cb, &g,
	    NULL), 0);
	return g;
}

static void
pass(struct tlsrptd_counters *c, struct tlsrptd_pass_stats *st)
{
	struct mtasts_error err;

	mtasts_error_clear(&err);
	if (tlsrptd_send_pass(c, &conf, &ops, st, &err) != 0)
		fail_msg("pass: %s", err.msg);
}

/* ---- the timing rules ----------------------------------------------------- */

static void
sched_rules(void **state)
{
	struct tlsrptd_sched_policy p;
	struct tlsrptd_dest_state ds = {0, 0};
	int64_t t;
	int i;

	(void)state;
	tlsrptd_sched_defaults(&p);
	assert_int_equal(p.give_up, 86400);	/* R8460-39 */
	/* send time: after the day + delay, inside the spread, stable */
	for (i = 0; i < 50; i++) {
		char d[32];

		snprintf(d, sizeof(d), "d%d.example", i);
		t = tlsrptd_send_time(&p, DAY0, d);
		assert_true(t >= T0 + 86400 + 1800);
		assert_true(t < T0 + 86400 + 1800 + 4 * 3600);
		assert_int_equal(t, tlsrptd_send_time(&p, DAY0, d));
	}
	assert_true(tlsrptd_send_time(&p, DAY0, "a.example") !=
		    tlsrptd_send_time(&p, DAY0, "b.example"));
	/* exponential back-off, capped, jitter bounded */
	p.jitter_pct = 0;
	assert_int_equal(tlsrptd_retry_next(&p, 1, 1000, 0, 7), 1300);
	assert_int_equal(tlsrptd_retry_next(&p, 2, 1000, 0, 7), 1600);
	assert_int_equal(tlsrptd_retry_next(&p, 3, 1000, 0, 7), 2200);
	assert_int_equal(tlsrptd_retry_next(&p, 10, 1000, 0, 7), 1000 + 14400);
	assert_int_equal(tlsrptd_retry_next(&p, 40, 1000, 0, 7), 1000 + 14400);
	assert_int_equal(tlsrptd_retry_next(&p, 1, 1000, 1300, 7), 0);
	p.jitter_pct = 20;
	for (i = 0; i < 100; i++) {
		t = tlsrptd_retry_next(&p, 1, 0, 0, (uint64_t)i * 7919);
		assert_true(t >= 300 && t <= 360);
	}
	/* suppression after 3 give-ups in a row, for 7 days */
	tlsrptd_dest_feed(&ds, false, true, 100);
	tlsrptd_dest_feed(&ds, false, true, 200);
	assert_false(tlsrptd_dest_suppressed(&p, &ds, 300));
	tlsrptd_dest_feed(&ds, false, true, 300);
	assert_true(tlsrptd_dest_suppressed(&p, &ds, 400));
	assert_false(tlsrptd_dest_suppressed(&p, &ds, 300 + 7 * 86400));
	tlsrptd_dest_feed(&ds, true, false, 500);
	assert_false(tlsrptd_dest_suppressed(&p, &ds, 600));
	/* outcomes: any 2xx; redirects not followed */
	assert_int_equal(tlsrptd_http_outcome(200), TLSRPTD_OUT_OK);
	assert_int_equal(tlsrptd_http_outcome(201), TLSRPTD_OUT_OK);
	assert_int_equal(tlsrptd_http_outcome(204), TLSRPTD_OUT_OK);
	assert_int_equal(tlsrptd_http_outcome(301), TLSRPTD_OUT_PERM);
	assert_int_equal(tlsrptd_http_outcome(404), TLSRPTD_OUT_PERM);
	assert_int_equal(tlsrptd_http_outcome(429), TLSRPTD_OUT_TEMP);
	assert_int_equal(tlsrptd_http_outcome(503), TLSRPTD_OUT_TEMP);
	assert_int_equal(tlsrptd_http_outcome(0), TLSRPTD_OUT_TEMP);
	assert_int_equal(tlsrptd_sendmail_outcome(0), TLSRPTD_OUT_OK);
	assert_int_equal(tlsrptd_sendmail_outcome(75), TLSRPTD_OUT_TEMP);
	assert_int_equal(tlsrptd_sendmail_outcome(67), TLSRPTD_OUT_PERM);
	assert_int_equal(tlsrptd_smtp_outcome(250), TLSRPTD_OUT_OK);
	assert_int_equal(tlsrptd_smtp_outcome(451), TLSRPTD_OUT_TEMP);
	assert_int_equal(tlsrptd_smtp_outcome(550), TLSRPTD_OUT_PERM);
}

/* ---- the pass -------------------------------------------------------------- */

static void
https_delivery(void **state)
{
	struct tlsrptd_counters *c = store_with_sessions("d.example",
	    T0 + 3600, 5, 2);
	struct tlsrptd_pass_stats st;
	json_t *root, *pol;
	struct got g;
	int64_t due;

	(void)state;
	W.txt = "v=TLSRPTv1; rua=https://reports.d.example/v1/tlsrpt";
	/* the day is not over yet: nothing */
	W.now = T0 + 86000;
	pass(c, &st);
	assert_int_equal(st.days_closed, 0);
	assert_int_equal(W.ncalls, 0);
	/* over, but not yet close_delay after */
	W.now = T0 + 86400 + 100;
	pass(c, &st);
	assert_int_equal(st.days_closed, 0);
	/* closed; the report waits for its spread send time */
	due = tlsrptd_send_time(&conf.sched, DAY0, "d.example");
	W.now = T0 + 86400 + 900;
	pass(c, &st);
	assert_int_equal(st.days_closed, 1);
	assert_int_equal(W.ncalls, due <= W.now ? 1 : 0);
	W.now = due;
	pass(c, &st);
	assert_int_equal(st.reports_built, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(W.ncalls, 1);
	assert_string_equal(W.calls[0].dest,
	    "https://reports.d.example/v1/tlsrpt");
	if (!schema_validate(W.calls[0].body, W.calls[0].len))
		fail_msg("%s\n%s", schema_why, W.calls[0].body);
	root = json_loads(W.calls[0].body, 0, NULL);
	pol = json_array_get(json_object_get(root, "policies"), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    pol, "summary"), "total-successful-session-count")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    pol, "summary"), "total-failure-session-count")), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(pol, "failure-details"), 0),
	    "result-type")), "certificate-expired");
	assert_string_equal(json_string_value(json_object_get(root,
	    "contact-info")), "tlsrpt@sender.example");
	json_decref(root);
	g = one_delivery(c, DAY0);
	assert_int_equal(g.status, TLSRPTD_DELIVERY_SENT);
	assert_int_equal(g.attempts, 1);
	/* nothing more to do, ever */
	W.now += 86400;
	pass(c, &st);
	assert_int_equal(W.ncalls, 1);
	tlsrptd_counters_close(c);
}

static void
retry_then_give_up(void **state)
{
	struct tlsrptd_counters *c = store_with_sessions("d.example",
	    T0 + 3600, 1, 0);
	struct tlsrptd_pass_stats st;
	int64_t first, expect;
	struct got g;
	int n;

	(void)state;
	W.txt = "v=TLSRPTv1;rua=https://r.d.example/";
	W.http_status = 503;
	conf.force_day = DAY0;	/* as "send-now --day" */
	W.now = first = T0 + 3 * 3600;
	pass(c, &st);
	conf.force_day = -1;
	assert_int_equal(st.tempfail, 1);
	g = one_delivery(c, DAY0);
	assert_int_equal(g.status, TLSRPTD_DELIVERY_TEMPFAIL);
	assert_int_equal(g.next_retry, first + 300);
	assert_non_null(strstr(g.err, "503"));
	/* not before the retry time */
	W.now = first + 299;
	pass(c, &st);
	assert_int_equal(W.ncalls, 1);
	/* back-off doubles: 300, 600, 1200, ... capped at 4 h */
	expect = 300;
	for (n = 2; n < 40; n++) {
		W.now = g.next_retry;
		pass(c, &st);
		g = one_delivery(c, DAY0);
		if (g.status != TLSRPTD_DELIVERY_TEMPFAIL)
			break;
		expect = expect * 2 > 14400 ? 14400 : expect * 2;
		assert_int_equal(g.next_retry - W.now, expect);
		assert_int_equal(g.attempts, (uint32_t)n);
	}
	/* given up within 24 h of the first attempt (R8460-39) */
	assert_int_equal(g.status, TLSRPTD_DELIVERY_GAVEUP);
	assert_true(W.now < first + 86400);
	assert_true(W.ncalls >= 8 && W.ncalls <= 12);
	assert_non_null(strstr(W.log, "gave up"));
	tlsrptd_counters_close(c);
}

static void
permanent_and_suppression(void **state)
{
	struct tlsrptd_counters *c = NULL;
	struct tlsrptd_pass_stats st;
	struct got g;
	int day;

	(void)state;
	W.txt = "v=TLSRPTv1;rua=https://r.d.example/";
	W.http_status = 404;
	for (day = 0; day < 4; day++) {
		c = store_with_sessions("d.example", T0 + day * 86400 + 60, 1,
		    0);
		W.now = T0 + (day + 2) * 86400;	/* all due */
		calls_clear();
		pass(c, &st);
		g = one_delivery(c, DAY0 + day);
		if (day < 3) {
			/* 404: permanent, not retried */
			assert_int_equal(st.gaveup, 1);
			assert_int_equal(g.status, TLSRPTD_DELIVERY_GAVEUP);
			assert_int_equal(W.ncalls, 1);
		} else {
			/* three give-ups in a row: suppressed */
			assert_int_equal(g.status, TLSRPTD_DELIVERY_SKIPPED);
			assert_non_null(strstr(g.err, "suppressed"));
			assert_int_equal(W.ncalls, 0);
		}
		tlsrptd_counters_close(c);
	}
}

static void
rua_problems(void **state)
{
	struct tlsrptd_counters *c = store_with_sessions("d.example",
	    T0 + 60, 1, 0);
	struct tlsrptd_pass_stats st;
	struct got g;

	(void)state;
	/* DNS trouble: the report waits (not marked), then goes out */
	W.dns_code = MTASTS_EDNSTEMP;
	W.now = T0 + 2 * 86400;
	pass(c, &st);
	assert_int_equal(st.reports_built, 0);
	assert_non_null(strstr(W.log, "failed temporarily"));
	/* an unsupported scheme never reaches the list; a bad mailto is
	 * skipped with a clear log line; the good one is used */
	W.dns_code = 0;
	W.txt = "v=TLSRPTv1;rua=ftp://x.example/,mailto:no-at-sign,"
	    "mailto:a%20b@d.example,mailto:tls%2Breports@d.example";
	W.sendmail_status = 0;
	calls_clear();
	pass(c, &st);
	assert_int_equal(st.reports_built, 1);
#ifdef HAVE_GMIME
	assert_int_equal(st.sent, 1);
	assert_int_equal(W.ncalls, 1);
#endif
	assert_true(st.skipped >= 1);
	if (strstr(W.log, "unsupported scheme \"ftp\"") == NULL ||
	    strstr(W.log, "\"mailto:no-at-sign\" has no mail address") ==
	    NULL || strstr(W.log, "rua \"mailto:a%20b@d.example\" skipped")
	    == NULL)
		fail_msg("log: %s", W.log);
#ifdef HAVE_GMIME
	assert_string_equal(W.calls[0].dest, "tls+reports@d.example");
#endif
	tlsrptd_counters_close(c);
	/* no record at all: recorded as skipped, not retried */
	teardown(NULL);
	setup(NULL);
	c = store_with_sessions("n.example", T0 + 60, 1, 0);
	W.txt = NULL;
	W.now = T0 + 2 * 86400;
	pass(c, &st);
	g = one_delivery(c, DAY0);
	assert_int_equal(g.status, TLSRPTD_DELIVERY_SKIPPED);
	assert_string_equal(g.dest, "none");
	pass(c, &st);
	assert_int_equal(st.reports_built, 0);
	tlsrptd_counters_close(c);
}

/* The nine sample datagrams give the sample reports (apart from names,
 * ids and times). */
static void
samples_give_expected_reports(void **state)
{
	char path[512], line[4096];
	struct tlsrptd_counters *c = tlsrptd_counters_open(uri, NULL);
	json_t *expected, *e, *want_pols;
	FILE *f;
	size_t i, j, k;

	(void)state;
	snprintf(path, sizeof(path), "%s/tlsrpt_datagram/datagrams.jsonl",
	    MTASTS_TEST_DATA);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(path, sizeof(path), "/work/shared/samples/"
		    "libtlsrpt-datagrams/datagrams.jsonl");
		f = fopen(path, "r");
	}
	if (f == NULL) {
		tlsrptd_counters_close(c);
		skip();
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct mtasts_tlsrpt_datagram *d;
		const struct mtasts_tlsrpt_session *s;
		size_t n;

		assert_int_equal(mtasts_tlsrpt_datagram_parse(line,
		    strlen(line), T0 + 3600, &d, NULL, NULL), 0);
		n = mtasts_tlsrpt_datagram_sessions(d, &s);
		assert_int_equal(tlsrptd_counters_add(c, s, n, NULL, NULL), 0);
		mtasts_tlsrpt_datagram_free(d);
	}
	fclose(f);
	assert_int_equal(tlsrptd_counters_flush(c, NULL), 0);
	snprintf(path, sizeof(path), "%s/tlsrpt_datagram/expected-reports.json",
	    MTASTS_TEST_DATA);
	expected = json_load_file(path, 0, NULL);
	assert_non_null(expected);
	conf.id.sending_ip = NULL;
	json_array_foreach(expected, i, e) {
		const char *dom = NULL;
		struct mtasts_tlsrpt_report *rep;
		char *json;
		size_t len;
		json_t *got, *got_pols;

		/* the report domain: from the report id "..._idx1_<d>" */
		dom = strrchr(json_string_value(json_object_get(e,
		    "report-id")), '_') + 1;
		assert_int_equal(tlsrptd_build_report(c, &conf.id, DAY0, dom,
		    "id1", &rep, NULL), 0);
		assert_int_equal(mtasts_tlsrpt_report_to_json(rep, 0, &json,
		    &len, NULL), 0);
		got = json_loads(json, 0, NULL);
		got_pols = json_object_get(got, "policies");
		want_pols = json_object_get(e, "policies");
		assert_int_equal(json_array_size(got_pols),
		    json_array_size(want_pols));
		/* every expected policy is there with the same counts and
		 * the same failure rows (order-insensitive) */
		for (j = 0; j < json_array_size(want_pols); j++) {
			json_t *w = json_array_get(want_pols, j);
			json_t *wp = json_object_get(w, "policy");
			bool found = false;

			for (k = 0; k < json_array_size(got_pols) && !found;
			     k++) {
				json_t *g = json_array_get(got_pols, k);
				json_t *gp = json_object_get(g, "policy");
				json_t *wfd = json_object_get(w,
				    "failure-details");
				json_t *gfd = json_object_get(g,
				    "failure-details");
				size_t a, b;
				bool rows = true;

				if (!json_equal(json_object_get(gp,
				    "policy-type"), json_object_get(wp,
				    "policy-type")) ||
				    !json_equal(json_object_get(g, "summary"),
				    json_object_get(w, "summary")))
					continue;
				if (json_object_get(wp, "policy-domain") &&
				    !json_equal(json_object_get(gp,
				    "policy-domain"), json_object_get(wp,
				    "policy-domain")))
					continue;
				/* we always write policy-domain */
				assert_non_null(json_object_get(gp,
				    "policy-domain"));
				if (json_object_get(wp, "policy-string") &&
				    !json_equal(json_object_get(gp,
				    "policy-string"), json_object_get(wp,
				    "policy-string")))
					continue;
				if (json_array_size(wfd) !=
				    json_array_size(gfd))
					continue;
				for (a = 0; a < json_array_size(wfd); a++) {
					json_t *wr = json_array_get(wfd, a);
					bool m = false;

					for (b = 0; b < json_array_size(gfd);
					     b++) {
						json_t *gr = json_array_get(gfd,
						    b);
						const char *key;
						json_t *v;
						bool same = true;

						json_object_foreach(wr, key, v)
							if (!json_equal(v,
							    json_object_get(gr,
							    key)))
								same = false;
						m = m || same;
					}
					rows = rows && m;
				}
				found = rows;
			}
			if (!found)
				fail_msg("report %s: policy %zu not matched:\n"
				    "%s", dom, j, json);
		}
		json_decref(got);
		mtasts_free(json);
		mtasts_tlsrpt_report_free(rep);
	}
	json_decref(expected);
	tlsrptd_counters_close(c);
}

#ifdef HAVE_GMIME
static GMimeObject *
parse_message(const char *text, size_t len)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(text, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(s);
	assert_non_null(m);
	return GMIME_OBJECT(m);
}

/* The structure all report messages share (also the RFC's sample). */
static GMimePart *
check_structure(GMimeMessage *m)
{
	GMimeObject *top = g_mime_message_get_mime_part(m);
	GMimeContentType *ct = g_mime_object_get_content_type(top);
	GMimeObject *p0, *p1;

	assert_true(GMIME_IS_MULTIPART(top));
	assert_true(g_mime_content_type_is_type(ct, "multipart", "report"));
	assert_string_equal(g_mime_content_type_get_parameter(ct,
	    "report-type"), "tlsrpt");
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 2);
	p0 = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	p1 = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
	assert_true(g_mime_content_type_is_type(
	    g_mime_object_get_content_type(p0), "text", "plain"));
	assert_true(g_mime_content_type_is_type(
	    g_mime_object_get_content_type(p1), "application", "tlsrpt+gzip"));
	assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(p1)),
	    GMIME_CONTENT_ENCODING_BASE64);
	assert_string_equal(g_mime_object_get_disposition(p1), "attachment");
	assert_non_null(g_mime_message_get_subject(m));
	assert_non_null(g_mime_object_get_header(GMIME_OBJECT(m),
	    "TLS-Report-Domain"));
	assert_non_null(g_mime_object_get_header(GMIME_OBJECT(m),
	    "TLS-Report-Submitter"));
	return GMIME_PART(p1);
}

static char *
attachment_json(GMimePart *att, size_t *len)
{
	GMimeStream *out = g_mime_stream_mem_new();
	GByteArray *ba;
	char *json;

	g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(att), out);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
	assert_int_equal(mtasts_tlsrpt_gunzip(ba->data, ba->len, 1 << 24,
	    &json, len, NULL), 0);
	g_object_unref(out);
	return json;
}

static void
report_mail(void **state)
{
	struct tlsrptd_counters *c = store_with_sessions("d.example",
	    T0 + 3600, 3, 1);
	struct tlsrptd_pass_stats st;
	GMimeObject *m;
	GMimePart *att;
	char *json, fname[MTASTS_TLSRPT_FILENAME_MAX], id[64], subj[700];
	const char *v;
	size_t len;
	FILE *f;
	char path[512], buf[8192];

	(void)state;
	W.txt = "v=TLSRPTv1;rua=mailto:tlsrpt@d.example";
	W.now = T0 + 2 * 86400;
	pass(c, &st);
	assert_int_equal(st.sent, 1);
	assert_string_equal(W.calls[0].dest, "tlsrpt@d.example");
	/* CRLF line ends on the wire */
	assert_non_null(strstr(W.calls[0].body, "\r\nTLS-Required: No\r\n"));
	m = parse_message(W.calls[0].body, W.calls[0].len);
	att = check_structure(GMIME_MESSAGE(m));
	tlsrptd_report_id(DAY0, "d.example", "sender.example", id, sizeof(id));
	snprintf(fname, sizeof(fname), "sender.example!d.example!%lld!%lld!%s"
	    ".json.gz", (long long)T0, (long long)T0 + 86399, id);
	assert_string_equal(g_mime_part_get_filename(att), fname);
	v = g_mime_object_get_header(m, "TLS-Report-Domain");
	assert_string_equal(v, "d.example");
	/* R8460-34: the submitter is contact-info's domain */
	v = g_mime_object_get_header(m, "TLS-Report-Submitter");
	assert_string_equal(v, "sender.example");
	assert_string_equal(g_mime_object_get_header(m, "TLS-Required"), "No");
	snprintf(subj, sizeof(subj), "Report Domain: d.example Submitter: "
	    "sender.example Report-ID: <%s@sender.example>", id);
	assert_string_equal(g_mime_message_get_subject(GMIME_MESSAGE(m)), subj);
	assert_non_null(g_mime_message_get_message_id(GMIME_MESSAGE(m)));
	assert_non_null(g_mime_message_get_date(GMIME_MESSAGE(m)));
	json = attachment_json(att, &len);
	if (!schema_validate(json, len))
		fail_msg("%s", schema_why);
	assert_non_null(strstr(json, "\"total-failure-session-count\":1"));
	mtasts_free(json);
	g_object_unref(m);
	/* the RFC's own example has the same structure */
	snprintf(path, sizeof(path), "%s/tlsrpt_mail/"
	    "rfc8460-example-gzip-base64.eml", MTASTS_TEST_DATA);
	f = fopen(path, "rb");
	assert_non_null(f);
	if (f != NULL) {
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		m = parse_message(buf, len);
		check_structure(GMIME_MESSAGE(m));
		g_object_unref(m);
	}
	tlsrptd_counters_close(c);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sched_rules),
		cmocka_unit_test_setup_teardown(https_delivery, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(retry_then_give_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(permanent_and_suppression,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(rua_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(samples_give_expected_reports,
		    setup, teardown),
#ifdef HAVE_GMIME
		cmocka_unit_test_setup_teardown(report_mail, setup, teardown),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
