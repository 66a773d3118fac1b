/* SPDX-License-Identifier: MIT */
/*
 * postfix_log.c: Postfix smtp(8) log lines to TLS-RPT sessions.
 *
 * Line classification is a hand-written scanner over a NUL-terminated
 * copy of the line; the correlator keeps, per smtp process, the TLS
 * outcome last logged until the process's delivery line names the
 * recipient domain. See docs/tlsrpt-log-mapping.md.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mtasts/postfix_log.h"
#include "util/alloc.h"

/* ---- small scanners ------------------------------------------------ */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Read n digits at *p into *v. */
static bool
digits(const char **p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return true;
}

static bool
lit(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool
host_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 && i + 1 != n)
				return false;
			label = 0;
		} else if (is_alnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static bool
ip_ok(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Copy printable ASCII of s (n bytes) into out, others become '?'. */
static void
copy_text(char *out, size_t size, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[j] = '\0';
}

/* "host[ip]" with optional ":port" at *p into host/ip (lowercased
 * host). Returns false when malformed. */
static bool
host_ip(const char **p, char *host, size_t hsize, char *ip, size_t isize)
{
	const char *s = *p, *lb, *rb;
	size_t hn, in;

	lb = strchr(s, '[');
	if (lb == NULL)
		return false;
	rb = strchr(lb, ']');
	if (rb == NULL)
		return false;
	hn = (size_t)(lb - s);
	in = (size_t)(rb - lb - 1);
	if (hn == 0 || hn >= hsize || in == 0 || in >= isize)
		return false;
	for (size_t i = 0; i < hn; i++) {
		char c = s[i];
		host[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	host[hn] = '\0';
	memcpy(ip, lb + 1, in);
	ip[in] = '\0';
	if (strncmp(ip, "ipv6:", 5) == 0 || strncmp(ip, "IPv6:", 5) == 0)
		memmove(ip, ip + 5, in - 4);
	if (!host_ok(host) || !ip_ok(ip))
		return false;
	s = rb + 1;
	if (*s == ':' && is_digit(s[1])) {
		s++;
		while (is_digit(*s))
			s++;
	}
	*p = s;
	return true;
}

/* ---- time stamps --------------------------------------------------- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "Mmm dd hh:mm:ss " (local time, year from now). */
static bool
syslog_time(const char **p, int64_t now, int64_t *t)
{
	const char *s = *p;
	struct tm tm, nowtm;
	time_t tnow = (time_t)now, v;
	int mon = -1, day, h, m, sec;

	for (int i = 0; i < 12; i++)
		if (strncmp(s, months[i], 3) == 0)
			mon = i;
	if (mon < 0 || s[3] != ' ')
		return false;
	s += 4;
	if (*s == ' ')
		s++;
	if (is_digit(s[0]) && is_digit(s[1])) {
		if (!digits(&s, 2, &day))
			return false;
	} else if (!digits(&s, 1, &day)) {
		return false;
	}
	if (!lit(&s, " ") || !digits(&s, 2, &h) || !lit(&s, ":") ||
	    !digits(&s, 2, &m) || !lit(&s, ":") || !digits(&s, 2, &sec))
		return false;
	if (day < 1 || day > 31 || h > 23 || m > 59 || sec > 60)
		return false;
	/* mktime() is slow: cache the start of the hour (local time
	 * changes only at hour boundaries in practice) per thread. */
	{
		static _Thread_local struct {
			int64_t now_hour;
			int mon, day, h;
			int64_t base;
		} cache = {-1, 0, 0, 0, 0};

		if (cache.now_hour == now / 3600 && cache.mon == mon &&
		    cache.day == day && cache.h == h) {
			*t = cache.base + m * 60 + sec;
			*p = s;
			return true;
		}
		if (localtime_r(&tnow, &nowtm) == NULL)
			return false;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = nowtm.tm_year;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		tm.tm_hour = h;
		tm.tm_isdst = -1;
		v = mktime(&tm);
		if (v == (time_t)-1)
			return false;
		if ((int64_t)v > now + 86400) { /* December read in January */
			tm.tm_year--;
			tm.tm_isdst = -1;
			v = mktime(&tm);
		}
		cache.now_hour = now / 3600;
		cache.mon = mon;
		cache.day = day;
		cache.h = h;
		cache.base = (int64_t)v;
		*t = (int64_t)v + m * 60 + sec;
	}
	*p = s;
	return true;
}

/* "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|+hhmm)". */
static bool
rfc3339_time(const char **p, int64_t *t)
{
	const char *s = *p;
	struct tm tm;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;

	if (!digits(&s, 4, &y) || !lit(&s, "-") || !digits(&s, 2, &mo) ||
	    !lit(&s, "-") || !digits(&s, 2, &d) || !lit(&s, "T") ||
	    !digits(&s, 2, &h) || !lit(&s, ":") || !digits(&s, 2, &mi) ||
	    !lit(&s, ":") || !digits(&s, 2, &se))
		return false;
	if (*s == '.') {
		s++;
		while (is_digit(*s))
			s++;
	}
	if (*s == 'Z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		s++;
		if (!digits(&s, 2, &oh))
			return false;
		if (*s == ':')
			s++;
		if (!digits(&s, 2, &om))
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	*p = s;
	return true;
}

/* ---- classification ------------------------------------------------ */

/* Result type of a certificate verification failure text. */
static enum mtasts_tlsrpt_result
classify_cert(const char *text)
{
	if (strstr(text, "num=10:") != NULL || strstr(text, "expired") != NULL)
		return MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED;
	if (strstr(text, "num=62:") != NULL ||
	    strstr(text, "hostname mismatch") != NULL ||
	    strstr(text, "name mismatch") != NULL ||
	    strstr(text, "subject name does not match") != NULL)
		return MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH;
	if (strstr(text, "untrusted issuer") != NULL ||
	    strstr(text, "local issuer") != NULL ||
	    strstr(text, "self-signed") != NULL ||
	    strstr(text, "self signed") != NULL ||
	    strstr(text, "num=2:") != NULL || strstr(text, "num=18:") != NULL ||
	    strstr(text, "num=19:") != NULL ||
	    strstr(text, "num=20:") != NULL ||
	    strstr(text, "num=21:") != NULL ||
	    strstr(text, "not trusted") != NULL)
		return MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED;
	return MTASTS_TLSRPT_R_VALIDATION_FAILURE;
}

/* A TLS failure named in a delivery status text, if any. */
static bool
status_failure(const char *text, enum mtasts_tlsrpt_result *r, char *reason,
	       size_t rsize)
{
	const char *tag = NULL;

	if (strstr(text, "TLS is required, but was not offered") != NULL) {
		*r = MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED;
		tag = "starttls-not-offered";
	} else if (strstr(text, "refused to start TLS") != NULL) {
		*r = MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED;
		tag = "starttls-refused";
	} else if (strstr(text, "Server certificate not verified") != NULL ||
		   strstr(text, "Server certificate not trusted") != NULL) {
		*r = MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED;
		tag = "server-certificate-not-verified";
	} else if (strstr(text, "Cannot start TLS") != NULL) {
		*r = MTASTS_TLSRPT_R_VALIDATION_FAILURE;
		tag = "tls-handshake-failure";
	} else if (strstr(text, "certificate verification failed") != NULL) {
		*r = classify_cert(text);
		tag = "certificate-verification-failed";
	}
	if (tag == NULL)
		return false;
	snprintf(reason, rsize, "%s", tag);
	return true;
}

/* "key=value, key=value" lookup for TLSRPT lines (value up to ", "). */
static bool
kv(const char *s, const char *key, char *out, size_t size)
{
	size_t kn = strlen(key);
	const char *p = s, *e;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == s || p[-1] == ' ') && p[kn] == '=') {
			p += kn + 1;
			e = strstr(p, ", ");
			if (e == NULL)
				e = p + strlen(p);
			if ((size_t)(e - p) >= size)
				return false;
			memcpy(out, p, (size_t)(e - p));
			out[e - p] = '\0';
			return true;
		}
		p += kn;
	}
	return false;
}

static int
parse_tlsrpt(const char *msg, struct mtasts_postfix_log_line *o)
{
	char status[16], dom[256], mx[512], ft[64], fr[256];
	const char *q;

	if (!kv(msg, "status", status, sizeof(status)) ||
	    !kv(msg, "domain", dom, sizeof(dom)))
		return MTASTS_ESYNTAX;
	for (char *c = dom; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (!host_ok(dom))
		return MTASTS_ESYNTAX;
	snprintf(o->domain, sizeof(o->domain), "%s", dom);
	if (kv(msg, "receiving_mx", mx, sizeof(mx))) {
		q = mx;
		if (!host_ip(&q, o->host, sizeof(o->host), o->ip,
			     sizeof(o->ip)))
			return MTASTS_ESYNTAX;
	}
	o->kind = MTASTS_PFLOG_TLSRPT;
	if (strcmp(status, "success") == 0)
		return MTASTS_OK;
	if (strcmp(status, "failure") != 0)
		return MTASTS_ESYNTAX;
	o->failure = true;
	o->result = MTASTS_TLSRPT_R_VALIDATION_FAILURE;
	if (kv(msg, "failure_type", ft, sizeof(ft))) {
		enum mtasts_tlsrpt_result r;

		for (char *c = ft; *c != '\0'; c++) {
			if (*c == '_')
				*c = '-';
			else if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		}
		r = mtasts_tlsrpt_result_parse(ft);
		if (r != MTASTS_TLSRPT_R_OTHER)
			o->result = r;
		else
			copy_text(o->reason, sizeof(o->reason), ft, strlen(ft));
	}
	if (kv(msg, "failure_reason", fr, sizeof(fr)))
		copy_text(o->reason, sizeof(o->reason), fr, strlen(fr));
	return MTASTS_OK;
}

static int
parse_delivery(const char *msg, struct mtasts_postfix_log_line *o)
{
	const char *p = msg, *to, *at, *e, *st, *r;
	size_t n = 0;

	while (is_alnum(p[n]) && n < sizeof(o->queue_id) - 1)
		n++;
	if (n == 0 || strncmp(p + n, ": to=<", 6) != 0)
		return MTASTS_OK;
	memcpy(o->queue_id, p, n);
	o->queue_id[n] = '\0';
	to = p + n + 6;
	e = strchr(to, '>');
	if (e == NULL)
		return MTASTS_ESYNTAX;
	at = NULL;
	for (const char *c = to; c < e; c++)
		if (*c == '@')
			at = c;
	if (at == NULL || (size_t)(e - at - 1) >= sizeof(o->domain))
		return MTASTS_OK; /* local recipient: not ours */
	for (const char *c = at + 1; c < e; c++) {
		char ch = *c;
		o->domain[c - at - 1] =
		    (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	o->domain[e - at - 1] = '\0';
	if (!host_ok(o->domain))
		return MTASTS_OK; /* address literal or junk: no policy */
	r = strstr(e, ", relay=");
	if (r == NULL)
		return MTASTS_OK;
	r += 8;
	if (strncmp(r, "none", 4) == 0 || strchr(r, '[') == NULL ||
	    (strchr(r, ',') != NULL && strchr(r, '[') > strchr(r, ',')))
		return MTASTS_OK; /* no connection / local transport */
	if (!host_ip(&r, o->host, sizeof(o->host), o->ip, sizeof(o->ip)))
		return MTASTS_ESYNTAX;
	if ((p = strstr(r, ", conn_use=")) != NULL) {
		unsigned v = 0;

		for (p += 11; is_digit(*p) && v < 100000; p++)
			v = v * 10 + (unsigned)(*p - '0');
		o->conn_use = v;
	}
	st = strstr(r, ", status=");
	if (st == NULL)
		return MTASTS_ESYNTAX;
	st += 9;
	n = 0;
	while (st[n] >= 'a' && st[n] <= 'z' && n < sizeof(o->status) - 1)
		n++;
	memcpy(o->status, st, n);
	o->status[n] = '\0';
	o->kind = MTASTS_PFLOG_DELIVERY;
	o->failure =
	    status_failure(st + n, &o->result, o->reason, sizeof(o->reason));
	return MTASTS_OK;
}

static int
parse_message(const char *msg, struct mtasts_postfix_log_line *o)
{
	static const struct {
		const char *word;
		enum mtasts_postfix_log_trust trust;
	} trusts[] = {
	    {"Verified", MTASTS_PFLOG_VERIFIED},
	    {"Trusted", MTASTS_PFLOG_TRUSTED},
	    {"Untrusted", MTASTS_PFLOG_UNTRUSTED},
	    {"Anonymous", MTASTS_PFLOG_ANONYMOUS},
	};
	const char *p = msg;

	for (size_t i = 0; i < sizeof(trusts) / sizeof(trusts[0]); i++) {
		p = msg;
		if (lit(&p, trusts[i].word) &&
		    lit(&p, " TLS connection established to ")) {
			if (!host_ip(&p, o->host, sizeof(o->host), o->ip,
				     sizeof(o->ip)))
				return MTASTS_ESYNTAX;
			o->kind = MTASTS_PFLOG_TLS;
			o->trust = trusts[i].trust;
			return MTASTS_OK;
		}
	}
	p = msg;
	if (lit(&p, "server certificate verification failed for ") ||
	    lit(&p, "certificate verification failed for ")) {
		if (!host_ip(&p, o->host, sizeof(o->host), o->ip,
			     sizeof(o->ip)))
			return MTASTS_ESYNTAX;
		if (*p == ':')
			p++;
		while (*p == ' ')
			p++;
		o->kind = MTASTS_PFLOG_TLS_FAILURE;
		o->failure = true;
		o->result = classify_cert(p);
		copy_text(o->reason, sizeof(o->reason), p, strlen(p));
		return MTASTS_OK;
	}
	p = msg;
	if (lit(&p, "TLS is required, but was not offered by host ") ||
	    lit(&p, "TLS is required, but host ")) {
		bool refused = strstr(msg, "refused to start TLS") != NULL;

		if (!host_ip(&p, o->host, sizeof(o->host), o->ip,
			     sizeof(o->ip)))
			return MTASTS_ESYNTAX;
		o->kind = MTASTS_PFLOG_TLS_FAILURE;
		o->failure = true;
		o->result = MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED;
		snprintf(o->reason, sizeof(o->reason), "%s",
			 refused ? "starttls-refused" : "starttls-not-offered");
		return MTASTS_OK;
	}
	p = msg;
	if (lit(&p, "SSL_connect error to ")) {
		if (!host_ip(&p, o->host, sizeof(o->host), o->ip,
			     sizeof(o->ip)))
			return MTASTS_ESYNTAX;
		o->kind = MTASTS_PFLOG_TLS_FAILURE;
		o->failure = true;
		o->result = MTASTS_TLSRPT_R_VALIDATION_FAILURE;
		snprintf(o->reason, sizeof(o->reason), "ssl-connect-error");
		return MTASTS_OK;
	}
	p = msg;
	if (lit(&p, "TLSRPT: "))
		return parse_tlsrpt(p, o);
	return parse_delivery(msg, o);
}

int
mtasts_postfix_log_parse_line(const char *line, size_t len, int64_t now,
			      struct mtasts_postfix_log_line *out)
{
	char buf[MTASTS_POSTFIX_LOG_LINE_MAX + 1];
	const char *p, *proc, *lb;
	size_t pn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > MTASTS_POSTFIX_LOG_LINE_MAX)
		return MTASTS_ETOOBIG;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (memchr(line, '\0', len) != NULL)
		return MTASTS_OK; /* binary junk: not ours */
	memcpy(buf, line, len);
	buf[len] = '\0';
	p = buf;
	if (!(is_digit(p[0]) ? rfc3339_time(&p, &out->time)
			     : syslog_time(&p, now, &out->time)))
		return MTASTS_OK;
	if (!lit(&p, " "))
		return MTASTS_OK;
	p = strchr(p, ' '); /* skip the host name */
	if (p == NULL)
		return MTASTS_OK;
	proc = ++p;
	while (*p != '\0' && *p != '[' && *p != ':' && *p != ' ')
		p++;
	pn = (size_t)(p - proc);
	if (pn == 0 || pn >= sizeof(out->process))
		return MTASTS_OK;
	memcpy(out->process, proc, pn);
	out->process[pn] = '\0';
	if (*p == '[') {
		long pid = 0;

		lb = ++p;
		while (is_digit(*p) && pid < 100000000)
			pid = pid * 10 + (*p++ - '0');
		if (p == lb || *p != ']')
			return MTASTS_OK;
		p++;
		out->pid = pid;
	}
	if (!lit(&p, ": "))
		return MTASTS_OK;
	/*
	 * The smtp client only: "postfix/smtp", "postfix-out/smtp". Not the
	 * reporter's own transport (syslog_name postfix-tlsrpt, see
	 * docs/tlsrpt.md): report mail must never count in a report.
	 */
	if (strncmp(out->process, MTASTS_POSTFIX_LOG_REPORT_SYSLOG "/",
		strlen(MTASTS_POSTFIX_LOG_REPORT_SYSLOG "/")) == 0) {
		out->kind = MTASTS_PFLOG_NONE;
		return MTASTS_OK;
	}
	if (!(strcmp(out->process, "smtp") == 0 ||
	      (pn > 5 && strcmp(out->process + pn - 5, "/smtp") == 0))) {
		out->kind = MTASTS_PFLOG_NONE;
		return MTASTS_OK;
	}
	rc = parse_message(p, out);
	if (rc != MTASTS_OK) {
		int64_t t = out->time;

		memset(out, 0, sizeof(*out));
		out->time = t;
	}
	return rc;
}

/* ---- correlator ---------------------------------------------------- */

#define HELD_MAX 4	/* sessions of one delivery attempt (MX tries) */

/* One TLS session of an smtp process waiting for its delivery line. */
struct held {
	bool tls;		/* a TLS line was seen */
	bool fail;		/* a failure line was seen */
	bool tlsrpt;		/* Postfix >= 3.10 decided (TLSRPT: line) */
	enum mtasts_postfix_log_trust trust;
	enum mtasts_tlsrpt_result result;
	char host[256];
	char ip[64];
	char reason[128];
};

struct pend {
	bool used;
	long pid;
	uint32_t ph;		/* hash of the process name */
	uint64_t seq;		/* for eviction of the oldest */
	size_t nheld;
	struct held held[HELD_MAX];
	/* the last delivery counted (dedup of further recipients) */
	char last_qid[32];
	char last_ip[64];
};

struct mtasts_postfix_log {
	struct mtasts_postfix_log_options opt;
	mtasts_postfix_log_policy_fn policy_fn;
	mtasts_postfix_log_session_fn session_fn;
	void *arg;
	bool tlsrpt_seen;
	uint64_t seq;
	uint64_t sessions;
	uint64_t unmatched;
	struct pend pend[MTASTS_POSTFIX_LOG_PENDING_MAX];
};

struct mtasts_postfix_log *
mtasts_postfix_log_new(const struct mtasts_postfix_log_options *opt,
		       mtasts_postfix_log_policy_fn policy_fn,
		       mtasts_postfix_log_session_fn session_fn, void *arg)
{
	struct mtasts_postfix_log *p = mtasts__calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (opt != NULL)
		p->opt = *opt;
	p->policy_fn = policy_fn;
	p->session_fn = session_fn;
	p->arg = arg;
	return p;
}

void
mtasts_postfix_log_free(struct mtasts_postfix_log *p)
{
	mtasts__free(p);
}

void
mtasts_postfix_log_stats(const struct mtasts_postfix_log *p,
			 uint64_t *sessions, uint64_t *unmatched)
{
	if (sessions != NULL)
		*sessions = p->sessions;
	if (unmatched != NULL)
		*unmatched = p->unmatched;
}

bool
mtasts_postfix_log_tlsrpt_mode(const struct mtasts_postfix_log *p)
{
	return p->tlsrpt_seen;
}

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* The slot of (process, pid); create when asked (evicting the oldest
 * when the table is full). */
static struct pend *
slot(struct mtasts_postfix_log *p, const struct mtasts_postfix_log_line *l,
     bool create)
{
	uint32_t ph = name_hash(l->process);
	size_t n = MTASTS_POSTFIX_LOG_PENDING_MAX;
	size_t start = ((uint32_t)l->pid * 2654435761u ^ ph) % n;
	struct pend *free_slot = NULL, *oldest = NULL;

	for (size_t i = 0; i < n; i++) {
		struct pend *e = &p->pend[(start + i) % n];

		if (!e->used) {
			if (free_slot == NULL)
				free_slot = e;
			if (!create || i > 64)
				break;
			continue;
		}
		if (e->pid == l->pid && e->ph == ph)
			return e;
		if (oldest == NULL || e->seq < oldest->seq)
			oldest = e;
		if (i > 64 && free_slot != NULL)
			break;
	}
	if (!create)
		return NULL;
	if (free_slot == NULL) {
		free_slot = oldest;
		p->unmatched += free_slot->nheld;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->pid = l->pid;
	free_slot->ph = ph;
	free_slot->seq = ++p->seq;
	return free_slot;
}

/* Emit one session for recipient domain. */
static void
emit(struct mtasts_postfix_log *p, int64_t t, const char *domain,
     const struct held *h)
{
	struct mtasts_postfix_log_policy pol;
	struct mtasts_tlsrpt_session s;

	memset(&pol, 0, sizeof(pol));
	if (p->policy_fn == NULL || p->policy_fn(p->arg, domain, &pol) != 0) {
		memset(&pol, 0, sizeof(pol));
		pol.type = MTASTS_TLSRPT_POLICY_NONE;
	}
	memset(&s, 0, sizeof(s));
	s.time = t;
	s.report_domain = domain;
	s.policy_domain = pol.policy_domain != NULL ? pol.policy_domain
						    : domain;
	s.policy_type = pol.type;
	s.policy_strings = pol.strings;
	s.policy_string_count = pol.string_count;
	s.mx_patterns = pol.mx_patterns;
	s.mx_pattern_count = pol.mx_pattern_count;
	s.result = h->result;
	if (h->tlsrpt) {
		/* Postfix applied the policy itself. */
		s.success = !h->fail;
	} else if (pol.type == MTASTS_TLSRPT_POLICY_NONE) {
		/* Nothing to validate against: any TLS session counts as a
		 * success; only a session without TLS fails. */
		s.success = h->tls;
		if (!h->fail)
			s.result = MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED;
	} else if (h->fail) {
		s.success = false;
	} else if (h->tls && (h->trust == MTASTS_PFLOG_VERIFIED ||
			      (h->trust == MTASTS_PFLOG_TRUSTED &&
			       pol.type == MTASTS_TLSRPT_POLICY_STS))) {
		s.success = true;
	} else if (h->tls) {
		s.success = false;
		s.result = h->trust == MTASTS_PFLOG_UNTRUSTED &&
				   pol.type == MTASTS_TLSRPT_POLICY_STS
			       ? MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED
			       : MTASTS_TLSRPT_R_VALIDATION_FAILURE;
	} else {
		s.success = false;
		s.result = MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED;
	}
	if (!s.success) {
		s.receiving_mx_hostname = h->host[0] != '\0' ? h->host : NULL;
		s.receiving_ip = h->ip[0] != '\0' ? h->ip : NULL;
		s.failure_reason_code = h->reason[0] != '\0' ? h->reason : NULL;
	}
	p->sessions++;
	if (p->session_fn != NULL)
		p->session_fn(p->arg, &s);
}

/* The held session a line about host[ip] belongs to: the last one if it
 * is for the same address and has room for what the line says, else a
 * new one (the oldest is dropped when all are taken). */
static struct held *
held_for(struct mtasts_postfix_log *p, struct pend *e,
	 const struct mtasts_postfix_log_line *l, bool is_tls)
{
	struct held *h;

	if (e->nheld > 0) {
		h = &e->held[e->nheld - 1];
		if (strcmp(h->ip, l->ip) == 0 && !(is_tls && h->tls))
			return h;
	}
	if (e->nheld == HELD_MAX) {
		memmove(&e->held[0], &e->held[1],
			(HELD_MAX - 1) * sizeof(e->held[0]));
		e->nheld--;
		p->unmatched++;
	}
	h = &e->held[e->nheld++];
	memset(h, 0, sizeof(*h));
	snprintf(h->host, sizeof(h->host), "%s", l->host);
	snprintf(h->ip, sizeof(h->ip), "%s", l->ip);
	return h;
}

int
mtasts_postfix_log_feed(struct mtasts_postfix_log *p, const char *line,
			size_t len, int64_t now)
{
	struct mtasts_postfix_log_line l;
	struct pend *e;
	struct held *h, one;
	int rc = mtasts_postfix_log_parse_line(line, len, now, &l);

	if (rc != MTASTS_OK)
		return rc;
	switch (l.kind) {
	case MTASTS_PFLOG_NONE:
		break;
	case MTASTS_PFLOG_TLSRPT:
		/* Postfix >= 3.10 names the failure precisely; the session
		 * is still completed by its delivery line. */
		p->tlsrpt_seen = true;
		if (l.ip[0] == '\0')
			break;
		e = slot(p, &l, true);
		e->seq = ++p->seq;
		h = held_for(p, e, &l, false);
		h->tlsrpt = true;
		h->tls = true;
		if (l.failure) {
			h->fail = true;
			h->result = l.result;
			snprintf(h->reason, sizeof(h->reason), "%s", l.reason);
		}
		break;
	case MTASTS_PFLOG_TLS:
	case MTASTS_PFLOG_TLS_FAILURE:
		e = slot(p, &l, true);
		e->seq = ++p->seq;
		h = held_for(p, e, &l, l.kind == MTASTS_PFLOG_TLS);
		if (l.kind == MTASTS_PFLOG_TLS) {
			h->tls = true;
			h->trust = l.trust;
		} else if (!h->fail) {
			h->fail = true;
			h->result = l.result;
			snprintf(h->reason, sizeof(h->reason), "%s", l.reason);
		}
		break;
	case MTASTS_PFLOG_DELIVERY:
		e = slot(p, &l, false);
		if (e != NULL && e->nheld > 0) {
			/* Every session held belongs to this delivery
			 * attempt (MX hosts are tried in turn); a failure in
			 * the status applies to the last one. */
			h = &e->held[e->nheld - 1];
			if (l.failure && !h->fail &&
			    strcmp(h->ip, l.ip) == 0) {
				h->fail = true;
				h->result = l.result;
				snprintf(h->reason, sizeof(h->reason), "%s",
					 l.reason);
			}
			for (size_t i = 0; i < e->nheld; i++)
				emit(p, l.time, l.domain, &e->held[i]);
			e->nheld = 0;
			snprintf(e->last_qid, sizeof(e->last_qid), "%s",
				 l.queue_id);
			snprintf(e->last_ip, sizeof(e->last_ip), "%s", l.ip);
			break;
		}
		if (e != NULL && strcmp(e->last_qid, l.queue_id) == 0 &&
		    strcmp(e->last_ip, l.ip) == 0)
			break; /* another recipient of the same session */
		memset(&one, 0, sizeof(one));
		snprintf(one.host, sizeof(one.host), "%s", l.host);
		snprintf(one.ip, sizeof(one.ip), "%s", l.ip);
		if (l.failure) {
			/* A failure named only in the status. */
			one.fail = true;
			one.result = l.result;
			snprintf(one.reason, sizeof(one.reason), "%s",
				 l.reason);
		} else if (p->opt.count_plaintext && l.conn_use == 0 &&
			   strcmp(l.status, "sent") == 0) {
			one.fail = true;
			one.result = MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED;
			snprintf(one.reason, sizeof(one.reason),
				 "plaintext-delivery");
		} else {
			break;
		}
		if (e == NULL)
			e = slot(p, &l, true);
		emit(p, l.time, l.domain, &one);
		snprintf(e->last_qid, sizeof(e->last_qid), "%s", l.queue_id);
		snprintf(e->last_ip, sizeof(e->last_ip), "%s", l.ip);
		break;
	}
	return MTASTS_OK;
}
