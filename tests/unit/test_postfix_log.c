/* SPDX-License-Identifier: MIT */
/*
 * test_postfix_log.c: Postfix log lines (interop.md section 1 and
 * realistic Postfix 3.7 lines) to TLS-RPT sessions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/postfix_log.h"

#define NOW 1763722800 /* 2025-11-21T11:00:00Z */

struct got {
	int n;
	struct {
		char rdomain[256];
		char pdomain[256];
		enum mtasts_tlsrpt_policy_type type;
		bool success;
		enum mtasts_tlsrpt_result result;
		char mx[256];
		char ip[64];
		char reason[128];
		int64_t time;
	} s[16];
};

static const char *const sts_strings[] = {"version: STSv1", "mode: enforce",
					  "mx: *.mail.company-y.example",
					  "max_age: 86400"};
static const char *const sts_mx[] = {"*.mail.company-y.example"};

/* company-y.example and example.org have STS policies, others none. */
static int
policy(void *arg, const char *domain, struct mtasts_postfix_log_policy *out)
{
	(void)arg;
	if (strcmp(domain, "company-y.example") == 0 ||
	    strcmp(domain, "example.org") == 0 ||
	    strcmp(domain, "example.com") == 0) {
		out->type = MTASTS_TLSRPT_POLICY_STS;
		out->strings = sts_strings;
		out->string_count = 4;
		out->mx_patterns = sts_mx;
		out->mx_pattern_count = 1;
		return 0;
	}
	return 1;
}

static void
session(void *arg, const struct mtasts_tlsrpt_session *s)
{
	struct got *g = arg;

	assert_true(g->n < 16);
	snprintf(g->s[g->n].rdomain, 256, "%s", s->report_domain);
	snprintf(g->s[g->n].pdomain, 256, "%s", s->policy_domain);
	g->s[g->n].type = s->policy_type;
	g->s[g->n].success = s->success;
	g->s[g->n].result = s->result;
	snprintf(g->s[g->n].mx, 256, "%s",
		 s->receiving_mx_hostname ? s->receiving_mx_hostname : "");
	snprintf(g->s[g->n].ip, 64, "%s",
		 s->receiving_ip ? s->receiving_ip : "");
	snprintf(g->s[g->n].reason, 128, "%s",
		 s->failure_reason_code ? s->failure_reason_code : "");
	g->s[g->n].time = s->time;
	g->n++;
}

static void
feed_file(const char *name, struct got *g, bool plaintext, int *rejected)
{
	char path[512], line[MTASTS_POSTFIX_LOG_LINE_MAX + 2];
	struct mtasts_postfix_log_options opt = {.count_plaintext = plaintext};
	struct mtasts_postfix_log *p;
	FILE *f;

	memset(g, 0, sizeof(*g));
	*rejected = 0;
	p = mtasts_postfix_log_new(&opt, policy, session, g);
	assert_non_null(p);
	snprintf(path, sizeof(path), "%s/postfix_log/%s", MTASTS_TEST_DATA,
		 name);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (mtasts_postfix_log_feed(p, line, strlen(line), NOW) !=
		    MTASTS_OK)
			(*rejected)++;
	fclose(f);
	mtasts_postfix_log_free(p);
}

