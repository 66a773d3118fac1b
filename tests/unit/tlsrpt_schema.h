/* SPDX-License-Identifier: MIT */
/*
 * tlsrpt_schema.h: a strict validator of RFC 8460 report JSON for the
 * tests, written from the RFC's field table (section 4.4): every
 * non-optional key present with its JSON type, no unknown keys,
 * RFC 3339 date-times, IP address syntax, the three policy types, the
 * registered result types, integer counts, I-JSON (no duplicate keys).
 * Header-only: include it from one test file.
 */
#ifndef TLSRPT_SCHEMA_H
#define TLSRPT_SCHEMA_H

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static char schema_why[256];

static int
schema_fail(const char *what, const char *where)
{
	snprintf(schema_why, sizeof(schema_why), "%s: %s", where, what);
	return 0;
}

static int
schema_keys(json_t *o, const char *const *req, const char *const *opt,
    const char *where)
{
	const char *k;
	json_t *v;
	size_t i;

	for (i = 0; req[i] != NULL; i++)
		if (json_object_get(o, req[i]) == NULL)
			return schema_fail(req[i], where);
	json_object_foreach(o, k, v) {
		int known = 0;

		for (i = 0; req[i] != NULL; i++)
			known |= strcmp(k, req[i]) == 0;
		for (i = 0; opt != NULL && opt[i] != NULL; i++)
			known |= strcmp(k, opt[i]) == 0;
		if (!known)
			return schema_fail(k, "unknown key");
	}
	return 1;
}

static int
schema_datetime(json_t *v)
{
	const char *s = json_string_value(v);
	int i;

	/* strict RFC 3339 as emitted: YYYY-MM-DDTHH:MM:SSZ */
	if (s == NULL || strlen(s) != 20)
		return 0;
	for (i = 0; i < 20; i++) {
		char c = s[i];

		if (i == 4 || i == 7) {
			if (c != '-')
				return 0;
		} else if (i == 10) {
			if (c != 'T')
				return 0;
		} else if (i == 13 || i == 16) {
			if (c != ':')
				return 0;
		} else if (i == 19) {
			if (c != 'Z')
				return 0;
		} else if (c < '0' || c > '9') {
			return 0;
		}
	}
	return 1;
}

static int
schema_ipv4(const char *s)
{
	int parts = 0;

	while (*s != '\0') {
		int v = 0, n = 0;

		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return 0;	/* dec-octet has no leading zero */
		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (*s++ - '0');
			n++;
		}
		if (n == 0 || n > 3 || v > 255)
			return 0;
		parts++;
		if (*s == '.' && parts < 4)
			s++;
		else if (*s != '\0')
			return 0;
	}
	return parts == 4;
}

static int
schema_ip(json_t *v)
{
	const char *s = json_string_value(v);
	unsigned char buf[16];

	if (s == NULL)
		return 0;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, buf) == 1;
	return schema_ipv4(s);
}

static int
schema_count(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0;
}

static int
schema_strarray(json_t *a)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, e)
		if (!json_is_string(e))
			return 0;
	return 1;
}

static int
schema_result_type(const char *s)
{
	static const char *const known[] = {"starttls-not-supported",
	    "certificate-host-mismatch", "certificate-expired",
	    "certificate-not-trusted", "validation-failure", "tlsa-invalid",
	    "dnssec-invalid", "dane-required", "sts-policy-fetch-error",
	    "sts-policy-invalid", "sts-webpki-invalid", NULL};
	size_t i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(s, known[i]) == 0)
			return 1;
	return 0;
}

static int
schema_failure(json_t *f)
{
	static const char *const req[] = {"result-type", "sending-mta-ip",
	    "receiving-mx-hostname", "receiving-ip", "failed-session-count",
	    "failure-reason-code", NULL};
	static const char *const opt[] = {"receiving-mx-helo",
	    "additional-information", NULL};

	if (!json_is_object(f))
		return schema_fail("not an object", "failure-details[]");
	if (!schema_keys(f, req, opt, "failure-details[]"))
		return 0;
	if (!json_is_string(json_object_get(f, "result-type")) ||
	    !schema_result_type(json_string_value(json_object_get(f,
	    "result-type"))))
		return schema_fail("result-type", "failure-details[]");
	if (!schema_ip(json_object_get(f, "sending-mta-ip")) ||
	    !schema_ip(json_object_get(f, "receiving-ip")))
		return schema_fail("IP address", "failure-details[]");
	if (!json_is_string(json_object_get(f, "receiving-mx-hostname")) ||
	    !json_is_string(json_object_get(f, "failure-reason-code")))
		return schema_fail("string", "failure-details[]");
	if (json_object_get(f, "receiving-mx-helo") != NULL &&
	    !json_is_string(json_object_get(f, "receiving-mx-helo")))
		return schema_fail("helo", "failure-details[]");
	if (json_object_get(f, "additional-information") != NULL &&
	    !json_is_string(json_object_get(f, "additional-information")))
		return schema_fail("additional-information",
		    "failure-details[]");
	if (!schema_count(json_object_get(f, "failed-session-count")))
		return schema_fail("failed-session-count", "failure-details[]");
	return 1;
}

