/* SPDX-License-Identifier: MIT */
/*
 * test_tlsrpt_record.c: the "_smtp._tls" TXT record (RFC 8460 section 3,
 * R8460-3..13, decisions) and the RRset rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/sts_record.h" /* MTASTS_TXT_RECORD_MAX */
#include "mtasts/tlsrpt_record.h"
#include "util/alloc.h"

struct rvec {
	const char *name;
	const char *in;
	size_t len;
	int code;
	const char *rua;	/* usable URIs, joined by " ", on OK */
	int nerr, nwarn;
	const char *efield;	/* first error's field, on error */
	const char *emsg;	/* substring of the first error, optional */
};

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define OK_ .code = MTASTS_OK
#define BAD .code = MTASTS_ESYNTAX
#define M(n) "mailto:r" #n "@example.com"

static const struct rvec vectors[] = {
	{"rfc-mailto", IN("v=TLSRPTv1;rua=mailto:reports@example.com"), OK_,
	    "mailto:reports@example.com", 0, 0, NULL, NULL},
	{"rfc-https", IN("v=TLSRPTv1; rua=https://reporting.example.com/v1/"
	    "tlsrpt"), OK_, "https://reporting.example.com/v1/tlsrpt", 0, 0,
	    NULL, NULL},
	{"two-uris", IN("v=TLSRPTv1; rua=mailto:a@example.com,https://r."
	    "example/x"), OK_, "mailto:a@example.com https://r.example/x", 0,
	    0, NULL, NULL},
	{"wsp-around-comma", IN("v=TLSRPTv1; rua=mailto:a@x.example \t, "
	    "mailto:b@x.example ;"), OK_, "mailto:a@x.example "
	    "mailto:b@x.example", 0, 0, NULL, NULL},
	{"trailing-semicolon", IN("v=TLSRPTv1;rua=mailto:a@x.example;"), OK_,
	    "mailto:a@x.example", 0, 0, NULL, NULL},
	{"query-and-equals-in-uri", IN("v=TLSRPTv1;rua=https://r.example/"
	    "in?k=v&x=1#frag"), OK_, "https://r.example/in?k=v&x=1#frag", 0,
	    0, NULL, NULL},
	{"percent-encoded-bang", IN("v=TLSRPTv1;rua=mailto:a@x.example?"
	    "subject=hi%21"), OK_, "mailto:a@x.example?subject=hi%21", 0, 0,
	    NULL, NULL},
	{"scheme-case-insensitive", IN("v=TLSRPTv1;rua=MAILTO:a@x.example,"
	    "HTTPS://r.example"), OK_, "MAILTO:a@x.example HTTPS://r.example",
	    0, 0, NULL, NULL},
	{"https-with-port-and-userinfo", IN("v=TLSRPTv1;rua=https://u@r."
	    "example:8443/p"), OK_, "https://u@r.example:8443/p", 0, 0, NULL,
	    NULL},
	{"http-skipped-with-warning (R8460-4)", IN("v=TLSRPTv1;rua=http://r."
	    "example/x,mailto:a@x.example"), OK_, "mailto:a@x.example", 0, 1,
	    NULL, NULL},
	{"ftp-skipped-with-warning", IN("v=TLSRPTv1;rua=mailto:a@x.example,ftp"
	    "://f.example/"), OK_, "mailto:a@x.example", 0, 1, NULL, NULL},
	{"urn-skipped", IN("v=TLSRPTv1;rua=urn:isbn:1,mailto:a@x.example"), OK_,
	    "mailto:a@x.example", 0, 1, NULL, NULL},
	{"extension-ignored (R8460-12)", IN("v=TLSRPTv1; foo=bar; rua=mailto:"
	    "a@x.example"), OK_, "mailto:a@x.example", 0, 0, NULL, NULL},
	{"duplicate-rua-first-wins (A-11)", IN("v=TLSRPTv1; rua=mailto:a@x."
	    "example; rua=mailto:b@x.example"), OK_, "mailto:a@x.example", 0,
	    1, NULL, NULL},
	{"wsp-before-first-semicolon (A-2)", IN("v=TLSRPTv1 ; rua=mailto:a@x."
	    "example"), OK_, "mailto:a@x.example", 0, 1, NULL, NULL},
	{"second-version-ignored", IN("v=TLSRPTv1; rua=mailto:a@x.example; "
	    "v=TLSRPTv1"), OK_, "mailto:a@x.example", 0, 1, NULL, NULL},
	{"sixteen-uris", IN("v=TLSRPTv1;rua=" M(1) "," M(2) "," M(3) "," M(4)
	    "," M(5) "," M(6) "," M(7) "," M(8) "," M(9) "," M(10) "," M(11)
	    "," M(12) "," M(13) "," M(14) "," M(15) "," M(16)), OK_,
	    M(1) " " M(2) " " M(3) " " M(4) " " M(5) " " M(6) " " M(7) " "
	    M(8) " " M(9) " " M(10) " " M(11) " " M(12) " " M(13) " " M(14)
	    " " M(15) " " M(16), 0, 0, NULL, NULL},
	{"seventeen-uris-capped", IN("v=TLSRPTv1;rua=" M(1) "," M(2) "," M(3)
	    "," M(4) "," M(5) "," M(6) "," M(7) "," M(8) "," M(9) "," M(10)
	    "," M(11) "," M(12) "," M(13) "," M(14) "," M(15) "," M(16) ","
	    M(17)), OK_, M(1) " " M(2) " " M(3) " " M(4) " " M(5) " " M(6)
	    " " M(7) " " M(8) " " M(9) " " M(10) " " M(11) " " M(12) " "
	    M(13) " " M(14) " " M(15) " " M(16), 0, 1, NULL, NULL},

	{"empty", IN(""), BAD, NULL, 1, 0, "v", "empty"},
	{"version-only", IN("v=TLSRPTv1"), BAD, NULL, 1, 0, "", NULL},
	{"version-semicolon", IN("v=TLSRPTv1;"), BAD, NULL, 1, 0, "", NULL},
	{"version-2", IN("v=TLSRPTv2;rua=mailto:a@x.example"), BAD, NULL, 1, 0,
	    "v", NULL},
	{"version-lower", IN("v=tlsrptv1;rua=mailto:a@x.example"), BAD, NULL,
	    1, 0, "v", NULL},
	{"leading-space", IN(" v=TLSRPTv1;rua=mailto:a@x.example"), BAD, NULL,
	    1, 0, "v", "whitespace"},
	{"missing-rua", IN("v=TLSRPTv1; foo=bar"), BAD, NULL, 1, 0, "rua",
	    "no \"rua\""},
	{"rua-upper-case-is-extension", IN("v=TLSRPTv1; RUA=mailto:a@x."
	    "example"), BAD, NULL, 1, 1, "rua", "case-sensitive"},
	{"rua-empty", IN("v=TLSRPTv1; rua="), BAD, NULL, 1, 0, "rua", "empty"},
	{"only-http (R8460-4)", IN("v=TLSRPTv1; rua=http://r.example/"), BAD,
	    NULL, 1, 1, "rua", "no usable URI"},
	{"only-unsupported", IN("v=TLSRPTv1; rua=ftp://a.example,urn:x:y"), BAD,
	    NULL, 1, 2, "rua", "no usable URI"},
	{"dmarc-size-suffix", IN("v=TLSRPTv1; rua=mailto:a@x.example!10m"),
	    BAD, NULL, 1, 0, "rua", "percent-encoded"},
	{"trailing-comma", IN("v=TLSRPTv1; rua=mailto:a@x.example,"), BAD,
	    NULL, 1, 0, "rua", "empty URI"},
	{"leading-comma", IN("v=TLSRPTv1; rua=,mailto:a@x.example"), BAD, NULL,
	    1, 0, "rua", NULL},
	{"double-comma", IN("v=TLSRPTv1; rua=mailto:a@x.example,,mailto:b@x."
	    "example"), BAD, NULL, 1, 0, "rua", "empty URI"},
	{"space-separated-uris", IN("v=TLSRPTv1; rua=mailto:a@x.example "
	    "mailto:b@x.example"), BAD, NULL, 1, 0, "rua", "separated by"},
	{"no-scheme", IN("v=TLSRPTv1; rua=reports@example.com"), BAD, NULL, 1,
	    0, "rua", "no URI scheme"},
	{"scheme-starts-with-digit", IN("v=TLSRPTv1; rua=1mailto:a@x.example"),
	    BAD, NULL, 1, 0, "rua", "no URI scheme"},
	{"bad-percent", IN("v=TLSRPTv1; rua=mailto:a@x.example%2"), BAD, NULL,
	    1, 0, "rua", "two hex digits"},
	{"bad-percent-hex", IN("v=TLSRPTv1; rua=mailto:a%zz@x.example"), BAD,
	    NULL, 1, 0, "rua", "two hex digits"},
	{"angle-brackets", IN("v=TLSRPTv1; rua=<mailto:a@x.example>"), BAD,
	    NULL, 1, 0, "rua", "'<'"},
	{"double-quote", IN("v=TLSRPTv1; rua=mailto:\"a\"@x.example"), BAD,
	    NULL, 1, 0, "rua", "'\"'"},
	{"non-ascii-uri", IN("v=TLSRPTv1; rua=mailto:j\xC3\xB6rg@x.example"),
	    BAD, NULL, 1, 0, "rua", "0xC3"},
	{"mailto-without-address", IN("v=TLSRPTv1; rua=mailto:"), BAD, NULL, 1,
	    1, "rua", "no usable URI"},
	{"https-without-host", IN("v=TLSRPTv1; rua=https:/path"), BAD, NULL, 1,
	    1, "rua", "no usable URI"},
	{"duplicate-rua-invalid (A-1/A-11)", IN("v=TLSRPTv1; rua=mailto:a@x."
	    "example; rua=bad"), BAD, NULL, 1, 1, "rua", NULL},
	{"second-version-wrong", IN("v=TLSRPTv1; rua=mailto:a@x.example; "
	    "v=TLSRPTv2"), BAD, NULL, 1, 0, "v", NULL},
	{"ext-value-space", IN("v=TLSRPTv1; rua=mailto:a@x.example; x=a b"),
	    BAD, NULL, 1, 0, "x", "space"},
	{"trailing-space-no-semicolon", IN("v=TLSRPTv1; rua=mailto:a@x."
	    "example "), BAD, NULL, 1, 0, "", "whitespace at the end"},
	{"nul-in-uri", IN("v=TLSRPTv1; rua=mailto:a\0@x.example"), BAD, NULL,
	    1, 0, "rua", "NUL"},
	{"dmarc-record", IN("v=DMARC1; p=none; rua=mailto:d@x.example"), BAD,
	    NULL, 1, 0, "v", NULL},
};

