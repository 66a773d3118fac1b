/* SPDX-License-Identifier: MIT */
/*
 * tlsrpt_record.c: the "_smtp._tls" TXT record (RFC 8460 section 3).
 *
 * rua = URI *(*WSP "," *WSP URI), URIs per RFC 3986 with ",", "!" and
 * ";" percent-encoded. Only mailto: and https: are usable; other
 * schemes are reported as warnings and left out. A record with no
 * usable URI is invalid. Duplicate rua: the first wins, with a warning
 * (decision A-11). The record is parsed into one allocation: the struct
 * followed by a copy of the text in which the URIs are NUL-terminated.
 */
#include <string.h>

#include "mtasts/tlsrpt_record.h"
#include "mtasts/sts_record.h"
#include "util/alloc.h"
#include "util/cclass.h"
#include "util/txtrec.h"

#define TLSRPT_VERSION "v=TLSRPTv1"

struct mtasts_tlsrpt_record {
	size_t nrua;
	const char *rua[MTASTS_RUA_MAX];
	char text[];		/* copy of the record, URIs NUL-terminated */
};

enum uri_verdict { URI_BAD, URI_UNUSABLE, URI_USABLE };

static bool
ascii_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return false;
	for (i = 0; i < alen; i++)
		if (mtasts__cc_lower((unsigned char)a[i]) !=
		    (unsigned char)b[i])
			return false;
	return true;
}

/* Check the URI u[0..n) at record offset off; report into d. */
static enum uri_verdict
check_uri(const char *u, size_t n, size_t off, struct mtasts_diags *d)
{
	size_t i, slen;
	char what[32];
	const char *auth;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c == '%') {
			if (i + 2 >= n ||
			    !mtasts__cc((unsigned char)u[i + 1],
				MTASTS__CC_HEX) ||
			    !mtasts__cc((unsigned char)u[i + 2],
				MTASTS__CC_HEX)) {
				mtasts_diags_add(d, MTASTS_SEV_ERROR,
				    MTASTS_ESYNTAX, 0, (unsigned)(off + i) + 1,
				    "rua", "\"%%\" at column %zu is not "
				    "followed by two hex digits", off + i + 1);
				return URI_BAD;
			}
			i += 2;
			continue;
		}
		if (mtasts__cc(c, MTASTS__CC_URI))
			continue;
		mtasts__cc_describe(c, what, sizeof(what));
		if (c == '!')
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, (unsigned)(off + i) + 1, "rua", "'!' at column "
			    "%zu must be percent-encoded as %%21 (a size "
			    "suffix like DMARC's \"!10m\" is not allowed)",
			    off + i + 1);
		else
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, (unsigned)(off + i) + 1, "rua", "%s at column "
			    "%zu is not allowed in a URI (percent-encode it)",
			    what, off + i + 1);
		return URI_BAD;
	}
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	slen = 0;
	if (n > 0 && mtasts__cc((unsigned char)u[0], MTASTS__CC_ALPHA)) {
		slen = 1;
		while (slen < n &&
		    mtasts__cc((unsigned char)u[slen], MTASTS__CC_SCHEME))
			slen++;
	}
	if (slen == 0 || slen >= n || u[slen] != ':') {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)off + 1, "rua", "\"%.*s\" has no URI scheme; "
		    "write \"mailto:...\" or \"https://...\"",
		    (int)(n > 60 ? 60 : n), u);
		return URI_BAD;
	}
	if (ascii_ieq(u, slen, "mailto")) {
		if (n == slen + 1 || memchr(u, '@', n) == NULL) {
			mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX,
			    0, (unsigned)off + 1, "rua", "\"%.*s\" has no "
			    "mail address; it is not used",
			    (int)(n > 60 ? 60 : n), u);
			return URI_UNUSABLE;
		}
		return URI_USABLE;
	}
	if (ascii_ieq(u, slen, "https")) {
		auth = u + slen + 1;
		if (n < slen + 4 || auth[0] != '/' || auth[1] != '/' ||
		    auth[2] == '/' || auth[2] == '?' || auth[2] == '#') {
			mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX,
			    0, (unsigned)off + 1, "rua", "\"%.*s\" has no "
			    "host (write https://host/path); it is not used",
			    (int)(n > 60 ? 60 : n), u);
			return URI_UNUSABLE;
		}
		return URI_USABLE;
	}
	mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX, 0,
	    (unsigned)off + 1, "rua", "unsupported scheme \"%.*s\" in "
	    "\"%.*s\": only mailto: and https: are used, so this URI is "
	    "ignored", (int)(slen > 20 ? 20 : slen), u,
	    (int)(n > 60 ? 60 : n), u);
	return URI_UNUSABLE;
}