static void
test_parse_lines(void **state)
{
	struct mtasts_postfix_log_line l;
	const char *s;

	(void)state;
	setenv("TZ", "UTC", 1);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[4101]: Verified TLS connection "
	    "established to MX1.example.com[192.0.2.1]:25: TLSv1.3 with "
	    "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";
	assert_int_equal(mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l),
			 MTASTS_OK);
	assert_int_equal(l.kind, MTASTS_PFLOG_TLS);
	assert_int_equal(l.trust, MTASTS_PFLOG_VERIFIED);
	assert_string_equal(l.host, "mx1.example.com");
	assert_string_equal(l.ip, "192.0.2.1");
	assert_string_equal(l.process, "postfix/smtp");
	assert_int_equal(l.pid, 4101);
	assert_int_equal(l.time, 1763719201);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: Trusted TLS connection "
	    "established to mx[192.0.2.1]:25: x";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.trust, MTASTS_PFLOG_TRUSTED);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: server certificate "
	    "verification failed for mx.example.com[192.0.2.1]:25: "
	    "num=10:certificate has expired";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_TLS_FAILURE);
	assert_int_equal(l.result, MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED);
	assert_string_equal(l.reason, "num=10:certificate has expired");
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: certificate verification "
	    "failed for mx.example.com[192.0.2.1]:25: untrusted issuer "
	    "/C=US/O=Example/CN=R3";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.result, MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: server certificate "
	    "verification failed for mx.example.com[192.0.2.1]:25: "
	    "num=62:hostname mismatch";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.result, MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: TLS is required, but was "
	    "not offered by host mx.example.com[192.0.2.1]";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_TLS_FAILURE);
	assert_int_equal(l.result, MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: TLS is required, but host "
	    "mx.example.com[192.0.2.1] refused to start TLS: 454 4.7.0 TLS "
	    "not available due to local problem";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.result, MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED);
	assert_string_equal(l.reason, "starttls-refused");
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: SSL_connect error to "
	    "mx.example.com[192.0.2.1]:25: lost connection";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.result, MTASTS_TLSRPT_R_VALIDATION_FAILURE);
	s = "Nov 21 10:08:00 mta1 postfix/smtp[4105]: TLSRPT: status=failure, "
	    "domain=Example.com, receiving_mx=mx.example.com[192.0.2.30], "
	    "failure_type=certificate_host_mismatch, failure_reason=x";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_TLSRPT);
	assert_true(l.failure);
	assert_string_equal(l.domain, "example.com");
	assert_int_equal(l.result, MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH);
	/* delivery line */
	s = "Nov 21 10:00:01 mta1 postfix/smtp[4101]: 4Qx1Zk2Lbqz9sWX: "
	    "to=<Alice@Company-Y.example>, orig_to=<a@b.example>, relay="
	    "mx1.mail.company-y.example[203.0.113.56]:25, conn_use=2, "
	    "delay=0.61, delays=0.08/0.01/0.35/0.17, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok)";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_DELIVERY);
	assert_string_equal(l.queue_id, "4Qx1Zk2Lbqz9sWX");
	assert_string_equal(l.domain, "company-y.example");
	assert_string_equal(l.status, "sent");
	assert_int_equal(l.conn_use, 2);
	assert_false(l.failure);
	/* RFC 3339 stamps, IPv6 */
	s = "2026-11-21T10:09:00.123456+01:00 mta1 postfix/smtp[4106]: "
	    "Anonymous TLS connection established to mx3.example.com"
	    "[2001:db8::25]:25: TLSv1.3";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_TLS);
	assert_int_equal(l.time, 1795252140);
	assert_string_equal(l.ip, "2001:db8::25");
	/* not ours */
	s = "Nov 21 10:00:01 mta1 postfix/smtpd[1]: Anonymous TLS connection "
	    "established from unknown[192.0.2.9]: TLSv1.3";
	assert_int_equal(mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l),
			 MTASTS_OK);
	assert_int_equal(l.kind, MTASTS_PFLOG_NONE);
	s = "Nov 21 10:00:01 mta1 postfix/qmgr[1]: 4Qx1: removed";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_NONE);
	/* the reporter's own transport: report mail is never counted */
	s = "Nov 21 10:00:01 mta1 postfix-tlsrpt/smtp[7]: Verified TLS "
	    "connection established to mx1.example.com[192.0.2.25]:25: "
	    "TLSv1.3";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_NONE);
	s = "Nov 21 10:00:01 mta1 postfix-tlsrpt/smtp[7]: 4Qx2: "
	    "to=<tlsrpt@example.com>, relay=mx1.example.com[192.0.2.25]:25, "
	    "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)";
	mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l);
	assert_int_equal(l.kind, MTASTS_PFLOG_NONE);
}

static void
test_hostile_lines(void **state)
{
	struct mtasts_postfix_log_line l;
	static char big[MTASTS_POSTFIX_LOG_LINE_MAX + 10];
	struct got g;
	int rejected;
	const char *s;

	(void)state;
	memset(big, 'a', sizeof(big));
	assert_int_equal(
	    mtasts_postfix_log_parse_line(big, sizeof(big), NOW, &l),
	    MTASTS_ETOOBIG);
	s = "Nov 21 10:00:01 mta1 postfix/smtp[1]: Verified TLS connection "
	    "established to mx.example[999.0.0.1]:25: x";
	assert_int_equal(mtasts_postfix_log_parse_line(s, strlen(s), NOW, &l),
			 MTASTS_ESYNTAX);
	assert_int_equal(l.kind, MTASTS_PFLOG_NONE);
	assert_int_equal(mtasts_postfix_log_parse_line("", 0, NOW, &l),
			 MTASTS_OK);
	assert_int_equal(mtasts_postfix_log_parse_line("Nov", 3, NOW, &l),
			 MTASTS_OK);
	feed_file("hostile.log", &g, true, &rejected);
	assert_int_equal(g.n, 0);
	assert_int_equal(rejected, 5);
}

