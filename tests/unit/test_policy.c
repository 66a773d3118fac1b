/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c: table-driven tests of the policy file parser
 * (RFC 8461 section 3.2 and decisions ),
 * generated hostile inputs, accessors, golden files and OOM torture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mtasts/policy.h"
#include "util/alloc.h"

#define NONE_ (-1)

struct pvec {
	const char *name;
	const char *in;
	size_t len;
	int code;
	int mode;		/* checked on MTASTS_OK */
	uint32_t max_age;	/* checked on MTASTS_OK */
	uint64_t raw;		/* checked on MTASTS_OK when != 0 */
	const char *mx;		/* space-separated; checked on MTASTS_OK */
	int nerr;		/* always checked */
	int nwarn;		/* always checked */
	unsigned eline;		/* first error: line (when code != OK) */
	const char *efield;	/* first error: field ("" when NULL) */
	const char *emsg;	/* substring of the first error, optional */
	size_t next;		/* extension count, checked on OK */
};

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define OK_ .code = MTASTS_OK
#define BAD .code = MTASTS_ESYNTAX
#define RFC_BODY                                                          \
	"version: STSv1\nmode: enforce\nmx: mail.example.com\n"            \
	"mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n"
#define RFC_MX "mail.example.com *.example.net backupmx.example.com"
#define HEAD "version: STSv1\nmode: enforce\nmax_age: 86400\n"
#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L64 L63 "a"
/* 63+1+63+1+63+1+61 = 253 bytes */
#define L61 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define D253 L63 "." L63 "." L63 "." L61
#define D254 L63 "." L63 "." L63 "." L61 "b"
#define K32 "abcdefghijabcdefghijabcdefghijab"

