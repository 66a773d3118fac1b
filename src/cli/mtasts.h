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

#include "mtasts/check.h"
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
	const char *ehlo_name;	/* check/scan: EHLO name for MX probes */
	unsigned concurrency;	/* scan: domains at once (0: default) */
	const char *state_file;	/* check/scan: remembered ids and MX sets */
	bool summary_only;	/* scan: only the closing table */
	bool no_color;		/* never colour the report */
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

/* check and scan (mtasts_check.c, mtasts_scan.c) */
struct event_base;
struct mtasts_checker;
struct mtasts_check_report;
struct cli_state;

/* Create the checker from the global options; on error print it and
 * return the exit status to use (nonzero). */
int cli_checker_new(const struct cli_opts *o, struct event_base *base,
    struct mtasts_checker **out);
/* Exit status of one report: 0 pass, 1 warnings (or partly untested),
 * 2 failures, 3 nothing could be tested. */
int cli_report_status(const struct mtasts_check_report *r);
/* JSON object of one report (new reference). */
json_t *cli_json_report(const struct mtasts_check_report *r);
/* The state file (--state): load (a missing file is empty), look up,
 * record a report, save atomically. */
struct cli_state *cli_state_load(const char *path);
bool cli_state_prev(struct cli_state *st, const char *domain,
    struct mtasts_check_prev *prev, const char **mxbuf, size_t cap);
void cli_state_record(struct cli_state *st,
    const struct mtasts_check_report *r);
int cli_state_save(struct cli_state *st);
void cli_state_free(struct cli_state *st);

int cli_lint(struct cli_opts *o);
int cli_check(struct cli_opts *o);
int cli_scan(struct cli_opts *o);
int cli_policy(struct cli_opts *o);
int cli_cache(struct cli_opts *o);

#endif
