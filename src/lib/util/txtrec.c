/* SPDX-License-Identifier: MIT */
/*
 * txtrec.c: split a "v=...; name=value; ..." TXT record into fields.
 */
#include <stdio.h>
#include <string.h>

#include "mtasts/error.h"
#include "util/cclass.h"
#include "util/txtrec.h"

#define NO_CHAR (-1)

static void
err_at(struct mtasts__txtrec *r, struct mtasts_diags *d, size_t off,
    const char *field, const char *msg, int c)
{
	char what[32];

	r->errors++;
	if (c != NO_CHAR) {
		mtasts__cc_describe((unsigned char)c, what, sizeof(what));
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)off + 1, field, "%s at column %zu %s", what,
		    off + 1, msg);
	} else {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)off + 1, field, "%s", msg);
	}
}

bool
mtasts__txtrec_begin(struct mtasts__txtrec *r, const char *txt, size_t len,
    const char *version, struct mtasts_diags *d)
{
	size_t vlen = strlen(version), i;

	memset(r, 0, sizeof(*r));
	r->txt = txt;
	r->len = len;
	if (len == 0) {
		r->errors++;
		r->done = true;
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0, 0,
		    "v", "the record is empty; it must begin with \"%s;\"",
		    version);
		return false;
	}
	if (len < vlen || memcmp(txt, version, vlen) != 0 ||
	    (len > vlen && txt[vlen] != ';' &&
		!mtasts__cc_wsp((unsigned char)txt[vlen]))) {
		r->errors++;
		r->done = true;
		if (mtasts__cc_wsp((unsigned char)txt[0]))
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, 1, "v", "the record starts with whitespace; "
			    "it must begin with \"%s;\"", version);
		else
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, 1, "v", "the record must begin with \"%s;\" "
			    "(case-sensitive, nothing before it)", version);
		return false;
	}
	i = vlen;
	while (i < len && mtasts__cc_wsp((unsigned char)txt[i]))
		i++;
	if (i > vlen && i < len && txt[i] == ';')
		r->noncanonical = true;
	if (i < len && txt[i] != ';') {
		err_at(r, d, i, NULL, "is not allowed here: \";\" must "
		    "follow the version", (unsigned char)txt[i]);
		r->done = true;
		return true;
	}
	if (i >= len) {
		r->errors++;
		r->done = true;
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)len, NULL, "the record ends after \"%s\"; "
		    "at least one field must follow \"%s;\"", version,
		    version);
		return true;
	}
	r->pos = i + 1;	/* txt[i] == ';' */
	return true;
}

bool
mtasts__txtrec_next(struct mtasts__txtrec *r, struct mtasts__txtfield *f,
    struct mtasts_diags *d)
{
	while (!r->done) {
		const char *t = r->txt;
		size_t start = r->pos, end, a, b, eq, i;
		const char *semi;
		bool last;

		semi = memchr(t + start, ';', r->len - start);
		end = semi ? (size_t)(semi - t) : r->len;
		last = semi == NULL;
		r->pos = end + 1;
		if (last)
			r->done = true;
		a = start;
		while (a < end && mtasts__cc_wsp((unsigned char)t[a]))
			a++;
		b = end;
		while (b > a && mtasts__cc_wsp((unsigned char)t[b - 1]))
			b--;
		if (a == b) {
			/* After the last ";" only WSP may follow. */
			if (last && r->segments > 0)
				return false;
			err_at(r, d, a, NULL, last
				? "no field follows the version; the record "
				  "needs at least one name=value field"
				: "empty field between two \";\"", NO_CHAR);
			continue;
		}
		r->segments++;
		if (last && b != end) {
			err_at(r, d, b, NULL, "whitespace at the end of the "
			    "record is only allowed after a \";\"", NO_CHAR);
		}
		eq = a;
		while (eq < b && t[eq] != '=')
			eq++;
		memset(f, 0, sizeof(*f));
		f->name = t + a;
		f->namelen = eq - a;
		f->nameoff = a;
		if (f->namelen > 0 && f->namelen <= MTASTS__TXT_NAME_MAX)
			memcpy(f->key, f->name, f->namelen);
		if (eq == b) {
			err_at(r, d, a, f->key[0] ? f->key : NULL,
			    "field has no \"=\" (fields are name=value)",
			    NO_CHAR);
			continue;
		}
		if (eq == a) {
			err_at(r, d, a, NULL, "field has an empty name",
			    NO_CHAR);
			continue;
		}
		if (f->namelen > MTASTS__TXT_NAME_MAX) {
			err_at(r, d, a, NULL, "field name is longer than 32 "
			    "characters", NO_CHAR);
			continue;
		}
		if (!mtasts__cc_alnum((unsigned char)t[a])) {
			err_at(r, d, a, f->key, "cannot start a field name (it "
			    "must start with a letter or digit)",
			    (unsigned char)t[a]);
			continue;
		}
		for (i = a + 1; i < eq; i++)
			if (!mtasts__cc((unsigned char)t[i], MTASTS__CC_NAME))
				break;
		if (i < eq) {
			err_at(r, d, i, f->key, "is not allowed in a field "
			    "name (letters, digits, \"_\", \"-\", \".\")",
			    (unsigned char)t[i]);
			continue;
		}
		f->value = t + eq + 1;
		f->valuelen = b - eq - 1;
		f->valueoff = eq + 1;
		r->fields++;
		return true;
	}
	return false;
}