static void
test_correlation(void **state)
{
	struct got g;
	int rejected;

	(void)state;
	setenv("TZ", "UTC", 1);
	/* Verified + two recipients of one session: one success. */
	feed_file("verified.log", &g, false, &rejected);
	assert_int_equal(g.n, 1);
	assert_true(g.s[0].success);
	assert_int_equal(g.s[0].type, MTASTS_TLSRPT_POLICY_STS);
	assert_string_equal(g.s[0].rdomain, "company-y.example");
	/* Expired certificate then deferral: one failure. */
	feed_file("expired.log", &g, false, &rejected);
	assert_int_equal(g.n, 1);
	assert_false(g.s[0].success);
	assert_int_equal(g.s[0].result, MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED);
	assert_string_equal(g.s[0].mx, "mx1.mail.company-y.example");
	assert_string_equal(g.s[0].ip, "203.0.113.56");
	assert_string_equal(g.s[0].reason, "num=10:certificate has expired");
	/* Not offered, two recipients: one failure, no policy. */
	feed_file("not_offered.log", &g, false, &rejected);
	assert_int_equal(g.n, 1);
	assert_false(g.s[0].success);
	assert_int_equal(g.s[0].type, MTASTS_TLSRPT_POLICY_NONE);
	assert_int_equal(g.s[0].result, MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED);
	assert_string_equal(g.s[0].pdomain, "example.net");
	/* Untrusted under an STS policy (testing mode delivers anyway). */
	feed_file("untrusted.log", &g, false, &rejected);
	assert_int_equal(g.n, 1);
	assert_false(g.s[0].success);
	assert_int_equal(g.s[0].result,
			 MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED);
	/* Anonymous TLS, no policy: a success. */
	feed_file("rfc3339.log", &g, false, &rejected);
	assert_int_equal(g.n, 1);
	assert_true(g.s[0].success);
	assert_int_equal(g.s[0].type, MTASTS_TLSRPT_POLICY_NONE);
	/* Postfix 3.10 TLSRPT lines. */
	feed_file("tlsrpt_310.log", &g, false, &rejected);
	assert_int_equal(g.n, 2);
	assert_false(g.s[0].success);
	assert_int_equal(g.s[0].result,
			 MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH);
	assert_string_equal(g.s[0].mx, "mx.example.com");
	assert_string_equal(g.s[0].reason, "hostname mismatch");
	assert_true(g.s[1].success);
	/* All of them interleaved. */
	feed_file("mixed.log", &g, false, &rejected);
	assert_int_equal(g.n, 5);
	assert_int_equal(rejected, 0);
}

