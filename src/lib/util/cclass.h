/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	cclass 3h (internal)
 * SUMMARY
 *	byte classes of the MTA-STS and TLS-RPT grammars, and UTF-8 checking
 * DESCRIPTION
 *	One 256-entry table answers "is this byte an ALPHA / DIGIT / WSP /
 *	ext-name char / ext-value char / URI char ..." with a single load,
 *	so the parsers scan bytes without a function call per byte. The
 *	class names follow the ABNF of RFC 8461 sections 3.1 and 3.2 and
 *	RFC 8460 section 3. mtasts__utf8_valid_prefix() checks RFC 3629
 *	UTF-8 strictly (no overlong forms, no surrogates, nothing above
 *	U+10FFFF).
 */
#ifndef MTASTS_UTIL_CCLASS_H
#define MTASTS_UTIL_CCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	MTASTS__CC_ALPHA = 0x001,  /* A-Z a-z */
	MTASTS__CC_DIGIT = 0x002,  /* 0-9 */
	MTASTS__CC_NAME = 0x004,   /* ALPHA DIGIT "_" "-" "." (ext-name) */
	MTASTS__CC_EXTV = 0x008,   /* %x21-3A / %x3C / %x3E-7E (ext-value) */
	MTASTS__CC_WSP = 0x010,	   /* SP HTAB */
	MTASTS__CC_URI = 0x020,	   /* RFC 3986 chars minus "!" "," ";" */
	MTASTS__CC_VCHAR = 0x040,  /* %x21-7E */
	MTASTS__CC_HEX = 0x080,	   /* HEXDIG, either case */
	MTASTS__CC_SCHEME = 0x100, /* ALPHA DIGIT "+" "-" "." */
	MTASTS__CC_LDH = 0x200	   /* ALPHA DIGIT "-" */
};

extern const uint16_t mtasts__cclass[256];

/* Does byte c belong to every class in mask? */
static inline bool
mtasts__cc(unsigned char c, unsigned mask)
{
	return (mtasts__cclass[c] & mask) == mask;
}

static inline bool
mtasts__cc_alnum(unsigned char c)
{
	return (mtasts__cclass[c] & (MTASTS__CC_ALPHA | MTASTS__CC_DIGIT)) != 0;
}

static inline bool
mtasts__cc_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII lower case of c; other bytes unchanged. */
static inline unsigned char
mtasts__cc_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Are NUL-terminated a and b equal, ignoring ASCII case only? */
static inline bool
mtasts__cc_ieq(const char *a, const char *b)
{
	while (*a != '\0' && mtasts__cc_lower((unsigned char)*a) ==
	    mtasts__cc_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/*
 * Length of the longest prefix of s[0..len) that is well-formed UTF-8
 * ending on a character boundary; equals len when all of s is valid.
 */
size_t mtasts__utf8_valid_prefix(const unsigned char *s, size_t len);

/*
 * Describe byte c for a diagnostic ("NUL", "HTAB", "CR", "byte 0xC3"...)
 * into buf of size bytes; returns buf.
 */
const char *mtasts__cc_describe(unsigned char c, char *buf, size_t size);

#endif
