/* SPDX-License-Identifier: MIT */
/*
 * diag.c: bounded list of parser findings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/diag.h"

void
mtasts_diags_init(struct mtasts_diags *d)
{
	if (d != NULL)
		memset(d, 0, sizeof(*d));
}

void
mtasts_diags_add(struct mtasts_diags *d, enum mtasts_severity sev, int code,
    unsigned line, unsigned column, const char *field, const char *fmt, ...)
{
	struct mtasts_diag *dg;
	va_list ap;

	if (d == NULL)
		return;
	if (sev == MTASTS_SEV_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->count >= MTASTS_DIAGS_MAX) {
		d->dropped++;
		return;
	}
	dg = &d->item[d->count++];
	dg->severity = sev;
	dg->code = code;
	dg->line = line;
	dg->column = column;
	snprintf(dg->field, sizeof(dg->field), "%s", field ? field : "");
	va_start(ap, fmt);
	(void)vsnprintf(dg->msg, sizeof(dg->msg), fmt, ap);
	va_end(ap);
}

char *
mtasts_diag_format(const struct mtasts_diag *dg, char *buf, size_t size)
{
	const char *sev = dg->severity == MTASTS_SEV_ERROR ? "error"
							   : "warning";

	if (size == 0)
		return buf;
	if (dg->line > 0 && dg->field[0] != '\0')
		snprintf(buf, size, "%s: line %u, field \"%s\": %s", sev,
		    dg->line, dg->field, dg->msg);
	else if (dg->line > 0)
		snprintf(buf, size, "%s: line %u: %s", sev, dg->line, dg->msg);
	else if (dg->field[0] != '\0')
		snprintf(buf, size, "%s: field \"%s\": %s", sev, dg->field,
		    dg->msg);
	else
		snprintf(buf, size, "%s: %s", sev, dg->msg);
	return buf;
}
