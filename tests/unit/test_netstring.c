/* SPDX-License-Identifier: MIT */
/*
 * test_netstring.c: table-driven tests of the netstring codec and the
 * socketmap request splitter: valid and pipelined input, every split
 * point of a stream, malformed prefixes, binary payloads, the size
 * limit and encoder round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/netstring.h"

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define SMAX MTASTS_SOCKETMAP_MAX

/* One decode call on a whole buffer. */
struct dvec {
	const char *name;
	const char *in;
	size_t len;
	size_t max;
	int code;
	const char *payload; /* checked on MTASTS_OK */
	size_t plen;	     /* checked on MTASTS_OK */
	size_t used;	     /* checked on MTASTS_OK */
};

static const struct dvec dvectors[] = {
	/* ---- valid ---- */
	{"empty-payload", IN("0:,"), SMAX, MTASTS_OK, "", 0, 3},
	{"one-byte", IN("1:x,"), SMAX, MTASTS_OK, "x", 1, 4},
	{"request", IN("24:postfix example.com.test,"), SMAX, MTASTS_OK,
	    "postfix example.com.test", 24, 28},
	{"socketmap-request", IN("20:postfix example.test,"), SMAX, MTASTS_OK,
	    "postfix example.test", 20, 24},
	{"notfound-reply", IN("9:NOTFOUND ,"), SMAX, MTASTS_OK, "NOTFOUND ",
	    9, 12},
	{"trailing-bytes-ignored", IN("2:ab,3:cd"), SMAX, MTASTS_OK, "ab", 2,
	    5},
	{"payload-with-colon-comma", IN("5:a:,b,,"), SMAX, MTASTS_OK, "a:,b,",
	    5, 8},
	{"all-zero-prefix", IN("0000000001"), SIZE_MAX, MTASTS_ESYNTAX,
	    NULL, 0, 0},
	/* ---- binary payloads ---- */
	{"nul-in-payload", IN("3:a\0b,"), SMAX, MTASTS_OK, "a\0b", 3, 6},
	{"all-nul", IN("2:\0\0,"), SMAX, MTASTS_OK, "\0\0", 2, 5},
	{"high-bytes", IN("3:\xff\x80\x01,"), SMAX, MTASTS_OK, "\xff\x80\x01",
	    3, 6},
	{"crlf-payload", IN("2:\r\n,"), SMAX, MTASTS_OK, "\r\n", 2, 5},
	/* ---- incomplete ---- */
	{"empty", IN(""), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	{"digit-only", IN("1"), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	{"zero-only", IN("0"), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	{"ten-digits-no-colon", IN("1000000000"), SIZE_MAX, MTASTS_EAGAIN,
	    NULL, 0, 0},
	{"no-payload-yet", IN("3:"), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	{"no-comma-yet", IN("3:abc"), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	{"empty-no-comma-yet", IN("0:"), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	/* ---- malformed ---- */
	{"letter-first", IN("a:b,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"letter-in-length", IN("1a:b,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"hex-length", IN("0x1:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"colon-first", IN(":a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"comma-first", IN(",a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"leading-zero", IN("01:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"double-zero", IN("00:,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"leading-zero-prefix-only", IN("00"), SMAX, MTASTS_ESYNTAX, NULL, 0,
	    0},
	{"negative", IN("-1:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"plus-sign", IN("+1:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"space-before", IN(" 1:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"space-after-digits", IN("1 :a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"nul-first", IN("\0" "1:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"nul-in-prefix", IN("1\0:a,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"nul-after-digit", IN("1\0"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"missing-comma", IN("1:ab"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"semicolon-not-comma", IN("1:a;"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"short-payload", IN("3:ab,"), SMAX, MTASTS_EAGAIN, NULL, 0, 0},
	{"long-payload", IN("1:ab,"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"eleven-digits-unbounded", IN("12345678901:"), SIZE_MAX,
	    MTASTS_ESYNTAX, NULL, 0, 0},
	{"eleven-digits-prefix-only", IN("99999999999"), SIZE_MAX,
	    MTASTS_ESYNTAX, NULL, 0, 0},
	{"eleven-digits-bounded", IN("12345678901:"), SMAX, MTASTS_ETOOBIG,
	    NULL, 0, 0},
	{"newline-terminated", IN("1\n"), SMAX, MTASTS_ESYNTAX, NULL, 0, 0},
	{"http-request", IN("GET / HTTP/1.0\r\n"), SMAX, MTASTS_ESYNTAX, NULL,
	    0, 0},
	/* ---- the size limit ---- */
	{"huge-length", IN("4294967296:"), SMAX, MTASTS_ETOOBIG, NULL, 0, 0},
	{"huge-prefix-early", IN("999999"), SMAX, MTASTS_ETOOBIG, NULL, 0, 0},
	{"max-plus-one", IN("100001:"), SMAX, MTASTS_ETOOBIG, NULL, 0, 0},
	{"max-exact-incomplete", IN("100000:abc"), SMAX, MTASTS_EAGAIN, NULL,
	    0, 0},
	{"small-max-ok", IN("3:abc,"), 3, MTASTS_OK, "abc", 3, 6},
	{"small-max-over", IN("4:abcd,"), 3, MTASTS_ETOOBIG, NULL, 0, 0},
	{"zero-max-empty", IN("0:,"), 0, MTASTS_OK, "", 0, 3},
	{"zero-max-one", IN("1:a,"), 0, MTASTS_ETOOBIG, NULL, 0, 0},
	{"too-big-before-syntax", IN("10x"), 5, MTASTS_ETOOBIG, NULL, 0, 0},
};

static void
test_decode_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dvectors) / sizeof(dvectors[0]); i++) {
		const struct dvec *v = &dvectors[i];
		const char *p = NULL;
		size_t plen = 7, used = 7;
		int rc;

		rc = mtasts_netstring_decode(v->in, v->len, v->max, &p, &plen,
		    &used);
		if (rc != v->code)
			fail_msg("%s: got %d, want %d", v->name, rc, v->code);
		if (rc != MTASTS_OK) {
			/* Outputs untouched on failure. */
			if (p != NULL || plen != 7 || used != 7)
				fail_msg("%s: outputs written on error",
				    v->name);
			continue;
		}
		if (plen != v->plen || memcmp(p, v->payload, plen) != 0)
			fail_msg("%s: payload mismatch", v->name);
		if (v->used != 0 && used != v->used)
			fail_msg("%s: used %zu, want %zu", v->name, used,
			    v->used);
		/* The payload points into the input. */
		assert_true(p >= v->in && p + plen < v->in + v->len);
		assert_int_equal(p[plen], ',');
	}
}

static void
test_decode_null_outputs(void **state)
{
	(void)state;
	assert_int_equal(mtasts_netstring_decode("1:a,", 4, SMAX, NULL, NULL,
			     NULL),
	    MTASTS_OK);
	assert_int_equal(mtasts_netstring_decode(NULL, 0, SMAX, NULL, NULL,
			     NULL),
	    MTASTS_EAGAIN);
	assert_int_equal(mtasts_netstring_decode(NULL, 3, SMAX, NULL, NULL,
			     NULL),
	    MTASTS_EINVAL);
}

/* Several netstrings in one buffer, decoded like a server would. */
struct pipevec {
	const char *name;
	const char *in;
	size_t len;
	int ngot;	    /* netstrings decoded before stopping */
	int last;	    /* code that stopped the loop */
	const char *joined; /* payloads joined with '|' */
};

static const struct pipevec pvectors[] = {
	{"three", IN("1:a,2:bc,3:def,"), 3, MTASTS_EAGAIN, "a|bc|def"},
	{"with-empty", IN("0:,0:,1:x,"), 3, MTASTS_EAGAIN, "||x"},
	{"tail-incomplete", IN("1:a,2:bc,3:de"), 2, MTASTS_EAGAIN, "a|bc"},
	{"tail-garbage", IN("1:a,2:bc,x"), 2, MTASTS_ESYNTAX, "a|bc"},
	{"tail-too-big", IN("1:a,999999:"), 1, MTASTS_ETOOBIG, "a"},
	{"requests", IN("20:postfix example.test,20:postfix example.test,"
			"17:strict other.test,"),
	    3, MTASTS_EAGAIN,
	    "postfix example.test|postfix example.test|strict other.test"},
	{"no-separator", IN("1:a,,1:b,"), 1, MTASTS_ESYNTAX, "a"},
};

static void
test_pipelined(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pvectors) / sizeof(pvectors[0]); i++) {
		const struct pipevec *v = &pvectors[i];
		char joined[256];
		size_t off = 0, jl = 0;
		int n = 0, rc;

		joined[0] = '\0';
		for (;;) {
			const char *p;
			size_t plen, used;

			rc = mtasts_netstring_decode(v->in + off,
			    v->len - off, SMAX, &p, &plen, &used);
			if (rc != MTASTS_OK)
				break;
			if (n > 0)
				joined[jl++] = '|';
			assert_true(jl + plen < sizeof(joined));
			memcpy(joined + jl, p, plen);
			jl += plen;
			joined[jl] = '\0';
			off += used;
			n++;
		}
		if (n != v->ngot || rc != v->last)
			fail_msg("%s: %d decoded, stopped with %d; want %d, %d",
			    v->name, n, rc, v->ngot, v->last);
		if (strcmp(joined, v->joined) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", v->name,
			    joined, v->joined);
	}
}

/*
 * Every prefix of a complete netstring is EAGAIN; the whole is OK. For a
 * stream of several, feeding it one byte at a time through a growing
 * window must yield the same payloads as decoding it at once.
 */
static const char *split_inputs[] = {
	"0:,",
	"1:a,",
	"20:postfix example.test,",
	"10:0123456789,",
	"11:OK secure m,",
};

static void
test_every_split_point(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(split_inputs) / sizeof(split_inputs[0]); i++) {
		const char *s = split_inputs[i];
		size_t n = strlen(s);

		for (k = 0; k < n; k++) {
			int rc = mtasts_netstring_decode(s, k, SMAX, NULL,
			    NULL, NULL);

			if (rc != MTASTS_EAGAIN)
				fail_msg("\"%s\" prefix %zu: got %d", s, k, rc);
		}
		assert_int_equal(mtasts_netstring_decode(s, n, SMAX, NULL,
				     NULL, NULL),
		    MTASTS_OK);
	}
}

static void
test_stream_byte_by_byte(void **state)
{
	static const char stream[] = "3:abc,0:,20:postfix example.test,"
				     "5:\0\1\2\3\4,1:z,";
	static const char *want[] = {"abc", "", "postfix example.test",
	    "\0\1\2\3\4", "z"};
	static const size_t wantlen[] = {3, 0, 20, 5, 1};
	size_t total = sizeof(stream) - 1, start = 0, end, got = 0;

	(void)state;
	/* Bytes arrive one at a time; decode whenever one arrives. */
	for (end = 1; end <= total; end++) {
		const char *p;
		size_t plen, used;
		int rc = mtasts_netstring_decode(stream + start, end - start,
		    SMAX, &p, &plen, &used);

		if (rc == MTASTS_EAGAIN)
			continue;
		assert_int_equal(rc, MTASTS_OK);
		assert_true(got < 5);
		assert_int_equal(plen, wantlen[got]);
		assert_memory_equal(p, want[got], plen);
		/* It completes exactly at this byte. */
		assert_int_equal(start + used, end);
		start += used;
		got++;
	}
	assert_int_equal(got, 5);
	assert_int_equal(start, total);
}

/* A payload of exactly max bytes passes, max + 1 does not. */
static void
test_max_boundary(void **state)
{
	size_t n = SMAX, cap = n + 16, len;
	char *payload = malloc(n + 1), *buf = malloc(cap);
	const char *p;
	size_t plen, used;

	(void)state;
	assert_non_null(payload);
	assert_non_null(buf);
	memset(payload, 'x', n + 1);
	len = mtasts_netstring_encode(buf, cap, payload, n);
	assert_int_equal(len, n + 8); /* "100000:" + payload + "," */
	assert_int_equal(mtasts_netstring_decode(buf, len, SMAX, &p, &plen,
			     &used),
	    MTASTS_OK);
	assert_int_equal(plen, n);
	assert_int_equal(used, len);
	assert_ptr_equal(p, buf + 7);
	assert_int_equal(mtasts_netstring_decode(buf, len, SMAX - 1, &p,
			     &plen, &used),
	    MTASTS_ETOOBIG);
	/* Every incomplete prefix is EAGAIN (sample the long payload). */
	for (plen = 0; plen < len; plen += (plen < 16 ? 1 : 997))
		assert_int_equal(mtasts_netstring_decode(buf, plen, SMAX, NULL,
				     NULL, NULL),
		    MTASTS_EAGAIN);
	assert_int_equal(mtasts_netstring_decode(buf, len - 1, SMAX, NULL,
			     NULL, NULL),
	    MTASTS_EAGAIN);
	len = mtasts_netstring_encode(buf, cap, payload, n + 1);
	assert_int_equal(len, n + 9);
	assert_int_equal(mtasts_netstring_decode(buf, len, SMAX, &p, &plen,
			     &used),
	    MTASTS_ETOOBIG);
	/* Refused on the digits alone. */
	assert_int_equal(mtasts_netstring_decode(buf, 6, SMAX, &p, &plen,
			     &used),
	    MTASTS_ETOOBIG);
	free(payload);
	free(buf);
}

struct evec {
	const char *name;
	const char *in;
	size_t len;
	size_t cap;
	const char *want; /* NULL: must not fit (returns 0) */
	size_t wantlen;
};

#define WANT(s) .want = (s), .wantlen = sizeof(s) - 1

static const struct evec evectors[] = {
	{"empty", IN(""), 16, WANT("0:,")},
	{"empty-exact", IN(""), 3, WANT("0:,")},
	{"empty-short", IN(""), 2, NULL, 0},
	{"word", IN("NOTFOUND "), 64, WANT("9:NOTFOUND ,")},
	{"word-exact", IN("NOTFOUND "), 12, WANT("9:NOTFOUND ,")},
	{"word-short", IN("NOTFOUND "), 11, NULL, 0},
	{"ten", IN("0123456789"), 64, WANT("10:0123456789,")},
	{"binary", IN("\0,:\xff"), 64, WANT("4:\0,:\xff,")},
	{"zero-cap", IN("a"), 0, NULL, 0},
};

static void
test_encode_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(evectors) / sizeof(evectors[0]); i++) {
		const struct evec *v = &evectors[i];
		char out[64];
		size_t n;

		memset(out, '#', sizeof(out));
		n = mtasts_netstring_encode(out, v->cap, v->in, v->len);
		if (v->want == NULL) {
			if (n != 0)
				fail_msg("%s: fit in %zu bytes", v->name,
				    v->cap);
			continue;
		}
		if (n != v->wantlen || memcmp(out, v->want, n) != 0)
			fail_msg("%s: wrong encoding (%zu bytes)", v->name, n);
		if (n < sizeof(out))
			assert_int_equal(out[n], '#'); /* nothing beyond */
	}
	assert_int_equal(mtasts_netstring_encode(NULL, 0, NULL, 0), 0);
	assert_int_equal(mtasts_netstring_encode(NULL, 10, "a", 1), 0);
	assert_int_equal(mtasts_netstring_encode((char[8]){0}, 8, NULL, 1), 0);
}

/* Payload already inside the output buffer (overlap) encodes right. */
static void
test_encode_in_place(void **state)
{
	char buf[32] = "hello";
	size_t n;

	(void)state;
	n = mtasts_netstring_encode(buf, sizeof(buf), buf, 5);
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "5:hello,", 8);
}

/* encode then decode gives back every length from 0 to 1200 and some
 * around the digit-count boundaries. */
static void
test_round_trip(void **state)
{
	static const size_t extra[] = {9999, 10000, 99999, 100000};
	char payload[100001], *buf = malloc(100016);
	size_t i, n;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 131 + 7);
	for (n = 0; n < 1200 + 4; n++) {
		size_t plen = n < 1200 ? n : extra[n - 1200];
		size_t len = mtasts_netstring_encode(buf, 100016, payload,
		    plen);
		const char *p;
		size_t got, used;

		assert_true(len > plen);
		assert_int_equal(mtasts_netstring_decode(buf, len, SMAX, &p,
				     &got, &used),
		    MTASTS_OK);
		assert_int_equal(got, plen);
		assert_int_equal(used, len);
		assert_memory_equal(p, payload, plen);
	}
	free(buf);
}

struct svec {
	const char *name;
	const char *in;
	size_t len;
	int code;
	const char *sname; /* checked on MTASTS_OK */
	const char *skey;  /* checked on MTASTS_OK */
};

static const struct svec svectors[] = {
	{"plain", IN("postfix example.test"), MTASTS_OK, "postfix",
	    "example.test"},
	{"bracket-key", IN("strict [mx.example.test]:25"), MTASTS_OK,
	    "strict", "[mx.example.test]:25"},
	{"ipv6-literal", IN("m [ipv6:2001:db8::1]"), MTASTS_OK, "m",
	    "[ipv6:2001:db8::1]"},
	{"upper-trailing-dot", IN("postfix EXAMPLE.TEST."), MTASTS_OK,
	    "postfix", "EXAMPLE.TEST."},
	{"utf8-key", IN("postfix b\xc3\xbc" "cher.test"), MTASTS_OK,
	    "postfix", "b\xc3\xbc" "cher.test"},
	{"one-char-each", IN("a b"), MTASTS_OK, "a", "b"},
	{"empty", IN(""), MTASTS_ESYNTAX, NULL, NULL},
	{"no-space", IN("postfix"), MTASTS_ESYNTAX, NULL, NULL},
	{"only-space", IN(" "), MTASTS_ESYNTAX, NULL, NULL},
	{"empty-name", IN(" example.test"), MTASTS_ESYNTAX, NULL, NULL},
	{"empty-key", IN("postfix "), MTASTS_ESYNTAX, NULL, NULL},
	{"two-spaces", IN("postfix  example.test"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"second-space", IN("postfix example.test x"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"trailing-space", IN("postfix example.test "), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"tab-separator", IN("postfix\texample.test"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"nul-in-key", IN("postfix exa\0mple.test"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"nul-in-name", IN("post\0fix example.test"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"cr-in-key", IN("postfix example.test\r"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"lf-in-key", IN("postfix example.test\n"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"del-in-key", IN("postfix example\x7f.test"), MTASTS_ESYNTAX, NULL,
	    NULL},
	{"esc-in-name", IN("\x1b[1m example.test"), MTASTS_ESYNTAX, NULL,
	    NULL},
};

static void
test_split_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(svectors) / sizeof(svectors[0]); i++) {
		const struct svec *v = &svectors[i];
		const char *name = NULL, *key = NULL;
		size_t nlen = 0, klen = 0;
		int rc;

		rc = mtasts_socketmap_split(v->in, v->len, &name, &nlen, &key,
		    &klen);
		if (rc != v->code)
			fail_msg("%s: got %d, want %d", v->name, rc, v->code);
		if (rc != MTASTS_OK)
			continue;
		if (nlen != strlen(v->sname) ||
		    memcmp(name, v->sname, nlen) != 0 ||
		    klen != strlen(v->skey) || memcmp(key, v->skey, klen) != 0)
			fail_msg("%s: wrong split", v->name);
		assert_ptr_equal(name, v->in);
		assert_ptr_equal(key, v->in + nlen + 1);
	}
	assert_int_equal(mtasts_socketmap_split(NULL, 0, NULL, NULL, NULL,
			     NULL),
	    MTASTS_ESYNTAX);
	assert_int_equal(mtasts_socketmap_split("a b", 3, NULL, NULL, NULL,
			     NULL),
	    MTASTS_OK);
}

/* Decode a request from a pipelined buffer and split it. */
static void
test_decode_then_split(void **state)
{
	static const char in[] = "20:postfix example.test,"
				 "17:strict [10.0.0.1],";
	const char *p, *name, *key;
	size_t plen, used, nlen, klen;

	(void)state;
	assert_int_equal(mtasts_netstring_decode(in, sizeof(in) - 1, SMAX, &p,
			     &plen, &used),
	    MTASTS_OK);
	assert_int_equal(mtasts_socketmap_split(p, plen, &name, &nlen, &key,
			     &klen),
	    MTASTS_OK);
	assert_int_equal(klen, 12);
	assert_memory_equal(key, "example.test", 12);
	assert_int_equal(mtasts_netstring_decode(in + used,
			     sizeof(in) - 1 - used, SMAX, &p, &plen, &used),
	    MTASTS_OK);
	assert_int_equal(mtasts_socketmap_split(p, plen, &name, &nlen, &key,
			     &klen),
	    MTASTS_OK);
	assert_int_equal(nlen, 6);
	assert_memory_equal(name, "strict", 6);
	assert_memory_equal(key, "[10.0.0.1]", klen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_table),
	    cmocka_unit_test(test_decode_null_outputs),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_every_split_point),
	    cmocka_unit_test(test_stream_byte_by_byte),
	    cmocka_unit_test(test_max_boundary),
	    cmocka_unit_test(test_encode_table),
	    cmocka_unit_test(test_encode_in_place),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_split_table),
	    cmocka_unit_test(test_decode_then_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
