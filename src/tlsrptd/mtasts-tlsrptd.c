/* SPDX-License-Identifier: MIT */
/*
 * mtasts-tlsrptd.c: the TLS-RPT reporter program. "run" (the default)
 * runs the collectors and the report scheduler on one libevent loop;
 * the scheduler's passes (DNS, HTTPS, mail: blocking) run in a child
 * process so collecting never stalls. Operator commands: show-counters,
 * render, send-now, list-sent.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts/version.h"
#include "tlsrptd_build.h"
#include "tlsrptd_collect.h"
#include "tlsrptd_config.h"
#include "tlsrptd_counters.h"
#include "tlsrptd_mail.h"
#include "tlsrptd_send.h"
#include "util/alloc.h"

static struct tlsrptd_config cfg;
static bool use_syslog;
static int log_max = LOG_INFO;

static void vlog_msg(int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
vlog_msg(int prio, const char *fmt, va_list ap)
{
	char msg[2048];

	if (prio > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (use_syslog)
		syslog(prio, "%s", msg);
	else
		fprintf(stderr, "mtasts-tlsrptd: %s\n", msg);
}

static void
log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_msg(prio, fmt, ap);
	va_end(ap);
}

static void
fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_msg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

static void
send_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	log_msg(prio, "%s", msg);
}

static void
setup_log(void)
{
	static const struct {
		const char *name;
		int prio;
	} levels[] = {{"err", LOG_ERR}, {"warning", LOG_WARNING},
	    {"notice", LOG_NOTICE}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
	static const struct {
		const char *name;
		int fac;
	} facs[] = {{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON},
	    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
	    {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}, {"user", LOG_USER}};
	size_t i;
	int fac = LOG_MAIL;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(cfg.log_level, levels[i].name) == 0)
			break;
	if (i == sizeof(levels) / sizeof(levels[0]))
		fatal("log_level: \"%s\" is not err, warning, notice, info or "
		    "debug", cfg.log_level);
	log_max = levels[i].prio;
	if (strcmp(cfg.log, "stderr") == 0)
		return;
	if (strncmp(cfg.log, "syslog", 6) != 0 ||
	    (cfg.log[6] != '\0' && cfg.log[6] != ':'))
		fatal("log: \"%s\" is not stderr, syslog or syslog:FACILITY",
		    cfg.log);
	if (cfg.log[6] == ':') {
		for (i = 0; i < sizeof(facs) / sizeof(facs[0]); i++)
			if (strcmp(cfg.log + 7, facs[i].name) == 0)
				break;
		if (i == sizeof(facs) / sizeof(facs[0]))
			fatal("log: unknown facility \"%s\"", cfg.log + 7);
		fac = facs[i].fac;
	}
	openlog("mtasts-tlsrptd", LOG_PID, fac);
	use_syslog = true;
}

static void
send_conf(struct tlsrptd_send_conf *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->id.organization = cfg.organization_name;
	sc->id.contact = cfg.contact_info;
	sc->id.submitter = cfg.submitter;
	sc->id.sending_ip = cfg.sending_ip[0] ? cfg.sending_ip : NULL;
	sc->id.max_details = cfg.max_details;
	tlsrptd_sched_defaults(&sc->sched);
	sc->sched.send_delay = cfg.send_delay;
	sc->sched.send_spread = cfg.send_spread;
	sc->sched.retry_min = cfg.retry_min;
	sc->sched.retry_max = cfg.retry_max;
	sc->sched.jitter_pct = cfg.jitter_percent;
	sc->sched.give_up = cfg.give_up;
	sc->sched.suppress_after = cfg.suppress_after;
	sc->sched.suppress_period = cfg.suppress_period;
	sc->close_delay = cfg.close_delay;
	sc->report_window = cfg.report_window;
	sc->mail_from = cfg.mail_from;
	sc->mail_method = cfg.mail_method;
	sc->sendmail_path = cfg.sendmail_path;
	sc->smtp_url = cfg.smtp_url;
	sc->smtp_user = cfg.smtp_user;
	sc->smtp_password = cfg.smtp_password;
	sc->smtp_starttls = cfg.smtp_starttls;
	sc->ca_file = cfg.ca_file;
	sc->https_verify = cfg.https_verify;
	sc->http_timeout = cfg.http_timeout;
	sc->connect_timeout = cfg.connect_timeout;
	sc->dns_resolver = cfg.dns_resolver;
	sc->dns_timeout = cfg.dns_timeout;
	sc->max_per_pass = cfg.max_per_pass;
	sc->force_day = -1;
}

static struct tlsrptd_counters *
open_store(void)
{
	struct mtasts_error err;
	struct tlsrptd_counters *c;

	mtasts_error_clear(&err);
	c = tlsrptd_counters_open(cfg.store, &err);
	if (c == NULL)
		fatal("store %s: %s", cfg.store, err.msg);
	return c;
}

/* Run one pass with the real operations. Returns 0 or 1. */
static int
run_pass(struct tlsrptd_counters *c, const struct tlsrptd_send_conf *sc)
{
	struct tlsrptd_send_ops ops;
	struct tlsrptd_pass_stats st;
	struct mtasts_error err;
	int rc;

	mtasts_error_clear(&err);
	if (tlsrptd_send_ops_default(&ops, sc, send_log, NULL, &err) != 0) {
		log_msg(LOG_ERR, "send pass: %s", err.msg);
		return 1;
	}
	rc = tlsrptd_send_pass(c, sc, &ops, &st, &err);
	tlsrptd_send_ops_cleanup(&ops);
	if (rc != MTASTS_OK) {
		log_msg(LOG_ERR, "send pass: %s (will retry)", err.msg);
		return 1;
	}
	if (st.days_closed + st.reports_built + st.sent + st.tempfail +
	    st.gaveup + st.skipped > 0)
		log_msg(LOG_INFO, "send pass: %u days closed, %u reports, %u "
		    "sent, %u to retry, %u given up, %u skipped",
		    st.days_closed, st.reports_built, st.sent, st.tempfail,
		    st.gaveup, st.skipped);
	return 0;
}

