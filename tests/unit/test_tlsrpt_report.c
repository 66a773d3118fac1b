/* SPDX-License-Identifier: MIT */
/*
 * test_tlsrpt_report.c: the RFC 8460 report model (R8460-14..29,
 * decisions ): strict rendering validated against the RFC's
 * schema, the liberal reader over every sample in
 * tests/data/tlsrpt_report, date-times, file name (R8460-31), Subject
 * (R8460-35), gzip (R8460-32, magic 0x1f 0x8b), allocation failures.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/tlsrpt_report.h"
#include "tlsrpt_schema.h"
#include "util/alloc.h"

#define T_DAY 1763683200	/* 2025-11-21T00:00:00Z */

static struct mtasts_tlsrpt_report *
sample_report(void)
{
	static const char *const sts[] = {"version: STSv1", "mode: testing",
	    "mx: *.mail.company-y.example", "max_age: 86400"};
	static const char *const mx[] = {"*.mail.company-y.example"};
	static const char *const tlsa[] = {"3 1 1 1F850A337E6DB9C609C522D136"
	    "A475638CC43E1ED424F8EEC8513D747D1D085D"};
	struct mtasts_tlsrpt_report *rep;
	struct mtasts_tlsrpt_policy_result *p;
	struct mtasts_tlsrpt_failure_in f = {
		.result_type = "certificate-expired",
		.sending_mta_ip = "2001:db8:abcd:12::1",
		.receiving_mx_hostname = "mx1.mail.company-y.example",
		.receiving_ip = "203.0.113.56",
		.failed_session_count = 2,
	};

	assert_int_equal(mtasts_tlsrpt_report_new("Example Sender Org",
	    "tlsrpt@sender.example", "20251121abc123", T_DAY + 4000, &rep,
	    NULL), MTASTS_OK);
	assert_int_equal(mtasts_tlsrpt_report_add_policy(rep,
	    MTASTS_TLSRPT_POLICY_STS, sts, 4, "company-y.example", mx, 1, 3, 3,
	    &p, NULL), MTASTS_OK);
	assert_int_equal(mtasts_tlsrpt_policy_add_failure(p, &f, NULL), 0);
	f.result_type = "sts-webpki-invalid";
	f.sending_mta_ip = "192.0.2.5";
	f.receiving_ip = "203.0.113.59";
	f.receiving_mx_helo = "mx2.helo.example";
	f.failure_reason_code = "X509_V_ERR_CERT_UNTRUSTED";
	f.additional_information = "https://sender.example/tlsrpt/info";
	f.failed_session_count = 1;
	assert_int_equal(mtasts_tlsrpt_policy_add_failure(p, &f, NULL), 0);
	assert_int_equal(mtasts_tlsrpt_report_add_policy(rep,
	    MTASTS_TLSRPT_POLICY_TLSA, tlsa, 1, "mx1.mail.company-y.example",
	    NULL, 0, 0, 0, NULL, NULL), MTASTS_OK);
	assert_int_equal(mtasts_tlsrpt_report_add_policy(rep,
	    MTASTS_TLSRPT_POLICY_NONE, NULL, 0, "company-y.example", NULL, 0,
	    1, 0, NULL, NULL), MTASTS_OK);
	return rep;
}

static void
render_validates(void **state)
{
	struct mtasts_tlsrpt_report *rep = sample_report();
	char *json;
	size_t len;
	json_t *root, *pols;

	(void)state;
	assert_int_equal(mtasts_tlsrpt_report_to_json(rep, 0, &json, &len,
	    NULL), MTASTS_OK);
	if (!schema_validate(json, len))
		fail_msg("schema: %s\n%s", schema_why, json);
	root = json_loads(json, 0, NULL);
	assert_non_null(root);
	/* a full UTC day, 00:00:00Z to 23:59:59Z */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    root, "date-range"), "start-datetime")), "2025-11-21T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    root, "date-range"), "end-datetime")), "2025-11-21T23:59:59Z");
	pols = json_object_get(root, "policies");
	assert_int_equal(json_array_size(pols), 3);
	/* mx-host is an array (erratum 6241) */
	assert_true(json_is_array(json_object_get(json_object_get(
	    json_array_get(pols, 0), "policy"), "mx-host")));
	/* policy-domain is present also for no-policy-found */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(pols, 2), "policy"), "policy-domain")),
	    "company-y.example");
	json_decref(root);
	mtasts_free(json);
	/* pretty output is the same document */
	assert_int_equal(mtasts_tlsrpt_report_to_json(rep,
	    MTASTS_TLSRPT_JSON_PRETTY, &json, &len, NULL), MTASTS_OK);
	assert_true(schema_validate(json, len));
	assert_non_null(strchr(json, '\n'));
	mtasts_free(json);
	mtasts_tlsrpt_report_free(rep);
}

