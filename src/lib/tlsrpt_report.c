/* SPDX-License-Identifier: MIT */
/*
 * tlsrpt_report.c: the RFC 8460 report model, its strict JSON writer,
 * the liberal reader of received reports, the file name and Subject.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "mtasts/tlsrpt_report.h"
#include "util/alloc.h"

#define DAY 86400
#define JSON_SAFE_MAX ((uint64_t)1 << 53)	/* I-JSON exact integers */

/* ---- time ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

char *
mtasts_tlsrpt_format_time(int64_t t, char *buf)
{
	int64_t lo = days_from_civil(0, 1, 1) * DAY;
	int64_t hi = days_from_civil(10000, 1, 1) * DAY - 1;
	int64_t days, sec, y;
	unsigned m, d;
	char tmp[64];

	if (t < lo || t > hi)
		t = t < lo ? lo : hi;	/* keep four-digit years, in order */
	days = floor_div(t, DAY);
	sec = t - days * DAY;
	civil_from_days(days, &y, &m, &d);
	snprintf(tmp, sizeof(tmp), "%04u-%02u-%02uT%02u:%02u:%02uZ",
	    (unsigned)y, m, d, (unsigned)(sec / 3600),
	    (unsigned)(sec / 60 % 60), (unsigned)(sec % 60));
	memcpy(buf, tmp, MTASTS_TLSRPT_TIME_MAX - 1);
	buf[MTASTS_TLSRPT_TIME_MAX - 1] = '\0';
	return buf;
}

static bool
digits(const char *s, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

int
mtasts_tlsrpt_parse_time(const char *s, int64_t *t)
{
	unsigned y, mo, d, h, mi, se, zh, zm;
	int64_t v;
	size_t i;
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31};

	if (s == NULL || strlen(s) < 19)
		return MTASTS_ESYNTAX;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return MTASTS_ESYNTAX;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || mi > 59 ||
	    se > 60 || h > 24 || (h == 24 && (mi != 0 || se != 0)))
		return MTASTS_ESYNTAX;
	if (se == 60)
		se = 59;	/* a leap second: keep it in its minute */
	i = 19;
	if (s[i] == '.') {
		i++;
		if (s[i] < '0' || s[i] > '9')
			return MTASTS_ESYNTAX;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	v = days_from_civil(y, mo, d) * DAY + (int64_t)h * 3600 + mi * 60 + se;
	if (s[i] == '\0') {
		*t = v;		/* no zone: UTC (decision A-17) */
		return MTASTS_OK;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		*t = v;
		return MTASTS_OK;
	}
	if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 &&
	    digits(s + i + 1, 2, &zh) && s[i + 3] == ':' &&
	    digits(s + i + 4, 2, &zm) && zh <= 23 && zm <= 59) {
		int64_t off = (int64_t)zh * 3600 + zm * 60;

		*t = s[i] == '+' ? v - off : v + off;
		return MTASTS_OK;
	}
	return MTASTS_ESYNTAX;
}

/* ---- model --------------------------------------------------------------- */

static char *
dup_opt(const char *s, bool *oom)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = mtasts__strdup(s);
	if (p == NULL)
		*oom = true;
	return p;
}

static void
free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		mtasts__free(v[i]);
	mtasts__free(v);
}

static void
failure_clear(struct mtasts_tlsrpt_failure *f)
{
	mtasts__free(f->result_type);
	mtasts__free(f->sending_mta_ip);
	mtasts__free(f->receiving_mx_hostname);
	mtasts__free(f->receiving_mx_helo);
	mtasts__free(f->receiving_ip);
	mtasts__free(f->additional_information);
	mtasts__free(f->failure_reason_code);
}

static void
policy_clear(struct mtasts_tlsrpt_policy_result *p)
{
	size_t i;

	mtasts__free(p->policy_type);
	free_strings(p->policy_strings, p->policy_string_count);
	mtasts__free(p->policy_domain);
	free_strings(p->mx_hosts, p->mx_host_count);
	for (i = 0; i < p->failure_count; i++)
		failure_clear(&p->failures[i]);
	mtasts__free(p->failures);
}

