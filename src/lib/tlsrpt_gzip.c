/* SPDX-License-Identifier: MIT */
/*
 * tlsrpt_gzip.c: gzip (RFC 1952) of TLS-RPT reports with zlib, and the
 * bounded inflate used to read reports back. Kept apart from
 * tlsrpt_report.c so that parsing alone does not need zlib.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "mtasts/tlsrpt_report.h"
#include "util/alloc.h"

static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return mtasts__calloc(items, size);
}

static void
z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	mtasts__free(p);
}

int
mtasts_tlsrpt_gzip(const void *data, size_t len, int64_t mtime,
    unsigned char **out, size_t *outlen, struct mtasts_error *err)
{
	z_stream z;
	gz_header hd;
	unsigned char *buf;
	uLong bound;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > UINT_MAX / 2)
		return mtasts_error_set(err, MTASTS_ETOOBIG, "input too large");
	memset(&z, 0, sizeof(z));
	z.zalloc = z_alloc;
	z.zfree = z_free;
	/* windowBits 15 + 16: a gzip wrapper instead of zlib's. */
	rc = deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9,
	    Z_DEFAULT_STRATEGY);
	if (rc == Z_MEM_ERROR)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	if (rc != Z_OK)
		return mtasts_error_set(err, MTASTS_EINTERNAL,
		    "deflateInit2 failed (%d)", rc);
	memset(&hd, 0, sizeof(hd));
	hd.time = mtime > 0 && mtime < (int64_t)UINT32_MAX ? (uLong)mtime : 0;
	hd.os = 3;	/* Unix */
	deflateSetHeader(&z, &hd);
	bound = deflateBound(&z, (uLong)len) + 64;
	buf = mtasts__malloc(bound);
	if (buf == NULL) {
		deflateEnd(&z);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	z.next_in = (z_const Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	if (rc != Z_STREAM_END) {
		deflateEnd(&z);
		mtasts__free(buf);
		return mtasts_error_set(err, MTASTS_EINTERNAL,
		    "deflate did not finish (%d)", rc);
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	*out = buf;
	return MTASTS_OK;
}

int
mtasts_tlsrpt_gunzip(const void *data, size_t len, size_t max_out,
    char **out, size_t *outlen, struct mtasts_error *err)
{
	z_stream z;
	char *buf = NULL, *nb;
	size_t cap = 0, have = 0;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > UINT_MAX || max_out > SIZE_MAX / 2)
		return mtasts_error_set(err, MTASTS_ETOOBIG, "input too large");
	memset(&z, 0, sizeof(z));
	z.zalloc = z_alloc;
	z.zfree = z_free;
	/* 15 + 32: detect a gzip or zlib header. */
	rc = inflateInit2(&z, 15 + 32);
	if (rc != Z_OK)
		return mtasts_error_set(err, rc == Z_MEM_ERROR ? MTASTS_ENOMEM :
		    MTASTS_EINTERNAL, "inflateInit2 failed (%d)", rc);
	z.next_in = (z_const Bytef *)data;
	z.avail_in = (uInt)len;
	do {
		if (have == cap) {
			size_t ncap = cap ? cap * 2 : 16384;

			if (cap >= max_out + 1) {
				rc = Z_BUF_ERROR;
				break;
			}
			if (ncap > max_out + 1)
				ncap = max_out + 1;
			nb = mtasts__realloc(buf, ncap + 1);
			if (nb == NULL) {
				rc = Z_MEM_ERROR;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		z.next_out = (Bytef *)buf + have;
		z.avail_out = (uInt)(cap - have);
		rc = inflate(&z, Z_NO_FLUSH);
		have = cap - z.avail_out;
		if (rc == Z_BUF_ERROR && z.avail_in == 0)
			break;	/* truncated input */
	} while (rc == Z_OK);
	inflateEnd(&z);
	if (rc != Z_STREAM_END || have > max_out) {
		mtasts__free(buf);
		if (rc == Z_MEM_ERROR)
			return mtasts_error_set(err, MTASTS_ENOMEM,
			    "out of memory");
		if (have > max_out || (rc == Z_BUF_ERROR && cap >= max_out + 1))
			return mtasts_error_set(err, MTASTS_ETOOBIG,
			    "inflated report larger than %zu bytes", max_out);
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "not a complete gzip stream");
	}
	if (buf == NULL) {
		buf = mtasts__malloc(1);
		if (buf == NULL)
			return mtasts_error_set(err, MTASTS_ENOMEM,
			    "out of memory");
	}
	buf[have] = '\0';
	*out = buf;
	*outlen = have;
	return MTASTS_OK;
}
