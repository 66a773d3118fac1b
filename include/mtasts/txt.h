/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	txt 3h
 * SUMMARY
 *	TXT RDATA to record text
 * DESCRIPTION
 *	A TXT RR's RDATA is a sequence of length-prefixed character-strings.
 *	RFC 8461 section 3.1 and RFC 8460 section 3 join them without a
 *	separator. Sans-I/O: bytes in, text out.
 */
#ifndef MTASTS_TXT_H
#define MTASTS_TXT_H

#include <stddef.h>

#include "mtasts/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Join the character-strings of one TXT RDATA (rdlen bytes) into out
 * (cap bytes, NUL-terminated on success). *outlen gets the joined length
 * (embedded NULs are kept, so use the length). Returns MTASTS_OK,
 * MTASTS_ESYNTAX when a length byte runs past the end, or MTASTS_ETOOBIG
 * when the text does not fit in cap - 1 bytes.
 */
int mtasts_txt_rdata_join(const unsigned char *rdata, size_t rdlen,
    char *out, size_t cap, size_t *outlen, struct mtasts_error *err)
	__attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif
#endif