void
mtasts_tlsrpt_report_free(struct mtasts_tlsrpt_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	mtasts__free(rep->organization_name);
	mtasts__free(rep->contact_info);
	mtasts__free(rep->report_id);
	for (i = 0; i < rep->policy_count; i++)
		policy_clear(&rep->policies[i]);
	mtasts__free(rep->policies);
	mtasts__free(rep);
}

static bool
string_ok(const char *s)
{
	return s != NULL && strlen(s) <= MTASTS_TLSRPT_REPORT_MAX_STRING;
}

int
mtasts_tlsrpt_report_new(const char *org, const char *contact,
    const char *report_id, int64_t day_start,
    struct mtasts_tlsrpt_report **out, struct mtasts_error *err)
{
	struct mtasts_tlsrpt_report *rep;
	bool oom = false;

	*out = NULL;
	if (!string_ok(org) || !string_ok(report_id) ||
	    (contact != NULL && !string_ok(contact)))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "organization name and report id are required");
	rep = mtasts__calloc(1, sizeof(*rep));
	if (rep == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	rep->organization_name = dup_opt(org, &oom);
	rep->contact_info = dup_opt(contact, &oom);
	rep->report_id = dup_opt(report_id, &oom);
	rep->start = floor_div(day_start, DAY) * DAY;
	rep->end = rep->start + DAY - 1;
	rep->has_range = true;
	if (oom) {
		mtasts_tlsrpt_report_free(rep);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	*out = rep;
	return MTASTS_OK;
}

static int
copy_strings(const char *const *in, size_t n, char ***out)
{
	char **v;
	size_t i;

	*out = NULL;
	if (n == 0)
		return MTASTS_OK;
	v = mtasts__calloc(n, sizeof(*v));
	if (v == NULL)
		return MTASTS_ENOMEM;
	for (i = 0; i < n; i++) {
		v[i] = mtasts__strdup(in[i] != NULL ? in[i] : "");
		if (v[i] == NULL) {
			free_strings(v, i);
			return MTASTS_ENOMEM;
		}
	}
	*out = v;
	return MTASTS_OK;
}

/* Make room for one more policy; returns the new zeroed element. */
static struct mtasts_tlsrpt_policy_result *
grow_policies(struct mtasts_tlsrpt_report *rep)
{
	struct mtasts_tlsrpt_policy_result *p;

	if (rep->policy_count == rep->policy_cap_) {
		size_t cap = rep->policy_cap_ ? rep->policy_cap_ * 2 : 4;

		p = mtasts__realloc(rep->policies, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		rep->policies = p;
		rep->policy_cap_ = cap;
	}
	p = &rep->policies[rep->policy_count];
	memset(p, 0, sizeof(*p));
	return p;
}

static struct mtasts_tlsrpt_failure *
grow_failures(struct mtasts_tlsrpt_policy_result *pol)
{
	struct mtasts_tlsrpt_failure *f;

	if (pol->failure_count == pol->failure_cap_) {
		size_t cap = pol->failure_cap_ ? pol->failure_cap_ * 2 : 4;

		f = mtasts__realloc(pol->failures, cap * sizeof(*f));
		if (f == NULL)
			return NULL;
		pol->failures = f;
		pol->failure_cap_ = cap;
	}
	f = &pol->failures[pol->failure_count];
	memset(f, 0, sizeof(*f));
	return f;
}

int
mtasts_tlsrpt_report_add_policy(struct mtasts_tlsrpt_report *rep,
    enum mtasts_tlsrpt_policy_type type, const char *const *strings,
    size_t nstrings, const char *domain, const char *const *mx, size_t nmx,
    uint64_t successful, uint64_t failed,
    struct mtasts_tlsrpt_policy_result **out, struct mtasts_error *err)
{
	struct mtasts_tlsrpt_policy_result *p;
	bool oom = false;

	if (out != NULL)
		*out = NULL;
	if (rep == NULL || !string_ok(domain) || domain[0] == '\0' ||
	    (nstrings > 0 && strings == NULL) || (nmx > 0 && mx == NULL))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "a policy needs its policy domain");
	if (nstrings > MTASTS_TLSRPT_STRINGS_MAX ||
	    nmx > MTASTS_TLSRPT_STRINGS_MAX ||
	    rep->policy_count >= MTASTS_TLSRPT_REPORT_MAX_POLICIES)
		return mtasts_error_set(err, MTASTS_ETOOBIG,
		    "too many policies or policy strings");
	p = grow_policies(rep);
	if (p == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	p->policy_type = dup_opt(mtasts_tlsrpt_policy_type_name(type), &oom);
	p->policy_domain = dup_opt(domain, &oom);
	if (copy_strings(strings, nstrings, &p->policy_strings) != MTASTS_OK)
		oom = true;
	else
		p->policy_string_count = nstrings;
	if (copy_strings(mx, nmx, &p->mx_hosts) != MTASTS_OK)
		oom = true;
	else
		p->mx_host_count = nmx;
	p->total_successful = successful;
	p->total_failure = failed;
	if (oom) {
		policy_clear(p);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	rep->policy_count++;
	if (out != NULL)
		*out = p;
	return MTASTS_OK;
}

int
mtasts_tlsrpt_policy_add_failure(struct mtasts_tlsrpt_policy_result *pol,
    const struct mtasts_tlsrpt_failure_in *in, struct mtasts_error *err)
{
	struct mtasts_tlsrpt_failure *f;
	bool oom = false;

	if (pol == NULL || in == NULL || !string_ok(in->result_type) ||
	    in->result_type[0] == '\0')
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "a failure row needs its result type");
	if (pol->failure_count >= MTASTS_TLSRPT_REPORT_MAX_FAILURES)
		return mtasts_error_set(err, MTASTS_ETOOBIG,
		    "too many failure-details rows");
	f = grow_failures(pol);
	if (f == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	f->result_type = dup_opt(in->result_type, &oom);
	f->sending_mta_ip = dup_opt(in->sending_mta_ip, &oom);
	f->receiving_mx_hostname = dup_opt(in->receiving_mx_hostname, &oom);
	f->receiving_mx_helo = dup_opt(in->receiving_mx_helo, &oom);
	f->receiving_ip = dup_opt(in->receiving_ip, &oom);
	f->additional_information = dup_opt(in->additional_information, &oom);
	f->failure_reason_code = dup_opt(in->failure_reason_code, &oom);
	f->failed_session_count = in->failed_session_count;
	if (oom) {
		failure_clear(f);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	pol->failure_count++;
	return MTASTS_OK;
}

/* ---- writer -------------------------------------------------------------- */

/* Add key -> string; steals nothing; false on OOM or invalid UTF-8. */
static bool
put_str(json_t *o, const char *key, const char *v)
{
	json_t *s = json_string(v);

	return s != NULL && json_object_set_new(o, key, s) == 0;
}

static bool
put_int(json_t *o, const char *key, uint64_t v)
{
	json_t *n = json_integer((json_int_t)v);

	return n != NULL && json_object_set_new(o, key, n) == 0;
}

static json_t *
str_array(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		json_t *s = json_string(v[i]);

		if (s == NULL || json_array_append_new(a, s) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int
check_model(const struct mtasts_tlsrpt_report *rep, struct mtasts_error *err)
{
	size_t i, j;

	if (rep->organization_name == NULL || rep->contact_info == NULL ||
	    rep->report_id == NULL || !rep->has_range)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "organization-name, contact-info, report-id and "
		    "date-range are required");
	for (i = 0; i < rep->policy_count; i++) {
		const struct mtasts_tlsrpt_policy_result *p = &rep->policies[i];

		if (p->policy_type == NULL || p->policy_domain == NULL)
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "policy %zu: policy-type and policy-domain are "
			    "required", i);
		if (p->total_successful >= JSON_SAFE_MAX ||
		    p->total_failure >= JSON_SAFE_MAX)
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "policy %zu: count beyond 2^53", i);
		for (j = 0; j < p->failure_count; j++) {
			if (p->failures[j].result_type == NULL ||
			    p->failures[j].failed_session_count >=
			    JSON_SAFE_MAX)
				return mtasts_error_set(err, MTASTS_EINVAL,
				    "policy %zu row %zu: no result-type or "
				    "count beyond 2^53", i, j);
		}
	}
	return MTASTS_OK;
}

static json_t *
failure_json(const struct mtasts_tlsrpt_failure *f)
{
	json_t *o = json_object();
	bool ok;

	if (o == NULL)
		return NULL;
	ok = put_str(o, "result-type", f->result_type);
	if (ok && f->sending_mta_ip != NULL)
		ok = put_str(o, "sending-mta-ip", f->sending_mta_ip);
	if (ok)
		ok = put_str(o, "receiving-mx-hostname",
		    f->receiving_mx_hostname ? f->receiving_mx_hostname : "");
	if (ok && f->receiving_mx_helo != NULL)
		ok = put_str(o, "receiving-mx-helo", f->receiving_mx_helo);
	if (ok && f->receiving_ip != NULL)
		ok = put_str(o, "receiving-ip", f->receiving_ip);
	if (ok)
		ok = put_int(o, "failed-session-count",
		    f->failed_session_count);
	if (ok && f->additional_information != NULL)
		ok = put_str(o, "additional-information",
		    f->additional_information);
	if (ok)
		ok = put_str(o, "failure-reason-code",
		    f->failure_reason_code ? f->failure_reason_code : "");
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
policy_json(const struct mtasts_tlsrpt_policy_result *p)
{
	json_t *o = json_object(), *pol = json_object(), *sum = json_object();
	json_t *fd = json_array(), *a;
	bool ok = o && pol && sum && fd;
	size_t i;

	if (ok)
		ok = json_object_set(o, "policy", pol) == 0 &&
		    json_object_set(o, "summary", sum) == 0 &&
		    json_object_set(o, "failure-details", fd) == 0;
	if (ok)
		ok = put_str(pol, "policy-type", p->policy_type);
	if (ok) {
		a = str_array(p->policy_strings, p->policy_string_count);
		ok = a != NULL && json_object_set_new(pol, "policy-string",
		    a) == 0;
	}
	if (ok)
		ok = put_str(pol, "policy-domain", p->policy_domain);
	if (ok && (p->mx_host_count > 0 ||
	    strcmp(p->policy_type, "sts") == 0)) {
		a = str_array(p->mx_hosts, p->mx_host_count);
		ok = a != NULL && json_object_set_new(pol, "mx-host", a) == 0;
	}
	if (ok)
		ok = put_int(sum, "total-successful-session-count",
		    p->total_successful) &&
		    put_int(sum, "total-failure-session-count",
		    p->total_failure);
	for (i = 0; ok && i < p->failure_count; i++) {
		a = failure_json(&p->failures[i]);
		ok = a != NULL && json_array_append_new(fd, a) == 0;
	}
	json_decref(pol);
	json_decref(sum);
	json_decref(fd);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct outbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* jansson output callback: append to a growing buffer of our own. */
static int
dump_cb(const char *buf, size_t size, void *data)
{
	struct outbuf *ob = data;

	if (ob->oom)
		return -1;
	if (size > SIZE_MAX / 2 - ob->len) {
		ob->oom = true;
		return -1;
	}
	if (ob->len + size > ob->cap) {
		size_t cap = ob->cap ? ob->cap : 4096;
		char *p;

		while (cap < ob->len + size)
			cap *= 2;
		p = mtasts__realloc(ob->p, cap);
		if (p == NULL) {
			ob->oom = true;
			return -1;
		}
		ob->p = p;
		ob->cap = cap;
	}
	memcpy(ob->p + ob->len, buf, size);
	ob->len += size;
	return 0;
}

int
mtasts_tlsrpt_report_to_json(const struct mtasts_tlsrpt_report *rep,
    unsigned flags, char **json, size_t *len, struct mtasts_error *err)
{
	json_t *root, *range, *pols, *p;
	char start[MTASTS_TLSRPT_TIME_MAX], end[MTASTS_TLSRPT_TIME_MAX];
	struct outbuf ob;
	char *copy;
	bool ok;
	size_t i, n;
	int rc;

	*json = NULL;
	if (len != NULL)
		*len = 0;
	if (rep == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no report");
	rc = check_model(rep, err);
	if (rc != MTASTS_OK)
		return rc;
	root = json_object();
	range = json_object();
	pols = json_array();
	ok = root && range && pols;
	if (ok)
		ok = put_str(root, "organization-name",
		    rep->organization_name) &&
		    json_object_set(root, "date-range", range) == 0 &&
		    put_str(range, "start-datetime",
		    mtasts_tlsrpt_format_time(rep->start, start)) &&
		    put_str(range, "end-datetime",
		    mtasts_tlsrpt_format_time(rep->end, end)) &&
		    put_str(root, "contact-info", rep->contact_info) &&
		    put_str(root, "report-id", rep->report_id) &&
		    json_object_set(root, "policies", pols) == 0;
	for (i = 0; ok && i < rep->policy_count; i++) {
		p = policy_json(&rep->policies[i]);
		ok = p != NULL && json_array_append_new(pols, p) == 0;
	}
	json_decref(range);
	json_decref(pols);
	if (!ok) {
		json_decref(root);
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "out of memory or a string is not UTF-8");
	}
	memset(&ob, 0, sizeof(ob));
	rc = json_dump_callback(root, dump_cb, &ob, JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII | ((flags & MTASTS_TLSRPT_JSON_PRETTY) ?
	    JSON_INDENT(2) : JSON_COMPACT));
	json_decref(root);
	if (rc != 0 || ob.oom || dump_cb("", 1, &ob) != 0) {
		mtasts__free(ob.p);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	copy = ob.p;
	n = ob.len - 1;
	*json = copy;
	if (len != NULL)
		*len = n;
	return MTASTS_OK;
}

/* ---- reader -------------------------------------------------------------- */

struct rd {
	struct mtasts_diags *diags;
	struct mtasts_error *err;
	bool oom;
};

static void
warn(struct rd *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
warn(struct rd *r, const char *field, const char *fmt, ...)
{
	char msg[MTASTS_DIAG_MSG_MAX];
	va_list ap;

	if (r->diags == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mtasts_diags_add(r->diags, MTASTS_SEV_WARNING, MTASTS_ESYNTAX, 0, 0,
	    field, "%s", msg);
}

/* A string member: absent/null -> NULL (with want: warning), string ->
 * copy, anything else -> syntax error (returns false). */
static bool
get_str(struct rd *r, json_t *o, const char *key, char **out, bool want)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (want)
			warn(r, key, "%s is missing or null", key);
		return true;
	}
	if (!json_is_string(v)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX, "%s is not a string",
		    key);
		return false;
	}
	n = json_string_length(v);
	if (n > MTASTS_TLSRPT_REPORT_MAX_STRING) {
		mtasts_error_set(r->err, MTASTS_ETOOBIG, "%s is too long",
		    key);
		return false;
	}
	*out = mtasts__strndup(json_string_value(v), n);
	if (*out == NULL) {
		r->oom = true;
		mtasts_error_set(r->err, MTASTS_ENOMEM, "out of memory");
		return false;
	}
	return true;
}

static bool
get_count(struct rd *r, json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL || json_is_null(v)) {
		warn(r, key, "%s is missing", key);
		return true;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && json_real_value(v) >= 0 &&
	    json_real_value(v) < 9007199254740992.0 &&
	    json_real_value(v) == (double)(uint64_t)json_real_value(v)) {
		*out = (uint64_t)json_real_value(v);
		warn(r, key, "%s is written as a real number", key);
		return true;
	}
	mtasts_error_set(r->err, MTASTS_ESYNTAX,
	    "%s is not a non-negative integer", key);
	return false;
}

/* Append s (n bytes) to a string vector; strips "mx: " when strip_mx. */
static bool
vec_push(struct rd *r, char ***v, size_t *count, const char *s, size_t n)
{
	char **nv;

	if (*count >= MTASTS_TLSRPT_STRINGS_MAX) {
		mtasts_error_set(r->err, MTASTS_ETOOBIG,
		    "more than %d strings in a list",
		    MTASTS_TLSRPT_STRINGS_MAX);
		return false;
	}
	if (n > MTASTS_TLSRPT_REPORT_MAX_STRING) {
		mtasts_error_set(r->err, MTASTS_ETOOBIG, "a string is too "
		    "long");
		return false;
	}
	nv = mtasts__realloc(*v, (*count + 1) * sizeof(*nv));
	if (nv == NULL)
		goto oom;
	*v = nv;
	nv[*count] = mtasts__strndup(s, n);
	if (nv[*count] == NULL)
		goto oom;
	(*count)++;
	return true;
oom:
	r->oom = true;
	mtasts_error_set(r->err, MTASTS_ENOMEM, "out of memory");
	return false;
}

static bool
push_item(struct rd *r, const char *key, json_t *e, char ***v, size_t *count,
    bool is_mx)
{
	const char *s;
	size_t n;

	if (!json_is_string(e)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX, "%s holds a non-string",
		    key);
		return false;
	}
	s = json_string_value(e);
	n = json_string_length(e);
	if (is_mx && n > 4 && strncmp(s, "mx: ", 4) == 0) {
		warn(r, key, "%s item carries an \"mx: \" prefix", key);
		s += 4;
		n -= 4;
	}
	return vec_push(r, v, count, s, n);
}

/* A list of strings: array of strings, or a single string. */
static bool
get_list(struct rd *r, json_t *o, const char *key, char ***v, size_t *count,
    bool is_mx)
{
	json_t *a = json_object_get(o, key), *e;
	size_t i;

	*v = NULL;
	*count = 0;
	if (a == NULL || json_is_null(a))
		return true;
	if (json_is_string(a)) {
		warn(r, key, "%s is a string, not an array (erratum 6241)",
		    key);
		return push_item(r, key, a, v, count, is_mx);
	}
	if (!json_is_array(a)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX, "%s is not an array",
		    key);
		return false;
	}
	json_array_foreach(a, i, e) {
		if (!push_item(r, key, e, v, count, is_mx))
			return false;
	}
	return true;
}

/* A TLSA policy-string sent as one string holding a JSON array. */
static bool
expand_tlsa(struct rd *r, struct mtasts_tlsrpt_policy_result *p)
{
	json_t *a, *e;
	char **v = NULL;
	size_t count = 0, i;
	bool ok = true;

	if (p->policy_type == NULL || strcmp(p->policy_type, "tlsa") != 0 ||
	    p->policy_string_count != 1 || p->policy_strings[0][0] != '[')
		return true;
	a = json_loads(p->policy_strings[0], JSON_DISABLE_EOF_CHECK, NULL);
	if (a == NULL || !json_is_array(a)) {
		json_decref(a);
		return true;	/* keep the string as it came */
	}
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			ok = false;
			break;
		}
		if (!vec_push(r, &v, &count, json_string_value(e),
		    json_string_length(e))) {
			json_decref(a);
			free_strings(v, count);
			return false;
		}
	}
	json_decref(a);
	if (!ok) {
		free_strings(v, count);
		return true;
	}
	warn(r, "policy-string", "%s", "TLSA policy-string is one "
	    "JSON-encoded array");
	free_strings(p->policy_strings, p->policy_string_count);
	p->policy_strings = v;
	p->policy_string_count = count;
	return true;
}