static void
render_refuses_incomplete(void **state)
{
	struct mtasts_tlsrpt_report *rep;
	struct mtasts_error err;
	char *json = NULL;

	(void)state;
	assert_int_equal(mtasts_tlsrpt_report_new("Org", NULL, "id1", T_DAY,
	    &rep, NULL), MTASTS_OK);
	assert_int_equal(mtasts_tlsrpt_report_to_json(rep, 0, &json, NULL,
	    &err), MTASTS_EINVAL);
	assert_null(json);
	assert_int_equal(mtasts_tlsrpt_report_add_policy(rep,
	    MTASTS_TLSRPT_POLICY_NONE, NULL, 0, NULL, NULL, 0, 1, 0, NULL,
	    &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_add_policy(rep,
	    MTASTS_TLSRPT_POLICY_NONE, NULL, 0, "", NULL, 0, 1, 0, NULL,
	    &err), MTASTS_EINVAL);
	mtasts_tlsrpt_report_free(rep);
	assert_int_equal(mtasts_tlsrpt_report_new(NULL, "a@b.example", "x",
	    T_DAY, &rep, &err), MTASTS_EINVAL);
}

static void
unknown_row_fields(void **state)
{
	struct mtasts_tlsrpt_report *rep;
	struct mtasts_tlsrpt_policy_result *p;
	struct mtasts_tlsrpt_failure_in f = {.result_type =
	    "starttls-not-supported", .failed_session_count = 1};
	char *json;
	size_t len;

	(void)state;
	assert_int_equal(mtasts_tlsrpt_report_new("Org", "r@s.example", "id",
	    T_DAY, &rep, NULL), 0);
	assert_int_equal(mtasts_tlsrpt_report_add_policy(rep,
	    MTASTS_TLSRPT_POLICY_NONE, NULL, 0, "d.example", NULL, 0, 0, 1,
	    &p, NULL), 0);
	assert_int_equal(mtasts_tlsrpt_policy_add_failure(p, &f, NULL), 0);
	assert_int_equal(mtasts_tlsrpt_report_to_json(rep, 0, &json, &len,
	    NULL), 0);
	/* unknown addresses are left out, unknown names written as "" */
	assert_null(strstr(json, "sending-mta-ip"));
	assert_non_null(strstr(json, "\"receiving-mx-hostname\":\"\""));
	assert_non_null(strstr(json, "\"failure-reason-code\":\"\""));
	mtasts_free(json);
	mtasts_tlsrpt_report_free(rep);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct mtasts_tlsrpt_report *
parse_sample(const char *name, struct mtasts_diags *d)
{
	char path[512];
	struct mtasts_tlsrpt_report *rep = NULL;
	struct mtasts_error err;
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), "%s/tlsrpt_report/%s", MTASTS_TEST_DATA,
	    name);
	buf = slurp(path, &len);
	mtasts_diags_init(d);
	if (mtasts_tlsrpt_report_parse(buf, len, &rep, d, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	free(buf);
	return rep;
}

static void
all_samples_parse(void **state)
{
	DIR *dir;
	struct dirent *de;
	char path[512];
	int n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tlsrpt_report", MTASTS_TEST_DATA);
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		struct mtasts_tlsrpt_report *rep;
		struct mtasts_diags d;
		char *json;
		size_t len;

		if (strstr(de->d_name, ".json") == NULL)
			continue;
		rep = parse_sample(de->d_name, &d);
		assert_non_null(rep);
		assert_true(rep->policy_count >= 1);
		/* what is complete renders again and stays parseable */
		if (mtasts_tlsrpt_report_to_json(rep, 0, &json, &len, NULL) ==
		    0) {
			struct mtasts_tlsrpt_report *again;

			assert_int_equal(mtasts_tlsrpt_report_parse(json, len,
			    &again, NULL, NULL), 0);
			assert_int_equal(again->policy_count,
			    rep->policy_count);
			mtasts_tlsrpt_report_free(again);
			mtasts_free(json);
		}
		mtasts_tlsrpt_report_free(rep);
		n++;
	}
	closedir(dir);
	assert_true(n >= 14);
}

static void
liberal_details(void **state)
{
	struct mtasts_tlsrpt_report *rep;
	struct mtasts_diags d;

	(void)state;
	/* no time zone: UTC */
	rep = parse_sample("microsoft-2023-no-timezone.json", &d);
	assert_int_equal(rep->start, 1673308800);
	assert_int_equal(rep->end, 1673308800 + 86399);
	assert_true(d.warnings >= 1);
	mtasts_tlsrpt_report_free(rep);
	/* a week */
	rep = parse_sample("google-weekly-range.json", &d);
	assert_int_equal(rep->end - rep->start, 7 * 86400 - 1);
	assert_int_equal(rep->policies[0].failures[0].failed_session_count, 1);
	assert_null(rep->policies[0].failures[0].failure_reason_code);
	mtasts_tlsrpt_report_free(rep);
	/* RFC example: mx-host array, missing receiving-ip kept NULL */
	rep = parse_sample("rfc8460-example.json", &d);
	assert_int_equal(rep->policies[0].mx_host_count, 1);
	assert_string_equal(rep->policies[0].mx_hosts[0],
	    "*.mail.company-y.example");
	assert_int_equal(rep->policies[0].total_successful, 5326);
	assert_int_equal(rep->policies[0].total_failure, 303);
	assert_int_equal(rep->policies[0].failure_count, 3);
	assert_null(rep->policies[0].failures[0].receiving_ip);
	assert_string_equal(rep->policies[0].failures[2].failure_reason_code,
	    "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
	mtasts_tlsrpt_report_free(rep);
	/* null contact-info, "mx: " prefix, 24:00 as next-day 00:00 */
	rep = parse_sample("null-contact-info-mx-host-with-prefix.json", &d);
	assert_null(rep->contact_info);
	assert_string_equal(rep->policies[0].mx_hosts[0], "mx.server.com");
	assert_int_equal(rep->end - rep->start, 86400);
	mtasts_tlsrpt_report_free(rep);
	/* TLSA policy-string as one JSON-encoded array: expanded */
	rep = parse_sample("microsoft-2025-tlsa-policy-string-json-encoded."
	    "json", &d);
	assert_string_equal(rep->policies[1].policy_type, "tlsa");
	assert_int_equal(rep->policies[1].policy_string_count, 2);
	assert_memory_equal(rep->policies[1].policy_strings[0], "3 1 1 6007",
	    10);
	mtasts_tlsrpt_report_free(rep);
	/* failure row without IPs and MX; policy without policy-string */
	rep = parse_sample("microsoft-2025-failure-without-ip-and-mx.json", &d);
	assert_null(rep->policies[0].failures[0].sending_mta_ip);
	assert_null(rep->policies[0].failures[0].receiving_mx_hostname);
	assert_string_equal(rep->policies[0].failures[0].result_type,
	    "sts-policy-fetch-error");
	mtasts_tlsrpt_report_free(rep);
	/* no-policy-found without policy-domain (the reference bug) */
	rep = parse_sample("sys4-generated-example-net-no-policy-domain.json",
	    &d);
	assert_null(rep->policies[0].policy_domain);
	assert_string_equal(rep->policies[0].policy_type, "no-policy-found");
	mtasts_tlsrpt_report_free(rep);
	/* unknown policy type kept, missing failure count read as 0 */
	rep = parse_sample("unknown-policy-type.json", &d);
	assert_string_equal(rep->policies[1].policy_type,
	    "invalid-policy-type");
	assert_int_equal(rep->policies[1].total_failure, 0);
	mtasts_tlsrpt_report_free(rep);
	/* control characters and UTF-8 in strings survive */
	rep = parse_sample("sys4-generated-company-y.json", &d);
	assert_non_null(strstr(rep->policies[0].failures[0]
	    .additional_information, "caf\xc3\xa9"));
	mtasts_tlsrpt_report_free(rep);
}

struct bad {
	const char *name;
	const char *in;
	int code;
};

static void
bad_reports(void **state)
{
	static const struct bad v[] = {
		{"not-json", "{", MTASTS_ESYNTAX},
		{"array", "[]", MTASTS_ESYNTAX},
		{"no-policies", "{\"report-id\":\"x\"}", MTASTS_ESYNTAX},
		{"policies-object", "{\"policies\":{}}", MTASTS_ESYNTAX},
		{"dup-key", "{\"policies\":[],\"policies\":[]}",
		    MTASTS_ESYNTAX},
		{"policy-not-object", "{\"policies\":[1]}", MTASTS_ESYNTAX},
		{"no-policy", "{\"policies\":[{}]}", MTASTS_ESYNTAX},
		{"negative", "{\"policies\":[{\"policy\":{},\"summary\":{"
		    "\"total-successful-session-count\":-1}}]}",
		    MTASTS_ESYNTAX},
		{"count-string", "{\"policies\":[{\"policy\":{},\"summary\":{"
		    "\"total-successful-session-count\":\"1\"}}]}",
		    MTASTS_ESYNTAX},
		{"bad-date", "{\"date-range\":{\"start-datetime\":\"2020-13-01"
		    "T00:00:00Z\",\"end-datetime\":\"2020-01-01T00:00:00Z\"},"
		    "\"policies\":[]}", MTASTS_ESYNTAX},
		{"reversed-range", "{\"date-range\":{\"start-datetime\":\"2020-"
		    "01-02T00:00:00Z\",\"end-datetime\":\"2020-01-01T00:00:00Z\""
		    "},\"policies\":[]}", MTASTS_ESYNTAX},
		{"type-not-string", "{\"policies\":[{\"policy\":{\"policy-type\""
		    ":1}}]}", MTASTS_ESYNTAX},
		{"mx-object", "{\"policies\":[{\"policy\":{\"mx-host\":{}}}]}",
		    MTASTS_ESYNTAX},
		{"fd-not-array", "{\"policies\":[{\"policy\":{},"
		    "\"failure-details\":{}}]}", MTASTS_ESYNTAX},
		{"row-not-object", "{\"policies\":[{\"policy\":{},"
		    "\"failure-details\":[\"x\"]}]}", MTASTS_ESYNTAX},
		{"nul", "{\"policies\":[],\"report-id\":\"a\\u0000b\"}",
		    MTASTS_ESYNTAX},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct mtasts_tlsrpt_report *rep = (void *)1;
		struct mtasts_error err;
		int rc = mtasts_tlsrpt_report_parse(v[i].in, strlen(v[i].in),
		    &rep, NULL, &err);

		if (rc != v[i].code)
			fail_msg("%s: got %d (%s)", v[i].name, rc, err.msg);
		assert_null(rep);
	}
}

static void
limits(void **state)
{
	struct mtasts_tlsrpt_report *rep;
	struct mtasts_error err;
	char *big;
	size_t n = 200000, i, off;

	(void)state;
	assert_int_equal(mtasts_tlsrpt_report_parse("{}",
	    MTASTS_TLSRPT_REPORT_MAX_JSON + 1, &rep, NULL, &err),
	    MTASTS_ETOOBIG);
	/* 65 mx-host items: over MTASTS_TLSRPT_STRINGS_MAX */
	big = malloc(n);
	assert_non_null(big);
	off = (size_t)snprintf(big, n, "{\"policies\":[{\"policy\":"
	    "{\"mx-host\":[");
	for (i = 0; i < 65; i++)
		off += (size_t)snprintf(big + off, n - off, "%s\"m%zu\"",
		    i ? "," : "", i);
	off += (size_t)snprintf(big + off, n - off, "]}}]}");
	assert_int_equal(mtasts_tlsrpt_report_parse(big, off, &rep, NULL,
	    &err), MTASTS_ETOOBIG);
	free(big);
}

struct tvec {
	const char *in;
	int code;
	int64_t t;
};

static void
times(void **state)
{
	static const struct tvec v[] = {
		{"2016-04-01T00:00:00Z", 0, 1459468800},
		{"2016-04-01t23:59:59z", 0, 1459555199},
		{"2016-04-01 00:00:00Z", 0, 1459468800},
		{"2016-04-01T00:00:00", 0, 1459468800},
		{"2016-04-01T00:00:00.123Z", 0, 1459468800},
		{"2016-04-01T02:00:00+02:00", 0, 1459468800},
		{"2016-03-31T22:00:00-02:00", 0, 1459468800},
		{"2016-04-01T24:00:00Z", 0, 1459555200},
		{"2016-12-31T23:59:60Z", 0, 1483228799},
		{"1970-01-01T00:00:00Z", 0, 0},
		{"2016-04-01T24:00:01Z", MTASTS_ESYNTAX, 0},
		{"2016-02-30T00:00:00Z", MTASTS_ESYNTAX, 0},
		{"2016-04-01", MTASTS_ESYNTAX, 0},
		{"2016-04-01T00:00:00+2:00", MTASTS_ESYNTAX, 0},
		{"2016-04-01T00:00:00.Z", MTASTS_ESYNTAX, 0},
		{"2016-04-01T00:00:00ZZ", MTASTS_ESYNTAX, 0},
		{"", MTASTS_ESYNTAX, 0},
	};
	char buf[MTASTS_TLSRPT_TIME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t t = -1;
		int rc = mtasts_tlsrpt_parse_time(v[i].in, &t);

		if (rc != v[i].code || (rc == 0 && t != v[i].t))
			fail_msg("%s: rc %d t %lld", v[i].in, rc, (long long)t);
	}
	assert_string_equal(mtasts_tlsrpt_format_time(1459555199, buf),
	    "2016-04-01T23:59:59Z");
	assert_string_equal(mtasts_tlsrpt_format_time(951782400, buf),
	    "2000-02-29T00:00:00Z");
	assert_string_equal(mtasts_tlsrpt_format_time(-86400, buf),
	    "1969-12-31T00:00:00Z");
}

static void
filename_and_subject(void **state)
{
	char buf[MTASTS_TLSRPT_FILENAME_MAX], sub[MTASTS_TLSRPT_SUBJECT_MAX];
	char small[20];
	struct mtasts_error err;

	(void)state;
	/* the RFC's example (section 5.1) */
	assert_int_equal(mtasts_tlsrpt_report_filename("mail.sndr.example.com",
	    "example.net", 1470013207, 1470186007, "001", true, buf,
	    sizeof(buf), &err), 0);
	assert_string_equal(buf, "mail.sndr.example.com!example.net!"
	    "1470013207!1470186007!001.json.gz");
	assert_int_equal(mtasts_tlsrpt_report_filename("s.example",
	    "xn--caf-dma.example", 0, 86399, NULL, false, buf, sizeof(buf),
	    &err), 0);
	assert_string_equal(buf, "s.example!xn--caf-dma.example!0!86399.json");
	/* unique-id = 1*(ALPHA / DIGIT); U-labels and "!" refused */
	assert_int_equal(mtasts_tlsrpt_report_filename("s.example", "d.example",
	    0, 1, "a-b", true, buf, sizeof(buf), &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_filename("s.example",
	    "caf\xc3\xa9.example", 0, 1, "1", true, buf, sizeof(buf), &err),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_filename("s!x", "d.example", 0,
	    1, "1", true, buf, sizeof(buf), &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_filename("s.example", "d.example",
	    5, 1, "1", true, buf, sizeof(buf), &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_filename("s.example", "d.example",
	    0, 1, "1", true, small, sizeof(small), &err), MTASTS_ETOOBIG);
	assert_string_equal(small, "");
	/* Subject ABNF (section 5.3) */
	assert_int_equal(mtasts_tlsrpt_report_subject("example.net",
	    "mail.sender.example.com", "735ff.e317+bf22029", sub, sizeof(sub),
	    &err), 0);
	assert_string_equal(sub, "Report Domain: example.net Submitter: "
	    "mail.sender.example.com Report-ID: "
	    "<735ff.e317+bf22029@mail.sender.example.com>");
	assert_int_equal(mtasts_tlsrpt_report_subject("example.net",
	    "s.example", "a b", sub, sizeof(sub), &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_subject("example.net",
	    "s.example", "a..b", sub, sizeof(sub), &err), MTASTS_EINVAL);
	assert_int_equal(mtasts_tlsrpt_report_subject("example.net",
	    "s.example", "x", small, sizeof(small), &err), MTASTS_ETOOBIG);
}

#ifdef HAVE_GMIME	/* tlsrptd_core linked: brings zlib */
static void
gzip_roundtrip(void **state)
{
	struct mtasts_tlsrpt_report *rep = sample_report(), *back;
	unsigned char *gz;
	char *json, *plain;
	size_t len, gzlen, plen;

	(void)state;
	assert_int_equal(mtasts_tlsrpt_report_to_json(rep, 0, &json, &len,
	    NULL), 0);
	assert_int_equal(mtasts_tlsrpt_gzip(json, len, T_DAY, &gz, &gzlen,
	    NULL), 0);
	assert_true(gzlen > 18);
	assert_int_equal(gz[0], 0x1f);	/* RFC 8460 section 6: magic */
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(mtasts_tlsrpt_gunzip(gz, gzlen, 1 << 20, &plain,
	    &plen, NULL), 0);
	assert_int_equal(plen, len);
	assert_memory_equal(plain, json, len);
	assert_int_equal(mtasts_tlsrpt_report_parse(plain, plen, &back, NULL,
	    NULL), 0);
	assert_int_equal(back->policy_count, 3);
	mtasts_tlsrpt_report_free(back);
	mtasts_free(plain);
	/* bounded output, truncated input */
	assert_int_equal(mtasts_tlsrpt_gunzip(gz, gzlen, 10, &plain, &plen,
	    NULL), MTASTS_ETOOBIG);
	assert_int_equal(mtasts_tlsrpt_gunzip(gz, gzlen / 2, 1 << 20, &plain,
	    &plen, NULL), MTASTS_ESYNTAX);
	assert_int_equal(mtasts_tlsrpt_gunzip("junk", 4, 1 << 20, &plain,
	    &plen, NULL), MTASTS_ESYNTAX);
	mtasts_free(gz);
	mtasts_free(json);
	mtasts_tlsrpt_report_free(rep);
}
#endif

static void
alloc_failures(void **state)
{
	char path[512];
	size_t len;
	char *buf;
	unsigned long n;

	(void)state;
	snprintf(path, sizeof(path), "%s/tlsrpt_report/rfc8460-example.json",
	    MTASTS_TEST_DATA);
	buf = slurp(path, &len);
	for (n = 1; n < 400; n++) {
		struct mtasts_tlsrpt_report *rep = NULL;
		char *json = NULL;
		int rc;

		mtasts__alloc_fail_at(n);
		rc = mtasts_tlsrpt_report_parse(buf, len, &rep, NULL, NULL);
		if (rc == 0)
			rc = mtasts_tlsrpt_report_to_json(rep, 0, &json, NULL,
			    NULL);
		mtasts__alloc_fail_at(0);
		mtasts_free(json);
		mtasts_tlsrpt_report_free(rep);
		if (rc == 0)
			break;
		assert_true(rc == MTASTS_ENOMEM || rc == MTASTS_EINVAL);
	}
	assert_true(n < 400);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(render_validates),
		cmocka_unit_test(render_refuses_incomplete),
		cmocka_unit_test(unknown_row_fields),
		cmocka_unit_test(all_samples_parse),
		cmocka_unit_test(liberal_details),
		cmocka_unit_test(bad_reports),
		cmocka_unit_test(limits),
		cmocka_unit_test(times),
		cmocka_unit_test(filename_and_subject),
#ifdef HAVE_GMIME
		cmocka_unit_test(gzip_roundtrip),
#endif
		cmocka_unit_test(alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
