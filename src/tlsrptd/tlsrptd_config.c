/* SPDX-License-Identifier: MIT */
/* tlsrptd_config.c: settings table and INI loader (tlsrptd_config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "tlsrptd_config.h"
#include "util/confval.h"
#include "tlsrptd_counters.h"

enum kind { K_STR, K_BOOL, K_TIME, K_COUNT };

struct row {
	const char *key;
	enum kind kind;
	const char *def;	/* text of the default */
	size_t off;
	unsigned long long min, max;
	const char *doc;
};

#define C(f) offsetof(struct tlsrptd_config, f)
#define DAYS(n) ((n) * 86400ULL)

/* Sorted by key. */
static const struct row table[] = {
	{"ca_file", K_STR, "", C(ca_file), 0, 0,
	    "PEM trust store for HTTPS and SMTP; empty: system default"},
	{"close_delay", K_TIME, "15m", C(close_delay), 0, DAYS(1),
	    "close a UTC day this long after its end (late log lines)"},
	{"connect_timeout", K_TIME, "10s", C(connect_timeout), 1, 300,
	    "TCP/TLS connect timeout for HTTPS and SMTP"},
	{"contact_info", K_STR, "", C(contact_info), 0, 0,
	    "contact-info of the reports (addr-spec); required to send"},
	{"count_plaintext", K_BOOL, "no", C(count_plaintext), 0, 1,
	    "log reader: count a delivery without a TLS line as "
	    "starttls-not-supported (needs smtp_tls_loglevel >= 1)"},
	{"datagram_socket", K_STR, "", C(datagram_socket), 0, 0,
	    "libtlsrpt Unix datagram socket to receive on; empty: none"},
	{"datagram_socket_group", K_STR, "postfix", C(datagram_socket_group),
	    0, 0, "group of the datagram socket (Postfix's smtp processes "
	    "run as this group); empty: the daemon's own"},
	{"datagram_socket_mode", K_STR, "0220", C(datagram_socket_mode), 0, 0,
	    "permissions of the datagram socket, octal: write for owner and "
	    "group only, so other local users cannot inject results"},
	{"dns_resolver", K_STR, "", C(dns_resolver), 0, 0,
	    "IP[@PORT] for every DNS query; empty: system resolver"},
	{"dns_timeout", K_TIME, "5s", C(dns_timeout), 1, 120,
	    "timeout per DNS query"},
	{"drain_timeout", K_TIME, "10s", C(drain_timeout), 0, 600,
	    "on SIGTERM, longest wait for a running send pass"},
	{"flush_interval", K_TIME, "5s", C(flush_interval), 1, 3600,
	    "write collected counts to the store this often"},
	{"give_up", K_TIME, "1d", C(give_up), 60, DAYS(7),
	    "stop retrying a delivery this long after the first attempt"},
	{"http_timeout", K_TIME, "60s", C(http_timeout), 1, 3600,
	    "whole HTTPS POST or SMTP submission timeout"},
	{"https_verify", K_BOOL, "yes", C(https_verify), 0, 1,
	    "verify report endpoint certificates (RFC 8460 allows not to)"},
	{"jitter_percent", K_COUNT, "20", C(jitter_percent), 0, 100,
	    "random extra added to each retry back-off, in percent"},
	{"log", K_STR, "stderr", C(log), 0, 0,
	    "stderr, syslog or syslog:FACILITY"},
	{"log_file", K_STR, "", C(log_file), 0, 0,
	    "Postfix mail log to follow, or - for standard input; empty: "
	    "none"},
	{"log_follow", K_BOOL, "yes", C(log_follow), 0, 1,
	    "keep reading log_file as it grows (no: stop at its end)"},
	{"log_level", K_STR, "info", C(log_level), 0, 0,
	    "err, warning, notice, info or debug"},
	{"mail_from", K_STR, "", C(mail_from), 0, 0,
	    "envelope sender and From of report mail; empty: contact_info"},
	{"mail_method", K_STR, "sendmail", C(mail_method), 0, 0,
	    "how report mail leaves: sendmail or smtp"},
	{"max_details", K_COUNT, "1000", C(max_details), 1, 100000,
	    "failure-details rows per policy (largest counts first)"},
	{"max_per_pass", K_COUNT, "1000", C(max_per_pass), 1, 1000000,
	    "reports planned and deliveries tried per pass"},
	{"organization_name", K_STR, "", C(organization_name), 0, 0,
	    "organization-name of the reports; empty: submitter"},
	{"policy_reload", K_TIME, "5m", C(policy_reload), 10, DAYS(1),
	    "reload the policies from policy_store this often"},
	{"policy_store", K_STR, "", C(policy_store), 0, 0,
	    "mtastsd's policy store URI, for the log reader; empty: every "
	    "domain is no-policy-found"},
	{"report_window", K_TIME, "3d", C(report_window), DAYS(1), DAYS(60),
	    "days older than this are never reported"},
	{"retry_max", K_TIME, "4h", C(retry_max), 60, DAYS(1),
	    "longest back-off between delivery attempts"},
	{"retry_min", K_TIME, "5m", C(retry_min), 10, DAYS(1),
	    "first back-off after a temporary delivery failure"},
	{"scan_interval", K_TIME, "1m", C(scan_interval), 1, 3600,
	    "look for due reports and retries this often"},
	{"send_delay", K_TIME, "30m", C(send_delay), 0, DAYS(1),
	    "earliest sending time after the end of a day"},
	{"send_reports", K_BOOL, "yes", C(send_reports), 0, 1,
	    "run the report scheduler (no: collect only)"},
	{"send_spread", K_TIME, "4h", C(send_spread), 0, DAYS(1),
	    "spread the day's reports over this long (per-domain offset)"},
	{"sending_ip", K_STR, "", C(sending_ip), 0, 0,
	    "sending-mta-ip written when the collector did not see it"},
	{"sendmail_path", K_STR, "/usr/sbin/sendmail", C(sendmail_path), 0,
	    0, "sendmail program (mail_method = sendmail)"},
	{"smtp_password", K_STR, "", C(smtp_password), 0, 0,
	    "SMTP AUTH password (mail_method = smtp)"},
	{"smtp_starttls", K_BOOL, "yes", C(smtp_starttls), 0, 1,
	    "require STARTTLS for smtp:// submission"},
	{"smtp_url", K_STR, "smtp://127.0.0.1:587", C(smtp_url), 0, 0,
	    "submission server: smtp://HOST:PORT or smtps://HOST:PORT"},
	{"smtp_user", K_STR, "", C(smtp_user), 0, 0,
	    "SMTP AUTH user; empty: no AUTH"},
	{"store", K_STR, TLSRPTD_COUNTERS_DEFAULT_URI, C(store), 0, 0,
	    "counter store: sqlite:PATH or postgresql://..."},
	{"submitter", K_STR, "", C(submitter), 0, 0,
	    "TLS-Report-Submitter and file name sender; empty: the domain "
	    "of contact_info"},
	{"suppress_after", K_COUNT, "3", C(suppress_after), 0, 1000,
	    "suppress a destination after this many give-ups in a row (0: "
	    "never)"},
	{"suppress_period", K_TIME, "7d", C(suppress_period), 3600, DAYS(90),
	    "how long a failing destination stays suppressed"},
};