static bool
read_failure(struct rd *r, json_t *o, struct mtasts_tlsrpt_failure *f)
{
	if (!json_is_object(o)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "a failure-details entry is not an object");
		return false;
	}
	if (!get_str(r, o, "result-type", &f->result_type, true) ||
	    !get_str(r, o, "sending-mta-ip", &f->sending_mta_ip, true) ||
	    !get_str(r, o, "receiving-mx-hostname", &f->receiving_mx_hostname,
	    true) ||
	    !get_str(r, o, "receiving-mx-helo", &f->receiving_mx_helo,
	    false) ||
	    !get_str(r, o, "receiving-ip", &f->receiving_ip, true) ||
	    !get_str(r, o, "additional-information",
	    &f->additional_information, false) ||
	    !get_str(r, o, "failure-reason-code", &f->failure_reason_code,
	    false) ||
	    !get_count(r, o, "failed-session-count", &f->failed_session_count))
		return false;
	if (f->result_type == NULL) {
		f->result_type = mtasts__strdup("");
		if (f->result_type == NULL) {
			r->oom = true;
			mtasts_error_set(r->err, MTASTS_ENOMEM, "out of memory");
			return false;
		}
	}
	return true;
}

static bool
read_policy(struct rd *r, json_t *o, struct mtasts_tlsrpt_policy_result *p)
{
	json_t *pol, *sum, *fd, *e;
	size_t i;

	if (!json_is_object(o)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "a policies entry is not an object");
		return false;
	}
	pol = json_object_get(o, "policy");
	if (pol == NULL || !json_is_object(pol)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "a policies entry has no policy object");
		return false;
	}
	if (!get_str(r, pol, "policy-type", &p->policy_type, true) ||
	    !get_list(r, pol, "policy-string", &p->policy_strings,
	    &p->policy_string_count, false) ||
	    !get_str(r, pol, "policy-domain", &p->policy_domain, true) ||
	    !get_list(r, pol, "mx-host", &p->mx_hosts, &p->mx_host_count,
	    true) ||
	    !expand_tlsa(r, p))
		return false;
	if (p->policy_type != NULL && strcmp(p->policy_type, "sts") != 0 &&
	    strcmp(p->policy_type, "tlsa") != 0 &&
	    strcmp(p->policy_type, "no-policy-found") != 0)
		warn(r, "policy-type", "unknown policy-type \"%.64s\"",
		    p->policy_type);
	sum = json_object_get(o, "summary");
	if (sum != NULL && !json_is_object(sum)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "summary is not an object");
		return false;
	}
	if (sum == NULL) {
		warn(r, "summary", "%s is missing", "summary");
	} else if (!get_count(r, sum, "total-successful-session-count",
	    &p->total_successful) ||
	    !get_count(r, sum, "total-failure-session-count",
	    &p->total_failure)) {
		return false;
	}
	fd = json_object_get(o, "failure-details");
	if (fd == NULL || json_is_null(fd))
		return true;
	if (!json_is_array(fd)) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "failure-details is not an array");
		return false;
	}
	if (json_array_size(fd) > MTASTS_TLSRPT_REPORT_MAX_FAILURES) {
		mtasts_error_set(r->err, MTASTS_ETOOBIG,
		    "too many failure-details rows");
		return false;
	}
	json_array_foreach(fd, i, e) {
		struct mtasts_tlsrpt_failure *f = grow_failures(p);

		if (f == NULL) {
			r->oom = true;
			mtasts_error_set(r->err, MTASTS_ENOMEM, "out of memory");
			return false;
		}
		p->failure_count++;
		if (!read_failure(r, e, f))
			return false;
		if (f->result_type[0] != '\0' &&
		    mtasts_tlsrpt_result_parse(f->result_type) ==
		    MTASTS_TLSRPT_R_OTHER)
			warn(r, "result-type", "unknown result-type \"%.64s\"",
			    f->result_type);
	}
	return true;
}

