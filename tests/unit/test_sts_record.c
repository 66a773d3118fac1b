/* SPDX-License-Identifier: MIT */
/*
 * test_sts_record.c: the "_mta-sts" TXT record (RFC 8461 section 3.1,
 * R8461-6..16, decisions) and the RRset rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/sts_record.h"

struct rvec {
	const char *name;
	const char *in;
	size_t len;
	int code;
	const char *id;		/* on OK */
	unsigned ext;		/* on OK */
	int noncanonical;	/* on OK */
	int nerr, nwarn;
	const char *efield;	/* first error's field, on error */
	const char *emsg;	/* substring of the first error, optional */
};

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define OK_ .code = MTASTS_OK
#define BAD .code = MTASTS_ESYNTAX
#define ID32 "abcdefghijABCDEFGHIJ0123456789xy"

static const struct rvec vectors[] = {
	{"rfc-example", IN("v=STSv1; id=20160831085700Z;"), OK_,
	    "20160831085700Z", 0, 0, 0, 0, NULL, NULL},
	{"no-spaces", IN("v=STSv1;id=abc"), OK_, "abc", 0, 0, 0, 0, NULL, NULL},
	{"trailing-semicolon-space", IN("v=STSv1; id=abc; "), OK_, "abc", 0,
	    0, 0, 0, NULL, NULL},
	{"tabs-after-semicolon", IN("v=STSv1;\t\tid=abc\t;\t"), OK_, "abc", 0,
	    0, 0, 0, NULL, NULL},
	{"wsp-before-first-semicolon (A-2)", IN("v=STSv1 ; id=abc"), OK_,
	    "abc", 0, 1, 0, 1, NULL, NULL},
	{"id-one-char", IN("v=STSv1; id=1"), OK_, "1", 0, 0, 0, 0, NULL, NULL},
	{"id-32-chars", IN("v=STSv1; id=" ID32), OK_, ID32, 0, 0, 0, 0, NULL,
	    NULL},
	{"extension-ignored (R8461-16)", IN("v=STSv1; id=1; foo=bar"), OK_,
	    "1", 1, 0, 0, 0, NULL, NULL},
	{"extension-before-id", IN("v=STSv1; x.y_z-1=a:b/c?d; id=Z9"), OK_,
	    "Z9", 1, 0, 0, 0, NULL, NULL},
	{"extension-name-32", IN("v=STSv1; id=1; abcdefghijabcdefghijabcdefghi"
	    "jab=v"), OK_, "1", 1, 0, 0, 0, NULL, NULL},
	{"duplicate-id-first-wins (R8461-15)", IN("v=STSv1; id=first; "
	    "id=second"), OK_, "first", 0, 0, 0, 1, NULL, NULL},
	{"second-version-ignored", IN("v=STSv1; id=1; v=STSv1"), OK_, "1", 0,
	    0, 0, 1, NULL, NULL},
	{"id-case-preserved", IN("v=STSv1; id=AbC"), OK_, "AbC", 0, 0, 0, 0,
	    NULL, NULL},
	{"uppercase-ID-is-extension", IN("v=STSv1; id=1; ID=x-y"), OK_, "1", 1,
	    0, 0, 1, NULL, NULL},

	{"empty", IN(""), BAD, NULL, 0, 0, 1, 0, "v", "empty"},
	{"version-only", IN("v=STSv1"), BAD, NULL, 0, 0, 1, 0, "",
	    "at least one field"},
	{"version-semicolon-only", IN("v=STSv1;"), BAD, NULL, 0, 0, 1, 0, "",
	    "no field follows"},
	{"version-semicolon-space", IN("v=STSv1; "), BAD, NULL, 0, 0, 1, 0,
	    "", "no field follows"},
	{"leading-space", IN(" v=STSv1; id=1"), BAD, NULL, 0, 0, 1, 0, "v",
	    "starts with whitespace"},
	{"version-upper-v", IN("V=STSv1; id=1"), BAD, NULL, 0, 0, 1, 0, "v",
	    "case-sensitive"},
	{"version-lower", IN("v=stsv1; id=1"), BAD, NULL, 0, 0, 1, 0, "v",
	    NULL},
	{"version-2", IN("v=STSv2; id=1"), BAD, NULL, 0, 0, 1, 0, "v", NULL},
	{"version-10", IN("v=STSv10; id=1"), BAD, NULL, 0, 0, 1, 0, "v", NULL},
	{"version-not-first", IN("id=1; v=STSv1"), BAD, NULL, 0, 0, 1, 0, "v",
	    NULL},
	{"version-garbage-after-space", IN("v=STSv1 x; id=1"), BAD, NULL, 0, 0,
	    1, 0, "", "must follow the version"},
	{"spf-record", IN("v=spf1 -all"), BAD, NULL, 0, 0, 1, 0, "v", NULL},
	{"no-id", IN("v=STSv1; foo=bar"), BAD, NULL, 0, 0, 1, 0, "id",
	    "no \"id\""},
	{"id-33-chars (A-1)", IN("v=STSv1; id=" ID32 "z"), BAD, NULL, 0, 0, 1,
	    0, "id", "33 characters"},
	{"id-hyphen", IN("v=STSv1; id=2024-01-01"), BAD, NULL, 0, 0, 1, 0,
	    "id", "'-'"},
	{"id-dot", IN("v=STSv1; id=1.2"), BAD, NULL, 0, 0, 1, 0, "id", "'.'"},
	{"id-colon", IN("v=STSv1; id=12:00"), BAD, NULL, 0, 0, 1, 0, "id",
	    NULL},
	{"id-underscore", IN("v=STSv1; id=a_b"), BAD, NULL, 0, 0, 1, 0, "id",
	    NULL},
	{"id-empty", IN("v=STSv1; id="), BAD, NULL, 0, 0, 1, 0, "id", "empty"},
	{"id-without-equals", IN("v=STSv1; id"), BAD, NULL, 0, 0, 1, 0, "id",
	    "no \"=\""},
	{"id-space-inside", IN("v=STSv1; id=a b"), BAD, NULL, 0, 0, 1, 0, "id",
	    "space"},
	{"id-non-ascii (R8461-6)", IN("v=STSv1; id=caf\xC3\xA9"), BAD, NULL, 0,
	    0, 1, 0, "id", "0xC3"},
	{"id-duplicate-invalid (A-1)", IN("v=STSv1; id=good; id=b-a-d"), BAD,
	    NULL, 0, 0, 1, 0, "id", NULL},
	{"second-version-wrong (A-1)", IN("v=STSv1; id=1; v=STSv2"), BAD, NULL,
	    0, 0, 1, 0, "v", "only STSv1"},
	{"double-semicolon", IN("v=STSv1;; id=1"), BAD, NULL, 0, 0, 1, 0, "",
	    "empty field"},
	{"trailing-space-without-semicolon", IN("v=STSv1; id=1 "), BAD, NULL,
	    0, 0, 1, 0, "", "whitespace at the end"},
	{"ext-value-with-space", IN("v=STSv1; id=1; foo=a b"), BAD, NULL, 0, 0,
	    1, 0, "foo", "space"},
	{"ext-value-with-equals", IN("v=STSv1; id=1; foo=a=b"), BAD, NULL, 0,
	    0, 1, 0, "foo", "'='"},
	{"ext-value-empty", IN("v=STSv1; id=1; foo="), BAD, NULL, 0, 0, 1, 0,
	    "foo", "empty"},
	{"ext-value-non-ascii", IN("v=STSv1; id=1; foo=\xFF"), BAD, NULL, 0, 0,
	    1, 0, "foo", "0xFF"},
	{"ext-value-del", IN("v=STSv1; id=1; foo=a\x7F"), BAD, NULL, 0, 0, 1,
	    0, "foo", "0x7F"},
	{"ext-name-underscore-first", IN("v=STSv1; id=1; _foo=1"), BAD, NULL,
	    0, 0, 1, 0, "_foo", "letter or digit"},
	{"ext-name-33", IN("v=STSv1; id=1; abcdefghijabcdefghijabcdefghijabc="
	    "1"), BAD, NULL, 0, 0, 1, 0, "", "longer than 32"},
	{"ext-name-bad-char", IN("v=STSv1; id=1; a+b=1"), BAD, NULL, 0, 0, 1,
	    0, "a+b", "'+'"},
	{"empty-name", IN("v=STSv1; id=1; =x"), BAD, NULL, 0, 0, 1, 0, "",
	    "empty name"},
	{"nul-byte", IN("v=STSv1; id=1\0"), BAD, NULL, 0, 0, 1, 0, "id", "NUL"},
	{"newline-inside", IN("v=STSv1; id=1\n"), BAD, NULL, 0, 0, 1, 0, "id",
	    "0x0A"},
	{"all-errors-collected", IN("v=STSv1; id=a-b; foo=; =1;; x y=2"), BAD,
	    NULL, 0, 0, 5, 0, "id", NULL},
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
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct rvec *v = &vectors[i];
		struct mtasts_sts_record rec;
		struct mtasts_diags d;
		struct mtasts_error err;
		int rc;

		mtasts_diags_init(&d);
		mtasts_error_clear(&err);
		rc = mtasts_sts_record_parse(v->in, v->len, &rec, &d, &err);
		if (rc != v->code || (int)d.errors != v->nerr ||
		    (int)d.warnings != v->nwarn) {
			size_t k;
			char buf[300];

			print_error("sts vector %s: rc %d errors %zu warnings "
				    "%zu\n", v->name, rc, d.errors,
			    d.warnings);
			for (k = 0; k < d.count; k++)
				print_error("  %s\n", mtasts_diag_format(
				    &d.item[k], buf, sizeof(buf)));
		}
		assert_int_equal(rc, v->code);
		assert_int_equal(d.errors, v->nerr);
		assert_int_equal(d.warnings, v->nwarn);
		/* Without diags the verdict is the same. */
		assert_int_equal(mtasts_sts_record_parse(v->in, v->len, &rec,
				     NULL, NULL), v->code);
		rc = mtasts_sts_record_parse(v->in, v->len, &rec, NULL, NULL);
		if (rc == MTASTS_OK) {
			assert_string_equal(rec.id, v->id);
			assert_int_equal(rec.extensions, v->ext);
			assert_int_equal(rec.noncanonical, v->noncanonical);
		} else {
			const struct mtasts_diag *e = first_error(&d);

			assert_int_equal(err.code, v->code);
			assert_non_null(e);
			if (strcmp(e->field, v->efield) != 0 ||
			    (v->emsg && !strstr(e->msg, v->emsg)))
				print_error("sts vector %s: field \"%s\" msg "
					    "\"%s\"\n", v->name, e->field,
				    e->msg);
			assert_string_equal(e->field, v->efield);
			if (v->emsg != NULL)
				assert_non_null(strstr(e->msg, v->emsg));
			assert_int_equal(rec.id[0], '\0');
		}
	}
}