/* ---- operator commands ---------------------------------------------------- */

static int
parse_day_arg(const char *s, int64_t *day)
{
	if (s == NULL || strcmp(s, "today") == 0) {
		*day = tlsrptd_day_of((int64_t)time(NULL));
		return 0;
	}
	if (strcmp(s, "yesterday") == 0) {
		*day = tlsrptd_day_of((int64_t)time(NULL)) - 1;
		return 0;
	}
	return tlsrptd_day_parse(s, day);
}

static int
show_policy(const struct tlsrptd_policy_agg *p, void *arg)
{
	size_t i;

	(void)arg;
	printf("  policy %s %s: %" PRIu64 " successful, %" PRIu64 " failed\n",
	    mtasts_tlsrpt_policy_type_name(p->policy_type), p->policy_domain,
	    p->success, p->failure);
	for (i = 0; i < p->policy_string_count; i++)
		printf("    policy-string: %s\n", p->policy_strings[i]);
	for (i = 0; i < p->mx_pattern_count; i++)
		printf("    mx-host: %s\n", p->mx_patterns[i]);
	for (i = 0; i < p->detail_count; i++) {
		const struct tlsrptd_failure_detail *d = &p->details[i];

		printf("    %" PRIu64 " x %s sending=%s mx=%s ip=%s%s%s\n",
		    d->count, d->result_text ? d->result_text : "?",
		    d->sending_mta_ip ? d->sending_mta_ip : "-",
		    d->receiving_mx_hostname ? d->receiving_mx_hostname : "-",
		    d->receiving_ip ? d->receiving_ip : "-",
		    d->failure_reason_code ? " reason=" : "",
		    d->failure_reason_code ? d->failure_reason_code : "");
	}
	if (p->details_omitted > 0)
		printf("    (%" PRIu64 " more failure details)\n",
		    p->details_omitted);
	return 0;
}

struct show_ctx {
	struct tlsrptd_counters *c;
	size_t n;
	char **dom;
	size_t cap;
};

static int
show_domain(const struct tlsrptd_domain_total *t, void *arg)
{
	struct show_ctx *s = arg;
	char **nv;

	printf("%s: %" PRIu64 " successful, %" PRIu64 " failed%s\n", t->domain,
	    t->success, t->failure, t->reported ? " (reported)" : "");
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		nv = realloc(s->dom, s->cap * sizeof(*nv));
		if (nv == NULL)
			return 1;
		s->dom = nv;
	}
	s->dom[s->n] = strdup(t->domain);
	if (s->dom[s->n] == NULL)
		return 1;
	s->n++;
	return 0;
}