static bool
read_range(struct rd *r, json_t *root, struct mtasts_tlsrpt_report *rep)
{
	json_t *dr = json_object_get(root, "date-range"), *s, *e;

	if (dr == NULL || json_is_null(dr)) {
		warn(r, "date-range", "%s is missing", "date-range");
		return true;
	}
	s = json_is_object(dr) ? json_object_get(dr, "start-datetime") : NULL;
	e = json_is_object(dr) ? json_object_get(dr, "end-datetime") : NULL;
	if (!json_is_string(s) || !json_is_string(e) ||
	    mtasts_tlsrpt_parse_time(json_string_value(s), &rep->start) != 0 ||
	    mtasts_tlsrpt_parse_time(json_string_value(e), &rep->end) != 0) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "date-range is not two RFC 3339 date-times");
		return false;
	}
	if (strlen(json_string_value(s)) == 19 ||
	    strlen(json_string_value(e)) == 19)
		warn(r, "date-range", "%s", "date-time without a time zone "
		    "(read as UTC)");
	if (rep->end < rep->start) {
		mtasts_error_set(r->err, MTASTS_ESYNTAX,
		    "date-range ends before it starts");
		return false;
	}
	rep->has_range = true;
	return true;
}

int
mtasts_tlsrpt_report_parse(const char *json, size_t len,
    struct mtasts_tlsrpt_report **out, struct mtasts_diags *diags,
    struct mtasts_error *err)
{
	struct mtasts_tlsrpt_report *rep;
	struct mtasts_error local;
	struct rd r;
	json_t *root, *pols, *e;
	json_error_t jerr;
	size_t i;
	bool ok;

