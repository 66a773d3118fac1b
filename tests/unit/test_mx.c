/* SPDX-License-Identifier: MIT */
/*
 * test_mx.c: RFC 5321 Domain validation and mx pattern matching
 * (RFC 8461 sections 3.2 and 4.1, RFC 6125 section 6.4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/mx.h"

#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L61 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define D253 L63 "." L63 "." L63 "." L61

struct match_vec {
	const char *name;
	const char *pattern;
	const char *host;
	bool want;
};

static const struct match_vec match_vectors[] = {
	{"exact", "mail.example.com", "mail.example.com", true},
	{"exact-case-insensitive", "Mail.Example.COM", "mAIL.eXAMPLE.com",
	    true},
	{"exact-host-root-dot", "mail.example.com", "mail.example.com.", true},
	{"exact-host-two-root-dots", "mail.example.com", "mail.example.com..",
	    false},
	{"exact-different", "mail.example.com", "mail2.example.com", false},
	{"exact-not-suffix", "example.com", "mail.example.com", false},
	{"exact-not-prefix", "mail.example.com", "mail.example.com.evil",
	    false},
	{"exact-shorter-host", "mail.example.com", "mail.example.co", false},
	{"exact-leading-dot-host", "mail.example.com", ".mail.example.com",
	    false},
	{"wildcard-one-label (R8461-57)", "*.example.com", "mail.example.com",
	    true},
	{"wildcard-not-parent (R8461-57)", "*.example.com", "example.com",
	    false},
	{"wildcard-not-two-labels (R8461-57)", "*.example.com",
	    "foo.bar.example.com", false},
	{"wildcard-case-insensitive", "*.EXAMPLE.com", "MX1.example.COM",
	    true},
	{"wildcard-host-root-dot", "*.example.net", "mx.example.net.", true},
	{"wildcard-parent-with-root-dot", "*.example.net", "example.net.",
	    false},
	{"wildcard-not-label-suffix", "*.example.com", "mailexample.com",
	    false},
	{"wildcard-empty-first-label", "*.example.com", ".example.com", false},
	{"wildcard-other-domain", "*.example.com", "mail.example.org", false},
	{"wildcard-on-tld", "*.com", "example.com", true},
	{"wildcard-single-label-host", "*.com", "com", false},
	{"a-label-exact", "xn--mll-hoa.example", "XN--MLL-HOA.example", true},
	{"empty-host", "mail.example.com", "", false},
	{"root-only-host", "mail.example.com", ".", false},
	{"wildcard-root-only-host", "*.example.com", ".", false},
	{"no-case-fold-beyond-ascii", "\xC3\xA9.example", "\xC3\x89.example",
	    false},
	{"hyphen-host", "*.ex-ample.com", "mx-1.ex-ample.com", true},
	{"long-253", D253, D253 ".", true},
};

struct domain_vec {
	const char *name;
	const char *in;
	bool wildcard;
	bool want;
	const char *why;	/* substring, when !want */
};

static const struct domain_vec domain_vectors[] = {
	{"plain", "mail.example.com", false, true, NULL},
	{"single-label", "localhost", false, true, NULL},
	{"digits", "1.2.3.4", false, true, NULL},
	{"upper", "MAIL.EXAMPLE.COM", false, true, NULL},
	{"label-63", L63 ".example", false, true, NULL},
	{"label-64", L63 "a.example", false, false, "longer than 63"},
	{"domain-253", D253, false, true, NULL},
	{"domain-254", D253 "b", false, false, "longer than 253"},
	{"wildcard-allowed", "*.example.com", true, true, NULL},
	{"wildcard-refused", "*.example.com", false, false, "not allowed"},
	{"wildcard-253", "*." L63 "." L63 "." L63 ".bbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", true, true, NULL},
	{"empty", "", true, false, "empty"},
	{"dot", ".", false, false, "empty label"},
	{"trailing-dot (A-6)", "example.com.", false, false, "ends with a dot"},
	{"star", "*", true, false, "wildcard"},
	{"star-dot", "*.", true, false, "nothing follows"},
	{"star-star", "*.*.example", true, false, "left-most"},
	{"star-inside", "a*b.example", true, false, "left-most"},
	{"leading-hyphen", "-a.example", false, false, "starts with a hyphen"},
	{"trailing-hyphen", "a-.example", false, false, "ends with a hyphen"},
	{"underscore", "_dmarc.example", false, false, "underscore"},
	{"space", "a b.example", false, false, "invalid character"},
	{"non-ascii", "\xC3\xA9.example", false, false, "A-label"},
	{"wildcard-then-bad", "*.-a.example", true, false, "hyphen"},
};

static void
test_match(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_vectors) / sizeof(match_vectors[0]); i++) {
		const struct match_vec *v = &match_vectors[i];
		bool got = mtasts_mx_match(v->pattern, v->host);

		if (got != v->want)
			print_error("match vector %s failed\n", v->name);
		assert_int_equal(got, v->want);
	}
	assert_false(mtasts_mx_match(NULL, "a"));
	assert_false(mtasts_mx_match("a", NULL));
}

static void
test_domain(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(domain_vectors) / sizeof(domain_vectors[0]);
	     i++) {
		const struct domain_vec *v = &domain_vectors[i];
		const char *why = NULL;
		bool got = mtasts_domain_valid(v->in, strlen(v->in),
		    v->wildcard, &why);

		if (got != v->want ||
		    (!got && v->why && (!why || !strstr(why, v->why))))
			print_error("domain vector %s: got %d why %s\n",
			    v->name, got, why ? why : "(null)");
		assert_int_equal(got, v->want);
		if (!got) {
			assert_non_null(why);
			if (v->why != NULL)
				assert_non_null(strstr(why, v->why));
		}
	}
	assert_false(mtasts_domain_valid(NULL, 0, true, NULL));
	/* A length shorter than the string is honoured (no NUL needed). */
	assert_true(mtasts_domain_valid("a.example.", 9, false, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_domain),
	};

	printf("mx vectors: %zu match + %zu domain\n",
	    sizeof(match_vectors) / sizeof(match_vectors[0]),
	    sizeof(domain_vectors) / sizeof(domain_vectors[0]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
