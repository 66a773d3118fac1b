/* SPDX-License-Identifier: MIT */
/*
 * tlsrpt_datagram.c: libtlsrpt protocol version 1 datagrams to sessions.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "mtasts/tlsrpt_datagram.h"
#include "util/alloc.h"

#define DEPTH_MAX 6
#define DOMAIN_MAX 253

struct mtasts_tlsrpt_datagram {
	json_t *root;
	char domain[DOMAIN_MAX + 1];
	const char *record;
	size_t dropped;
	struct mtasts_tlsrpt_session *sessions;
	size_t nsessions;
	char (*pdomains)[DOMAIN_MAX + 1]; /* one per policy */
	const char **strs; /* per policy: 2 * STRINGS_MAX pointers */
	char (*codes)[24]; /* per session: synthesised reason code */
};

static const struct {
	int code;
	enum mtasts_tlsrpt_result r;
} code_table[] = {
    {201, MTASTS_TLSRPT_R_STARTTLS_NOT_SUPPORTED},
    {202, MTASTS_TLSRPT_R_CERTIFICATE_HOST_MISMATCH},
    {203, MTASTS_TLSRPT_R_CERTIFICATE_NOT_TRUSTED},
    {204, MTASTS_TLSRPT_R_CERTIFICATE_EXPIRED},
    {205, MTASTS_TLSRPT_R_VALIDATION_FAILURE},
    {301, MTASTS_TLSRPT_R_STS_POLICY_FETCH_ERROR},
    {302, MTASTS_TLSRPT_R_STS_POLICY_INVALID},
    {303, MTASTS_TLSRPT_R_STS_WEBPKI_INVALID},
    {304, MTASTS_TLSRPT_R_TLSA_INVALID},
    {305, MTASTS_TLSRPT_R_DNSSEC_INVALID},
    {306, MTASTS_TLSRPT_R_DANE_REQUIRED},
};

enum mtasts_tlsrpt_result
mtasts_tlsrpt_datagram_code(int code, int *known)
{
	for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]);
	     i++) {
		if (code_table[i].code == code) {
			if (known != NULL)
				*known = 1;
			return code_table[i].r;
		}
	}
	if (known != NULL)
		*known = 0;
	return MTASTS_TLSRPT_R_VALIDATION_FAILURE;
}

/* Nesting depth of JSON text, outside strings. */
static bool
depth_ok(const char *p, size_t n)
{
	int depth = 0;
	bool str = false, esc = false;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == '"')
			str = true;
		else if (c == '{' || c == '[') {
			if (++depth > DEPTH_MAX)
				return false;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return true;
}

/* LDH(+underscore) domain, lowercased into out, one trailing dot cut. */
static bool
domain_copy(const char *s, char *out)
{
	size_t n = strlen(s), label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = c;
	}
	if (label == 0)
		return false;
	out[n] = '\0';
	return true;
}

static bool
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

enum fkind { F_ANY, F_TEXT, F_TOKEN, F_IP, F_HOST };

/* Check a string by kind: F_ANY anything (UTF-8, no NUL: jansson),
 * F_TEXT no control characters, F_TOKEN printable ASCII without space,
 * F_IP an address, F_HOST a domain name (kept as given). */
static bool
field_check(const char *s, enum fkind k)
{
	size_t n = strlen(s);
	char tmp[DOMAIN_MAX + 1];

	if (n == 0 || n > MTASTS_TLSRPT_FIELD_MAX)
		return false;
	switch (k) {
	case F_ANY:
		return true;
	case F_TEXT:
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return false;
		return true;
	case F_TOKEN:
		for (size_t i = 0; i < n; i++)
			if (s[i] <= 0x20 || s[i] >= 0x7f)
				return false;
		return true;
	case F_IP:
		return is_ip(s);
	case F_HOST:
		return domain_copy(s, tmp);
	}
	return false;
}

/* Optional string member: NULL when absent; invalid ones are dropped. */
static const char *
opt_str(struct mtasts_tlsrpt_datagram *d, json_t *o, const char *key,
	enum fkind k)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || !field_check(json_string_value(v), k)) {
		d->dropped++;
		return NULL;
	}
	return json_string_value(v);
}

/* Array of strings: fills v, returns count or -1 when invalid. */
static int
str_array(struct mtasts_tlsrpt_datagram *d, json_t *o, const char *key,
	  enum fkind k, const char **v)
{
	json_t *a = json_object_get(o, key), *it;
	size_t i;
	int n = 0;