	*out = NULL;
	if (err == NULL)
		err = &local;	/* the reader needs the code of its errors */
	mtasts_error_clear(err);
	r.diags = diags;
	r.err = err;
	r.oom = false;
	if (json == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no input");
	if (len > MTASTS_TLSRPT_REPORT_MAX_JSON)
		return mtasts_error_set(err, MTASTS_ETOOBIG,
		    "report larger than %u bytes",
		    MTASTS_TLSRPT_REPORT_MAX_JSON);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "not I-JSON: %s (line %d)", jerr.text, jerr.line);
	pols = json_object_get(root, "policies");
	if (!json_is_object(root) || !json_is_array(pols)) {
		json_decref(root);
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "not a report: no \"policies\" array");
	}
	if (json_array_size(pols) > MTASTS_TLSRPT_REPORT_MAX_POLICIES) {
		json_decref(root);
		return mtasts_error_set(err, MTASTS_ETOOBIG,
		    "too many policies");
	}
	rep = mtasts__calloc(1, sizeof(*rep));
	if (rep == NULL) {
		json_decref(root);
		return mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
	}
	ok = get_str(&r, root, "organization-name", &rep->organization_name,
	    true) &&
	    get_str(&r, root, "contact-info", &rep->contact_info, true) &&
	    get_str(&r, root, "report-id", &rep->report_id, true) &&
	    read_range(&r, root, rep);
	json_array_foreach(pols, i, e) {
		struct mtasts_tlsrpt_policy_result *p;

		if (!ok)
			break;
		p = grow_policies(rep);
		if (p == NULL) {
			mtasts_error_set(err, MTASTS_ENOMEM, "out of memory");
			ok = false;
			break;
		}
		rep->policy_count++;
		ok = read_policy(&r, e, p);
	}
	json_decref(root);
	if (!ok) {
		mtasts_tlsrpt_report_free(rep);
		if (err->code == MTASTS_OK)
			mtasts_error_set(err, r.oom ? MTASTS_ENOMEM :
			    MTASTS_ESYNTAX, "bad report");
		return err->code;
	}
	*out = rep;
	return MTASTS_OK;
}