static const struct mtasts_diag *
first_error(const struct mtasts_diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->item[i].severity == MTASTS_SEV_ERROR)
			return &d->item[i];
	return NULL;
}

static void
check_rua(const struct mtasts_tlsrpt_record *rec, const char *want)
{
	size_t i = 0;

	while (*want != '\0') {
		size_t n = strcspn(want, " ");
		const char *got = mtasts_tlsrpt_record_rua(rec, i);

		assert_non_null(got);
		assert_int_equal(strlen(got), n);
		assert_memory_equal(got, want, n);
		i++;
		want += n;
		want += strspn(want, " ");
	}
	assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), i);
	assert_null(mtasts_tlsrpt_record_rua(rec, i));
}

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct rvec *v = &vectors[i];
		struct mtasts_tlsrpt_record *rec = NULL;
		struct mtasts_diags d;
		struct mtasts_error err;
		int rc;

		mtasts_diags_init(&d);
		mtasts_error_clear(&err);
		rc = mtasts_tlsrpt_record_parse(v->in, v->len, &rec, &d, &err);
		if (rc != v->code || (int)d.errors != v->nerr ||
		    (int)d.warnings != v->nwarn) {
			size_t k;
			char buf[300];

			print_error("tlsrpt vector %s: rc %d errors %zu "
				    "warnings %zu\n", v->name, rc, d.errors,
			    d.warnings);
			for (k = 0; k < d.count; k++)
				print_error("  %s\n", mtasts_diag_format(
				    &d.item[k], buf, sizeof(buf)));
		}
		assert_int_equal(rc, v->code);
		assert_int_equal(d.errors, v->nerr);
		assert_int_equal(d.warnings, v->nwarn);
		if (rc == MTASTS_OK) {
			assert_non_null(rec);
			check_rua(rec, v->rua);
			mtasts_tlsrpt_record_free(rec);
		} else {
			const struct mtasts_diag *e = first_error(&d);

			assert_null(rec);
			assert_int_equal(err.code, v->code);
			assert_non_null(e);
			if (strcmp(e->field, v->efield) != 0 ||
			    (v->emsg && !strstr(e->msg, v->emsg)))
				print_error("tlsrpt vector %s: field \"%s\" "
					    "msg \"%s\"\n", v->name, e->field,
				    e->msg);
			assert_string_equal(e->field, v->efield);
			if (v->emsg != NULL)
				assert_non_null(strstr(e->msg, v->emsg));
		}
		/* Without diags the verdict is the same. */
		rc = mtasts_tlsrpt_record_parse(v->in, v->len, &rec, NULL,
		    NULL);
		assert_int_equal(rc, v->code);
		mtasts_tlsrpt_record_free(rec);
	}
}

