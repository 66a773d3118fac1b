/* SPDX-License-Identifier: MIT */
/*
 * mtasts_scan.c: "mtasts scan FILE|-": run the checks of "mtasts check"
 * over one domain per line, the way a mail provider surveys the domains
 * its customers send to.
 *
 * The input is read line by line as domains finish, so at most
 * --concurrency domains are in memory whatever the file's size. Blank
 * lines and lines starting with '#' are skipped. Each finished domain is
 * one JSON line on standard output (the schema of "mtasts check --json",
 * in completion order); a line that is not a domain name gives
 * {"domain": "<line>", "error": "..."}. A progress line goes to
 * standard error when it is a terminal. The closing table of shares goes
 * to standard error, or to standard output with --summary-only (as one
 * JSON object with --json).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts.h"
#include "mtasts/check.h"
#include "mtasts/mx.h"

#define SCAN_DEFAULT_CONCURRENCY 50
#define SCAN_LINE_MAX 4096
#define PREV_MX_MAX 64

struct tally {
	unsigned long domains, invalid;
	unsigned long has_mx, null_mx, mx_tested;
	unsigned long starttls, tls12, certok;
	unsigned long sts_published, sts_valid, sts_enforce, sts_testing;
	unsigned long tlsrpt;
	unsigned long st[4];	/* by cli_report_status */
};

struct scan {
	const struct cli_opts *o;
	FILE *in;
	bool eof;
	unsigned long lineno;
	unsigned long total;	/* 0: unknown */
	unsigned long done;
	unsigned inflight;
	unsigned limit;
	struct mtasts_checker *chk;
	struct event_base *base;
	struct cli_state *st;
	struct tally t;
	bool progress;
	struct event *tick;
	struct timespec t0;
	char line[SCAN_LINE_MAX + 2];
	int status;
};

static double
elapsed(const struct scan *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - s->t0.tv_sec) +
	    (double)(now.tv_nsec - s->t0.tv_nsec) / 1e9;
}

static void
show_progress(struct scan *s, bool final)
{
	double sec = elapsed(s), rate = sec > 0 ? (double)s->done / sec : 0;

	if (!s->progress)
		return;
	if (s->total > 0) {
		double eta = rate > 0 && s->total > s->done ?
		    (double)(s->total - s->done) / rate : 0;

		fprintf(stderr, "\r\033[K%lu/%lu domains  %.0f/s  ETA %um%02us",
		    s->done, s->total, rate, (unsigned)(eta / 60),
		    (unsigned)eta % 60);
	} else {
		fprintf(stderr, "\r\033[K%lu domains  %.0f/s", s->done, rate);
	}
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	show_progress(arg, false);
}

static void feed(struct scan *s);

/*
 * Read one line into buf (cap bytes) without its line end. Returns its
 * length, more than cap - 2 for a line that did not fit (the rest of it
 * is skipped, so memory stays bounded), or -1 at the end of the input.
 */