/* ---- file name and Subject ------------------------------------------------ */

/* A-label domain: LDH labels separated by dots, no trailing dot. */
static bool
domain_ok(const char *d)
{
	size_t i, label = 0, n;

	if (d == NULL)
		return false;
	n = strlen(d);
	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static bool
alnum_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 128)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int
mtasts_tlsrpt_report_filename(const char *submitter,
    const char *policy_domain, int64_t begin, int64_t end,
    const char *unique_id, bool gz, char *buf, size_t size,
    struct mtasts_error *err)
{
	int n;

	if (size > 0)
		buf[0] = '\0';
	if (!domain_ok(submitter) || !domain_ok(policy_domain) || begin < 0 ||
	    end < begin || (unique_id != NULL && !alnum_ok(unique_id)))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "file name needs A-label domains, a range and an "
		    "alphanumeric id");
	if (unique_id != NULL)
		n = snprintf(buf, size, "%s!%s!%lld!%lld!%s.%s", submitter,
		    policy_domain, (long long)begin, (long long)end, unique_id,
		    gz ? "json.gz" : "json");
	else
		n = snprintf(buf, size, "%s!%s!%lld!%lld.%s", submitter,
		    policy_domain, (long long)begin, (long long)end,
		    gz ? "json.gz" : "json");
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return mtasts_error_set(err, MTASTS_ETOOBIG,
		    "file name does not fit");
	}
	return MTASTS_OK;
}

/* RFC 5322 atext plus "." between atoms (dot-atom-text). */
static bool
dot_atom_ok(const char *s)
{
	static const char specials[] = "!#$%&'*+-/=?^_`{|}~";
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '.' || strlen(s) > 200)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (c == '.') {
			if (s[i + 1] == '.' || s[i + 1] == '\0')
				return false;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(specials, c) != NULL))
			return false;
	}
	return true;
}

int
mtasts_tlsrpt_report_subject(const char *policy_domain,
    const char *submitter, const char *report_id, char *buf, size_t size,
    struct mtasts_error *err)
{
	int n;

	if (size > 0)
		buf[0] = '\0';
	if (!domain_ok(policy_domain) || !domain_ok(submitter) ||
	    !dot_atom_ok(report_id))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "Subject needs A-label domains and a dot-atom report id");
	n = snprintf(buf, size, "Report Domain: %s Submitter: %s "
	    "Report-ID: <%s@%s>", policy_domain, submitter, report_id,
	    submitter);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return mtasts_error_set(err, MTASTS_ETOOBIG,
		    "Subject does not fit");
	}
	return MTASTS_OK;
}
