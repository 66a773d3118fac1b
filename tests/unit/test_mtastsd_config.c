/* SPDX-License-Identifier: MIT */
/* test_mtastsd_config.c: mtastsd.conf tables, units, bounds, sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/policy.h"
#include "mtastsd_config.h"

static const char *tmp = "/tmp/mtastsd-test-config.conf";

static int
load_text(struct mtastsd_config *c, const char *text, char *err,
    size_t errlen)
{
	FILE *f = fopen(tmp, "w");
	int rc;

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	rc = mtastsd_config_load(c, tmp, false, err, errlen);
	remove(tmp);
	return rc;
}

static void
test_units(void **state)
{
	static const struct {
		const char *in;
		int rc;
		unsigned long long want;
	} times[] = {
		{"30", 0, 30}, {"30s", 0, 30}, {"5m", 0, 300}, {"2h", 0, 7200},
		{"1d", 0, 86400}, {"1w", 0, 604800}, {"1D", 0, 86400},
		{"", -1, 0}, {"m", -1, 0}, {"5x", -1, 0}, {"5mm", -1, 0},
		{"-5", -1, 0}, {" 5", -1, 0},
		{"99999999999999999999", -1, 0},
	}, sizes[] = {
		{"512", 0, 512}, {"4k", 0, 4096}, {"1m", 0, 1048576},
		{"1g", -1, 0}, {"k", -1, 0},
	};
	unsigned long long v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		v = 0;
		assert_int_equal(mtastsd_parse_time(times[i].in, &v),
		    times[i].rc);
		if (times[i].rc == 0)
			assert_int_equal(v, times[i].want);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = 0;
		assert_int_equal(mtastsd_parse_size(sizes[i].in, &v),
		    sizes[i].rc);
		if (sizes[i].rc == 0)
			assert_int_equal(v, sizes[i].want);
	}
}

static void
test_defaults_and_set(void **state)
{
	struct mtastsd_config c;
	char err[256];

	(void)state;
	mtastsd_config_init(&c);
	assert_int_equal(c.txt_check_interval, 60);
	assert_int_equal(c.backoff_min, 300);
	assert_true(c.defaults.require_sni);
	assert_false(c.defaults.tlsrpt_attributes);
	assert_string_equal(c.temp_failure_reply, "notfound");
	assert_int_equal(c.nlisten, 1);
	assert_int_equal(mtastsd_config_set_option(&c, "idle_timeout=2m", err,
			     sizeof(err)),
	    0);
	assert_int_equal(c.idle_timeout, 120);
	assert_int_equal(mtastsd_config_set_option(&c, "unix_mode = 0660",
			     err, sizeof(err)),
	    0);
	assert_int_equal(c.unix_mode, 0660);
	assert_int_equal(mtastsd_config_set_option(&c, "tlsrpt_attributes=on",
			     err, sizeof(err)),
	    0);
	assert_true(c.defaults.tlsrpt_attributes);
	/* Bounds: back-off below 5 minutes is refused (RFC 8461). */
	assert_int_equal(mtastsd_config_set_option(&c, "backoff_min=60", err,
			     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(mtastsd_config_set_option(&c, "max_connections=0",
			     err, sizeof(err)),
	    -1);
	assert_int_equal(mtastsd_config_set_option(&c, "max_connections=5k",
			     err, sizeof(err)),
	    -1);	/* counts take no units */
	assert_int_equal(mtastsd_config_set_option(&c, "nosuchkey=1", err,
			     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "unknown key"));
	assert_int_equal(mtastsd_config_set_option(&c, "novalue", err,
			     sizeof(err)),
	    -1);
	assert_int_equal(mtastsd_config_set_option(&c, "cache=ftp://x", err,
			     sizeof(err)),
	    -1);
	assert_int_equal(mtastsd_config_set_option(&c, "listen=tcp:1", err,
			     sizeof(err)),
	    -1);
	assert_int_equal(mtastsd_config_set_option(&c,
			     "temp_failure_reply=maybe", err, sizeof(err)),
	    -1);
	assert_int_equal(mtastsd_config_set_option(&c, "require_sni=perhaps",
			     err, sizeof(err)),
	    -1);
	mtastsd_config_free(&c);
}

static void
test_file(void **state)
{
	struct mtastsd_config c;
	const struct mtastsd_zone *z;
	const struct mtastsd_override *o;
	char err[256];

	(void)state;
	mtastsd_config_init(&c);
	assert_int_equal(load_text(&c,
			     "# comment\n"
			     "listen = unix:/run/mtastsd/sock\n"
			     "listen = inet:127.0.0.1:8461\n"
			     "cache = memory\n"
			     "tlsrpt_attributes = yes\n"
			     "[zone strict]\n"
			     "strict_testing = yes\n"
			     "[zone old]\n"
			     "require_sni = no\n"
			     "tlsrpt_attributes = no\n"
			     "[override Example.COM.]\n"
			     "mode = enforce\n"
			     "mx = mx.example.com\n"
			     "mx = *.example.net\n"
			     "[override a.example]\n"
			     "reply = NOTFOUND \n",
			     err, sizeof(err)),
	    0);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(c.listen[0], "unix:/run/mtastsd/sock");
	assert_string_equal(c.cache, "memory");
	z = mtastsd_config_zone(&c, "strict", 6);
	assert_true(z->strict_testing);
	assert_true(z->tlsrpt_attributes); /* inherited from the defaults */
	z = mtastsd_config_zone(&c, "old", 3);
	assert_false(z->require_sni);
	assert_false(z->tlsrpt_attributes);
	z = mtastsd_config_zone(&c, "postfix", 7);
	assert_ptr_equal(z, &c.defaults);
	o = mtastsd_config_override(&c, "example.com");
	assert_non_null(o);
	assert_int_equal(o->mode, MTASTS_MODE_ENFORCE);
	assert_string_equal(o->mx, "mx.example.com *.example.net");
	assert_null(mtastsd_config_override(&c, "b.example"));
	mtastsd_config_free(&c);
}

static void
test_file_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{"cache = memory\nbogus = 1\n", ":2: unknown key \"bogus\""},
		{"\n\nidle_timeout = 1y\n", ":3: idle_timeout: bad value"},
		{"[zone x]\nmode = enforce\n", ":2: unknown zone key"},
		{"[weird]\na = b\n", ":2: unknown section [weird]"},
		{"[override bad_domain]\nmode = none\n", ":2: override"},
		{"[override x.example]\nmx = a..b\n", ":2: mx:"},
		{"[override x.example]\nreply = OK\tx\n", ":2: reply:"},
		{"[override x.example]\nreply = MAYBE x\n", ":2: reply:"},
		{"[override x.example]\nmode = enforce\n", "needs mx"},
		{"[override x.example]\nmx = a.example\n", "needs mode"},
		{"no equals sign here\n", ":1:"},
	};
	struct mtastsd_config c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mtastsd_config_init(&c);
		assert_int_equal(load_text(&c, cases[i].text, err,
				     sizeof(err)),
		    -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    cases[i].want);
		mtastsd_config_free(&c);
	}
}

static void
test_missing_file(void **state)
{
	struct mtastsd_config c;
	char err[256];

	(void)state;
	mtastsd_config_init(&c);
	assert_int_equal(mtastsd_config_load(&c, "/nonexistent/mtastsd.conf",
			     true, err, sizeof(err)),
	    1);
	assert_int_equal(mtastsd_config_load(&c, "/nonexistent/mtastsd.conf",
			     false, err, sizeof(err)),
	    -1);
	assert_int_equal(mtastsd_config_finish(&c, err, sizeof(err)), 0);
	mtastsd_config_free(&c);
}

static void
test_dump(void **state)
{
	struct mtastsd_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	mtastsd_config_init(&c);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	mtastsd_config_dump(&c, f);
	fclose(f);
	assert_non_null(strstr(buf, "txt_check_interval = 1m\n"));
	assert_non_null(strstr(buf, "backoff_min = 5m\n"));
	assert_non_null(strstr(buf, "unix_mode = 0666\n"));
	assert_non_null(strstr(buf, "listen = inet:127.0.0.1:8461\n"));
	assert_non_null(strstr(buf, "require_sni = yes\n"));
	free(buf);
	mtastsd_config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_defaults_and_set),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
