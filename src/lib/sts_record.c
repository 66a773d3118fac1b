/* SPDX-License-Identifier: MIT */
/*
 * sts_record.c: the "_mta-sts" TXT record (RFC 8461 section 3.1).
 *
 * Decisions (docs/conformance.md): the key decides the grammar (A-1: an
 * "id" or a later "v" with a bad value makes the record invalid); for a
 * duplicated field the first wins (R8461-15) with a warning; WSP before
 * the first ";" is accepted with a warning except by the RRset
 * prefix filter, which applies only when several records came back.
 */
#include <string.h>

#include "mtasts/sts_record.h"
#include "util/cclass.h"
#include "util/txtrec.h"

#define STS_VERSION "v=STSv1"

/* Check an id value (1*32 ALPHA / DIGIT); report the first problem. */
static bool
id_ok(const struct mtasts__txtfield *f, struct mtasts_diags *d)
{
	size_t i;
	char what[32];

	if (f->valuelen == 0) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)f->valueoff + 1, "id", "the id is empty (it "
		    "must be 1 to 32 letters or digits)");
		return false;
	}
	for (i = 0; i < f->valuelen; i++) {
		unsigned char c = (unsigned char)f->value[i];

		if (!mtasts__cc_alnum(c)) {
			mtasts__cc_describe(c, what, sizeof(what));
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, (unsigned)(f->valueoff + i) + 1, "id",
			    "%s at column %zu is not allowed in an id (only "
			    "letters A-Z, a-z and digits 0-9)", what,
			    f->valueoff + i + 1);
			return false;
		}
	}
	if (f->valuelen > MTASTS_STS_ID_MAX) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)f->valueoff + 1, "id", "the id has %zu "
		    "characters; at most 32 are allowed", f->valuelen);
		return false;
	}
	return true;
}

int
mtasts_sts_record_parse(const char *txt, size_t len,
    struct mtasts_sts_record *out, struct mtasts_diags *diags,
    struct mtasts_error *err)
{
	struct mtasts__txtrec r;
	struct mtasts__txtfield f;
	struct mtasts_sts_record rec;
	size_t count0 = diags ? diags->count : 0;
	unsigned bad = 0;
	bool have_id = false, saw_id = false;
	struct mtasts_diags local;
	struct mtasts_diags *d = diags;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
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
		/* Still count errors to decide validity. */
		mtasts_diags_init(&local);
		d = &local;
	}
	memset(&rec, 0, sizeof(rec));
	if (!mtasts__txtrec_begin(&r, txt ? txt : "", len, STS_VERSION, d))
		goto done;
	if (r.noncanonical) {
		rec.noncanonical = 1;
		mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX, 0,
		    (unsigned)strlen(STS_VERSION) + 1, "v", "whitespace "
		    "before the first \";\": valid, but when the name has "
		    "several TXT records this one is discarded (write "
		    "\"v=STSv1;\")");
	}
	while (mtasts__txtrec_next(&r, &f, d)) {
		if (strcmp(f.key, "id") == 0) {
			saw_id = true;
			if (!id_ok(&f, d)) {
				bad++;
			} else if (have_id) {
				mtasts_diags_add(d, MTASTS_SEV_WARNING,
				    MTASTS_ESYNTAX, 0,
				    (unsigned)f.nameoff + 1, "id",
				    "duplicate id ignored; the first one "
				    "(\"%s\") is used", rec.id);
			} else {
				memcpy(rec.id, f.value, f.valuelen);
				rec.id[f.valuelen] = '\0';
				have_id = true;
			}
		} else if (strcmp(f.key, "v") == 0) {
			if (!mtasts__txtrec_repeated_version(&f, "STSv1", d))
				bad++;
		} else {
			if (mtasts__cc_ieq(f.key, "id") ||
			    mtasts__cc_ieq(f.key, "v"))
				mtasts_diags_add(d, MTASTS_SEV_WARNING,
				    MTASTS_ESYNTAX, 0, (unsigned)f.nameoff + 1,
				    f.key, "field names are case-sensitive: "
				    "\"%s\" is an unknown field, not \"%s\"",
				    f.key, f.key[0] == 'V' ? "v" : "id");
			if (!mtasts__txtrec_ext_value_ok(&f, d))
				bad++;
			else
				rec.extensions++;
		}
	}
	if (!saw_id && r.errors == 0) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0, 0,
		    "id", "the record has no \"id\" field (add one, e.g. "
		    "\"id=20240101a\": 1 to 32 letters or digits)");
		bad++;
	}
done:
	if (bad > 0 || r.errors > 0)
		return mtasts__txtrec_first_error(d, count0, "MTA-STS", err);
	if (out != NULL)
		*out = rec;
	return MTASTS_OK;
}

int
mtasts_sts_rrset_select(const char *const *txt, const size_t *lens, size_t n,
    struct mtasts_sts_record *out, struct mtasts_diags *diags,
    struct mtasts_error *err)
{
	size_t which;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	rc = mtasts__txtrec_pick(txt, lens, n, STS_VERSION, "_mta-sts",
	    "the domain has no usable MTA-STS record", &which, diags, err);
	if (rc != MTASTS_OK)
		return rc;
	return mtasts_sts_record_parse(txt[which], lens[which], out, diags,
	    err);
}
