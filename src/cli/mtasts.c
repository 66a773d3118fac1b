/* SPDX-License-Identifier: MIT */
/*
 * mtasts.c: the mtasts command: option table, usage and dispatch.
 *
 * Options come from one sorted table (long name, short letter, argument,
 * help text); getopt_long's option list and the --help text are both
 * derived from it. Options may appear before or after the verb.
 */
#include <errno.h>
#include <getopt.h>
#include <idn2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "mtasts/mx.h"
#include "mtasts/version.h"

enum opt_id {
	OPT_CA_FILE = 256,
	OPT_CONCURRENCY,
	OPT_CONTROL,
	OPT_EHLO_NAME,
	OPT_NO_COLOR,
	OPT_STATE,
	OPT_SUMMARY_ONLY,
	OPT_HELP = 'h',
	OPT_JSON = 'j',
	OPT_MX = 'm',
	OPT_RESOLVER = 'r',
	OPT_TIMEOUT = 't',
	OPT_VERSION = 'V'
};

struct opt_def {
	const char *name;
	int id;
	int has_arg;
	const char *arg;
	const char *help;
};

/* Sorted by long name. */
static const struct opt_def opt_table[] = {
	{"ca-file", OPT_CA_FILE, required_argument, "FILE",
	    "trust only the CA certificates in FILE (PEM) for policy hosts "
	    "and MX hosts"},
	{"concurrency", OPT_CONCURRENCY, required_argument, "N",
	    "scan: check at most N domains at once (default 50); also caps "
	    "SMTP connections"},
	{"control", OPT_CONTROL, required_argument, "PATH",
	    "cache: mtastsd's control socket (default $MTASTS_CONTROL, "
	    "else /run/mtastsd/control.sock)"},
	{"ehlo-name", OPT_EHLO_NAME, required_argument, "NAME",
	    "check/scan: the name sent in EHLO (default mtasts.invalid)"},
	{"help", OPT_HELP, no_argument, NULL, "show this help and exit"},
	{"json", OPT_JSON, no_argument, NULL,
	    "print results as JSON (one object per line)"},
	{"mx", OPT_MX, required_argument, "HOST",
	    "lint policy: check that HOST matches the policy (repeatable)"},
	{"no-color", OPT_NO_COLOR, no_argument, NULL,
	    "check: no colours, even on a terminal"},
	{"resolver", OPT_RESOLVER, required_argument, "IP[@PORT]",
	    "send every DNS query to this server instead of the system's"},
	{"state", OPT_STATE, required_argument, "FILE",
	    "check/scan: remember policy ids, bodies and MX sets in FILE "
	    "(JSON) and warn on changes"},
	{"summary-only", OPT_SUMMARY_ONLY, no_argument, NULL,
	    "scan: print only the closing summary table"},
	{"timeout", OPT_TIMEOUT, required_argument, "SECONDS",
	    "limit for one policy fetch (default 60; DNS and connect limits "
	    "are capped by it); check/scan: also each SMTP wait"},
	{"version", OPT_VERSION, no_argument, NULL, "show the version and exit"},
};

#define NOPTS (sizeof(opt_table) / sizeof(opt_table[0]))

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("mtasts: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mtasts: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'mtasts --help'.\n", stderr);
	return EXIT_USAGE;
}

static void
usage(FILE *f)
{
	size_t i;

	fputs("Usage: mtasts [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460) tool.\n"
	      "\n"
	      "Commands:\n"
	      "  lint sts-record TEXT...     check _mta-sts TXT record(s); "
	      "several TEXTs\n"
	      "                              are treated as one RRset\n"
	      "  lint tlsrpt-record TEXT...  check _smtp._tls TXT record(s)\n"
	      "  lint policy FILE|-          check a policy file "
	      "(mta-sts.txt)\n"
	      "  policy DOMAIN...            discover and fetch each "
	      "domain's policy\n"
	      "  check DOMAIN...             check a domain's whole inbound "
	      "mail TLS:\n"
	      "                              MTA-STS, TLS-RPT, every MX "
	      "(STARTTLS, TLS, certs)\n"
	      "  scan FILE|-                 run check over one domain per "
	      "line (JSON Lines\n"
	      "                              and a summary table)\n"
	      "  cache list|show D|purge D|purge-all|export|stats\n"
	      "                              inspect a running mtastsd's "
	      "cache\n"
	      "\n"
	      "Options:\n",
	    f);
	for (i = 0; i < NOPTS; i++) {
		char left[40];

		if (opt_table[i].id < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s",
			    opt_table[i].id, opt_table[i].name,
			    opt_table[i].arg ? " " : "",
			    opt_table[i].arg ? opt_table[i].arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s",
			    opt_table[i].name, opt_table[i].arg ? " " : "",
			    opt_table[i].arg ? opt_table[i].arg : "");
		fprintf(f, "  %-28s%s\n", left, opt_table[i].help);
	}
	fputs("\nExit status: lint: 0 valid, 1 invalid, 2 usage error;\n"
	      "policy: 0 every domain answered (policy or no policy), "
	      "1 some lookup failed,\n2 usage error; check: 0 all pass, "
	      "1 warnings, 2 failures, 3 nothing could\nbe tested; scan: "
	      "0 done, 1 some lines were not domains, 2 usage error.\n"
	      "See mtasts(1).\n",
	    f);
}

