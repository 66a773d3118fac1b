/* SPDX-License-Identifier: MIT */
/*
 * test_smtp_reply.c: the sans-I/O SMTP reply reader (smtp_reply.h),
 * table-driven: complete and incomplete replies, multi-line EHLO replies
 * with and without STARTTLS, CRLF and bare LF, malformed lines, and the
 * line, line-count and byte limits; plus byte-by-byte feeding, which
 * must give the same answers as feeding everything at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/smtp_reply.h"

struct tcase {
	const char *name;
	const char *in;
	int want;		/* MTASTS_OK, MTASTS_EAGAIN, or an error */
	int code;
	bool starttls;
	unsigned lines;
	size_t used;		/* for OK: bytes consumed (0: all) */
	const char *text;
};

static const struct tcase cases[] = {
	{"banner", "220 mx.example.test ESMTP\r\n", MTASTS_OK, 220, false, 1,
	    0, "mx.example.test ESMTP"},
	{"bare LF", "220 hi\n", MTASTS_OK, 220, false, 1, 0, "hi"},
	{"code only", "250\r\n", MTASTS_OK, 250, false, 1, 0, ""},
	{"incomplete", "220 partial", MTASTS_EAGAIN, 0, false, 0, 0, NULL},
	{"multi-line banner", "220-first\r\n220-second\r\n220 last\r\n",
	    MTASTS_OK, 220, false, 3, 0, "first"},
	{"ehlo starttls",
	    "250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
	    "250 8BITMIME\r\n", MTASTS_OK, 250, true, 4, 0,
	    "mx.example.test"},
	{"ehlo starttls lower case last",
	    "250-mx\r\n250 starttls\r\n", MTASTS_OK, 250, true, 2, 0, "mx"},
	{"ehlo without starttls",
	    "250-mx\r\n250-STARTTLSX\r\n250 SIZE 1000\r\n", MTASTS_OK, 250,
	    false, 3, 0, "mx"},
	{"starttls on first line is the host name", "250 STARTTLS\r\n",
	    MTASTS_OK, 250, false, 1, 0, "STARTTLS"},
	{"bytes after the reply", "220 a\r\nEXTRA", MTASTS_OK, 220, false, 1,
	    7, "a"},
	{"421", "421 4.3.2 busy\r\n", MTASTS_OK, 421, false, 1, 0,
	    "4.3.2 busy"},
	{"not digits", "HTTP/1.0 400 Bad\r\n", MTASTS_ESYNTAX, 0, false, 0, 0,
	    NULL},
	{"bad separator", "220_x\r\n", MTASTS_ESYNTAX, 0, false, 0, 0, NULL},
	{"code 600", "600 x\r\n", MTASTS_ESYNTAX, 0, false, 0, 0, NULL},
	{"code 170", "170 x\r\n", MTASTS_ESYNTAX, 0, false, 0, 0, NULL},
	{"code changes", "250-a\r\n251 b\r\n", MTASTS_ESYNTAX, 0, false, 0, 0,
	    NULL},
	{"empty line", "\r\n", MTASTS_ESYNTAX, 0, false, 0, 0, NULL},
};

static void
check_case(const struct tcase *c, bool bytewise)
{
	struct mtasts_smtp_reply r;
	struct mtasts_error err;
	size_t len = strlen(c->in), used = 0, total = 0;
	int rc = MTASTS_EAGAIN;

	mtasts_smtp_reply_init(&r);
	if (!bytewise) {
		rc = mtasts_smtp_reply_feed(&r, c->in, len, &used, &err);
		total = used;
	} else {
		for (size_t i = 0; i < len && rc == MTASTS_EAGAIN; i++) {
			rc = mtasts_smtp_reply_feed(&r, c->in + i, 1, &used,
			    &err);
			total += used;
		}
	}
	if (rc != c->want)
		fail_msg("%s (%s): rc %d, want %d (%s)", c->name,
		    bytewise ? "bytewise" : "whole", rc, c->want,
		    rc ? err.msg : "");
	if (rc != MTASTS_OK)
		return;
	assert_int_equal(r.code, c->code);
	assert_int_equal(r.starttls, c->starttls);
	assert_int_equal(r.lines, c->lines);
	assert_int_equal(total, c->used ? c->used : len);
	assert_string_equal(r.text, c->text);
	assert_true(r.complete);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_case(&cases[i], false);
		check_case(&cases[i], true);
	}
}

static void
test_limits(void **state)
{
	struct mtasts_smtp_reply r;
	struct mtasts_error err;
	char *big = malloc(MTASTS_SMTP_REPLY_MAX * 2);
	size_t used = 0;
	int rc;

	(void)state;
	assert_non_null(big);
	/* A giant line. */
	memset(big, 'x', MTASTS_SMTP_REPLY_MAX);
	memcpy(big, "220 ", 4);
	mtasts_smtp_reply_init(&r);
	rc = mtasts_smtp_reply_feed(&r, big, MTASTS_SMTP_REPLY_MAX, &used,
	    &err);
	assert_int_equal(rc, MTASTS_ETOOBIG);
	assert_true(used <= MTASTS_SMTP_LINE_MAX);
	/* An endless banner: too many lines. */
	{
		size_t n = 0;

		for (int i = 0; i < MTASTS_SMTP_LINES_MAX + 5; i++) {
			memcpy(big + n, "220-more\r\n", 10);
			n += 10;
		}
		mtasts_smtp_reply_init(&r);
		rc = mtasts_smtp_reply_feed(&r, big, n, &used, &err);
		assert_int_equal(rc, MTASTS_ETOOBIG);
		assert_non_null(strstr(err.msg, "lines"));
	}
	/* Many long lines: the byte cap. */
	{
		size_t n = 0;

		while (n + 1000 < MTASTS_SMTP_REPLY_MAX * 2 - 2) {
			memcpy(big + n, "250-", 4);
			memset(big + n + 4, 'y', 994);
			memcpy(big + n + 998, "\r\n", 2);
			n += 1000;
		}
		mtasts_smtp_reply_init(&r);
		rc = mtasts_smtp_reply_feed(&r, big, n, &used, &err);
		assert_int_equal(rc, MTASTS_ETOOBIG);
		assert_true(r.bytes <= MTASTS_SMTP_REPLY_MAX);
	}
	/* Feeding a complete reply again is refused. */
	mtasts_smtp_reply_init(&r);
	assert_int_equal(mtasts_smtp_reply_feed(&r, "220 a\r\n", 7, &used,
	    &err), MTASTS_OK);
	assert_int_equal(mtasts_smtp_reply_feed(&r, "x", 1, &used, &err),
	    MTASTS_EINVAL);
	/* Control bytes in the text are masked. */
	mtasts_smtp_reply_init(&r);
	assert_int_equal(mtasts_smtp_reply_feed(&r, "220 a\033b\r\n", 9,
	    &used, &err), MTASTS_OK);
	assert_string_equal(r.text, "a?b");
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