struct svec {
	const char *name;
	const char *recs[4];
	size_t n;
	int code;
	const char *rua;
};

static const struct svec rrset_vectors[] = {
	{"none", {NULL}, 0, MTASTS_ENOTFOUND, NULL},
	{"one", {"v=TLSRPTv1;rua=mailto:a@x.example"}, 1, MTASTS_OK,
	    "mailto:a@x.example"},
	{"one-noncanonical (A-2)", {"v=TLSRPTv1 ;rua=mailto:a@x.example"}, 1,
	    MTASTS_OK, "mailto:a@x.example"},
	{"one-invalid", {"v=TLSRPTv1;rua=x"}, 1, MTASTS_ESYNTAX, NULL},
	{"with-spf (R8460-9)", {"v=spf1 -all",
	    "v=TLSRPTv1;rua=mailto:a@x.example"}, 2, MTASTS_OK,
	    "mailto:a@x.example"},
	{"noncanonical-discarded (A-2)", {"v=TLSRPTv1 ;rua=mailto:a@x.example",
	    "v=TLSRPTv1;rua=mailto:b@x.example"}, 2, MTASTS_OK,
	    "mailto:b@x.example"},
	{"two (R8460-9)", {"v=TLSRPTv1;rua=mailto:a@x.example",
	    "v=TLSRPTv1;rua=mailto:b@x.example"}, 2, MTASTS_EMULTIPLE, NULL},
	{"none-matching", {"v=spf1", "v=STSv1; id=1"}, 2, MTASTS_ENOTFOUND,
	    NULL},
	{"matching-but-invalid", {"v=TLSRPTv1;", "x"}, 2, MTASTS_ESYNTAX,
	    NULL},
};