static int
show_reject(const char *source, const char *reason, uint64_t count,
	    void *arg)
{
	(void)arg;
	printf("rejected %s/%s: %" PRIu64 "\n", source, reason, count);
	return 0;
}

static int
cmd_show_counters(int argc, char **argv)
{
	struct tlsrptd_counters *c;
	struct show_ctx s = {NULL, 0, NULL, 0};
	struct mtasts_error err;
	int64_t day;
	char dbuf[16];
	bool closed = false;
	size_t i;
	int rc;

	if (argc > 1 || parse_day_arg(argc ? argv[0] : NULL, &day) != 0)
		fatal("usage: show-counters [YYYY-MM-DD|today|yesterday]");
	c = open_store();
	s.c = c;
	mtasts_error_clear(&err);
	rc = tlsrptd_counters_day_closed(c, day, &closed, &err);
	printf("day %s%s (store: %s)\n", tlsrptd_day_format(day, dbuf,
	    sizeof(dbuf)), closed ? " (closed)" : "",
	    tlsrptd_counters_backend(c));
	if (rc == MTASTS_OK)
		rc = tlsrptd_counters_list_domains(c, day, show_domain, &s,
		    &err);
	for (i = 0; rc == MTASTS_OK && i < s.n; i++) {
		printf("%s:\n", s.dom[i]);
		rc = tlsrptd_counters_read(c, day, s.dom[i], cfg.max_details,
		    show_policy, NULL, &err);
	}
	if (rc == MTASTS_OK)
		rc = tlsrptd_counters_list_rejects(c, show_reject, NULL, &err);
	for (i = 0; i < s.n; i++)
		free(s.dom[i]);
	free(s.dom);
	tlsrptd_counters_close(c);
	if (rc != MTASTS_OK)
		fatal("show-counters: %s", err.msg[0] ? err.msg :
		    "out of memory");
	return 0;
}

static int
write_out(const char *path, const void *data, size_t len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");

	if (f == NULL)
		fatal("%s: %s", path, strerror(errno));
	if (fwrite(data, 1, len, f) != len || (f != stdout && fclose(f) != 0))
		fatal("%s: write failed: %s", path, strerror(errno));
	if (f == stdout)
		fflush(stdout);
	return 0;
}

