/* SPDX-License-Identifier: MIT */
/* test_mtastsd_reply.c: socketmap replies, including injection attempts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mtastsd_reply.h"

static const struct mtastsd_zone plain = {"", false, true, false};
static const struct mtastsd_zone old = {"old", false, false, false};
static const struct mtastsd_zone rpt = {"rpt", false, true, true};

static void
test_match(void **state)
{
	static const char *const mx[] = {"mx1.example.com", "*.example.net"};
	static const char *const bad[] = {"mx1.example.com", "a b"};
	static const char *const bad2[] = {"x.example:y"};
	static const char *const bad3[] = {"*.x.example secure match=y"};
	struct mtastsd_buf b;

	(void)state;
	mtastsd_buf_init(&b, 1000);
	assert_int_equal(mtastsd_reply_match(&b, mx, 2), 0);
	assert_string_equal(b.p, "mx1.example.com:.example.net");
	mtastsd_buf_reset(&b);
	assert_int_equal(mtastsd_reply_match(&b, bad, 2), -1);
	mtastsd_buf_reset(&b);
	assert_int_equal(mtastsd_reply_match(&b, bad2, 1), -1);
	mtastsd_buf_reset(&b);
	assert_int_equal(mtastsd_reply_match(&b, bad3, 1), -1);
	mtastsd_buf_free(&b);
}

static void
test_secure(void **state)
{
	static const char body[] = "version: STSv1\r\nmode: enforce\r\n"
				   "mx: mx1.example.com\r\nmx: *.example.net\r\n"
				   "max_age: 86400\r\n";
	struct mtastsd_buf b;
	bool dropped;

	(void)state;
	mtastsd_buf_init(&b, 100000);
	assert_int_equal(mtastsd_reply_secure(&b, &plain, "example.com",
			     "mx1.example.com:.example.net", body,
			     strlen(body), &dropped),
	    0);
	assert_string_equal(b.p, "OK secure match=mx1.example.com:"
				 ".example.net servername=hostname");
	assert_int_equal(mtastsd_reply_secure(&b, &old, "example.com",
			     "mx1.example.com", body, strlen(body), &dropped),
	    0);
	assert_string_equal(b.p, "OK secure match=mx1.example.com");
	assert_int_equal(mtastsd_reply_secure(&b, &rpt, "example.com",
			     "mx1.example.com:.example.net", body,
			     strlen(body), &dropped),
	    0);
	assert_false(dropped);
	assert_string_equal(b.p,
	    "OK secure match=mx1.example.com:.example.net "
	    "servername=hostname policy_type=sts policy_domain=example.com "
	    "mx_host_pattern=mx1.example.com mx_host_pattern=*.example.net "
	    "{ policy_string = version: STSv1 } "
	    "{ policy_string = mode: enforce } "
	    "{ policy_string = mx: mx1.example.com } "
	    "{ policy_string = mx: *.example.net } "
	    "{ policy_string = max_age: 86400 }");
	mtastsd_buf_free(&b);
}

static void
test_injection(void **state)
{
	static const struct {
		const char *body;
		bool dropped;
	} bodies[] = {
		{"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n"
		 "x: } policy_type=no-policy-found {\n", true},
		{"version: STSv1\nx: a\001b\n", true},
		{"version: STSv1\nx: caf\xc3\xa9\n", true},
		{"version: STSv1\nx: a\rb\n", true},
		{"version: STSv1\nx:a=b\n", false},
	};
	struct mtastsd_buf b;
	bool dropped;
	size_t i;

	(void)state;
	mtastsd_buf_init(&b, 100000);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(mtastsd_reply_secure(&b, &rpt, "example.com",
				     "a.example", bodies[i].body,
				     strlen(bodies[i].body), &dropped),
		    0);
		assert_int_equal(dropped, bodies[i].dropped);
		assert_null(strchr(b.p, '\n'));
		assert_null(strchr(b.p, '\r'));
		if (dropped)
			assert_null(strstr(b.p, "policy_string"));
		assert_null(strstr(b.p, "no-policy-found"));
	}
	assert_string_equal(b.p,
	    "OK secure match=a.example servername=hostname policy_type=sts "
	    "policy_domain=example.com mx_host_pattern=a.example "
	    "{ policy_string = version: STSv1 } policy_string=x:a=b");
	/* Unsafe match lists and domains are refused outright. */
	assert_int_equal(mtastsd_reply_secure(&b, &rpt, "example.com",
			     "a.example servername=evil", NULL, 0, &dropped),
	    -1);
	assert_int_equal(mtastsd_reply_secure(&b, &rpt, "x y", "a.example",
			     NULL, 0, &dropped),
	    -1);
	assert_int_equal(mtastsd_reply_secure(&b, &rpt, "example.com", "",
			     NULL, 0, &dropped),
	    -1);
	mtastsd_buf_free(&b);
}

static void
test_status_and_limits(void **state)
{
	struct mtastsd_buf b;
	char big[200];
	bool dropped;

	(void)state;
	mtastsd_buf_init(&b, 64);
	assert_int_equal(mtastsd_reply_notfound(&b), 0);
	assert_string_equal(b.p, "NOTFOUND ");
	assert_int_equal(mtastsd_reply_status(&b, "TEMP", "bad\nline"), 0);
	assert_string_equal(b.p, "TEMP bad?line");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mtastsd_reply_secure(&b, &plain, "example.com", big,
			     NULL, 0, &dropped),
	    -1);
	mtastsd_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_secure),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_status_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