static void
test_rrset(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rrset_vectors) / sizeof(rrset_vectors[0]);
	     i++) {
		const struct svec *v = &rrset_vectors[i];
		size_t lens[4];
		struct mtasts_tlsrpt_record *rec = NULL;
		struct mtasts_diags d;
		struct mtasts_error err;
		int rc;

		for (k = 0; k < v->n; k++)
			lens[k] = strlen(v->recs[k]);
		mtasts_diags_init(&d);
		rc = mtasts_tlsrpt_rrset_select(v->recs, lens, v->n, &rec, &d,
		    &err);
		if (rc != v->code)
			print_error("rrset vector %s: rc %d\n", v->name, rc);
		assert_int_equal(rc, v->code);
		if (rc == MTASTS_OK) {
			check_rua(rec, v->rua);
			mtasts_tlsrpt_record_free(rec);
		} else {
			assert_null(rec);
			assert_int_equal(err.code, rc);
		}
	}
}

static void
test_limits_and_oom(void **state)
{
	static const char in[] = "v=TLSRPTv1;rua=mailto:a@x.example";
	char buf[MTASTS_TXT_RECORD_MAX + 2];
	struct mtasts_tlsrpt_record *rec;
	unsigned long n;
	int rc = MTASTS_ENOMEM;
	size_t len;

	(void)state;
	len = (size_t)snprintf(buf, sizeof(buf), "%s;x=", in);
	memset(buf + len, 'a', sizeof(buf) - len);
	assert_int_equal(mtasts_tlsrpt_record_parse(buf,
			     MTASTS_TXT_RECORD_MAX, &rec, NULL, NULL),
	    MTASTS_OK);
	mtasts_tlsrpt_record_free(rec);
	assert_int_equal(mtasts_tlsrpt_record_parse(buf,
			     MTASTS_TXT_RECORD_MAX + 1, &rec, NULL, NULL),
	    MTASTS_ETOOBIG);
	assert_null(rec);
	assert_int_equal(mtasts_tlsrpt_record_parse(in, 3, NULL, NULL, NULL),
	    MTASTS_EINVAL);
	mtasts_tlsrpt_record_free(NULL);
	assert_int_equal(mtasts_tlsrpt_record_rua_count(NULL), 0);
	assert_null(mtasts_tlsrpt_record_rua(NULL, 0));
	for (n = 1; n < 50 && rc != MTASTS_OK; n++) {
		rec = NULL;
		mtasts__alloc_fail_at(n);
		rc = mtasts_tlsrpt_record_parse(in, sizeof(in) - 1, &rec, NULL,
		    NULL);
		if (rc != MTASTS_OK) {
			assert_int_equal(rc, MTASTS_ENOMEM);
			assert_null(rec);
		}
	}
	mtasts__alloc_fail_at(0);
	assert_int_equal(rc, MTASTS_OK);
	mtasts_tlsrpt_record_free(rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_rrset),
	    cmocka_unit_test(test_limits_and_oom),
	};

	printf("tlsrpt_record vectors: %zu record + %zu rrset\n",
	    sizeof(vectors) / sizeof(vectors[0]),
	    sizeof(rrset_vectors) / sizeof(rrset_vectors[0]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