static int
cmd_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{"domain", required_argument, NULL, 'd'},
		{"day", required_argument, NULL, 'D'},
		{"dry-run", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *domain = NULL, *dayarg = NULL, *out = NULL;
	const char *format = "json", *to = NULL;
	struct tlsrptd_counters *c;
	struct tlsrptd_send_conf sc;
	struct mtasts_tlsrpt_report *rep = NULL;
	struct tlsrptd_payload p;
	struct mtasts_error err;
	char id[TLSRPTD_REPORT_ID_MAX], addr[300], *json = NULL;
	size_t len;
	int64_t day;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': domain = optarg; break;
		case 'D': dayarg = optarg; break;
		case 'o': out = optarg; break;
		case 'f': format = optarg; break;
		case 't': to = optarg; break;
		default:
			fatal("usage: render --domain D [--day DAY] --dry-run "
			    "FILE [--format json|gz|mail] [--to mailto:ADDR]");
		}
	}
	if (domain == NULL || out == NULL || parse_day_arg(dayarg, &day) != 0)
		fatal("usage: render --domain D [--day DAY] --dry-run FILE "
		    "[--format json|gz|mail] [--to mailto:ADDR]");
	if (cfg.contact_info[0] == '\0' || cfg.submitter[0] == '\0')
		fatal("render: contact_info must be set");
	send_conf(&sc);
	c = open_store();
	mtasts_error_clear(&err);
	tlsrptd_report_id(day, domain, cfg.submitter, id, sizeof(id));
	rc = tlsrptd_build_report(c, &sc.id, day, domain, id, &rep, &err);
	if (rc == MTASTS_OK && strcmp(format, "json") == 0) {
		rc = mtasts_tlsrpt_report_to_json(rep, MTASTS_TLSRPT_JSON_PRETTY,
		    &json, &len, &err);
		if (rc == MTASTS_OK) {
			json[len] = '\n';	/* replaces the NUL */
			write_out(out, json, len + 1);
		}
		mtasts_free(json);
	} else if (rc == MTASTS_OK) {
		rc = tlsrptd_payload_make(rep, cfg.submitter, domain, &p, &err);
		if (rc == MTASTS_OK && strcmp(format, "gz") == 0) {
			write_out(out, p.gz, p.gz_len);
		} else if (rc == MTASTS_OK && strcmp(format, "mail") == 0) {
			struct tlsrptd_mail_in in = {
				.from = cfg.mail_from,
				.to = addr,
				.policy_domain = domain,
				.submitter = cfg.submitter,
				.organization = cfg.organization_name,
				.date = (int64_t)time(NULL),
				.report_id = id,
				.payload = &p,
			};

			snprintf(addr, sizeof(addr), "tlsrpt@%s", domain);
			if (to != NULL)
				rc = tlsrptd_mailto_address(to, addr,
				    sizeof(addr), &err);
			if (rc == MTASTS_OK)
				rc = tlsrptd_mail_build(&in, &json, &len, &err);
			if (rc == MTASTS_OK)
				write_out(out, json, len);
			mtasts_free(json);
		} else if (rc == MTASTS_OK) {
			fatal("render: --format is json, gz or mail");
		}
		if (rc == MTASTS_OK)
			fprintf(stderr, "file name: %s\nSubject: %s\n",
			    p.filename, p.subject);
		tlsrptd_payload_clear(&p);
	}
	mtasts_tlsrpt_report_free(rep);
	tlsrptd_counters_close(c);
	if (rc != MTASTS_OK)
		fatal("render %s: %s", domain, err.msg);
	return 0;
}

static int
cmd_send_now(int argc, char **argv)
{
	static const struct option opts[] = {
		{"day", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	struct tlsrptd_send_conf sc;
	struct tlsrptd_counters *c;
	int ch, rc;

	send_conf(&sc);
	sc.sched.send_delay = 0;
	sc.sched.send_spread = 0;
	sc.close_delay = 0;
	sc.retry_now = true;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'D' || parse_day_arg(optarg, &sc.force_day) != 0)
			fatal("usage: send-now [--day DAY]");
	}
	if (cfg.contact_info[0] == '\0')
		fatal("send-now: contact_info must be set");
	c = open_store();
	rc = run_pass(c, &sc);
	tlsrptd_counters_close(c);
	return rc;
}

static int
list_cb(const struct tlsrptd_delivery *d, void *arg)
{
	char dbuf[16], nbuf[MTASTS_TLSRPT_TIME_MAX];

	(void)arg;
	printf("%s\t%s\t%s\t%s\t%u\t%s\t%s\t%s\n",
	    tlsrptd_day_format(d->day, dbuf, sizeof(dbuf)), d->domain,
	    d->destination, tlsrptd_delivery_status_name(d->status),
	    d->attempts, d->next_retry > 0 ?
	    mtasts_tlsrpt_format_time(d->next_retry, nbuf) : "-",
	    d->report_id ? d->report_id : "-",
	    d->last_error ? d->last_error : "");
	return 0;
}

static int
cmd_list_sent(int argc, char **argv)
{
	struct tlsrptd_counters *c;
	struct mtasts_error err;
	int64_t day = -1;
	int rc;

	if (argc > 1 || (argc == 1 && parse_day_arg(argv[0], &day) != 0))
		fatal("usage: list-sent [DAY]");
	c = open_store();
	printf("day\tdomain\tdestination\tstatus\tattempts\tnext-retry\t"
	    "report-id\tlast-error\n");
	mtasts_error_clear(&err);
	rc = tlsrptd_counters_delivery_list(c, day, 0, list_cb, NULL, &err);
	tlsrptd_counters_close(c);
	if (rc != MTASTS_OK)
		fatal("list-sent: %s", err.msg);
	return 0;
}

/* ---- the daemon ------------------------------------------------------------ */

struct daemon {
	struct event_base *base;
	struct tlsrptd_counters *c;
	struct tlsrptd_collect *k;
	struct event *scan_ev, *term_ev, *int_ev;
	pid_t child;
	bool draining;
	time_t drain_start;
};

