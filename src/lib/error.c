/* SPDX-License-Identifier: MIT */
/*
 * error.c: names, descriptions and classes of enum mtasts_err.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/error.h"

struct errinfo {
	const char *name;
	const char *text;
	enum mtasts_errclass cls;
};

/* Indexed by -code. */
static const struct errinfo errtab[] = {
	{"MTASTS_OK", "success", MTASTS_CLASS_OK},
	{"MTASTS_ENOMEM", "out of memory", MTASTS_CLASS_TEMP},
	{"MTASTS_EINVAL", "invalid argument", MTASTS_CLASS_INVALID},
	{"MTASTS_ESYNTAX", "syntax error", MTASTS_CLASS_INVALID},
	{"MTASTS_ETOOBIG", "size limit exceeded", MTASTS_CLASS_INVALID},
	{"MTASTS_ENOTFOUND", "not found", MTASTS_CLASS_NOTFOUND},
	{"MTASTS_EMULTIPLE", "more than one record", MTASTS_CLASS_INVALID},
	{"MTASTS_EDNSTEMP", "temporary DNS failure", MTASTS_CLASS_TEMP},
	{"MTASTS_EDNS", "DNS failure", MTASTS_CLASS_PERM},
	{"MTASTS_ECONNECT", "connection failed", MTASTS_CLASS_TEMP},
	{"MTASTS_ETIMEOUT", "timed out", MTASTS_CLASS_TEMP},
	{"MTASTS_ETLS", "TLS failure", MTASTS_CLASS_PERM},
	{"MTASTS_ECERT", "certificate validation failed", MTASTS_CLASS_PERM},
	{"MTASTS_EHTTPSTATUS", "HTTP status is not 200", MTASTS_CLASS_PERM},
	{"MTASTS_EREDIRECT", "HTTP redirect refused", MTASTS_CLASS_PERM},
	{"MTASTS_ECTYPE", "media type is not text/plain", MTASTS_CLASS_PERM},
	{"MTASTS_EHTTP", "HTTP transfer failed", MTASTS_CLASS_TEMP},
	{"MTASTS_EINTERNAL", "internal error", MTASTS_CLASS_PERM},
	{"MTASTS_ECANCELED", "canceled", MTASTS_CLASS_TEMP},
	{"MTASTS_EIO", "I/O error", MTASTS_CLASS_TEMP},
	{"MTASTS_EAGAIN", "incomplete input", MTASTS_CLASS_TEMP},
	{"MTASTS_ESTORE", "store unavailable", MTASTS_CLASS_TEMP},
};

static const struct errinfo *
lookup(int code)
{
	if (code > 0 || code < MTASTS_ERR_LAST_)
		return NULL;
	return &errtab[-code];
}

const char *
mtasts_strerror(int code)
{
	const struct errinfo *e = lookup(code);

	return e ? e->text : "unknown error";
}

const char *
mtasts_errname(int code)
{
	const struct errinfo *e = lookup(code);

	return e ? e->name : "MTASTS_EUNKNOWN";
}

enum mtasts_errclass
mtasts_errclass(int code)
{
	const struct errinfo *e = lookup(code);

	return e ? e->cls : MTASTS_CLASS_PERM;
}

const char *
mtasts_errclass_name(enum mtasts_errclass cls)
{
	switch (cls) {
	case MTASTS_CLASS_OK:
		return "ok";
	case MTASTS_CLASS_NOTFOUND:
		return "notfound";
	case MTASTS_CLASS_TEMP:
		return "temp";
	case MTASTS_CLASS_PERM:
		return "perm";
	case MTASTS_CLASS_INVALID:
		return "invalid";
	}
	return "perm";
}

void
mtasts_error_clear(struct mtasts_error *err)
{
	if (err == NULL)
		return;
	err->code = MTASTS_OK;
	err->cls = MTASTS_CLASS_OK;
	err->msg[0] = '\0';
}

int
mtasts_error_set(struct mtasts_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	err->cls = mtasts_errclass(code);
	if (fmt == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s",
		    mtasts_strerror(code));
		return code;
	}
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