/*
 * Parse one rua value. With rec != NULL usable URIs are stored (as
 * NUL-terminated strings inside rec->text); else only checked.
 * Returns the number of syntax errors.
 */
static unsigned
parse_rua(const struct mtasts__txtfield *f, struct mtasts_tlsrpt_record *rec,
    size_t *usable, bool *overflow, struct mtasts_diags *d)
{
	const char *v = f->value;
	size_t n = f->valuelen, pos = 0;

	for (;;) {
		size_t s = pos;
		enum uri_verdict verdict;

		while (pos < n && v[pos] != ',' &&
		    !mtasts__cc_wsp((unsigned char)v[pos]))
			pos++;
		if (pos == s) {
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, (unsigned)(f->valueoff + s) + 1, "rua",
			    s == 0 ? "the rua value is empty"
				   : "empty URI in the rua list (a \",\" "
				     "without a URI after it)");
			return 1;
		}
		verdict = check_uri(v + s, pos - s, f->valueoff + s, d);
		if (verdict == URI_BAD)
			return 1;
		if (verdict == URI_USABLE) {
			(*usable)++;
			if (rec != NULL && rec->nrua < MTASTS_RUA_MAX) {
				char *copy = rec->text + f->valueoff + s;

				copy[pos - s] = '\0';
				rec->rua[rec->nrua++] = copy;
			} else if (rec != NULL) {
				*overflow = true;
			}
		}
		while (pos < n && mtasts__cc_wsp((unsigned char)v[pos]))
			pos++;
		if (pos == n)
			return 0;
		if (v[pos] != ',') {
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, (unsigned)(f->valueoff + pos) + 1, "rua",
			    "URIs in rua must be separated by \",\" (another "
			    "URI starts at column %zu after whitespace)",
			    f->valueoff + pos + 1);
			return 1;
		}
		pos++;
		while (pos < n && mtasts__cc_wsp((unsigned char)v[pos]))
			pos++;
	}
}

int
mtasts_tlsrpt_record_parse(const char *txt, size_t len,
    struct mtasts_tlsrpt_record **out, struct mtasts_diags *diags,
    struct mtasts_error *err)
{
	struct mtasts_diags local;
	struct mtasts_diags *d = diags;
	struct mtasts_tlsrpt_record *rec;
	struct mtasts__txtrec r;
	struct mtasts__txtfield f;
	size_t count0, usable = 0;
	unsigned bad = 0, nrua_fields = 0;
	bool overflow = false;