static void
flush_now(struct daemon *d)
{
	struct mtasts_error err;
	uint64_t sessions = 0;
	int rc;

	mtasts_error_clear(&err);
	if (d->k != NULL)
		rc = tlsrptd_collect_flush(d->k, &err);
	else if (tlsrptd_counters_pending(d->c, &sessions) == 0)
		return;
	else
		rc = tlsrptd_counters_flush(d->c, &err);
	if (rc != MTASTS_OK)
		log_msg(LOG_WARNING, "store: %s (kept in memory, will retry)",
		    err.msg);
}

static void
collect_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	log_msg(prio, "%s", msg);
}

static void
reap(struct daemon *d)
{
	int status;
	pid_t p;

	if (d->child <= 0)
		return;
	p = waitpid(d->child, &status, WNOHANG);
	if (p == d->child) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_msg(LOG_WARNING, "send pass %ld ended with status "
			    "%d", (long)p, WIFEXITED(status) ?
			    WEXITSTATUS(status) : -1);
		d->child = 0;
	}
}

static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct tlsrptd_send_conf sc;
	pid_t pid;

	(void)fd;
	(void)what;
	reap(d);
	if (d->draining) {
		if (d->child == 0 || time(NULL) - d->drain_start >=
		    (time_t)cfg.drain_timeout) {
			if (d->child > 0) {
				log_msg(LOG_WARNING, "drain timeout: stopping "
				    "send pass %ld", (long)d->child);
				kill(d->child, SIGTERM);
				waitpid(d->child, NULL, 0);
				d->child = 0;
			}
			event_base_loopbreak(d->base);
		}
		return;
	}
	if (!cfg.send_reports || d->child > 0)
		return;
	flush_now(d);	/* the pass reads what was counted */
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct tlsrptd_counters *c;
		struct mtasts_error err;
		int rc;

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		mtasts_error_clear(&err);
		c = tlsrptd_counters_open(cfg.store, &err);
		if (c == NULL) {
			log_msg(LOG_ERR, "send pass: store %s: %s", cfg.store,
			    err.msg);
			_exit(1);
		}
		send_conf(&sc);
		rc = run_pass(c, &sc);
		tlsrptd_counters_close(c);
		_exit(rc);
	}
	d->child = pid;
}

static void
term_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {0, 200000};

	(void)what;
	if (d->draining)
		return;
	log_msg(LOG_INFO, "signal %d: draining", (int)sig);
	d->draining = true;
	d->drain_start = time(NULL);
	event_del(d->scan_ev);
	event_free(d->scan_ev);
	d->scan_ev = event_new(d->base, -1, EV_PERSIST, scan_cb, d);
	event_add(d->scan_ev, &tv);
}

