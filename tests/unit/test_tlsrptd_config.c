/* SPDX-License-Identifier: MIT */
/*
 * test_tlsrptd_config.c: mtasts-tlsrptd's settings table: defaults,
 * units and bounds, booleans, unknown keys, INI sections, derived keys
 * (submitter from contact_info, RFC 8460 section 5.3), and every key
 * documented in doc/man/mtasts-tlsrptd.conf.5 and nothing more.
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

/* Compiled in: see test_tlsrptd_send.c. */
#include "../../src/tlsrptd/tlsrptd_config.c"

static void
defaults_and_set(void **state)
{
	struct tlsrptd_config c;
	char err[TLSRPTD_ERRLEN];
	size_t i;

	(void)state;
	tlsrptd_config_init(&c);
	assert_int_equal(c.give_up, 86400);	/* R8460-39 */
	assert_true(c.https_verify);
	assert_string_equal(c.mail_method, "sendmail");
	assert_int_equal(tlsrptd_config_set(&c, "retry_min", "2m", err,
	    sizeof(err)), 0);
	assert_int_equal(c.retry_min, 120);
	assert_int_equal(tlsrptd_config_set(&c, "give_up", "2d", err,
	    sizeof(err)), 0);
	assert_int_equal(c.give_up, 172800);
	assert_int_equal(tlsrptd_config_set(&c, "give_up", "8d", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "outside"));
	assert_int_equal(tlsrptd_config_set(&c, "give_up", "1x", err,
	    sizeof(err)), -1);
	assert_int_equal(tlsrptd_config_set(&c, "https_verify", "no", err,
	    sizeof(err)), 0);
	assert_false(c.https_verify);
	assert_int_equal(tlsrptd_config_set(&c, "https_verify", "maybe", err,
	    sizeof(err)), -1);
	assert_int_equal(tlsrptd_config_set(&c, "nope", "1", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key"));
	/* the table is sorted (bsearch) */
	for (i = 1; tlsrptd_config_key(i) != NULL; i++)
		assert_true(strcmp(tlsrptd_config_key(i - 1),
		    tlsrptd_config_key(i)) < 0);
	tlsrptd_config_free(&c);
}

static void
finish_rules(void **state)
{
	struct tlsrptd_config c;
	char err[TLSRPTD_ERRLEN];

	(void)state;
	tlsrptd_config_init(&c);
	assert_int_equal(tlsrptd_config_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "contact_info is required"));
	assert_int_equal(tlsrptd_config_set(&c, "contact_info",
	    "tlsrpt@mail.example.com", err, sizeof(err)), 0);
	assert_int_equal(tlsrptd_config_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.submitter, "mail.example.com");
	assert_string_equal(c.mail_from, "tlsrpt@mail.example.com");
	assert_string_equal(c.organization_name, "mail.example.com");
	/* TLS-Report-Submitter must match contact-info's domain */
	assert_int_equal(tlsrptd_config_set(&c, "submitter", "other.example",
	    err, sizeof(err)), 0);
	assert_int_equal(tlsrptd_config_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "5.3"));
	assert_int_equal(tlsrptd_config_set(&c, "submitter", "", err,
	    sizeof(err)), 0);
	assert_int_equal(tlsrptd_config_set(&c, "mail_method", "pigeon", err,
	    sizeof(err)), 0);
	assert_int_equal(tlsrptd_config_finish(&c, err, sizeof(err)), -1);
	tlsrptd_config_free(&c);
}

static void
ini_file(void **state)
{
	struct tlsrptd_config c;
	char err[TLSRPTD_ERRLEN], path[64];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_tlsrptd_config.%d",
	    (int)getpid());
	f = fopen(path, "w");
	fputs("# comment\nstore = sqlite:/tmp/x.db\n[tlsrptd]\n"
	    "send_spread = 2h\n", f);
	fclose(f);
	tlsrptd_config_init(&c);
	assert_int_equal(tlsrptd_config_load(&c, path, false, err,
	    sizeof(err)), 0);
	assert_string_equal(c.store, "sqlite:/tmp/x.db");
	assert_int_equal(c.send_spread, 7200);
	f = fopen(path, "w");
	fputs("[other]\nstore = x\n", f);
	fclose(f);
	assert_int_equal(tlsrptd_config_load(&c, path, false, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown section"));
	unlink(path);
	assert_int_equal(tlsrptd_config_load(&c, path, true, err,
	    sizeof(err)), 0);
	assert_int_equal(tlsrptd_config_load(&c, path, false, err,
	    sizeof(err)), -1);
	tlsrptd_config_free(&c);
}

static void
man_page_agrees(void **state)
{
	char path[512], line[1024], *text = NULL;
	size_t len = 0, i, documented = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/../../doc/man/mtasts-tlsrptd.conf.5",
	    MTASTS_TEST_DATA);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char key[128];
		size_t kl;

		if (strncmp(line, ".It Cm ", 7) != 0)
			continue;
		kl = strcspn(line + 7, " \n");
		assert_true(kl < sizeof(key));
		memcpy(key, line + 7, kl);
		key[kl] = '\0';
		assert_non_null(find(key));	/* no stale entries */
		text = realloc(text, len + strlen(key) + 3);
		len += (size_t)snprintf(text + len, strlen(key) + 3, "|%s|",
		    key);
		documented++;
	}
	fclose(f);
	for (i = 0; tlsrptd_config_key(i) != NULL; i++) {
		char want[140];

		snprintf(want, sizeof(want), "|%s|", tlsrptd_config_key(i));
		if (text == NULL || strstr(text, want) == NULL)
			fail_msg("key %s is not in %s", tlsrptd_config_key(i),
			    path);
	}
	assert_int_equal(documented, i);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_set),
		cmocka_unit_test(finish_rules),
		cmocka_unit_test(ini_file),
		cmocka_unit_test(man_page_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
