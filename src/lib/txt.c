/* SPDX-License-Identifier: MIT */
/*
 * txt.c: join the character-strings of a TXT RDATA (RFC 8461 section
 * 3.1, RFC 8460 section 3: "concatenated without adding spaces").
 */
#include <string.h>

#include "mtasts/txt.h"

int
mtasts_txt_rdata_join(const unsigned char *rdata, size_t rdlen, char *out,
    size_t cap, size_t *outlen, struct mtasts_error *err)
{
	size_t i = 0, n = 0;

	if (outlen != NULL)
		*outlen = 0;
	if ((rdata == NULL && rdlen > 0) || out == NULL || cap == 0)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "TXT join: no input or no output buffer");
	out[0] = '\0';
	while (i < rdlen) {
		size_t slen = rdata[i];

		if (slen > rdlen - i - 1)
			return mtasts_error_set(err, MTASTS_ESYNTAX,
			    "TXT RDATA: character-string at offset %zu claims "
			    "%zu bytes but only %zu remain",
			    i, slen, rdlen - i - 1);
		if (slen > cap - 1 - n)
			return mtasts_error_set(err, MTASTS_ETOOBIG,
			    "TXT record text is longer than %zu bytes",
			    cap - 1);
		memcpy(out + n, rdata + i + 1, slen);
		n += slen;
		i += slen + 1;
	}
	out[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return MTASTS_OK;
}