static int
cmd_run(void)
{
	struct daemon d;
	struct timeval scan = {(time_t)cfg.scan_interval, 0};
	struct tlsrptd_collect_options co;
	struct mtasts_error err;

	memset(&d, 0, sizeof(d));
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	if (d.base == NULL)
		fatal("event_base_new failed");
	d.c = open_store();
	if (cfg.datagram_socket[0] != '\0' || cfg.log_file[0] != '\0') {
		memset(&co, 0, sizeof(co));
		co.datagram_socket = cfg.datagram_socket;
		co.socket_mode = cfg.datagram_mode;
		co.socket_group = cfg.datagram_socket_group;
		co.log_file = cfg.log_file;
		co.log_follow = cfg.log_follow;
		co.count_plaintext = cfg.count_plaintext;
		co.policy_store = cfg.policy_store[0] ? cfg.policy_store : NULL;
		co.policy_reload = cfg.policy_reload;
		co.flush_interval_ms = cfg.flush_interval * 1000;
		co.log = collect_log;
		mtasts_error_clear(&err);
		d.k = tlsrptd_collect_new(d.base, d.c, &co, &err);
		if (d.k == NULL)
			fatal("collector: %s", err.msg);
	}
	d.scan_ev = event_new(d.base, -1, EV_PERSIST, scan_cb, &d);
	d.term_ev = evsignal_new(d.base, SIGTERM, term_cb, &d);
	d.int_ev = evsignal_new(d.base, SIGINT, term_cb, &d);
	if (d.scan_ev == NULL || d.term_ev == NULL || d.int_ev == NULL)
		fatal("libevent setup failed");
	event_add(d.scan_ev, &scan);
	event_add(d.term_ev, NULL);
	event_add(d.int_ev, NULL);
	event_active(d.scan_ev, EV_TIMEOUT, 0);	/* a first pass at start */
	log_msg(LOG_INFO, "started (store %s%s%s%s%s, %s)", cfg.store,
	    cfg.datagram_socket[0] ? ", socket " : "", cfg.datagram_socket,
	    cfg.log_file[0] ? ", log " : "", cfg.log_file,
	    cfg.send_reports ? "sending reports" : "collecting only");
	event_base_dispatch(d.base);
	tlsrptd_collect_free(d.k);	/* flushes a last time */
	d.k = NULL;
	flush_now(&d);
	event_free(d.scan_ev);
	event_free(d.term_ev);
	event_free(d.int_ev);
	tlsrptd_counters_close(d.c);
	event_base_free(d.base);
	log_msg(LOG_INFO, "stopped");
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mtasts-tlsrptd [-c FILE] [-o KEY=VALUE]... [--dump-config]\n"
	    "                      [COMMAND [ARGS]]\n"
	    "commands:\n"
	    "  run                       collect and send reports (default)\n"
	    "  show-counters [DAY]       counts of DAY (default today)\n"
	    "  render --domain D [--day DAY] --dry-run FILE\n"
	    "         [--format json|gz|mail] [--to mailto:ADDR]\n"
	    "                            build a report without sending it\n"
	    "  send-now [--day DAY]      send due reports and retries now\n"
	    "                            (--day: close and report DAY too)\n"
	    "  list-sent [DAY]           deliveries: sent, pending, failed\n"
	    "  collect [OPTIONS]         a collector alone (see man page)\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"option", required_argument, NULL, 'o'},
		{"dump-config", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = TLSRPTD_DEFAULT_CONFIG;
	bool path_given = false, dump = false;
	char *overrides[64];
	size_t nover = 0, i;
	char err[TLSRPTD_ERRLEN];
	const char *cmd;
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "collect") == 0)
		return tlsrptd_collect_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "+c:o:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			path_given = true;
			break;
		case 'o':
			if (nover == sizeof(overrides) / sizeof(overrides[0]))
				fatal("too many -o options");
			overrides[nover++] = optarg;
			break;
		case 'D':
			dump = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mtasts-tlsrptd %s\n", MTASTS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	tlsrptd_config_init(&cfg);
	if (tlsrptd_config_load(&cfg, path, !path_given, err, sizeof(err)) != 0)
		fatal("%s", err);
	for (i = 0; i < nover; i++) {
		char *eq = strchr(overrides[i], '=');

		if (eq == NULL)
			fatal("-o %s: expected KEY=VALUE", overrides[i]);
		*eq = '\0';
		if (tlsrptd_config_set(&cfg, overrides[i], eq + 1, err,
		    sizeof(err)) != 0)
			fatal("-o: %s", err);
		*eq = '=';
	}
	cmd = optind < argc ? argv[optind] : "run";
	if (!dump && strcmp(cmd, "run") != 0 && strcmp(cmd, "send-now") != 0)
		cfg.send_reports = false;	/* not needed to look */
	if (tlsrptd_config_finish(&cfg, err, sizeof(err)) != 0)
		fatal("configuration: %s", err);
	if (dump) {
		tlsrptd_config_dump(&cfg, stdout);
		return 0;
	}
	setup_log();
	argc -= optind + (optind < argc ? 1 : 0);
	argv += optind + 1;
	if (strcmp(cmd, "run") == 0)
		return cmd_run();
	if (strcmp(cmd, "show-counters") == 0)
		return cmd_show_counters(argc, argv);
	if (strcmp(cmd, "render") == 0)
		return cmd_render(argc + 1, argv - 1);
	if (strcmp(cmd, "send-now") == 0)
		return cmd_send_now(argc + 1, argv - 1);
	if (strcmp(cmd, "list-sent") == 0)
		return cmd_list_sent(argc, argv);
	usage(stderr);
	return 2;
}
