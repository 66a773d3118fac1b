/* SPDX-License-Identifier: MIT */
/*
 * test_tlsrpt_datagram.c: libtlsrpt protocol version 1 datagrams: the
 * nine captured samples, the code table, hostile datagrams and limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/tlsrpt_datagram.h"

#define NOW 1763722800 /* 2025-11-21T11:00:00Z */

static char *
slurp(const char *name, size_t *len)
{
	static char buf[MTASTS_TLSRPT_DATAGRAM_MAX + 2];
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tlsrpt_datagram/%s", MTASTS_TEST_DATA,
		 name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static struct mtasts_tlsrpt_datagram *
parse_ok(const char *text, size_t len)
{
	struct mtasts_tlsrpt_datagram *d = NULL;
	const char *reason = NULL;
	struct mtasts_error err;
	int rc =
	    mtasts_tlsrpt_datagram_parse(text, len, NOW, &d, &reason, &err);

	if (rc != MTASTS_OK)
		fail_msg("parse failed: %s (%s)", err.msg, reason);
	return d;
}

static const char *
parse_bad(const char *text, size_t len, int code)
{
	struct mtasts_tlsrpt_datagram *d = NULL;
	const char *reason = NULL;
	struct mtasts_error err;

	assert_int_equal(
	    mtasts_tlsrpt_datagram_parse(text, len, NOW, &d, &reason, &err),
	    code);
	assert_null(d);
	assert_non_null(reason);
	return reason;
}

static void
test_samples(void **state)
{
	/* sample: sessions, first session's success, type, policy domain */
	static const struct {
		int n;
		bool success;
		enum mtasts_tlsrpt_policy_type type;
		const char *pdomain;
	} want[] = {
	    {1, true, MTASTS_TLSRPT_POLICY_NONE, "company-y.example"},
	    {1, true, MTASTS_TLSRPT_POLICY_STS, "company-y.example"},
	    {1, true, MTASTS_TLSRPT_POLICY_STS, "company-y.example"},
	    {1, true, MTASTS_TLSRPT_POLICY_STS, "company-y.example"},
	    {1, false, MTASTS_TLSRPT_POLICY_STS, "company-y.example"},
	    {1, false, MTASTS_TLSRPT_POLICY_STS, "company-y.example"},
	    {1, false, MTASTS_TLSRPT_POLICY_TLSA, "mx1.mail.company-y.example"},
	    {2, false, MTASTS_TLSRPT_POLICY_STS, "company-y.example"},
	    {1, false, MTASTS_TLSRPT_POLICY_NONE, "example.net"},
	};
	(void)state;
	for (int i = 0; i < 9; i++) {
		char name[32];
		size_t len, n;
		const char *text;
		const struct mtasts_tlsrpt_session *s;
		struct mtasts_tlsrpt_datagram *d;

		snprintf(name, sizeof(name), "sample%d.json", i + 1);
		text = slurp(name, &len);
		d = parse_ok(text, len);
		n = mtasts_tlsrpt_datagram_sessions(d, &s);
		assert_int_equal(n, want[i].n);
		assert_int_equal(s[0].success, want[i].success);
		assert_int_equal(s[0].policy_type, want[i].type);
		assert_string_equal(s[0].policy_domain, want[i].pdomain);
		assert_int_equal(s[0].time, NOW);
		assert_string_equal(s[0].report_domain,
				    i == 8 ? "example.net"
					   : "company-y.example");
		assert_non_null(mtasts_tlsrpt_datagram_record(d));
		if (i == 4) {
			assert_int_equal(s[0].result,
					 MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED);
			assert_string_equal(s[0].sending_mta_ip,
					    "2001:db8:abcd:12::1");
			assert_string_equal(s[0].receiving_mx_hostname,
					    "mx1.mail.company-y.example");
			assert_string_equal(s[0].receiving_ip, "203.0.113.56");
			assert_null(s[0].receiving_mx_helo);
			assert_int_equal(s[0].policy_string_count, 4);
			assert_string_equal(s[0].policy_strings[2],
					    "mx: *.mail.company-y.example");
			assert_int_equal(s[0].mx_pattern_count, 1);
		}
		if (i == 6) {
			assert_int_equal(s[0].result,
					 MTASTS_TLSRPT_R_VALIDATION_FAILURE);
			assert_string_equal(s[0].receiving_mx_helo,
					    "mx1.helo.example");
			assert_string_equal(s[0].failure_reason_code,
					    "X509_V_ERR_CERT_UNTRUSTED");
			assert_string_equal(s[0].additional_information,
					    "quote\" backslash\\ tab\t nl\n "
					    "ctl\001 utf8 caf\xc3\xa9");
		}
		if (i == 7) {
			assert_int_equal(s[0].result,
					 MTASTS_TLSRPT_R_STS_WEBPKI_INVALID);
			assert_true(s[1].success);
			assert_int_equal(s[1].policy_type,
					 MTASTS_TLSRPT_POLICY_TLSA);
		}
		if (i == 8)
			assert_int_equal(
			    s[0].result,
			    MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED);
		assert_int_equal(mtasts_tlsrpt_datagram_dropped(d), 0);
		mtasts_tlsrpt_datagram_free(d);
	}
}

static void
test_code_table(void **state)
{
	int known;

	(void)state;
	assert_int_equal(mtasts_tlsrpt_datagram_code(201, &known),
			 MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED);
	assert_int_equal(mtasts_tlsrpt_datagram_code(202, &known),
			 MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH);
	assert_int_equal(mtasts_tlsrpt_datagram_code(203, &known),
			 MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED);
	assert_int_equal(mtasts_tlsrpt_datagram_code(204, &known),
			 MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED);
	assert_int_equal(mtasts_tlsrpt_datagram_code(205, &known),
			 MTASTS_TLSRPT_R_VALIDATION_FAILURE);
	assert_int_equal(mtasts_tlsrpt_datagram_code(301, &known),
			 MTASTS_TLSRPT_R_STS_POLICY_FETCH_ERROR);
	assert_int_equal(mtasts_tlsrpt_datagram_code(302, &known),
			 MTASTS_TLSRPT_R_STS_POLICY_INVALID);
	assert_int_equal(mtasts_tlsrpt_datagram_code(303, &known),
			 MTASTS_TLSRPT_R_STS_WEBPKI_INVALID);
	assert_int_equal(mtasts_tlsrpt_datagram_code(304, &known),
			 MTASTS_TLSRPT_R_TLSA_INVALID);
	assert_int_equal(mtasts_tlsrpt_datagram_code(305, &known),
			 MTASTS_TLSRPT_R_DNSSEC_INVALID);
	assert_int_equal(mtasts_tlsrpt_datagram_code(306, &known),
			 MTASTS_TLSRPT_R_DANE_REQUIRED);
	assert_true(known);
	assert_int_equal(mtasts_tlsrpt_datagram_code(999, &known),
			 MTASTS_TLSRPT_R_VALIDATION_FAILURE);
	assert_false(known);
}

static void
test_hostile(void **state)
{
	size_t len;
	const char *t;
	char big[MTASTS_TLSRPT_DATAGRAM_MAX + 16];

	(void)state;
	t = slurp("bad_version.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "version");
	t = slurp("bad_policy_type.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "policy-type");
	t = slurp("bad_domain.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "domain");
	t = slurp("dup_key.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "json");
	t = slurp("deep.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ETOOBIG), "depth");
	t = slurp("empty_policies.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "policies");
	t = slurp("too_many_policies.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "policies");
	t = slurp("garbage.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "json");
	t = slurp("nul_escape.json", &len);
	assert_string_equal(parse_bad(t, len, MTASTS_ESYNTAX), "json");
	memset(big, ' ', sizeof(big));
	assert_string_equal(parse_bad(big, sizeof(big), MTASTS_ETOOBIG),
			    "too-big");
	/* Invalid UTF-8. */
	assert_string_equal(
	    parse_bad("{\"dpv\":\"1\",\"d\":\"a.example\",\"pr\":\"\xff\","
		      "\"policies\":[{\"policy-type\":2}]}",
		      62, MTASTS_ESYNTAX),
	    "json");
	/* A detail without a code. */
	t = "{\"dpv\":\"1\",\"d\":\"a.example\",\"policies\":[{\"policy-type\""
	    ":2,\"f\":1,\"failure-details\":[{\"s\":\"192.0.2.1\"}]}]}";
	assert_string_equal(parse_bad(t, strlen(t), MTASTS_ESYNTAX), "field");
}

static void
test_liberal(void **state)
{
	size_t len, n;
	const char *t;
	const struct mtasts_tlsrpt_session *s;
	struct mtasts_tlsrpt_datagram *d;

	(void)state;
	/* Unknown code and a bad IP: kept, IP dropped, code as reason. */
	t = slurp("unknown_code.json", &len);
	d = parse_ok(t, len);
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	assert_int_equal(n, 2);
	assert_false(s[0].success);
	assert_false(s[0].detail_only);
	assert_int_equal(s[0].result, MTASTS_TLSRPT_R_VALIDATION_FAILURE);
	assert_string_equal(s[0].failure_reason_code, "libtlsrpt-code-999");
	assert_null(s[0].sending_mta_ip);
	assert_true(s[1].detail_only);
	assert_int_equal(s[1].result,
			 MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH);
	assert_int_equal(mtasts_tlsrpt_datagram_dropped(d), 1);
	mtasts_tlsrpt_datagram_free(d);
	/* A string where an array belongs (erratum-style). */
	t = slurp("strings_as_string.json", &len);
	d = parse_ok(t, len);
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].mx_pattern_count, 1);
	assert_string_equal(s[0].mx_patterns[0], "mx.a.example");
	mtasts_tlsrpt_datagram_free(d);
	/* A failure without details. */
	t = slurp("failure_no_detail.json", &len);
	d = parse_ok(t, len);
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	assert_int_equal(n, 1);
	assert_false(s[0].success);
	assert_true(s[0].no_failure_detail);
	mtasts_tlsrpt_datagram_free(d);
	/* Too long a field: dropped, datagram kept. */
	t = slurp("long_field.json", &len);
	d = parse_ok(t, len);
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	assert_int_equal(n, 1);
	assert_null(s[0].additional_information);
	assert_int_equal(mtasts_tlsrpt_datagram_dropped(d), 1);
	mtasts_tlsrpt_datagram_free(d);
	/* Upper case domains are lowercased; a trailing dot cut. */
	t = "{\"dpv\":1,\"d\":\"A.Example.\",\"policies\":[{\"policy-type\""
	    ":2,\"policy-domain\":\"A.EXAMPLE\",\"f\":0}]}";
	d = parse_ok(t, strlen(t));
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	assert_string_equal(s[0].report_domain, "a.example");
	assert_string_equal(s[0].policy_domain, "a.example");
	mtasts_tlsrpt_datagram_free(d);
	/* A success carrying a detail: one session plus one detail. */
	t = "{\"dpv\":\"1\",\"d\":\"a.example\",\"policies\":[{\"policy-type\""
	    ":2,\"f\":0,\"failure-details\":[{\"c\":201}]}]}";
	d = parse_ok(t, strlen(t));
	n = mtasts_tlsrpt_datagram_sessions(d, &s);
	assert_int_equal(n, 2);
	assert_true(s[0].success);
	assert_true(s[1].detail_only);
	mtasts_tlsrpt_datagram_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_samples),
	    cmocka_unit_test(test_code_table),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_liberal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