static void
test_interleaved_processes(void **state)
{
	struct got g;
	struct mtasts_postfix_log *p;
	const char *lines[] = {
	    "Nov 21 10:00:01 m postfix/smtp[1]: Verified TLS connection "
	    "established to mx1.mail.company-y.example[192.0.2.1]:25: x",
	    "Nov 21 10:00:01 m postfix/smtp[2]: Anonymous TLS connection "
	    "established to mx9.example.org[192.0.2.2]:25: x",
	    "Nov 21 10:00:02 m postfix/smtp[2]: A2: to=<x@example.org>, "
	    "relay=mx9.example.org[192.0.2.2]:25, delay=1, status=sent (ok)",
	    "Nov 21 10:00:02 m postfix/smtp[1]: A1: to=<x@company-y.example>, "
	    "relay=mx1.mail.company-y.example[192.0.2.1]:25, delay=1, "
	    "status=sent (ok)",
	    /* reused connection: no TLS line, conn_use=2: not counted */
	    "Nov 21 10:00:03 m postfix/smtp[1]: A3: to=<y@company-y.example>, "
	    "relay=mx1.mail.company-y.example[192.0.2.1]:25, conn_use=2, "
	    "delay=1, status=sent (ok)",
	    /* plaintext delivery (counted only with count_plaintext) */
	    "Nov 21 10:00:04 m postfix/smtp[3]: A4: to=<z@plain.example>, "
	    "relay=mx.plain.example[192.0.2.4]:25, delay=1, status=sent (ok)",
	};
	struct mtasts_postfix_log_options opt = {.count_plaintext = true};
	uint64_t sessions, unmatched;

	(void)state;
	memset(&g, 0, sizeof(g));
	p = mtasts_postfix_log_new(&opt, policy, session, &g);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(
		    mtasts_postfix_log_feed(p, lines[i], strlen(lines[i]), NOW),
		    MTASTS_OK);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.s[0].rdomain, "example.org");
	assert_false(g.s[0].success); /* anonymous under STS */
	assert_int_equal(g.s[0].result, MTASTS_TLSRPT_R_VALIDATION_FAILURE);
	assert_string_equal(g.s[1].rdomain, "company-y.example");
	assert_true(g.s[1].success);
	assert_string_equal(g.s[2].rdomain, "plain.example");
	assert_false(g.s[2].success);
	assert_int_equal(g.s[2].result, MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED);
	mtasts_postfix_log_stats(p, &sessions, &unmatched);
	assert_int_equal(sessions, 3);
	assert_int_equal(unmatched, 0);
	assert_false(mtasts_postfix_log_tlsrpt_mode(p));
	mtasts_postfix_log_free(p);
}

static void
test_mx_fallback(void **state)
{
	struct got g;
	struct mtasts_postfix_log *p;
	const char *lines[] = {
	    /* MX 1 has an expired certificate, MX 2 works: two sessions
	     * of one delivery, both for the recipient's domain */
	    "Nov 21 10:00:01 m postfix/smtp[7]: server certificate "
	    "verification failed for mx1.mail.company-y.example[192.0.2.1]"
	    ":25: num=10:certificate has expired",
	    "Nov 21 10:00:01 m postfix/smtp[7]: mx1.mail.company-y.example"
	    "[192.0.2.1]:25: lost connection after STARTTLS",
	    "Nov 21 10:00:02 m postfix/smtp[7]: Verified TLS connection "
	    "established to mx2.mail.company-y.example[192.0.2.2]:25: x",
	    "Nov 21 10:00:02 m postfix/smtp[7]: B1: to=<x@company-y.example>, "
	    "relay=mx2.mail.company-y.example[192.0.2.2]:25, delay=1, "
	    "status=sent (ok)",
	};

	(void)state;
	memset(&g, 0, sizeof(g));
	p = mtasts_postfix_log_new(NULL, policy, session, &g);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(mtasts_postfix_log_feed(p, lines[i],
							 strlen(lines[i]), NOW),
				 MTASTS_OK);
	assert_int_equal(g.n, 2);
	assert_false(g.s[0].success);
	assert_int_equal(g.s[0].result, MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED);
	assert_string_equal(g.s[0].mx, "mx1.mail.company-y.example");
	assert_string_equal(g.s[0].rdomain, "company-y.example");
	assert_true(g.s[1].success);
	mtasts_postfix_log_free(p);
}

static void
test_table_bound(void **state)
{
	struct got g;
	struct mtasts_postfix_log *p;
	char line[256];
	uint64_t sessions, unmatched;

	(void)state;
	memset(&g, 0, sizeof(g));
	p = mtasts_postfix_log_new(NULL, policy, session, &g);
	for (long pid = 1; pid <= MTASTS_POSTFIX_LOG_PENDING_MAX + 100; pid++) {
		snprintf(line, sizeof(line),
			 "Nov 21 10:00:01 m postfix/smtp[%ld]: Verified TLS "
			 "connection established to mx.a.example[192.0.2.1]:25",
			 pid);
		assert_int_equal(
		    mtasts_postfix_log_feed(p, line, strlen(line), NOW),
		    MTASTS_OK);
	}
	mtasts_postfix_log_stats(p, &sessions, &unmatched);
	assert_int_equal(sessions, 0);
	assert_int_equal(unmatched, 100);
	mtasts_postfix_log_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_lines),
	    cmocka_unit_test(test_hostile_lines),
	    cmocka_unit_test(test_correlation),
	    cmocka_unit_test(test_interleaved_processes),
	    cmocka_unit_test(test_mx_fallback),
	    cmocka_unit_test(test_table_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