static int
schema_policy(json_t *p)
{
	static const char *const req[] = {"policy", "summary",
	    "failure-details", NULL};
	static const char *const preq[] = {"policy-type", "policy-string",
	    "policy-domain", NULL};
	static const char *const popt[] = {"mx-host", NULL};
	static const char *const sreq[] = {"total-successful-session-count",
	    "total-failure-session-count", NULL};
	json_t *pol, *sum, *fd, *e;
	const char *type;
	size_t i;

	if (!json_is_object(p) || !schema_keys(p, req, NULL, "policies[]"))
		return 0;
	pol = json_object_get(p, "policy");
	sum = json_object_get(p, "summary");
	fd = json_object_get(p, "failure-details");
	if (!json_is_object(pol) || !schema_keys(pol, preq, popt, "policy"))
		return 0;
	type = json_string_value(json_object_get(pol, "policy-type"));
	if (type == NULL || (strcmp(type, "sts") != 0 &&
	    strcmp(type, "tlsa") != 0 && strcmp(type, "no-policy-found") != 0))
		return schema_fail("policy-type", "policy");
	if (!schema_strarray(json_object_get(pol, "policy-string")))
		return schema_fail("policy-string", "policy");
	if (!json_is_string(json_object_get(pol, "policy-domain")) ||
	    json_string_length(json_object_get(pol, "policy-domain")) == 0)
		return schema_fail("policy-domain", "policy");
	if (strcmp(type, "sts") == 0 &&
	    !schema_strarray(json_object_get(pol, "mx-host")))
		return schema_fail("mx-host must be an array", "policy");
	if (!json_is_object(sum) || !schema_keys(sum, sreq, NULL, "summary"))
		return 0;
	if (!schema_count(json_object_get(sum, sreq[0])) ||
	    !schema_count(json_object_get(sum, sreq[1])))
		return schema_fail("counts", "summary");
	if (!json_is_array(fd))
		return schema_fail("not an array", "failure-details");
	json_array_foreach(fd, i, e)
		if (!schema_failure(e))
			return 0;
	return 1;
}

/* 1 when text is a valid RFC 8460 report; else 0 with schema_why. */
static int
schema_validate(const char *text, size_t len)
{
	static const char *const req[] = {"organization-name", "date-range",
	    "contact-info", "report-id", "policies", NULL};
	static const char *const dreq[] = {"start-datetime", "end-datetime",
	    NULL};
	json_error_t jerr;
	json_t *root, *dr, *pols, *e;
	const char *contact;
	size_t i;
	int ok = 0;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return schema_fail(jerr.text, "not I-JSON");
	if (!json_is_object(root) || !schema_keys(root, req, NULL, "report"))
		goto out;
	if (!json_is_string(json_object_get(root, "organization-name")) ||
	    !json_is_string(json_object_get(root, "report-id"))) {
		schema_fail("string", "report");
		goto out;
	}
	contact = json_string_value(json_object_get(root, "contact-info"));
	if (contact == NULL || strchr(contact, '@') == NULL ||
	    contact[0] == '@' || strchr(contact, '@')[1] == '\0') {
		schema_fail("contact-info is not an addr-spec", "report");
		goto out;
	}
	dr = json_object_get(root, "date-range");
	if (!json_is_object(dr) || !schema_keys(dr, dreq, NULL, "date-range"))
		goto out;
	if (!schema_datetime(json_object_get(dr, dreq[0])) ||
	    !schema_datetime(json_object_get(dr, dreq[1]))) {
		schema_fail("date-time", "date-range");
		goto out;
	}
	pols = json_object_get(root, "policies");
	if (!json_is_array(pols)) {
		schema_fail("not an array", "policies");
		goto out;
	}
	json_array_foreach(pols, i, e)
		if (!schema_policy(e))
			goto out;
	ok = 1;
out:
	json_decref(root);
	return ok;
}

#endif
