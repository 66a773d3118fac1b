/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	txtrec 3h (internal)
 * SUMMARY
 *	field splitter shared by the "_mta-sts" and "_smtp._tls" records
 * DESCRIPTION
 *	Both records have the shape
 *	    version 1*(*WSP ";" *WSP name "=" value) [*WSP ";" *WSP]
 *	(RFC 8461 section 3.1, RFC 8460 section 3). No value may contain a
 *	raw ";", so the record splits exactly at ";". The splitter checks
 *	the version, the delimiters, empty fields and the field names
 *	(ALPHA / DIGIT, then up to 31 of ALPHA / DIGIT / "_" / "-" / "."),
 *	reports every problem into the caller's diags and hands each
 *	well-formed name=value to the caller, who checks the value.
 */
#ifndef MTASTS_UTIL_TXTREC_H
#define MTASTS_UTIL_TXTREC_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/diag.h"
#include "mtasts/error.h"

#define MTASTS__TXT_NAME_MAX 32

struct mtasts__txtfield {
	const char *name;	/* not NUL-terminated */
	size_t namelen;
	const char *value;	/* may be empty; not NUL-terminated */
	size_t valuelen;
	size_t nameoff;		/* 0-based byte offset of name in record */
	size_t valueoff;	/* 0-based byte offset of value */
	char key[MTASTS__TXT_NAME_MAX + 1]; /* NUL-terminated copy of name */
};

struct mtasts__txtrec {
	const char *txt;
	size_t len;
	size_t pos;		/* start of the next segment */
	unsigned fields;	/* name=value fields returned so far */
	unsigned segments;	/* non-empty segments seen after the version */
	unsigned errors;	/* structural errors found */
	bool noncanonical;	/* WSP between the version and ";" */
	bool done;
};

/*
 * Start splitting txt (len bytes); version is the literal the record
 * must begin with ("v=STSv1"). Structural errors are added to d.
 * Returns false when the version is wrong (then nothing else is parsed).
 */
bool mtasts__txtrec_begin(struct mtasts__txtrec *r, const char *txt,
    size_t len, const char *version, struct mtasts_diags *d);

/*
 * Fetch the next well-formed field into *f. Malformed fields are
 * reported into d and skipped. Returns false at the end of the record.
 */
bool mtasts__txtrec_next(struct mtasts__txtrec *r,
    struct mtasts__txtfield *f, struct mtasts_diags *d);

/*
 * Check an extension value (1*(%x21-3A / %x3C / %x3E-7E)); on failure
 * add an error naming the field and the offending byte. Returns validity.
 */
bool mtasts__txtrec_ext_value_ok(const struct mtasts__txtfield *f,
    struct mtasts_diags *d);

/*
 * The RRset rule shared by both records (RFC 8461 section 3.1, RFC 8460
 * section 3, decision A-2): with more than one record, those not
 * beginning with "<version>;" are discarded and exactly one must remain.
 * version is "v=STSv1" or "v=TLSRPTv1"; owner names the DNS name in
 * messages ("_mta-sts"); consequence ends the "several records"
 * message ("the domain has no usable MTA-STS record").
 * Returns MTASTS_OK with *which set to the record to parse (the only one
 * when n == 1, without any filtering), MTASTS_ENOTFOUND or
 * MTASTS_EMULTIPLE (reported into d and err), or MTASTS_EINVAL.
 */
/*
 * A second "v" field after the version: a repeat of the version value
 * (want: "STSv1" or "TLSRPTv1") is ignored with a warning, any other
 * value is an error (the key decides the grammar, decision A-1). Both
 * go to d. Returns false for the error.
 */
bool mtasts__txtrec_repeated_version(const struct mtasts__txtfield *f,
    const char *want, struct mtasts_diags *d);

/*
 * Set *err to MTASTS_ESYNTAX with the first error finding added to d
 * since index from, prefixed "invalid <what> TXT record: ". Returns
 * MTASTS_ESYNTAX.
 */
int mtasts__txtrec_first_error(const struct mtasts_diags *d, size_t from,
    const char *what, struct mtasts_error *err);

int mtasts__txtrec_pick(const char *const *txt, const size_t *lens,
    size_t n, const char *version, const char *owner,
    const char *consequence, size_t *which, struct mtasts_diags *d,
    struct mtasts_error *err);

#endif