int
cli_domain_to_ascii(const char *in, char *out, size_t cap, const char **why)
{
	size_t len = strlen(in);
	char *ascii = NULL;
	const unsigned char *p;
	int nonascii = 0;
	size_t i;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 1024) {
		*why = "empty or over-long domain name";
		return -1;
	}
	for (p = (const unsigned char *)in; p < (const unsigned char *)in +
	     len; p++)
		if (*p >= 0x80)
			nonascii = 1;
	if (nonascii) {
		char tmp[1025];
		int rc;

		memcpy(tmp, in, len);
		tmp[len] = '\0';
		rc = idn2_to_ascii_8z(tmp, &ascii,
		    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK) {
			*why = idn2_strerror(rc);
			return -1;
		}
		len = strlen(ascii);
	}
	if (len + 1 > cap) {
		idn2_free(ascii);
		*why = "domain name is too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = (ascii ? ascii : in)[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	out[len] = '\0';
	idn2_free(ascii);
	if (!mtasts_domain_valid(out, len, false, why))
		return -1;
	return 0;
}

static int
parse_timeout(const char *s, unsigned *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 3600)
		return -1;
	*ms = (unsigned)(v * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct option longopts[NOPTS + 1];
	char shortopts[2 * NOPTS + 2];
	struct cli_opts o;
	const char *verb;
	size_t i, n = 0;
	int c;

	/* Keep stdout and stderr lines in order when both go to a terminal. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&o, 0, sizeof(o));
	memset(longopts, 0, sizeof(longopts));
	shortopts[n++] = ':';
	for (i = 0; i < NOPTS; i++) {
		longopts[i].name = opt_table[i].name;
		longopts[i].has_arg = opt_table[i].has_arg;
		longopts[i].val = opt_table[i].id;
		if (opt_table[i].id < 256) {
			shortopts[n++] = (char)opt_table[i].id;
			if (opt_table[i].has_arg == required_argument)
				shortopts[n++] = ':';
		}
	}
	shortopts[n] = '\0';

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CA_FILE:
			o.ca_file = optarg;
			break;
		case OPT_CONTROL:
			o.control = optarg;
			break;
		case OPT_CONCURRENCY: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 1 || v > 10000)
				return cli_usage_error("--concurrency wants a "
						       "number from 1 to "
						       "10000, not '%s'",
				    optarg);
			o.concurrency = (unsigned)v;
			break;
		}
		case OPT_EHLO_NAME:
			if (!mtasts_domain_valid(optarg, strlen(optarg), false,
				NULL))
				return cli_usage_error("--ehlo-name wants a "
						       "host name, not '%s'",
				    optarg);
			o.ehlo_name = optarg;
			break;
		case OPT_NO_COLOR:
			o.no_color = true;
			break;
		case OPT_STATE:
			o.state_file = optarg;
			break;
		case OPT_SUMMARY_ONLY:
			o.summary_only = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_MX:
			if (o.mx_count >= CLI_MX_MAX)
				return cli_usage_error("at most %d --mx options",
				    CLI_MX_MAX);
			o.mx[o.mx_count++] = optarg;
			break;
		case OPT_RESOLVER:
			o.resolver = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &o.timeout_ms) != 0)
				return cli_usage_error("--timeout wants seconds "
						       "between 0 and 3600, not "
						       "'%s'",
				    optarg);
			break;
		case OPT_VERSION:
			printf("mtasts %s\n", mtasts_version());
			return 0;
		case ':':
			return cli_usage_error("option '%s' needs an argument",
			    argv[optind - 1]);
		default:
			return cli_usage_error("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[optind];
	o.args = argv + optind + 1;
	o.nargs = argc - optind - 1;
	if (strcmp(verb, "lint") == 0)
		return cli_lint(&o);
	if (o.mx_count > 0)
		return cli_usage_error("--mx goes with 'lint policy'");
	if (strcmp(verb, "policy") == 0)
		return cli_policy(&o);
	if (strcmp(verb, "check") == 0)
		return cli_check(&o);
	if (strcmp(verb, "scan") == 0)
		return cli_scan(&o);
	if (strcmp(verb, "cache") == 0)
		return cli_cache(&o);
	if (strcmp(verb, "help") == 0) {
		usage(stdout);
		return 0;
	}
	return cli_usage_error("unknown command '%s'", verb);
}