struct svec {
	const char *name;
	const char *recs[4];
	size_t n;
	int code;
	const char *id;
};

static const struct svec rrset_vectors[] = {
	{"none (R8461-11)", {NULL}, 0, MTASTS_ENOTFOUND, NULL},
	{"one-canonical", {"v=STSv1; id=1"}, 1, MTASTS_OK, "1"},
	{"one-noncanonical-parsed-by-abnf (A-2)", {"v=STSv1 ; id=2"}, 1,
	    MTASTS_OK, "2"},
	{"one-invalid (R8461-11)", {"v=STSv1; id=a-b"}, 1, MTASTS_ESYNTAX,
	    NULL},
	{"one-foreign", {"google-site-verification=xyz"}, 1, MTASTS_ESYNTAX,
	    NULL},
	{"sts-and-spf (R8461-10)", {"v=spf1 -all", "v=STSv1; id=3"}, 2,
	    MTASTS_OK, "3"},
	{"noncanonical-discarded-when-several (A-2)", {"v=STSv1 ; id=4",
	    "v=STSv1; id=5"}, 2, MTASTS_OK, "5"},
	{"all-noncanonical-when-several (A-2)", {"v=STSv1 ; id=4",
	    "v=STSv1\t; id=5"}, 2, MTASTS_ENOTFOUND, NULL},
	{"two-canonical (R8461-11)", {"v=STSv1; id=6", "v=STSv1; id=7"}, 2,
	    MTASTS_EMULTIPLE, NULL},
	{"two-identical", {"v=STSv1; id=6", "v=STSv1; id=6"}, 2,
	    MTASTS_EMULTIPLE, NULL},
	{"one-canonical-invalid-among-several", {"v=STSv1; id=", "x=y"}, 2,
	    MTASTS_ESYNTAX, NULL},
	{"none-sts-among-three", {"a", "b", "v=STSv2; id=1"}, 3,
	    MTASTS_ENOTFOUND, NULL},
	{"prefix-without-semicolon-dropped", {"v=STSv1", "v=STSv1;id=8"}, 2,
	    MTASTS_OK, "8"},
	{"empty-records-among", {"", "v=STSv1;id=9", ""}, 3, MTASTS_OK, "9"},
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
		struct mtasts_sts_record rec;
		struct mtasts_diags d;
		struct mtasts_error err;
		int rc;

		for (k = 0; k < v->n; k++)
			lens[k] = strlen(v->recs[k]);
		mtasts_diags_init(&d);
		rc = mtasts_sts_rrset_select(v->recs, lens, v->n, &rec, &d,
		    &err);
		if (rc != v->code)
			print_error("rrset vector %s: rc %d\n", v->name, rc);
		assert_int_equal(rc, v->code);
		if (rc == MTASTS_OK) {
			assert_string_equal(rec.id, v->id);
		} else {
			assert_int_equal(err.code, rc);
			assert_true(d.errors > 0);
		}
	}
}