static ssize_t
read_line(FILE *in, char *buf, size_t cap)
{
	size_t n;
	int c;

	if (fgets(buf, (int)cap, in) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		return (ssize_t)n;
	if (n < cap - 1)
		return (ssize_t)n;	/* last line without a line end */
	while ((c = getc(in)) != EOF && c != '\n')
		n++;
	return (ssize_t)n;
}

static void
count(struct tally *t, const struct mtasts_check_report *r)
{
	const struct mtasts_check_facts *f = mtasts_check_report_facts(r);

	t->domains++;
	t->st[cli_report_status(r)]++;
	if (f->has_mx)
		t->has_mx++;
	if (f->null_mx)
		t->null_mx++;
	if (f->has_mx && f->addrs_tested > 0) {
		t->mx_tested++;
		t->starttls += f->all_starttls;
		t->tls12 += f->all_tls12;
		t->certok += f->all_cert_ok;
	}
	t->sts_published += f->sts_published;
	if (f->sts_valid) {
		t->sts_valid++;
		t->sts_enforce += f->sts_mode == MTASTS_MODE_ENFORCE;
		t->sts_testing += f->sts_mode == MTASTS_MODE_TESTING;
	}
	t->tlsrpt += f->tlsrpt_valid;
}

static void
on_done(void *arg, struct mtasts_check_report *rep)
{
	struct scan *s = arg;

	s->inflight--;
	s->done++;
	if (rep != NULL) {
		count(&s->t, rep);
		cli_state_record(s->st, rep);
		if (!s->o->summary_only)
			cli_json_print(cli_json_report(rep));
		mtasts_check_report_free(rep);
	}
	feed(s);
	if (s->inflight == 0 && s->eof) {
		if (s->tick != NULL)
			event_del(s->tick);
		/* Do not wait for leftover timers (421 back-off...). */
		event_base_loopbreak(s->base);
	}
}

static void
bad_line(struct scan *s, const char *line, const char *why)
{
	s->t.invalid++;
	s->status = 1;
	if (!s->o->summary_only) {
		json_t *j = json_object();
		char shown[257];
		size_t i;

		/* Printable ASCII only: the line may be any bytes. */
		for (i = 0; i < 256 && line[i] != '\0'; i++)
			shown[i] = (line[i] >= 0x20 && line[i] < 0x7f) ?
			    line[i] : '?';
		shown[i] = '\0';
		json_object_set_new(j, "domain", json_string(shown));
		json_object_set_new(j, "error", json_string(why));
		cli_json_print(j);
	}
}

/* Start domains until the limit or the end of the input. */
static void
feed(struct scan *s)
{
	while (!s->eof && s->inflight < s->limit) {
		char dom[MTASTS_DOMAIN_MAX + 2];
		struct mtasts_check_prev prev;
		const char *mxbuf[PREV_MX_MAX];
		struct mtasts_error err;
		const char *why;
		ssize_t n;
		char *p;
		bool have;

		n = read_line(s->in, s->line, sizeof(s->line));
		if (n < 0) {
			s->eof = true;
			break;
		}
		s->lineno++;
		p = s->line;
		if (n > SCAN_LINE_MAX) {
			s->line[64] = '\0';
			bad_line(s, p, "line too long");
			continue;
		}
		while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' ||
				    p[n - 1] == ' ' || p[n - 1] == '\t'))
			p[--n] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (cli_domain_to_ascii(p, dom, sizeof(dom), &why) != 0) {
			bad_line(s, p, why);
			continue;
		}
		have = cli_state_prev(s->st, dom, &prev, mxbuf, PREV_MX_MAX);
		if (mtasts_check(s->chk, dom, have ? &prev : NULL, on_done, s,
			&err) != MTASTS_OK) {
			bad_line(s, p, err.msg);
			continue;
		}
		s->inflight++;
	}
}

