/* SPDX-License-Identifier: MIT */
/*
 * test_txt.c: joining TXT character-strings (RFC 8461 section 3.1,
 * R8461-13; RFC 8460 section 3, R8460-10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/txt.h"

struct tvec {
	const char *name;
	const char *rdata;
	size_t rdlen;
	size_t cap;
	int code;
	const char *want;
	size_t wantlen;
};

#define RD(s) .rdata = (s), .rdlen = sizeof(s) - 1
#define WANT(s) .want = (s), .wantlen = sizeof(s) - 1

static const struct tvec vectors[] = {
	{"one-string", RD("\x07v=STSv1"), 64, MTASTS_OK, WANT("v=STSv1")},
	{"two-strings-no-space (R8461-13)", RD("\x08v=STSv1;\x05id=12"), 64,
	    MTASTS_OK, WANT("v=STSv1;id=12")},
	{"split-inside-token", RD("\x04v=ST\x04Sv1;"), 64, MTASTS_OK,
	    WANT("v=STSv1;")},
	{"empty-rdata", RD(""), 64, MTASTS_OK, WANT("")},
	{"one-empty-string", RD("\x00"), 64, MTASTS_OK, WANT("")},
	{"empty-strings-between", RD("\x01" "a\x00\x00\x01" "b"), 64,
	    MTASTS_OK, WANT("ab")},
	{"embedded-nul-kept", RD("\x03" "a\x00" "b"), 64, MTASTS_OK,
	    WANT("a\x00" "b")},
	{"length-past-end", RD("\x05" "abc"), 64, MTASTS_ESYNTAX, WANT("")},
	{"second-length-past-end", RD("\x01" "a\x02" "b"), 64, MTASTS_ESYNTAX,
	    WANT("")},
	{"exact-fit", RD("\x03" "abc"), 4, MTASTS_OK, WANT("abc")},
	{"one-too-long", RD("\x03" "abc"), 3, MTASTS_ETOOBIG, WANT("")},
	{"too-long-after-join", RD("\x02" "ab\x02" "cd"), 4, MTASTS_ETOOBIG,
	    WANT("")},
	{"cap-one-empty", RD(""), 1, MTASTS_OK, WANT("")},
};

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct tvec *v = &vectors[i];
		char out[300];
		size_t n = 12345;
		struct mtasts_error err;
		int rc;

		rc = mtasts_txt_rdata_join((const unsigned char *)v->rdata,
		    v->rdlen, out, v->cap, &n, &err);
		if (rc != v->code)
			print_error("txt vector %s: rc %d\n", v->name, rc);
		assert_int_equal(rc, v->code);
		if (rc == MTASTS_OK) {
			assert_int_equal(n, v->wantlen);
			assert_memory_equal(out, v->want, n);
			assert_int_equal(out[n], '\0');
		} else {
			assert_int_equal(err.code, v->code);
			assert_int_equal(n, 0);
		}
	}
}

static void
test_max_strings(void **state)
{
	unsigned char rd[4 * 256];
	char out[4096];
	size_t n, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		rd[i * 256] = 255;
		memset(rd + i * 256 + 1, 'a' + (int)i, 255);
	}
	assert_int_equal(mtasts_txt_rdata_join(rd, sizeof(rd), out,
			     sizeof(out), &n, NULL), MTASTS_OK);
	assert_int_equal(n, 4 * 255);
	assert_int_equal(out[255], 'b');
	assert_int_equal(mtasts_txt_rdata_join(rd, sizeof(rd), out, 4 * 255,
			     &n, NULL), MTASTS_ETOOBIG);
	assert_int_equal(mtasts_txt_rdata_join(rd, 0, NULL, 0, &n, NULL),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_txt_rdata_join(NULL, 0, out, sizeof(out),
			     NULL, NULL), MTASTS_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_max_strings),
	};

	printf("txt vectors: %zu\n", sizeof(vectors) / sizeof(vectors[0]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