	if (out == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no output");
	*out = NULL;
	if (txt == NULL && len > 0)
		return mtasts_error_set(err, MTASTS_EINVAL, "no record text");
	if (len > MTASTS_TXT_RECORD_MAX) {
		mtasts_diags_add(diags, MTASTS_SEV_ERROR, MTASTS_ETOOBIG, 0, 0,
		    NULL, "the record is %zu bytes long; the limit is %u",
		    len, MTASTS_TXT_RECORD_MAX);
		return mtasts_error_set(err, MTASTS_ETOOBIG, "the record is "
		    "%zu bytes long; the limit is %u", len,
		    MTASTS_TXT_RECORD_MAX);
	}
	if (d == NULL) {
		mtasts_diags_init(&local);
		d = &local;
	}
	count0 = d->count;
	rec = mtasts__malloc(sizeof(*rec) + len + 1);
	if (rec == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM,
		    "out of memory parsing a TLSRPT record");
	rec->nrua = 0;
	if (len > 0)
		memcpy(rec->text, txt, len);
	rec->text[len] = '\0';
	if (!mtasts__txtrec_begin(&r, txt ? txt : "", len, TLSRPT_VERSION, d))
		goto done;
	if (r.noncanonical)
		mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX, 0,
		    (unsigned)strlen(TLSRPT_VERSION) + 1, "v", "whitespace "
		    "before the first \";\": valid, but when the name has "
		    "several TXT records this one is discarded (write "
		    "\"v=TLSRPTv1;\")");
	while (mtasts__txtrec_next(&r, &f, d)) {
		if (strcmp(f.key, "rua") == 0) {
			size_t dummy = 0;

			if (nrua_fields++ == 0) {
				bad += parse_rua(&f, rec, &usable, &overflow,
				    d);
				continue;
			}
			bad += parse_rua(&f, NULL, &dummy, &overflow, d);
			mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX,
			    0, (unsigned)f.nameoff + 1, "rua", "duplicate "
			    "rua field ignored; only the first one is used "
			    "(list several URIs in one rua, separated by "
			    "\",\")");
		} else if (strcmp(f.key, "v") == 0) {
			if (!mtasts__txtrec_repeated_version(&f, "TLSRPTv1",
				d))
				bad++;
		} else {
			if (mtasts__cc_ieq(f.key, "rua") ||
			    mtasts__cc_ieq(f.key, "v"))
				mtasts_diags_add(d, MTASTS_SEV_WARNING,
				    MTASTS_ESYNTAX, 0, (unsigned)f.nameoff + 1,
				    f.key, "field names are case-sensitive: "
				    "\"%s\" is an unknown field, not \"%s\"",
				    f.key, f.key[0] == 'R' || f.key[0] == 'r'
					? "rua" : "v");
			if (!mtasts__txtrec_ext_value_ok(&f, d))
				bad++;
		}
	}
	if (overflow)
		mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ETOOBIG, 0, 0,
		    "rua", "more than %d usable rua URIs; only the first %d "
		    "are used", MTASTS_RUA_MAX, MTASTS_RUA_MAX);
	if (nrua_fields == 0 && r.errors == 0) {
		bad++;
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0, 0,
		    "rua", "the record has no \"rua\" field (add e.g. "
		    "\"rua=mailto:tlsrpt@example.com\"; the name is "
		    "case-sensitive)");
	} else if (nrua_fields > 0 && bad == 0 && r.errors == 0 &&
	    rec->nrua == 0) {
		bad++;
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0, 0,
		    "rua", "rua has no usable URI (only mailto: and https: "
		    "are supported)");
	}
done:
	if (bad > 0 || r.errors > 0) {
		mtasts__free(rec);
		return mtasts__txtrec_first_error(d, count0, "TLSRPT", err);
	}
	*out = rec;
	return MTASTS_OK;
}

int
mtasts_tlsrpt_rrset_select(const char *const *txt, const size_t *lens,
    size_t n, struct mtasts_tlsrpt_record **out, struct mtasts_diags *diags,
    struct mtasts_error *err)
{
	size_t which;
	int rc;

	if (out == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no output");
	*out = NULL;
	rc = mtasts__txtrec_pick(txt, lens, n, TLSRPT_VERSION, "_smtp._tls",
	    "the domain does not implement TLSRPT", &which, diags, err);
	if (rc != MTASTS_OK)
		return rc;
	return mtasts_tlsrpt_record_parse(txt[which], lens[which], out, diags,
	    err);
}

void
mtasts_tlsrpt_record_free(struct mtasts_tlsrpt_record *rec)
{
	mtasts__free(rec);
}

size_t
mtasts_tlsrpt_record_rua_count(const struct mtasts_tlsrpt_record *rec)
{
	return rec ? rec->nrua : 0;
}

const char *
mtasts_tlsrpt_record_rua(const struct mtasts_tlsrpt_record *rec, size_t i)
{
	if (rec == NULL || i >= rec->nrua)
		return NULL;
	return rec->rua[i];
}
