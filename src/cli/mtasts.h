/* SPDX-License-Identifier: MIT */
/*
 * NAME
 *	mtasts.h (cli)
 * SUMMARY
 *	shared declarations of the mtasts command
 * DESCRIPTION
 *	The command line is parsed once into struct cli_opts (mtasts.c);
 *	each verb lives in its own file (mtasts_lint.c, mtasts_policy.c)
 *	and returns the process exit status.
 */
#ifndef MTASTS_CLI_H
#define MTASTS_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mtasts/diag.h"
#include "mtasts/policy.h"

/* Exit statuses shared by the verbs. */
#define EXIT_VALID 0
#define EXIT_INVALID 1
#define EXIT_USAGE 2

#define CLI_MX_MAX 64
#define CLI_HAVE_CONTROL 1

struct cli_opts {
	bool json;
	const char *resolver;
	const char *ca_file;
	const char *control;	/* mtastsd control socket (cache verb) */
	unsigned timeout_ms;	/* 0: library default */
	const char *mx[CLI_MX_MAX];
	size_t mx_count;
	char **args;		/* operands after the verb */
	int nargs;
};

/* Print "mtasts: <message>" to standard error. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a usage error and return EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Convert a domain given by the user (ASCII or Unicode, any case, one
 * optional trailing dot) to lowercase A-labels in out (cap bytes).
 * Returns 0, or -1 with a message in why (static or in out).
 */
int cli_domain_to_ascii(const char *in, char *out, size_t cap,
    const char **why);

/* JSON helpers (mtasts_json.c). Each returns a new reference. */
json_t *cli_json_policy(const struct mtasts_policy *p);
json_t *cli_json_diags(const struct mtasts_diags *d, enum mtasts_severity sev);
/* Print a JSON value on one line to standard output and release it. */
void cli_json_print(json_t *v);

/* Print every finding of d to standard error, prefixed by what. */
void cli_print_diags(const char *what, const struct mtasts_diags *d);

int cli_lint(struct cli_opts *o);
int cli_policy(struct cli_opts *o);
int cli_cache(struct cli_opts *o);

#endif