static double
pct(unsigned long a, unsigned long b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void
summary(const struct scan *s, FILE *f)
{
	const struct tally *t = &s->t;
	double sec = elapsed(s);

	if (s->o->json && s->o->summary_only) {
		json_t *j = json_object();

		json_object_set_new(j, "domains", json_integer((json_int_t)
		    t->domains));
		json_object_set_new(j, "invalid_lines",
		    json_integer((json_int_t)t->invalid));
		json_object_set_new(j, "with_mx", json_integer((json_int_t)
		    t->has_mx));
		json_object_set_new(j, "null_mx", json_integer((json_int_t)
		    t->null_mx));
		json_object_set_new(j, "mx_tested", json_integer((json_int_t)
		    t->mx_tested));
		json_object_set_new(j, "all_starttls",
		    json_integer((json_int_t)t->starttls));
		json_object_set_new(j, "all_tls12", json_integer((json_int_t)
		    t->tls12));
		json_object_set_new(j, "all_cert_ok",
		    json_integer((json_int_t)t->certok));
		json_object_set_new(j, "sts_published",
		    json_integer((json_int_t)t->sts_published));
		json_object_set_new(j, "sts_valid", json_integer((json_int_t)
		    t->sts_valid));
		json_object_set_new(j, "sts_enforce",
		    json_integer((json_int_t)t->sts_enforce));
		json_object_set_new(j, "sts_testing",
		    json_integer((json_int_t)t->sts_testing));
		json_object_set_new(j, "tlsrpt_valid",
		    json_integer((json_int_t)t->tlsrpt));
		json_object_set_new(j, "status_pass", json_integer((json_int_t)
		    t->st[0]));
		json_object_set_new(j, "status_warn", json_integer((json_int_t)
		    t->st[1]));
		json_object_set_new(j, "status_fail", json_integer((json_int_t)
		    t->st[2]));
		json_object_set_new(j, "status_not_tested",
		    json_integer((json_int_t)t->st[3]));
		json_object_set_new(j, "seconds", json_real(sec));
		cli_json_print(j);
		return;
	}
	fprintf(f, "Scanned %lu domains in %.1f s (%lu lines were not "
		   "domains)\n", t->domains, sec, t->invalid);
	fprintf(f, "%-44s %9s %7s\n", "", "domains", "share");
#define ROW(label, a, b)                                                     \
	fprintf(f, "%-44s %9lu %6.1f%%\n", label, (unsigned long)(a),         \
	    pct(a, b))
	ROW("with MX (explicit or implicit)", t->has_mx, t->domains);
	ROW("null MX (no mail)", t->null_mx, t->domains);
	ROW("  MX reachable (at least one tested)", t->mx_tested, t->has_mx);
	ROW("    every MX offers STARTTLS", t->starttls, t->mx_tested);
	ROW("    every MX does TLS 1.2+", t->tls12, t->mx_tested);
	ROW("    every MX cert trusted and matching", t->certok,
	    t->mx_tested);
	ROW("MTA-STS published (TXT record)", t->sts_published, t->domains);
	ROW("  valid policy", t->sts_valid, t->domains);
	ROW("    mode enforce", t->sts_enforce, t->domains);
	ROW("    mode testing", t->sts_testing, t->domains);
	ROW("TLS-RPT published (valid record)", t->tlsrpt, t->domains);
	ROW("check status: pass", t->st[0], t->domains);
	ROW("check status: warnings", t->st[1], t->domains);
	ROW("check status: failures", t->st[2], t->domains);
	ROW("check status: nothing could be tested", t->st[3], t->domains);
#undef ROW
	fputs("(MX shares are of the domains whose MX could be tested.)\n", f);
}

static unsigned long
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	unsigned long n = 0;
	size_t k;

	if (f == NULL)
		return 0;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < k; i++)
			n += buf[i] == '\n';
	fclose(f);
	return n;
}

int
cli_scan(struct cli_opts *o)
{
	struct scan s;
	struct stat sb;
	int rc;

	if (o->nargs != 1)
		return cli_usage_error("scan needs one FILE (or - for standard "
				       "input)");
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.status = 0;
	s.limit = o->concurrency ? o->concurrency : SCAN_DEFAULT_CONCURRENCY;
	if (strcmp(o->args[0], "-") == 0) {
		s.in = stdin;
	} else {
		s.in = fopen(o->args[0], "r");
		if (s.in == NULL) {
			cli_warn("%s: %s", o->args[0], strerror(errno));
			return EXIT_USAGE;
		}
	}
	s.progress = isatty(STDERR_FILENO) && !o->json;
	if (s.progress && s.in != stdin && fstat(fileno(s.in), &sb) == 0 &&
	    S_ISREG(sb.st_mode))
		s.total = count_lines(o->args[0]);
	if (o->state_file != NULL) {
		s.st = cli_state_load(o->state_file);
		if (s.st == NULL) {
			cli_warn("out of memory");
			rc = 3;
			goto out;
		}
	}
	s.base = event_base_new();
	if (s.base == NULL) {
		cli_warn("cannot create the event loop");
		rc = 3;
		goto out;
	}
	rc = cli_checker_new(o, s.base, &s.chk);
	if (rc != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	if (s.progress) {
		struct timeval tv = {0, 250000};

		s.tick = event_new(s.base, -1, EV_PERSIST, on_tick, &s);
		if (s.tick != NULL)
			event_add(s.tick, &tv);
	}
	feed(&s);
	if (s.inflight > 0)
		event_base_dispatch(s.base);
	show_progress(&s, true);
	summary(&s, o->summary_only ? stdout : stderr);
	if (s.st != NULL && cli_state_save(s.st) != 0)
		s.status = 1;
	rc = s.status;
out:
	if (s.tick)
		event_free(s.tick);
	mtasts_checker_free(s.chk);
	if (s.base)
		event_base_free(s.base);
	cli_state_free(s.st);
	if (s.in != NULL && s.in != stdin)
		fclose(s.in);
	return rc;
}
