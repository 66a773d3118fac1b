/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	diag 3h
 * SUMMARY
 *	a bounded list of parser findings (errors and warnings)
 * DESCRIPTION
 *	Parsers stop at nothing: they record every problem they find into an
 *	optional caller-owned struct mtasts_diags, so that a linter can show
 *	all of them at once, each with the line and field it concerns. The
 *	list holds at most MTASTS_DIAGS_MAX entries; further ones are only
 *	counted in "dropped". A plain value struct: zero it (or call
 *	mtasts_diags_init) before use; nothing to free.
 */
#ifndef MTASTS_DIAG_H
#define MTASTS_DIAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_DIAGS_MAX 32
#define MTASTS_DIAG_FIELD_MAX 33
#define MTASTS_DIAG_MSG_MAX 192

enum mtasts_severity {
	MTASTS_SEV_ERROR = 0,	/* makes the input invalid */
	MTASTS_SEV_WARNING = 1	/* accepted, but worth fixing */
};

struct mtasts_diag {
	enum mtasts_severity severity;
	int code;		/* enum mtasts_err, e.g. MTASTS_ESYNTAX */
	unsigned line;		/* 1-based line; 0 when not line-oriented */
	unsigned column;	/* 1-based byte column; 0 when unknown */
	char field[MTASTS_DIAG_FIELD_MAX]; /* key concerned, "" if none */
	char msg[MTASTS_DIAG_MSG_MAX];	/* one sentence, no trailing dot */
};

struct mtasts_diags {
	size_t count;		/* valid entries in item[] */
	size_t errors;		/* how many were errors (incl. dropped) */
	size_t warnings;	/* how many were warnings (incl. dropped) */
	size_t dropped;		/* entries that did not fit */
	struct mtasts_diag item[MTASTS_DIAGS_MAX];
};

/* Empty the list. NULL-safe. */
void mtasts_diags_init(struct mtasts_diags *d);

/*
 * Append a finding (NULL-safe: with d == NULL nothing happens). field may
 * be NULL. The message is printf-formatted and truncated to fit.
 */
void mtasts_diags_add(struct mtasts_diags *d, enum mtasts_severity sev,
    int code, unsigned line, unsigned column, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/*
 * Write one finding as a human-readable line into buf (at most size
 * bytes, NUL-terminated): "line 3, field mode: unknown mode ...".
 * Returns buf.
 */
char *mtasts_diag_format(const struct mtasts_diag *dg, char *buf,
    size_t size);

#ifdef __cplusplus
}
#endif
#endif