	if (a == NULL || json_is_null(a))
		return 0;
	if (json_is_string(a)) { /* liberal: one string for an array */
		if (!field_check(json_string_value(a), k))
			return -1;
		v[0] = json_string_value(a);
		return 1;
	}
	if (!json_is_array(a) || json_array_size(a) > MTASTS_TLSRPT_STRINGS_MAX)
		return -1;
	json_array_foreach(a, i, it)
	{
		if (!json_is_string(it) ||
		    !field_check(json_string_value(it), k)) {
			d->dropped++;
			continue;
		}
		v[n++] = json_string_value(it);
	}
	return n;
}

static int
fail(struct mtasts_error *err, const char **reason, int code, const char *token,
     const char *msg)
{
	if (reason != NULL)
		*reason = token;
	return mtasts_error_set(err, code, "tlsrpt datagram: %s", msg);
}

static bool
get_int(json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi;
}

int
mtasts_tlsrpt_datagram_parse(const char *buf, size_t len, int64_t now,
			     struct mtasts_tlsrpt_datagram **out,
			     const char **reason, struct mtasts_error *err)
{
	struct mtasts_tlsrpt_datagram *d;
	json_t *v, *pols, *pol;
	json_error_t jerr;
	size_t i, npol, total = 0, si = 0;
	int rc;

	*out = NULL;
	if (reason != NULL)
		*reason = NULL;
	if (buf == NULL || len > MTASTS_TLSRPT_DATAGRAM_MAX)
		return fail(err, reason, MTASTS_ETOOBIG, "too-big",
			    "datagram too big");
	if (!depth_ok(buf, len))
		return fail(err, reason, MTASTS_ETOOBIG, "depth",
			    "nesting too deep");
	d = mtasts__calloc(1, sizeof(*d));
	if (d == NULL)
		return fail(err, reason, MTASTS_ENOMEM, "memory",
			    "out of memory");
	d->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (d->root == NULL || !json_is_object(d->root)) {
		rc = fail(err, reason, MTASTS_ESYNTAX, "json",
			  "not a JSON object");
		goto bad;
	}
	v = json_object_get(d->root, "dpv");
	if (!(json_is_string(v) && strcmp(json_string_value(v), "1") == 0) &&
	    !(json_is_integer(v) && json_integer_value(v) == 1)) {
		rc = fail(err, reason, MTASTS_ESYNTAX, "version",
			  "protocol version is not 1");
		goto bad;
	}
	v = json_object_get(d->root, "d");
	if (!json_is_string(v) ||
	    !domain_copy(json_string_value(v), d->domain)) {
		rc = fail(err, reason, MTASTS_ESYNTAX, "domain",
			  "missing or invalid report domain");
		goto bad;
	}
	d->record = opt_str(d, d->root, "pr", F_TEXT);
	pols = json_object_get(d->root, "policies");
	if (!json_is_array(pols) || json_array_size(pols) == 0 ||
	    json_array_size(pols) > MTASTS_TLSRPT_DATAGRAM_POLICIES_MAX) {
		rc = fail(err, reason, MTASTS_ESYNTAX, "policies",
			  "missing, empty or too many policies");
		goto bad;
	}
	npol = json_array_size(pols);
	json_array_foreach(pols, i, pol)
	{
		json_t *fd;

		if (!json_is_object(pol)) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "policies",
				  "policy is not an object");
			goto bad;
		}
		fd = json_object_get(pol, "failure-details");
		if (fd != NULL && !json_is_null(fd) &&
		    (!json_is_array(fd) ||
		     json_array_size(fd) >
			 MTASTS_TLSRPT_DATAGRAM_DETAILS_MAX)) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "field",
				  "failure-details not an array or too long");
			goto bad;
		}
		total += (json_is_array(fd) ? json_array_size(fd) : 0) + 1;
	}
	d->sessions = mtasts__calloc(total, sizeof(*d->sessions));
	d->codes = mtasts__calloc(total, sizeof(*d->codes));
	d->pdomains = mtasts__calloc(npol, sizeof(*d->pdomains));
	d->strs = mtasts__calloc(npol * 2 * MTASTS_TLSRPT_STRINGS_MAX,
				 sizeof(*d->strs));
	if (d->sessions == NULL || d->codes == NULL || d->pdomains == NULL ||
	    d->strs == NULL) {
		rc =
		    fail(err, reason, MTASTS_ENOMEM, "memory", "out of memory");
		goto bad;
	}
	json_array_foreach(pols, i, pol)
	{
		struct mtasts_tlsrpt_session base;
		const char **ps = d->strs + i * 2 * MTASTS_TLSRPT_STRINGS_MAX;
		const char **mx = ps + MTASTS_TLSRPT_STRINGS_MAX;
		json_t *fd = json_object_get(pol, "failure-details"), *det;
		json_int_t pt, failed = -1, t;
		int nps, nmx;
		size_t k, ndet = json_is_array(fd) ? json_array_size(fd) : 0;

		memset(&base, 0, sizeof(base));
		if (!get_int(json_object_get(pol, "policy-type"), 0, 1000,
			     &pt) ||
		    (pt != 1 && pt != 2 && pt != 9)) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "policy-type",
				  "unknown policy-type");
			goto bad;
		}
		base.policy_type = pt == 1   ? MTASTS_TLSRPT_POLICY_TLSA
				   : pt == 2 ? MTASTS_TLSRPT_POLICY_STS
					     : MTASTS_TLSRPT_POLICY_NONE;
		v = json_object_get(pol, "policy-domain");
		if (v == NULL || json_is_null(v)) {
			memcpy(d->pdomains[i], d->domain, sizeof(d->domain));
		} else if (!json_is_string(v) ||
			   !domain_copy(json_string_value(v), d->pdomains[i])) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "domain",
				  "invalid policy-domain");
			goto bad;
		}
		nps = str_array(d, pol, "policy-string", F_TEXT, ps);
		nmx = str_array(d, pol, "mx-host", F_TOKEN, mx);
		if (nps < 0 || nmx < 0) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "field",
				  "invalid policy-string or mx-host");
			goto bad;
		}
		v = json_object_get(pol, "t");
		if (v != NULL && !get_int(v, 0, 1000000, &t)) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "field",
				  "invalid t");
			goto bad;
		}
		v = json_object_get(pol, "f");
		if (v != NULL && !get_int(v, 0, 1, &failed)) {
			rc = fail(err, reason, MTASTS_ESYNTAX, "field",
				  "invalid f");
			goto bad;
		}
		if (failed < 0)
			failed = ndet > 0;
		base.time = now;
		base.policy_domain = d->pdomains[i];
		base.report_domain = d->domain;
		base.policy_strings = ps;
		base.policy_string_count = (size_t)nps;
		base.mx_patterns = mx;
		base.mx_pattern_count = (size_t)nmx;
		base.success = failed == 0;
		if (ndet == 0) {
			d->sessions[si] = base;
			d->sessions[si].no_failure_detail = !base.success;
			si++;
			continue;
		}
		/* A failed session carries its first detail; further
		 * details, and the details of a success, count alone. */
		if (base.success)
			d->sessions[si++] = base;
		json_array_foreach(fd, k, det)
		{
			struct mtasts_tlsrpt_session *s = &d->sessions[si];
			json_int_t code;
			int known;

			if (!json_is_object(det) ||
			    !get_int(json_object_get(det, "c"), 0, 999,
				     &code)) {
				rc = fail(err, reason, MTASTS_ESYNTAX, "field",
					  "failure detail without code");
				goto bad;
			}
			*s = base;
			s->success = false;
			s->detail_only = base.success || k > 0;
			s->result =
			    mtasts_tlsrpt_datagram_code((int)code, &known);
			s->sending_mta_ip = opt_str(d, det, "s", F_IP);
			s->receiving_mx_hostname = opt_str(d, det, "n", F_HOST);
			s->receiving_mx_helo = opt_str(d, det, "h", F_TOKEN);
			s->receiving_ip = opt_str(d, det, "r", F_IP);
			s->additional_information = opt_str(d, det, "a", F_ANY);
			s->failure_reason_code = opt_str(d, det, "f", F_ANY);
			if (!known && s->failure_reason_code == NULL) {
				snprintf(d->codes[si], sizeof(d->codes[si]),
					 "libtlsrpt-code-%d", (int)code);
				s->failure_reason_code = d->codes[si];
			}
			si++;
		}
	}
	d->nsessions = si;
	*out = d;
	return MTASTS_OK;
bad:
	mtasts_tlsrpt_datagram_free(d);
	return rc;
}

size_t
mtasts_tlsrpt_datagram_sessions(const struct mtasts_tlsrpt_datagram *d,
				const struct mtasts_tlsrpt_session **out)
{
	*out = d->sessions;
	return d->nsessions;
}

const char *
mtasts_tlsrpt_datagram_domain(const struct mtasts_tlsrpt_datagram *d)
{
	return d->domain;
}

const char *
mtasts_tlsrpt_datagram_record(const struct mtasts_tlsrpt_datagram *d)
{
	return d->record;
}

size_t
mtasts_tlsrpt_datagram_dropped(const struct mtasts_tlsrpt_datagram *d)
{
	return d->dropped;
}

void
mtasts_tlsrpt_datagram_free(struct mtasts_tlsrpt_datagram *d)
{
	if (d == NULL)
		return;
	json_decref(d->root);
	mtasts__free(d->sessions);
	mtasts__free(d->codes);
	mtasts__free(d->pdomains);
	mtasts__free(d->strs);
	mtasts__free(d);
}