#define NROWS (sizeof(table) / sizeof(table[0]))

static int
errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static char **
str_at(struct tlsrptd_config *c, size_t off)
{
	return (char **)(void *)((char *)c + off);
}

static void
set_str(struct tlsrptd_config *c, size_t off, const char *v)
{
	char *p = strdup(v);

	if (p == NULL) {
		fputs("mtasts-tlsrptd: out of memory\n", stderr);
		exit(1);
	}
	free(*str_at(c, off));
	*str_at(c, off) = p;
}


static const struct row *
find(const char *key)
{
	size_t lo = 0, hi = NROWS;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strcmp(key, table[mid].key);

		if (cmp == 0)
			return &table[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
tlsrptd_config_set(struct tlsrptd_config *c, const char *key,
		   const char *value, char *err, size_t errlen)
{
	const struct row *r = find(key);
	unsigned long long n;
	int rc;
	bool b;

	if (r == NULL)
		return errf(err, errlen, "unknown key \"%s\"", key);
	switch (r->kind) {
	case K_STR:
		if (strlen(value) > 4096)
			return errf(err, errlen, "%s: value too long", key);
		set_str(c, r->off, value);
		return 0;
	case K_BOOL:
		if (mtasts__conf_bool(value, &b) != 0)
			return errf(err, errlen, "%s: \"%s\" is not yes or no",
			    key, value);
		*(bool *)(void *)((char *)c + r->off) = b;
		return 0;
	case K_TIME:
	case K_COUNT:
		rc = r->kind == K_TIME ? mtasts__conf_time(value, &n)
					: mtasts__conf_count(value, &n);
		if (rc != 0)
			return errf(err, errlen, "%s: \"%s\" is not a %s", key,
			    value, r->kind == K_TIME ? "time (30s, 5m, 2h, "
			    "1d, 1w)" : "number");
		if (n < r->min || n > r->max)
			return errf(err, errlen, "%s: %llu is outside %llu..%llu",
			    key, n, r->min, r->max);
		*(unsigned *)(void *)((char *)c + r->off) = (unsigned)n;
		return 0;
	}
	return errf(err, errlen, "%s: bad table row", key);
}

void
tlsrptd_config_init(struct tlsrptd_config *c)
{
	size_t i;
	char err[TLSRPTD_ERRLEN];

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NROWS; i++)
		if (tlsrptd_config_set(c, table[i].key, table[i].def, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "mtasts-tlsrptd: default: %s\n", err);
			abort();
		}
}

void
tlsrptd_config_free(struct tlsrptd_config *c)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (table[i].kind == K_STR) {
			free(*str_at(c, table[i].off));
			*str_at(c, table[i].off) = NULL;
		}
}