static const struct pvec vectors[] = {
	/* ---- valid policies ---- */
	{"rfc-example-lf", IN(RFC_BODY), OK_, MTASTS_MODE_ENFORCE, 604800, 0,
	    RFC_MX, 0, 0, 0, NULL, NULL, 0},
	{"rfc-example-crlf", IN("version: STSv1\r\nmode: enforce\r\nmx: "
	    "mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example."
	    "com\r\nmax_age: 604800\r\n"), OK_, MTASTS_MODE_ENFORCE, 604800,
	    0, RFC_MX, 0, 0, 0, NULL, NULL, 0},
	{"mixed-lf-crlf (A-3)", IN("version: STSv1\r\nmode: testing\nmx: "
	    "a.example\r\nmax_age: 1\n"), OK_, MTASTS_MODE_TESTING, 1, 0,
	    "a.example", 0, 0, 0, NULL, NULL, 0},
	{"no-final-newline", IN("version: STSv1\nmode: none\nmax_age: 5"),
	    OK_, MTASTS_MODE_NONE, 5, 0, "", 0, 0, 0, NULL, NULL, 0},
	{"two-trailing-lf (A-5)", IN(HEAD "mx: a.example\n\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0, 0, 0, NULL, NULL,
	    0},
	{"many-trailing-mixed-ends (A-5)", IN(HEAD "mx: a.example\r\n\r\n\n"
	    "\r\n\n"), OK_, MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0, 0,
	    0, NULL, NULL, 0},
	{"mode-testing", IN("version: STSv1\nmode: testing\nmx: mx.example\n"
	    "max_age: 86400\n"), OK_, MTASTS_MODE_TESTING, 86400, 0,
	    "mx.example", 0, 0, 0, NULL, NULL, 0},
	{"mode-none-without-mx", IN("version: STSv1\nmode: none\nmax_age: "
	    "86400\n"), OK_, MTASTS_MODE_NONE, 86400, 0, "", 0, 0, 0, NULL,
	    NULL, 0},
	{"mode-none-with-mx", IN("version: STSv1\nmode: none\nmx: m.example\n"
	    "max_age: 86400\n"), OK_, MTASTS_MODE_NONE, 86400, 0, "m.example",
	    0, 0, 0, NULL, NULL, 0},
	{"fields-in-any-order", IN("max_age: 10\nmx: b.example\nmode: "
	    "enforce\nmx: a.example\nversion: STSv1\n"), OK_,
	    MTASTS_MODE_ENFORCE, 10, 0, "b.example a.example", 0, 0, 0, NULL,
	    NULL, 0},
	{"no-space-after-colon", IN("version:STSv1\nmode:enforce\nmx:a.example"
	    "\nmax_age:7\n"), OK_, MTASTS_MODE_ENFORCE, 7, 0, "a.example", 0,
	    0, 0, NULL, NULL, 0},
	{"tabs-after-colon", IN("version:\tSTSv1\nmode: \t enforce\nmx:\t"
	    "a.example\nmax_age:\t\t7\n"), OK_, MTASTS_MODE_ENFORCE, 7, 0,
	    "a.example", 0, 0, 0, NULL, NULL, 0},
	{"trailing-whitespace", IN("version: STSv1 \nmode: enforce\t \nmx: "
	    "a.example  \r\nmax_age: 7 \t"), OK_, MTASTS_MODE_ENFORCE, 7, 0,
	    "a.example", 0, 0, 0, NULL, NULL, 0},
	{"max-age-zero", IN("version: STSv1\nmode: none\nmax_age: 0\n"), OK_,
	    MTASTS_MODE_NONE, 0, 0, "", 0, 0, 0, NULL, NULL, 0},
	{"max-age-leading-zeros", IN("version: STSv1\nmode: none\nmax_age: "
	    "0000604800\n"), OK_, MTASTS_MODE_NONE, 604800, 604800, "", 0, 0,
	    0, NULL, NULL, 0},
	{"max-age-at-limit", IN("version: STSv1\nmode: none\nmax_age: "
	    "31557600\n"), OK_, MTASTS_MODE_NONE, 31557600, 31557600, "", 0,
	    0, 0, NULL, NULL, 0},
	{"max-age-limit-plus-one-clamped (A-4)", IN("version: STSv1\nmode: "
	    "none\nmax_age: 31557601\n"), OK_, MTASTS_MODE_NONE, 31557600,
	    31557601, "", 0, 1, 0, NULL, NULL, 0},
	{"max-age-ten-nines-clamped (A-4)", IN("version: STSv1\nmode: none\n"
	    "max_age: 9999999999\n"), OK_, MTASTS_MODE_NONE, 31557600,
	    9999999999ull, "", 0, 1, 0, NULL, NULL, 0},
	{"max-age-2^32-clamped (A-4)", IN("version: STSv1\nmode: none\n"
	    "max_age: 4294967296\n"), OK_, MTASTS_MODE_NONE, 31557600,
	    4294967296ull, "", 0, 1, 0, NULL, NULL, 0},
	{"extension-kept", IN(HEAD "mx: a.example\nfoo: bar baz=;x\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0, 0, 0, NULL, NULL,
	    1},
	{"extension-utf8-2-and-3-byte", IN(HEAD "mx: a.example\nnote: "
	    "h\xC3\xA9llo \xE2\x82\xAC\n"), OK_, MTASTS_MODE_ENFORCE, 86400,
	    0, "a.example", 0, 0, 0, NULL, NULL, 1},
	{"extension-utf8-4-byte", IN(HEAD "mx: a.example\nnote: "
	    "\xF0\x9F\x93\xA7\n"), OK_, MTASTS_MODE_ENFORCE, 86400, 0,
	    "a.example", 0, 0, 0, NULL, NULL, 1},
	{"extension-name-punctuation", IN(HEAD "mx: a.example\nx_y-z.w: 1\n"
	    "9abc: z\n"), OK_, MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0,
	    0, 0, NULL, NULL, 2},
	{"extension-name-32-chars", IN(HEAD "mx: a.example\n" K32 ": v\n"),
	    OK_, MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0, 0, 0, NULL,
	    NULL, 1},
	{"extension-duplicate-first-wins", IN(HEAD "mx: a.example\nfoo: 1\n"
	    "foo: 2\n"), OK_, MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0,
	    1, 0, NULL, NULL, 1},
	{"duplicate-mode-first-wins (R8461-41)", IN("version: STSv1\nmode: "
	    "testing\nmode: enforce\nmx: a.example\nmax_age: 9\n"), OK_,
	    MTASTS_MODE_TESTING, 9, 0, "a.example", 0, 1, 0, NULL, NULL, 0},
	{"duplicate-max-age-first-wins", IN("version: STSv1\nmode: none\n"
	    "max_age: 9\nmax_age: 31557600\n"), OK_, MTASTS_MODE_NONE, 9, 0,
	    "", 0, 1, 0, NULL, NULL, 0},
	{"duplicate-version-ok", IN("version: STSv1\nversion: STSv1\nmode: "
	    "none\nmax_age: 9\n"), OK_, MTASTS_MODE_NONE, 9, 0, "", 0, 1, 0,
	    NULL, NULL, 0},
	{"mx-upper-case-kept-as-written", IN(HEAD "mx: MAIL.Example.COM\n"),
	    OK_, MTASTS_MODE_ENFORCE, 86400, 0, "MAIL.Example.COM", 0, 0, 0,
	    NULL, NULL, 0},
	{"mx-numeric-labels", IN(HEAD "mx: 123.45.example\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "123.45.example", 0, 0, 0, NULL,
	    NULL, 0},
	{"mx-inner-hyphens", IN(HEAD "mx: mx--1.ex-ample.com\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "mx--1.ex-ample.com", 0, 0, 0,
	    NULL, NULL, 0},
	{"mx-single-label", IN(HEAD "mx: localhost\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "localhost", 0, 0, 0, NULL, NULL,
	    0},
	{"mx-a-label", IN(HEAD "mx: xn--mll-hoa.example\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "xn--mll-hoa.example", 0, 0, 0,
	    NULL, NULL, 0},
	{"mx-label-63-bytes", IN(HEAD "mx: " L63 ".example\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, L63 ".example", 0, 0, 0, NULL,
	    NULL, 0},
	{"mx-domain-253-bytes", IN(HEAD "mx: " D253 "\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, D253, 0, 0, 0, NULL, NULL, 0},
	{"mx-wildcard", IN(HEAD "mx: *.a.example\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "*.a.example", 0, 0, 0, NULL, NULL,
	    0},
	{"mx-duplicates-all-kept", IN(HEAD "mx: a.example\nmx: a.example\n"),
	    OK_, MTASTS_MODE_ENFORCE, 86400, 0, "a.example a.example", 0, 0,
	    0, NULL, NULL, 0},
	{"charset-independent-ascii (A-16)", IN(HEAD "mx: a.example\n"), OK_,
	    MTASTS_MODE_ENFORCE, 86400, 0, "a.example", 0, 0, 0, NULL, NULL,
	    0},

	/* ---- invalid: framing, bytes, lines ---- */
	{"empty-input", IN(""), BAD, 0, 0, 0, NULL, 1, 0, 0, NULL, "empty",
	    0},
	{"only-spaces", IN("   "), BAD, 0, 0, 0, NULL, 4, 0, 1, NULL,
	    "only whitespace", 0},
	{"only-newlines", IN("\n\n\n"), BAD, 0, 0, 0, NULL, 3, 0, 0,
	    "version", "no \"version\"", 0},
	{"only-crlf", IN("\r\n\r\n"), BAD, 0, 0, 0, NULL, 3, 0, 0, "version",
	    NULL, 0},
	{"cr-only-line-ends (A-3)", IN("version: STSv1\rmode: enforce\rmx: "
	    "a.example\rmax_age: 86400\r"), BAD, 0, 0, 0, NULL, 3, 0, 1,
	    "version", "bare CR", 0},
	{"bare-cr-at-eof", IN("version: STSv1\nmode: none\nmax_age: 5\r"), BAD,
	    0, 0, 0, NULL, 1, 0, 3, "max_age", "carriage return", 0},
	{"cr-cr-lf", IN("version: STSv1\nmode: none\r\r\nmax_age: 5\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 2, "mode", "CR", 0},
	{"bare-cr-at-line-start", IN("version: STSv1\n\rmode: none\nmax_age: "
	    "5\n"), BAD, 0, 0, 0, NULL, 2, 0, 2, NULL, "carriage return", 0},
	{"nul-in-value", IN("version: STSv1\nmode: enf\0orce\nmx: a.example\n"
	    "max_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, "mode", "NUL", 0},
	{"nul-at-line-start", IN("\0version: STSv1\nmode: none\nmax_age: 5\n"),
	    BAD, 0, 0, 0, NULL, 2, 0, 1, NULL, "NUL", 0},
	{"nul-only", IN("\0"), BAD, 0, 0, 0, NULL, 4, 0, 1, NULL, "NUL", 0},
	{"nul-in-extension", IN(HEAD "mx: a.example\nfoo: a\0b\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 5, "foo", "NUL", 0},
	{"utf8-bom", IN("\xEF\xBB\xBFversion: STSv1\nmode: none\nmax_age: 5\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 1, NULL, "byte order mark", 0},
	{"blank-line-in-middle (A-5)", IN("version: STSv1\nmode: none\n\n"
	    "max_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 3, NULL, "empty line",
	    0},
	{"blank-crlf-line-in-middle (A-5)", IN("version: STSv1\r\n\r\nmode: "
	    "none\r\nmax_age: 5\r\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, NULL,
	    "empty line", 0},
	{"whitespace-line-in-middle", IN("version: STSv1\n  \nmode: none\n"
	    "max_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, NULL,
	    "only whitespace", 0},
	{"whitespace-line-at-end", IN("version: STSv1\nmode: none\nmax_age: 5"
	    "\n \n"), BAD, 0, 0, 0, NULL, 1, 0, 4, NULL, "only whitespace", 0},
	{"leading-space-before-key", IN("version: STSv1\n mode: none\n"
	    "max_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, NULL,
	    "starts with whitespace", 0},
	{"leading-tab-before-key", IN("version: STSv1\n\tmode: none\nmax_age: "
	    "5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, NULL, "column 1", 0},
	{"space-before-colon", IN("version: STSv1\nmode : none\nmax_age: 5\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 2, "mode", "between the key and", 0},
	{"space-before-colon-extension (fuzz)", IN(HEAD "mx: a.b\nfoo"
	    "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"
	    "\t\t\t\t\t\t\t\t : bar\n"), BAD, 0, 0, 0, NULL, 1, 0, 5, "foo",
	    "between the key and", 0},
	{"missing-colon", IN("version: STSv1\nmode none\nmax_age: 5\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 2, "mode", "\":\" is missing", 0},
	{"key-only", IN("version: STSv1\nmode\nmax_age: 5\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 2, "mode", "missing \":\"", 0},
	{"equals-instead-of-colon", IN("version=STSv1\nmode: none\nmax_age: "
	    "5\n"), BAD, 0, 0, 0, NULL, 1, 0, 1, "version", "'='", 0},
	{"comment-line", IN("# policy\nversion: STSv1\nmode: none\nmax_age: "
	    "5\n"), BAD, 0, 0, 0, NULL, 1, 0, 1, NULL, "comments", 0},
	{"trailing-comment", IN("version: STSv1\nmode: none\nmax_age: 5 # s\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age", "not a number", 0},
	{"txt-record-as-policy", IN("v=STSv1; id=20190429T010101;"), BAD, 0,
	    0, 0, NULL, 4, 0, 1, "v", NULL, 0},
	{"html-body", IN("<html><body>Not Found</body></html>\n"), BAD, 0, 0,
	    0, NULL, 4, 0, 1, NULL, "'<'", 0},
	{"json-body", IN("{\"version\": \"STSv1\"}\n"), BAD, 0, 0, 0, NULL, 4,
	    0, 1, NULL, "'{'", 0},
	{"key-starts-with-underscore", IN(HEAD "mx: a.example\n_foo: 1\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 5, "_foo", "letter or digit", 0},
	{"key-33-chars", IN(HEAD "mx: a.example\n" K32 "x: 1\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 5, NULL, "longer than 32", 0},
	{"key-non-ascii", IN(HEAD "mx: a.example\nm\xC3\xB6" "de: 1\n"), BAD, 0,
	    0, 0, NULL, 1, 0, 5, "m", "0xC3", 0},
	{"key-wrong-case-is-extension (A-1)", IN("version: STSv1\nMode: "
	    "enforce\nmx: a.example\nmax_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 1,
	    0, "mode", "no \"mode\"", 0},
	{"key-with-slash", IN(HEAD "mx: a.example\na/b: 1\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 5, "a", "'/'", 0},

	/* ---- invalid: version / mode / max_age values ---- */
	{"version-stsv2", IN("version: STSv2\nmode: none\nmax_age: 5\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 1, "version", "\"STSv2\" is not STSv1", 0},
	{"version-lower-case", IN("version: stsv1\nmode: none\nmax_age: 5\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 1, "version", "case-sensitive", 0},
	{"version-empty", IN("version:\nmode: none\nmax_age: 5\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 1, "version", "empty", 0},
	{"version-with-semicolon", IN("version: STSv1;\nmode: none\nmax_age: "
	    "5\n"), BAD, 0, 0, 0, NULL, 1, 0, 1, "version", NULL, 0},
	{"version-latin1", IN("version: STSv1\xA0\nmode: none\nmax_age: 5\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 1, "version", "0xA0", 0},
	{"mode-capitalised (A-1)", IN("version: STSv1\nmode: Enforce\nmx: "
	    "a.example\nmax_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, "mode",
	    "\"Enforce\" is not one of enforce, testing, none (values are "
	    "case-sensitive)", 0},
	{"mode-unknown", IN("version: STSv1\nmode: report\nmax_age: 5\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 2, "mode", "\"report\"", 0},
	{"mode-empty", IN("version: STSv1\nmode:   \nmax_age: 5\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 2, "mode", "empty", 0},
	{"mode-two-words", IN("version: STSv1\nmode: enforce testing\nmx: "
	    "a.b\nmax_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, "mode", NULL,
	    0},
	{"mode-inner-tab", IN("version: STSv1\nmode: en\tforce\nmx: a.b\n"
	    "max_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 2, "mode", "tab", 0},
	{"duplicate-mode-invalid-second (A-1)", IN("version: STSv1\nmode: "
	    "testing\nmode: Enforce\nmx: a.example\nmax_age: 5\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 3, "mode", "Enforce", 0},
	{"duplicate-version-invalid-second (A-1)", IN("version: STSv1\n"
	    "version: STSv2\nmode: none\nmax_age: 5\n"), BAD, 0, 0, 0, NULL,
	    1, 0, 2, "version", NULL, 0},
	{"max-age-negative", IN("version: STSv1\nmode: none\nmax_age: -1\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age", "not a number", 0},
	{"max-age-plus-sign", IN("version: STSv1\nmode: none\nmax_age: +5\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age", NULL, 0},
	{"max-age-unit", IN("version: STSv1\nmode: none\nmax_age: 1d\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 3, "max_age", "\"1d\"", 0},
	{"max-age-hex", IN("version: STSv1\nmode: none\nmax_age: 0x10\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 3, "max_age", NULL, 0},
	{"max-age-inner-space", IN("version: STSv1\nmode: none\nmax_age: 60 0"
	    "\n"), BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age", NULL, 0},
	{"max-age-decimal", IN("version: STSv1\nmode: none\nmax_age: 1.5\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age", NULL, 0},
	{"max-age-11-digits", IN("version: STSv1\nmode: none\nmax_age: "
	    "00000000001\n"), BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age",
	    "11 digits", 0},
	{"max-age-huge", IN("version: STSv1\nmode: none\nmax_age: "
	    "99999999999999999999999\n"), BAD, 0, 0, 0, NULL, 1, 0, 3,
	    "max_age", "23 digits", 0},
	{"max-age-empty", IN("version: STSv1\nmode: none\nmax_age:\n"), BAD, 0,
	    0, 0, NULL, 1, 0, 3, "max_age", "empty", 0},
	{"max-age-fullwidth-digit", IN("version: STSv1\nmode: none\nmax_age: "
	    "\xEF\xBC\x95\n"), BAD, 0, 0, 0, NULL, 1, 0, 3, "max_age", "0xEF",
	    0},

	/* ---- invalid: mx values ---- */
	{"mx-trailing-dot (A-6)", IN(HEAD "mx: mail.example.com.\n"), BAD, 0,
	    0, 0, NULL, 1, 0, 4, "mx", "trailing root dot", 0},
	{"mx-star-alone", IN(HEAD "mx: *\n"), BAD, 0, 0, 0, NULL, 1, 0, 4,
	    "mx", "wildcard", 0},
	{"mx-star-dot-only", IN(HEAD "mx: *.\n"), BAD, 0, 0, 0, NULL, 1, 0, 4,
	    "mx", "nothing follows", 0},
	{"mx-double-wildcard", IN(HEAD "mx: *.*.example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "left-most", 0},
	{"mx-inner-wildcard", IN(HEAD "mx: a.*.example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "left-most", 0},
	{"mx-partial-wildcard", IN(HEAD "mx: *a.example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "wildcard", 0},
	{"mx-suffix-wildcard", IN(HEAD "mx: mail*.example.com\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 4, "mx", "wildcard", 0},
	{"mx-dot-prefix-postfix-style", IN(HEAD "mx: .example.com\n"), BAD, 0,
	    0, 0, NULL, 1, 0, 4, "mx", "empty label", 0},
	{"mx-double-dot", IN(HEAD "mx: mail..example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "empty label", 0},
	{"mx-leading-hyphen", IN(HEAD "mx: -mail.example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "starts with a hyphen", 0},
	{"mx-trailing-hyphen", IN(HEAD "mx: mail-.example.com\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 4, "mx", "ends with a hyphen", 0},
	{"mx-last-label-trailing-hyphen", IN(HEAD "mx: mail.example-\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 4, "mx", "ends with a hyphen", 0},
	{"mx-underscore", IN(HEAD "mx: mail_1.example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "underscore", 0},
	{"mx-label-64-bytes", IN(HEAD "mx: " L64 ".example\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "longer than 63", 0},
	{"mx-domain-254-bytes", IN(HEAD "mx: " D254 "\n"), BAD, 0, 0, 0, NULL,
	    1, 0, 4, "mx", "longer than 253", 0},
	{"mx-with-port", IN(HEAD "mx: mail.example.com:25\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "invalid character", 0},
	{"mx-u-label", IN(HEAD "mx: m\xC3\xA4il.example.com\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 4, "mx", "0xC3", 0},
	{"mx-two-on-one-line (R8461-36)", IN(HEAD "mx: a.example b.example\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 4, "mx", NULL, 0},
	{"mx-comma-list (R8461-36)", IN(HEAD "mx: a.example,b.example\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 4, "mx", "invalid character", 0},
	{"mx-empty", IN(HEAD "mx:\n"), BAD, 0, 0, 0, NULL, 1, 0, 4, "mx",
	    "empty", 0},
	{"mx-ip-literal", IN(HEAD "mx: [192.0.2.1]\n"), BAD, 0, 0, 0, NULL, 1,
	    0, 4, "mx", NULL, 0},
	{"mx-only-invalid-under-testing", IN("version: STSv1\nmode: testing\n"
	    "mx: bad_host\nmax_age: 5\n"), BAD, 0, 0, 0, NULL, 1, 0, 3, "mx",
	    NULL, 0},

	/* ---- invalid: cardinality (R8461-39) ---- */
	{"missing-version", IN("mode: none\nmax_age: 5\n"), BAD, 0, 0, 0, NULL,
	    1, 0, 0, "version", "add \"version: STSv1\"", 0},
	{"missing-mode", IN("version: STSv1\nmax_age: 5\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 0, "mode", "no \"mode\"", 0},
	{"missing-max-age", IN("version: STSv1\nmode: none\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 0, "max_age", "no \"max_age\"", 0},
	{"missing-everything-but-mx", IN("mx: a.example\n"), BAD, 0, 0, 0,
	    NULL, 3, 0, 0, "version", NULL, 0},
	{"enforce-without-mx", IN("version: STSv1\nmode: enforce\nmax_age: 5"
	    "\n"), BAD, 0, 0, 0, NULL, 1, 0, 0, "mx", "needs at least one", 0},
	{"testing-without-mx", IN("version: STSv1\nmode: testing\nmax_age: 5"
	    "\n"), BAD, 0, 0, 0, NULL, 1, 0, 0, "mx", "testing", 0},

	/* ---- invalid: extension values ---- */
	{"ext-invalid-utf8", IN(HEAD "mx: a.b\nnote: \xC3\x28\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 5, "note", "invalid UTF-8", 0},
	{"ext-overlong-utf8", IN(HEAD "mx: a.b\nnote: \xC0\xAF\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 5, "note", "invalid UTF-8", 0},
	{"ext-overlong-3-byte", IN(HEAD "mx: a.b\nnote: \xE0\x80\xAF\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 5, "note", "UTF-8", 0},
	{"ext-surrogate", IN(HEAD "mx: a.b\nnote: \xED\xA0\x80\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 5, "note", "UTF-8", 0},
	{"ext-above-10ffff", IN(HEAD "mx: a.b\nnote: \xF4\x90\x80\x80\n"), BAD,
	    0, 0, 0, NULL, 1, 0, 5, "note", "UTF-8", 0},
	{"ext-truncated-utf8-at-eol", IN(HEAD "mx: a.b\nnote: ab\xE2\x82\n"),
	    BAD, 0, 0, 0, NULL, 1, 0, 5, "note", "UTF-8", 0},
	{"ext-lone-continuation", IN(HEAD "mx: a.b\nnote: \x80\n"), BAD, 0, 0,
	    0, NULL, 1, 0, 5, "note", "0x80", 0},
	{"ext-inner-tab", IN(HEAD "mx: a.b\nnote: a\tb\n"), BAD, 0, 0, 0, NULL,
	    1, 0, 5, "note", "tab", 0},
	{"ext-del", IN(HEAD "mx: a.b\nnote: a\x7F\n"), BAD, 0, 0, 0, NULL, 1,
	    0, 5, "note", "0x7F", 0},
	{"ext-escape-char", IN(HEAD "mx: a.b\nnote: \x1B[31m\n"), BAD, 0, 0, 0,
	    NULL, 1, 0, 5, "note", "0x1B", 0},
	{"ext-empty", IN(HEAD "mx: a.b\nnote:\n"), BAD, 0, 0, 0, NULL, 1, 0, 5,
	    "note", "empty", 0},

	/* ---- several errors are all reported ---- */
	{"all-errors-collected", IN("version: STSv2\nmode: Enforce\nmx: "
	    "bad_host\nmax_age: soon\n\nfoo:\n"), BAD, 0, 0, 0, NULL, 6, 0, 1,
	    "version", NULL, 0},
	{"errors-and-warnings-together", IN("version: STSv1\nmode: testing\n"
	    "mode: enforce\nmx: a.b.\nmax_age: 99999999\n"), BAD, 0, 0, 0,
	    NULL, 1, 2, 4, "mx", NULL, 0},
};

static void
split_check(const struct mtasts_policy *p, const char *want)
{
	const char *w = want ? want : "";
	size_t i = 0;

	while (*w != '\0') {
		size_t n = strcspn(w, " ");
		const char *got = mtasts_policy_mx(p, i);

		assert_non_null(got);
		assert_int_equal(strlen(got), n);
		assert_memory_equal(got, w, n);
		i++;
		w += n;
		w += strspn(w, " ");
	}
	assert_int_equal(mtasts_policy_mx_count(p), i);
	assert_null(mtasts_policy_mx(p, i));
}

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
run_vector(const struct pvec *v)
{
	struct mtasts_policy *p = (struct mtasts_policy *)&p;
	struct mtasts_diags d;
	struct mtasts_error err;
	int rc;

	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	rc = mtasts_policy_parse(v->in, v->len, &p, &d, &err);
	if (rc != v->code || (int)d.errors != v->nerr ||
	    (int)d.warnings != v->nwarn) {
		size_t i;
		char line[512];

		print_error("vector %s: rc %d (want %d) errors %zu (want %d) "
			    "warnings %zu (want %d)\n", v->name, rc, v->code,
		    d.errors, v->nerr, d.warnings, v->nwarn);
		for (i = 0; i < d.count; i++)
			print_error("  %s\n",
			    mtasts_diag_format(&d.item[i], line,
				sizeof(line)));
	}
	assert_int_equal(rc, v->code);
	assert_int_equal(d.errors, v->nerr);
	assert_int_equal(d.warnings, v->nwarn);
	if (rc == MTASTS_OK) {
		assert_non_null(p);
		assert_int_equal(err.code, MTASTS_OK);
		assert_int_equal(mtasts_policy_mode(p), v->mode);
		assert_int_equal(mtasts_policy_max_age(p), v->max_age);
		if (v->raw != 0)
			assert_int_equal(mtasts_policy_max_age_raw(p), v->raw);
		assert_string_equal(mtasts_policy_version(p), "STSv1");
		split_check(p, v->mx);
		assert_int_equal(mtasts_policy_ext_count(p), v->next);
		mtasts_policy_free(p);
	} else {
		const struct mtasts_diag *e = first_error(&d);

		assert_null(p);
		assert_int_equal(err.code, v->code);
		assert_true(err.msg[0] != '\0');
		assert_non_null(e);
		if (e->line != v->eline ||
		    strcmp(e->field, v->efield ? v->efield : "") != 0 ||
		    (v->emsg && strstr(e->msg, v->emsg) == NULL))
			print_error("vector %s: first error line %u field "
				    "\"%s\" msg \"%s\"\n",
			    v->name, e->line, e->field, e->msg);
		assert_int_equal(e->line, v->eline);
		assert_string_equal(e->field, v->efield ? v->efield : "");
		if (v->emsg != NULL)
			assert_non_null(strstr(e->msg, v->emsg));
	}
}

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		run_vector(&vectors[i]);
}

static void
test_message_format(void **state)
{
	struct mtasts_diags d;
	struct mtasts_error err;
	struct mtasts_policy *p;
	char buf[256];
	static const char in[] = "version: STSv1\nmode: Enforce\nmx: a.b\n"
				 "max_age: 5\n";

	(void)state;
	mtasts_diags_init(&d);
	assert_int_equal(mtasts_policy_parse(in, sizeof(in) - 1, &p, &d, &err),
	    MTASTS_ESYNTAX);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.item[0].column, 7);
	assert_string_equal(mtasts_diag_format(&d.item[0], buf, sizeof(buf)),
	    "error: line 2, field \"mode\": \"Enforce\" is not one of "
	    "enforce, testing, none (values are case-sensitive)");
	assert_string_equal(err.msg, "invalid policy: line 2, field \"mode\": "
				     "\"Enforce\" is not one of enforce, "
				     "testing, none (values are "
				     "case-sensitive)");
	/* Works without diags and without err too. */
	assert_int_equal(mtasts_policy_parse(in, sizeof(in) - 1, &p, NULL,
			     NULL), MTASTS_ESYNTAX);
	assert_null(p);
}

static void
test_lines_and_ext(void **state)
{
	static const char in[] = "version: STSv1  \r\nmode:\ttesting\nmx: "
				 "a.example\t\nfoo:  x y \nmax_age: 60\n\n";
	struct mtasts_policy *p;
	const char *k, *v;

	(void)state;
	assert_int_equal(mtasts_policy_parse(in, sizeof(in) - 1, &p, NULL,
			     NULL), MTASTS_OK);
	assert_int_equal(mtasts_policy_line_count(p), 5);
	assert_string_equal(mtasts_policy_line(p, 0), "version: STSv1");
	assert_string_equal(mtasts_policy_line(p, 1), "mode:\ttesting");
	assert_string_equal(mtasts_policy_line(p, 2), "mx: a.example");
	assert_string_equal(mtasts_policy_line(p, 3), "foo:  x y");
	assert_string_equal(mtasts_policy_line(p, 4), "max_age: 60");
	assert_null(mtasts_policy_line(p, 5));
	assert_true(mtasts_policy_ext(p, 0, &k, &v));
	assert_string_equal(k, "foo");
	assert_string_equal(v, "x y");
	assert_false(mtasts_policy_ext(p, 1, &k, &v));
	assert_true(mtasts_policy_match_mx(p, "A.EXAMPLE."));
	assert_false(mtasts_policy_match_mx(p, "b.example"));
	assert_false(mtasts_policy_match_mx(p, NULL));
	assert_string_equal(mtasts_mode_name(mtasts_policy_mode(p)), "testing");
	mtasts_policy_free(p);
	/* NULL-safe accessors. */
	mtasts_policy_free(NULL);
	assert_int_equal(mtasts_policy_mx_count(NULL), 0);
	assert_null(mtasts_policy_mx(NULL, 0));
	assert_int_equal(mtasts_policy_line_count(NULL), 0);
	assert_false(mtasts_policy_ext(NULL, 0, &k, &v));
	assert_false(mtasts_policy_match_mx(NULL, "a"));
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_ENFORCE), "enforce");
	assert_string_equal(mtasts_mode_name(MTASTS_MODE_NONE), "none");
}

/* Build "version/mode/max_age" + "mx: <name>" lines up to about size. */
static char *
gen_policy(size_t size, const char *mxline, size_t *len, size_t *nmx)
{
	char *b = malloc(size + 64);
	size_t n, l = strlen(mxline);

	assert_non_null(b);
	n = (size_t)snprintf(b, size + 64, "version: STSv1\nmode: enforce\n"
					    "max_age: 86400\n");
	*nmx = 0;
	while (n + l <= size) {
		memcpy(b + n, mxline, l);
		n += l;
		(*nmx)++;
	}
	*len = n;
	return b;
}

static void
test_size_limits(void **state)
{
	struct mtasts_diags d;
	struct mtasts_policy *p;
	char *b;
	size_t len, nmx;

	(void)state;
	/* Exactly 64 KiB (padded with an extension line): valid. */
	b = gen_policy(MTASTS_POLICY_BODY_MAX - 40, "mx: mx1.example.com\n",
	    &len, &nmx);
	while (len < MTASTS_POLICY_BODY_MAX - 1) {
		size_t pad = MTASTS_POLICY_BODY_MAX - 1 - len;

		memcpy(b + len, "x: ", 3);
		memset(b + len + 3, 'y', pad - 3);
		len += pad;
	}
	b[len++] = '\n';
	assert_int_equal(len, MTASTS_POLICY_BODY_MAX);
	mtasts_diags_init(&d);
	assert_int_equal(mtasts_policy_parse(b, len, &p, &d, NULL), MTASTS_OK);
	assert_int_equal(mtasts_policy_mx_count(p), MTASTS_POLICY_MX_MAX);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 1); /* mx lines over 1024 not kept */
	assert_int_equal(mtasts_policy_ext_count(p), 1);
	mtasts_policy_free(p);
	/* 64 KiB + 1: too big, before any parsing. */
	b[len] = '\n';
	mtasts_diags_init(&d);
	assert_int_equal(mtasts_policy_parse(b, len + 1, &p, &d, NULL),
	    MTASTS_ETOOBIG);
	assert_null(p);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.item[0].code, MTASTS_ETOOBIG);
	free(b);

	/* The shortest mx lines that fit: ~13000 lines in 64 KiB. */
	b = gen_policy(MTASTS_POLICY_BODY_MAX, "mx:a\n", &len, &nmx);
	assert_true(nmx > 13000);
	assert_int_equal(mtasts_policy_parse(b, len, &p, NULL, NULL),
	    MTASTS_OK);
	assert_int_equal(mtasts_policy_line_count(p), nmx + 3);
	assert_true(mtasts_policy_match_mx(p, "A"));
	mtasts_policy_free(p);
	free(b);

	/* 100k mx lines do not fit in 64 KiB. */
	b = gen_policy(600000, "mx:a\n", &len, &nmx);
	assert_true(nmx >= 100000);
	assert_int_equal(mtasts_policy_parse(b, len, &p, NULL, NULL),
	    MTASTS_ETOOBIG);
	free(b);

	/* 64 KiB of LF only: no line at all -> three "missing" errors. */
	b = malloc(MTASTS_POLICY_BODY_MAX);
	assert_non_null(b);
	memset(b, '\n', MTASTS_POLICY_BODY_MAX);
	mtasts_diags_init(&d);
	assert_int_equal(mtasts_policy_parse(b, MTASTS_POLICY_BODY_MAX, &p, &d,
			     NULL), MTASTS_ESYNTAX);
	assert_int_equal(d.errors, 3);
	/* 64 KiB of "\n " pairs: 32768 whitespace-only lines. Errors beyond
	 * MTASTS_DIAGS_MAX are counted as dropped. */
	for (len = 0; len < MTASTS_POLICY_BODY_MAX; len += 2) {
		b[len] = ' ';
		b[len + 1] = '\n';
	}
	mtasts_diags_init(&d);
	assert_int_equal(mtasts_policy_parse(b, MTASTS_POLICY_BODY_MAX, &p, &d,
			     NULL), MTASTS_ESYNTAX);
	assert_int_equal(d.errors, 32768 + 3);
	assert_int_equal(d.count, MTASTS_DIAGS_MAX);
	assert_int_equal(d.dropped, 32768 + 3 - MTASTS_DIAGS_MAX);
	/* One 64 KiB line of NULs. */
	memset(b, 0, MTASTS_POLICY_BODY_MAX);
	assert_int_equal(mtasts_policy_parse(b, MTASTS_POLICY_BODY_MAX, &p,
			     NULL, NULL), MTASTS_ESYNTAX);
	/* One 64 KiB line of CR. */
	memset(b, '\r', MTASTS_POLICY_BODY_MAX);
	assert_int_equal(mtasts_policy_parse(b, MTASTS_POLICY_BODY_MAX, &p,
			     NULL, NULL), MTASTS_ESYNTAX);
	/* A very long extension value line (valid). */
	len = (size_t)snprintf(b, 200, "version: STSv1\nmode: none\nmax_age: "
				       "1\nlong: ");
	memset(b + len, 'z', MTASTS_POLICY_BODY_MAX - len);
	assert_int_equal(mtasts_policy_parse(b, MTASTS_POLICY_BODY_MAX, &p,
			     NULL, NULL), MTASTS_OK);
	mtasts_policy_free(p);
	free(b);
}

static void
test_extension_limit(void **state)
{
	char b[8192];
	size_t n, i;
	struct mtasts_diags d;
	struct mtasts_policy *p;

	(void)state;
	n = (size_t)snprintf(b, sizeof(b), "version: STSv1\nmode: none\n"
					   "max_age: 1\n");
	for (i = 0; i < MTASTS_POLICY_EXT_MAX + 5; i++)
		n += (size_t)snprintf(b + n, sizeof(b) - n, "e%zu: v%zu\n", i,
		    i);
	mtasts_diags_init(&d);
	assert_int_equal(mtasts_policy_parse(b, n, &p, &d, NULL), MTASTS_OK);
	assert_int_equal(mtasts_policy_ext_count(p), MTASTS_POLICY_EXT_MAX);
	assert_int_equal(d.warnings, 1);
	mtasts_policy_free(p);
}

static void
test_oom(void **state)
{
	static const char in[] = RFC_BODY "foo: bar\n";
	unsigned long n;
	int rc = MTASTS_ENOMEM;

	(void)state;
	for (n = 1; n < 100 && rc != MTASTS_OK; n++) {
		struct mtasts_policy *p = NULL;
		struct mtasts_error err;

		mtasts__alloc_fail_at(n);
		rc = mtasts_policy_parse(in, sizeof(in) - 1, &p, NULL, &err);
		if (rc == MTASTS_OK) {
			assert_non_null(p);
			assert_int_equal(mtasts_policy_mx_count(p), 3);
			mtasts_policy_free(p);
		} else {
			assert_int_equal(rc, MTASTS_ENOMEM);
			assert_int_equal(err.code, MTASTS_ENOMEM);
			assert_null(p);
		}
	}
	mtasts__alloc_fail_at(0);
	assert_int_equal(rc, MTASTS_OK);
}

static void
test_bad_args(void **state)
{
	struct mtasts_policy *p;

	(void)state;
	assert_int_equal(mtasts_policy_parse("x", 1, NULL, NULL, NULL),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_policy_parse(NULL, 5, &p, NULL, NULL),
	    MTASTS_EINVAL);
	assert_int_equal(mtasts_policy_parse(NULL, 0, &p, NULL, NULL),
	    MTASTS_ESYNTAX);
}

/* Golden files: tests/data/policy/NNNN-name.in with a first line of the
 * expected result in NNNN-name.out ("ok mode=... max_age=... mx=N" or
 * "error <errname> errors=N"). */
static void
test_golden(void **state)
{
	static const char *const names[] = {
	    "0001-rfc-example", "0002-crlf", "0003-mode-none",
	    "0004-max-age-clamped", "0005-cr-only", "0006-blank-line",
	    "0007-bom", "0008-extensions-utf8", "0009-mode-capitalised",
	    "0010-many-errors"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[512], want[256], got[256], body[4096];
		FILE *f;
		size_t n;
		struct mtasts_policy *p;
		struct mtasts_diags d;
		int rc;

		snprintf(path, sizeof(path), "%s/policy/%s.in",
		    MTASTS_TEST_DATA, names[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(body, 1, sizeof(body), f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/policy/%s.out",
		    MTASTS_TEST_DATA, names[i]);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(want, sizeof(want), f));
		fclose(f);
		want[strcspn(want, "\n")] = '\0';
		mtasts_diags_init(&d);
		rc = mtasts_policy_parse(body, n, &p, &d, NULL);
		if (rc == MTASTS_OK) {
			snprintf(got, sizeof(got), "ok mode=%s max_age=%u "
			    "mx=%zu warnings=%zu",
			    mtasts_mode_name(mtasts_policy_mode(p)),
			    mtasts_policy_max_age(p),
			    mtasts_policy_mx_count(p), d.warnings);
			mtasts_policy_free(p);
		} else {
			snprintf(got, sizeof(got), "error %s errors=%zu",
			    mtasts_errname(rc), d.errors);
		}
		if (strcmp(got, want) != 0)
			print_error("golden %s: got \"%s\"\n", names[i], got);
		assert_string_equal(got, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_message_format),
	    cmocka_unit_test(test_lines_and_ext),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_extension_limit),
	    cmocka_unit_test(test_oom),
	    cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_golden),
	};

	printf("policy vectors: %zu\n", sizeof(vectors) / sizeof(vectors[0]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