bool
mtasts__txtrec_ext_value_ok(const struct mtasts__txtfield *f,
    struct mtasts_diags *d)
{
	size_t i;
	char what[32];

	if (f->valuelen == 0) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)f->valueoff + 1, f->key, "the value is empty");
		return false;
	}
	for (i = 0; i < f->valuelen; i++) {
		unsigned char c = (unsigned char)f->value[i];

		if (!mtasts__cc(c, MTASTS__CC_EXTV)) {
			mtasts__cc_describe(c, what, sizeof(what));
			mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX,
			    0, (unsigned)(f->valueoff + i) + 1, f->key,
			    "%s at column %zu is not allowed in a value "
			    "(printable US-ASCII except space, \"=\" and "
			    "\";\")", what, f->valueoff + i + 1);
			return false;
		}
	}
	return true;
}

int
mtasts__txtrec_pick(const char *const *txt, const size_t *lens, size_t n,
    const char *version, const char *owner, const char *consequence,
    size_t *which, struct mtasts_diags *d, struct mtasts_error *err)
{
	char prefix[MTASTS__TXT_NAME_MAX + 2];
	size_t i, kept = 0, vlen = strlen(version), plen;

	*which = 0;
	if (n > 0 && (txt == NULL || lens == NULL))
		return mtasts_error_set(err, MTASTS_EINVAL, "no records");
	if (n == 0) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ENOTFOUND, 0, 0,
		    NULL, "no TXT record at %s", owner);
		return mtasts_error_set(err, MTASTS_ENOTFOUND,
		    "no TXT record at %s", owner);
	}
	if (n == 1)
		return MTASTS_OK;
	if ((size_t)snprintf(prefix, sizeof(prefix), "%s;", version) >=
	    sizeof(prefix))
		return mtasts_error_set(err, MTASTS_EINVAL, "long version");
	plen = vlen + 1;
	for (i = 0; i < n; i++) {
		if (txt[i] == NULL)
			continue;
		if (lens[i] >= plen && memcmp(txt[i], prefix, plen) == 0) {
			kept++;
			*which = i;
		} else if (lens[i] > vlen &&
		    memcmp(txt[i], version, vlen) == 0) {
			mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX,
			    0, 0, NULL, "TXT record %zu of %zu starts with "
			    "\"%s\" but not with \"%s\", so it is discarded "
			    "when several records are published", i + 1, n,
			    version, prefix);
		}
	}
	if (kept == 0) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ENOTFOUND, 0, 0,
		    NULL, "none of the %zu TXT records begins with \"%s\"", n,
		    prefix);
		return mtasts_error_set(err, MTASTS_ENOTFOUND, "none of the "
		    "%zu TXT records begins with \"%s\"", n, prefix);
	}
	if (kept > 1) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_EMULTIPLE, 0, 0,
		    NULL, "%zu TXT records begin with \"%s\"; exactly one is "
		    "allowed, so %s", kept, prefix, consequence);
		return mtasts_error_set(err, MTASTS_EMULTIPLE, "%zu TXT "
		    "records begin with \"%s\"", kept, prefix);
	}
	return MTASTS_OK;
}

int
mtasts__txtrec_first_error(const struct mtasts_diags *d, size_t from,
    const char *what, struct mtasts_error *err)
{
	size_t k;

	for (k = from; k < d->count; k++) {
		const struct mtasts_diag *dg = &d->item[k];

		if (dg->severity != MTASTS_SEV_ERROR)
			continue;
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "invalid %s TXT record: %s%s%s", what,
		    dg->field[0] ? dg->field : "", dg->field[0] ? ": " : "",
		    dg->msg);
	}
	return mtasts_error_set(err, MTASTS_ESYNTAX, "invalid %s TXT record",
	    what);
}

bool
mtasts__txtrec_repeated_version(const struct mtasts__txtfield *f,
    const char *want, struct mtasts_diags *d)
{
	size_t n = strlen(want);

	if (f->valuelen != n || memcmp(f->value, want, n) != 0) {
		mtasts_diags_add(d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, 0,
		    (unsigned)f->valueoff + 1, "v", "a second \"v\" field "
		    "with the value \"%.*s\" (only %s exists)",
		    (int)(f->valuelen > 40 ? 40 : f->valuelen), f->value, want);
		return false;
	}
	mtasts_diags_add(d, MTASTS_SEV_WARNING, MTASTS_ESYNTAX, 0,
	    (unsigned)f->nameoff + 1, "v", "duplicate \"v=%s\" ignored", want);
	return true;
}