struct load_ctx {
	struct tlsrptd_config *c;
	char *err;
	size_t errlen;
	int failed;
};

static int
ini_cb(void *arg, const char *section, const char *key, const char *value)
{
	struct load_ctx *l = arg;
	char e[TLSRPTD_ERRLEN];

	if (l->failed)
		return 0;
	if (section[0] != '\0' && strcmp(section, "tlsrptd") != 0) {
		errf(l->err, l->errlen, "unknown section [%s]", section);
		l->failed = 1;
		return 0;
	}
	if (tlsrptd_config_set(l->c, key, value, e, sizeof(e)) != 0) {
		errf(l->err, l->errlen, "%s", e);
		l->failed = 1;
		return 0;
	}
	return 1;
}

int
tlsrptd_config_load(struct tlsrptd_config *c, const char *path,
		    bool missing_ok, char *err, size_t errlen)
{
	struct load_ctx l = {c, err, errlen, 0};
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		if (missing_ok && errno == ENOENT)
			return 0;
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	rc = ini_parse_file(f, ini_cb, &l);
	fclose(f);
	if (l.failed) {
		char e[TLSRPTD_ERRLEN];

		snprintf(e, sizeof(e), "%s", err);
		return errf(err, errlen, "%s: %s", path, e);
	}
	if (rc != 0)
		return errf(err, errlen, "%s: syntax error on line %d", path,
		    rc);
	return 0;
}

int
tlsrptd_config_finish(struct tlsrptd_config *c, char *err, size_t errlen)
{
	const char *at = strrchr(c->contact_info, '@');

	if (strcmp(c->mail_method, "sendmail") != 0 &&
	    strcmp(c->mail_method, "smtp") != 0)
		return errf(err, errlen, "mail_method: \"%s\" is not sendmail "
		    "or smtp", c->mail_method);
	if (c->contact_info[0] != '\0' && (at == NULL || at == c->contact_info ||
	    at[1] == '\0' || strpbrk(c->contact_info, " \t<>\"") != NULL))
		return errf(err, errlen, "contact_info: \"%s\" is not an "
		    "address", c->contact_info);
	if (c->submitter[0] == '\0' && at != NULL)
		set_str(c, C(submitter), at + 1);
	if (c->mail_from[0] == '\0')
		set_str(c, C(mail_from), c->contact_info);
	if (c->organization_name[0] == '\0')
		set_str(c, C(organization_name), c->submitter);
	{
		char *end;
		unsigned long m = strtoul(c->datagram_socket_mode, &end, 8);

		if (c->datagram_socket_mode[0] == '\0' || *end != '\0' ||
		    m > 0777 || (m & 0222) == 0)
			return errf(err, errlen, "datagram_socket_mode: \"%s\" "
			    "is not an octal mode that lets anyone write",
			    c->datagram_socket_mode);
		c->datagram_mode = (unsigned)m;
	}
	if (c->retry_min > c->retry_max)
		return errf(err, errlen, "retry_min is larger than retry_max");
	if (c->send_reports && c->contact_info[0] == '\0')
		return errf(err, errlen, "contact_info is required to send "
		    "reports (or set send_reports = no)");
	/* RFC 8460 5.3: TLS-Report-Submitter matches contact-info's
	 * domain */
	if (at != NULL && strcasecmp(at + 1, c->submitter) != 0)
		return errf(err, errlen, "submitter \"%s\" differs from the "
		    "domain of contact_info \"%s\" (RFC 8460 section 5.3)",
		    c->submitter, c->contact_info);
	return 0;
}

void
tlsrptd_config_dump(const struct tlsrptd_config *c, FILE *out)
{
	size_t i;

	for (i = 0; i < NROWS; i++) {
		const struct row *r = &table[i];
		const char *base = (const char *)c + r->off;
		char val[4200];

		switch (r->kind) {
		case K_STR:
			snprintf(val, sizeof(val), "%s",
			    strcmp(r->key, "smtp_password") == 0 &&
			    (*(char *const *)(const void *)base)[0] ?
			    "(set)" : *(char *const *)(const void *)base);
			break;
		case K_BOOL:
			snprintf(val, sizeof(val), "%s",
			    *(const bool *)(const void *)base ? "yes" : "no");
			break;
		default:
			snprintf(val, sizeof(val), "%u",
			    *(const unsigned *)(const void *)base);
			break;
		}
		fprintf(out, "%s = %s\t# default: %s; %s\n", r->key, val,
		    r->def[0] ? r->def : "(empty)", r->doc);
	}
}

const char *
tlsrptd_config_key(size_t i)
{
	return i < NROWS ? table[i].key : NULL;
}