static void
test_limits(void **state)
{
	char buf[MTASTS_TXT_RECORD_MAX + 2];
	struct mtasts_sts_record rec;
	size_t n;

	(void)state;
	n = (size_t)snprintf(buf, sizeof(buf), "v=STSv1; id=1; x=");
	memset(buf + n, 'a', sizeof(buf) - n);
	assert_int_equal(mtasts_sts_record_parse(buf, MTASTS_TXT_RECORD_MAX,
			     &rec, NULL, NULL), MTASTS_OK);
	assert_int_equal(mtasts_sts_record_parse(buf,
			     MTASTS_TXT_RECORD_MAX + 1, &rec, NULL, NULL),
	    MTASTS_ETOOBIG);
	assert_int_equal(mtasts_sts_record_parse(NULL, 3, &rec, NULL, NULL),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_sts_record_parse(NULL, 0, &rec, NULL, NULL),
	    MTASTS_ESYNTAX);
	/* Many fields: far more diags than fit; still counted. */
	n = (size_t)snprintf(buf, sizeof(buf), "v=STSv1; id=1");
	while (n + 4 < MTASTS_TXT_RECORD_MAX) {
		memcpy(buf + n, ";x=", 3);
		n += 3;
	}
	{
		struct mtasts_diags d;

		mtasts_diags_init(&d);
		assert_int_equal(mtasts_sts_record_parse(buf, n, &rec, &d,
				     NULL), MTASTS_ESYNTAX);
		assert_true(d.dropped > 0);
		assert_int_equal(d.count, MTASTS_DIAGS_MAX);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_rrset),
	    cmocka_unit_test(test_limits),
	};

	printf("sts_record vectors: %zu record + %zu rrset\n",
	    sizeof(vectors) / sizeof(vectors[0]),
	    sizeof(rrset_vectors) / sizeof(rrset_vectors[0]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
