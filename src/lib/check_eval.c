/* SPDX-License-Identifier: MIT */
/*
 * check_eval.c: judging a finished check job (no I/O). Every item ID
 * written here is part of the stable interface documented in mtasts(1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check_int.h"
#include "mtasts/mx.h"
#include "mtasts/policy.h"
#include "mtasts/sts_record.h"
#include "mtasts/tlsrpt_record.h"
#include "util/alloc.h"

#define ITEMS_MAX 4096

struct item_store {
	struct mtasts_check_item it;
	char *mx, *ip, *msg;
};

struct mtasts_check_report {
	char domain[254];
	struct item_store *items;
	size_t n, cap;
	size_t per_state[MTASTS_CHECK_NSTATES];
	struct mtasts_check_facts facts;
	char sts_id[MTASTS_STS_ID_MAX + 1];
	char body_hash[65];
	bool mx_known;
	char **mx;
	size_t nmx;
	bool oom;
};

const char *
mtasts_check_state_name(enum mtasts_check_state s)
{
	static const char *const names[] = {"PASS", "WARN", "FAIL", "INFO",
		"NOT-TESTED", "ERROR"};

	if ((unsigned)s < MTASTS_CHECK_NSTATES)
		return names[s];
	return "?";
}

static void add(struct mtasts_check_report *r, const char *id,
    const char *group, enum mtasts_check_state st, const char *mx,
    const char *ip, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void
add(struct mtasts_check_report *r, const char *id, const char *group,
    enum mtasts_check_state st, const char *mx, const char *ip,
    const char *fmt, ...)
{
	struct item_store *s;
	char msg[768];
	va_list ap;

	if (r->n >= ITEMS_MAX)
		return;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 32;
		struct item_store *ni = mtasts__realloc(r->items,
		    nc * sizeof(*ni));

		if (ni == NULL) {
			r->oom = true;
			return;
		}
		r->items = ni;
		r->cap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = &r->items[r->n];
	memset(s, 0, sizeof(*s));
	s->msg = mtasts__strdup(msg);
	s->mx = mx ? mtasts__strdup(mx) : NULL;
	s->ip = ip ? mtasts__strdup(ip) : NULL;
	if (s->msg == NULL || (mx && !s->mx) || (ip && !s->ip)) {
		mtasts__free(s->msg);
		mtasts__free(s->mx);
		mtasts__free(s->ip);
		r->oom = true;
		return;
	}
	s->it.id = id;
	s->it.group = group;
	s->it.state = st;
	r->per_state[st]++;
	r->n++;
}

/* How bad a TLS problem is, given the policy mode (see check.h). */
static enum mtasts_check_state
tls_state(enum mtasts_mode mode, bool sts_valid, const char **note)
{
	if (sts_valid && mode == MTASTS_MODE_ENFORCE) {
		*note = " Under the enforce policy, senders refuse to deliver "
			"to this MX.";
		return MTASTS_CHECK_FAIL;
	}
	if (sts_valid && mode == MTASTS_MODE_TESTING) {
		*note = " Mode is testing: this would FAIL once the policy "
			"is switched to enforce.";
		return MTASTS_CHECK_WARN;
	}
	*note = "";
	return MTASTS_CHECK_WARN;
}

static bool
dns_temp(int code)
{
	return code == MTASTS_EDNSTEMP || code == MTASTS_ENOMEM;
}

/* ---- MTA-STS ---- */

struct sts_view {
	bool published;
	bool valid_record;
	struct mtasts_policy *policy;
	enum mtasts_mode mode;
};

static void
eval_sts_txt(struct mtasts_check_report *r, const struct mtasts__check_job *j,
    struct sts_view *v)
{
	static const char G[] = "mta-sts";
	struct mtasts_sts_record rec;
	struct mtasts_diags d;
	struct mtasts_error err;
	size_t nsts = 0;
	int rc;

	if (!j->sts.done || dns_temp(j->sts.code) ||
	    j->sts.code == MTASTS_EDNS) {
		add(r, "STS-TXT-PRESENT", G, MTASTS_CHECK_NOT_TESTED, NULL,
		    NULL, "The _mta-sts.%s TXT lookup failed: %s. Try again "
		    "later; if it persists, fix the DNS servers.", j->domain,
		    j->sts.reason);
		return;
	}
	for (size_t i = 0; i < j->sts.n; i++)
		if (j->sts.len[i] >= 8 && memcmp(j->sts.txt[i], "v=STSv1", 7) ==
		    0)
			nsts++;
	if (j->sts.code != MTASTS_OK || nsts == 0) {
		add(r, "STS-TXT-PRESENT", G, MTASTS_CHECK_INFO, NULL, NULL,
		    "No _mta-sts.%s TXT record starting with v=STSv1: MTA-STS "
		    "is not published. To publish it, serve a policy at "
		    "https://mta-sts.%s/.well-known/mta-sts.txt and add "
		    "\"v=STSv1; id=<new id>\" there.", j->domain, j->domain);
		return;
	}
	v->published = true;
	add(r, "STS-TXT-PRESENT", G, MTASTS_CHECK_PASS, NULL, NULL,
	    "_mta-sts.%s has an STSv1 TXT record.", j->domain);
	if (nsts > 1)
		add(r, "STS-TXT-SINGLE", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%zu TXT records at _mta-sts.%s start with v=STSv1; "
		    "senders then ignore MTA-STS entirely (RFC 8461 3.1). "
		    "Delete all but one.", nsts, j->domain);
	else
		add(r, "STS-TXT-SINGLE", G, MTASTS_CHECK_PASS, NULL, NULL,
		    "Exactly one STSv1 record.");
	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	rc = mtasts_sts_rrset_select((const char *const *)j->sts.txt,
	    j->sts.len, j->sts.n, &rec, &d, &err);
	if (rc == MTASTS_OK) {
		v->valid_record = true;
		snprintf(r->sts_id, sizeof(r->sts_id), "%s", rec.id);
		if (d.warnings > 0 && d.count > 0)
			add(r, "STS-TXT-VALID", G, MTASTS_CHECK_WARN, NULL,
			    NULL, "The record is valid (id=%s) but: %s.",
			    rec.id, d.item[0].msg);
		else
			add(r, "STS-TXT-VALID", G, MTASTS_CHECK_PASS, NULL,
			    NULL, "The record is valid, id=%s.", rec.id);
	} else if (rc != MTASTS_EMULTIPLE) {
		add(r, "STS-TXT-VALID", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "The _mta-sts record is invalid: %s. Senders treat the "
		    "domain as having no policy (RFC 8461 3.1); the record "
		    "must read \"v=STSv1; id=<1-32 letters or digits>\".",
		    d.count ? d.item[0].msg : err.msg);
	}
}

static void
eval_policy_host(struct mtasts_check_report *r,
    const struct mtasts__check_job *j, struct sts_view *v,
    const struct mtasts_checker_options *o)
{
	static const char G[] = "mta-sts";
	char host[300];

	snprintf(host, sizeof(host), "mta-sts.%s", j->domain);
	if (!j->phost_done || dns_temp(j->phost_code)) {
		add(r, "STS-HOST-RESOLVES", G, MTASTS_CHECK_NOT_TESTED, host,
		    NULL, "Looking up %s failed temporarily: %s.", host,
		    j->phost_reason);
		return;
	}
	if (j->phost_code != MTASTS_OK || j->phost_n == 0) {
		add(r, "STS-HOST-RESOLVES", G, MTASTS_CHECK_FAIL, host, NULL,
		    "The policy host %s has no address (%s): publish an A or "
		    "AAAA record for it.", host, j->phost_reason);
		return;
	}
	add(r, "STS-HOST-RESOLVES", G, MTASTS_CHECK_PASS, host, NULL,
	    "%s resolves to %s%s.", host, j->phost_addr[0],
	    j->phost_n > 1 ? " and more" : "");
	if (j->ptls_done) {
		const struct mtasts_probe_result *p = &j->ptls;

		if (p->status != MTASTS_PROBE_OK) {
			add(r, "STS-CERT-VALID", G, p->status ==
			    MTASTS_PROBE_UNTESTED ? MTASTS_CHECK_NOT_TESTED :
			    MTASTS_CHECK_FAIL, host, p->ip,
			    "TLS to %s port 443 failed: %s.", host, p->reason);
		} else if (!p->chain_trusted || !p->name_match ||
		    p->cert_expired || p->cert_not_yet_valid) {
			add(r, "STS-CERT-VALID", G, MTASTS_CHECK_FAIL, host,
			    p->ip, "The certificate of %s is not valid for "
			    "senders:%s%s%s%s%s Senders treat this as "
			    "sts-webpki-invalid: install a certificate from a "
			    "public CA with %s in subjectAltName.", host,
			    p->chain_trusted ? "" : " untrusted chain (",
			    p->chain_trusted ? "" : p->chain_error,
			    p->chain_trusted ? "" : ");",
			    p->name_match ? "" : " no subjectAltName DNS name "
			    "matches;", p->cert_expired ? " expired;" :
			    p->cert_not_yet_valid ? " not yet valid;" : "",
			    host);
		} else if (!(j->fetch_done && j->fetch_code == MTASTS_ECERT)) {
			/* (A failed fetch validation is reported there.) */
			add(r, "STS-CERT-VALID", G, MTASTS_CHECK_PASS, host,
			    p->ip, "The certificate of %s is trusted and "
			    "names it in subjectAltName.", host);
		}
		if (p->status == MTASTS_PROBE_OK && p->cert_present) {
			if (p->days_left < 0)
				add(r, "STS-CERT-EXPIRY", G, MTASTS_CHECK_FAIL,
				    host, p->ip, "The certificate of %s "
				    "expired %ld days ago: renew it.", host,
				    -p->days_left);
			else if (p->days_left < (long)o->cert_warn_days)
				add(r, "STS-CERT-EXPIRY", G, MTASTS_CHECK_WARN,
				    host, p->ip, "The certificate of %s "
				    "expires in %ld days (local threshold: %u "
				    "days): renew it now.", host,
				    p->days_left, o->cert_warn_days);
			else
				add(r, "STS-CERT-EXPIRY", G, MTASTS_CHECK_PASS,
				    host, p->ip, "The certificate of %s "
				    "expires in %ld days.", host,
				    p->days_left);
		}
	}
	(void)v;
}

static void
eval_fetch(struct mtasts_check_report *r, const struct mtasts__check_job *j,
    struct sts_view *v, const struct mtasts_checker_options *o)
{
	static const char G[] = "mta-sts";
	char url[400];
	struct mtasts_diags d;
	struct mtasts_error err;
	int rc;

	if (!j->fetch_started || !j->fetch_done)
		return;
	snprintf(url, sizeof(url), "https://mta-sts.%s/.well-known/"
	    "mta-sts.txt", j->domain);
	switch (j->fetch_code) {
	case MTASTS_OK:
		break;
	case MTASTS_EREDIRECT:
		add(r, "STS-HTTP-REDIRECT", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%s answers %ld with a redirect to %s. Senders must not "
		    "follow redirects (RFC 8461 3.3): serve the policy at this "
		    "URL itself.", url, j->fetch_status,
		    j->fetch_location[0] ? j->fetch_location : "(none)");
		return;
	case MTASTS_EHTTPSTATUS:
		add(r, "STS-HTTP-STATUS", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%s answers HTTP %ld; it must answer 200 with the policy.",
		    url, j->fetch_status);
		return;
	case MTASTS_ECTYPE:
		add(r, "STS-HTTP-CTYPE", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%s is served as \"%s\"; it must be text/plain (RFC 8461 "
		    "3.2).", url, j->fetch_ctype[0] ? j->fetch_ctype :
		    "(no Content-Type)");
		return;
	case MTASTS_ETOOBIG:
		add(r, "STS-HTTP-SIZE", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%s: %s. Senders stop reading at 64 KiB; a policy is a few "
		    "lines.", url, j->fetch_reason);
		return;
	case MTASTS_ECERT:
		add(r, "STS-CERT-VALID", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "Fetching %s failed certificate validation: %s.", url,
		    j->fetch_reason);
		return;
	default:
		add(r, "STS-HTTP-FETCH", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "Fetching %s failed: %s. Senders treat this as "
		    "sts-policy-fetch-error.", url, j->fetch_reason);
		return;
	}
	add(r, "STS-HTTP-STATUS", G, MTASTS_CHECK_PASS, NULL, NULL,
	    "%s answers 200 with text/plain.", url);
	if (j->body != NULL) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;

		if (EVP_Digest(j->body, j->body_len, md, &mdlen, EVP_sha256(),
			NULL) == 1 && mdlen == 32)
			for (unsigned i = 0; i < 32; i++)
				snprintf(r->body_hash + 2 * i, 3, "%02x",
				    md[i]);
	}
	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	rc = mtasts_policy_parse(j->body ? j->body : "", j->body_len,
	    &v->policy, &d, &err);
	if (rc != MTASTS_OK) {
		char line[MTASTS_DIAG_MSG_MAX + 96];

		add(r, "STS-POLICY-SYNTAX", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "The policy is invalid: %s. Senders treat this as "
		    "sts-policy-invalid.", d.count ?
		    mtasts_diag_format(&d.item[0], line, sizeof(line)) :
		    err.msg);
		return;
	}
	if (d.count > 0) {
		char line[MTASTS_DIAG_MSG_MAX + 96];

		add(r, "STS-POLICY-SYNTAX", G, MTASTS_CHECK_WARN, NULL, NULL,
		    "The policy is valid, but %s.",
		    mtasts_diag_format(&d.item[0], line, sizeof(line)));
	} else {
		add(r, "STS-POLICY-SYNTAX", G, MTASTS_CHECK_PASS, NULL, NULL,
		    "The policy is valid.");
	}
	v->mode = mtasts_policy_mode(v->policy);
	switch (v->mode) {
	case MTASTS_MODE_ENFORCE:
		add(r, "STS-MODE", G, MTASTS_CHECK_PASS, NULL, NULL,
		    "mode: enforce.");
		break;
	case MTASTS_MODE_TESTING:
		add(r, "STS-MODE", G, MTASTS_CHECK_INFO, NULL, NULL,
		    "mode: testing: senders report problems but deliver "
		    "anyway. Switch to enforce once every MX check passes.");
		break;
	default:
		add(r, "STS-MODE", G, MTASTS_CHECK_INFO, NULL, NULL,
		    "mode: none: the policy is being withdrawn; senders drop "
		    "their cached policy.");
		break;
	}
	{
		uint64_t raw = mtasts_policy_max_age_raw(v->policy);

		if (raw > MTASTS_MAX_AGE_LIMIT)
			add(r, "STS-MAXAGE", G, MTASTS_CHECK_WARN, NULL, NULL,
			    "max_age %llu is above the RFC limit of 31557600; "
			    "senders cap it. Write 31557600 or less.",
			    (unsigned long long)raw);
		else if (raw < o->max_age_warn &&
		    v->mode != MTASTS_MODE_NONE)
			add(r, "STS-MAXAGE", G, MTASTS_CHECK_WARN, NULL, NULL,
			    "max_age %llu is short (local threshold: %u s): "
			    "senders forget the policy quickly, which helps an "
			    "attacker who blocks the fetch. Weeks are usual "
			    "(for example 604800 or more).",
			    (unsigned long long)raw, o->max_age_warn);
		else
			add(r, "STS-MAXAGE", G, MTASTS_CHECK_PASS, NULL, NULL,
			    "max_age %llu.", (unsigned long long)raw);
	}
}

static void
eval_mx_cover(struct mtasts_check_report *r, const struct mtasts__check_job *j,
    const struct sts_view *v)
{
	static const char G[] = "mta-sts";
	const struct mtasts_policy *p = v->policy;

	if (p == NULL || v->mode == MTASTS_MODE_NONE || j->mx_null)
		return;
	for (size_t i = 0; i < j->nhost; i++) {
		const char *h = j->host[i].name;

		if (mtasts_policy_match_mx(p, h))
			add(r, "STS-MX-COVERED", G, MTASTS_CHECK_PASS, h, NULL,
			    "%s matches an mx pattern of the policy.", h);
		else
			add(r, "STS-MX-COVERED", G, v->mode ==
			    MTASTS_MODE_ENFORCE ? MTASTS_CHECK_FAIL :
			    MTASTS_CHECK_WARN, h, NULL,
			    "%s matches no mx line of the policy: %s. Add "
			    "\"mx: %s\" to the policy (and change the TXT id).",
			    h, v->mode == MTASTS_MODE_ENFORCE ? "senders "
			    "refuse to deliver to it" : "once enforced, "
			    "senders would refuse to deliver to it", h);
	}
	for (size_t k = 0; k < mtasts_policy_mx_count(p); k++) {
		const char *pat = mtasts_policy_mx(p, k);
		bool used = false;

		for (size_t i = 0; i < j->nhost && !used; i++)
			used = mtasts_mx_match(pat, j->host[i].name);
		if (!used && j->nhost > 0)
			add(r, "STS-MX-STALE", G, MTASTS_CHECK_WARN, NULL, NULL,
			    "The policy pattern \"mx: %s\" matches no current "
			    "MX host: remove it, or it lets a host you do not "
			    "use receive your mail.", pat);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
eval_state(struct mtasts_check_report *r, const struct mtasts__check_job *j,
    const struct sts_view *v)
{
	static const char G[] = "mta-sts";

	if (!j->have_prev)
		return;
	if (v->valid_record && r->body_hash[0] != '\0') {
		if (j->prev_id == NULL || j->prev_hash == NULL)
			add(r, "STS-STATE-ID", G, MTASTS_CHECK_INFO, NULL,
			    NULL, "First run for this domain: id %s and the "
			    "policy body are remembered.", r->sts_id);
		else if (strcmp(j->prev_id, r->sts_id) == 0 &&
		    strcmp(j->prev_hash, r->body_hash) != 0)
			add(r, "STS-STATE-ID", G, MTASTS_CHECK_WARN, NULL,
			    NULL, "The policy body changed since the last run "
			    "but the TXT id is still %s: senders that cached "
			    "the old policy will not fetch the new one. "
			    "Change the id in _mta-sts.%s.", r->sts_id,
			    j->domain);
		else if (strcmp(j->prev_id, r->sts_id) != 0 &&
		    strcmp(j->prev_hash, r->body_hash) == 0)
			add(r, "STS-STATE-ID", G, MTASTS_CHECK_INFO, NULL,
			    NULL, "The TXT id changed (%s -> %s) but the "
			    "policy body did not: harmless, senders just "
			    "refetch.", j->prev_id, r->sts_id);
		else
			add(r, "STS-STATE-ID", G, MTASTS_CHECK_PASS, NULL,
			    NULL, "Policy body and id are consistent with the "
			    "last run.");
	}
	if (r->mx_known && j->prev_have_mx) {
		char added[512] = "", removed[512] = "";

		for (size_t i = 0; i < r->nmx; i++) {
			bool found = false;

			for (size_t k = 0; k < j->prev_nmx && !found; k++)
				found = strcmp(r->mx[i], j->prev_mx[k]) == 0;
			if (!found)
				snprintf(added + strlen(added), sizeof(added) -
				    strlen(added), " %s", r->mx[i]);
		}
		for (size_t k = 0; k < j->prev_nmx; k++) {
			bool found = false;

			for (size_t i = 0; i < r->nmx && !found; i++)
				found = strcmp(r->mx[i], j->prev_mx[k]) == 0;
			if (!found)
				snprintf(removed + strlen(removed),
				    sizeof(removed) - strlen(removed), " %s",
				    j->prev_mx[k]);
		}
		if (added[0] || removed[0])
			add(r, "STS-STATE-MX", G, MTASTS_CHECK_WARN, NULL, NULL,
			    "The MX set changed since the last run (added:%s; "
			    "removed:%s). Check that the policy's mx lines "
			    "still cover every MX.", added[0] ? added :
			    " none", removed[0] ? removed : " none");
		else
			add(r, "STS-STATE-MX", G, MTASTS_CHECK_PASS, NULL,
			    NULL, "The MX set is unchanged since the last "
			    "run.");
	}
}

/* ---- TLS-RPT ---- */

static void
eval_tlsrpt(struct mtasts_check_report *r, const struct mtasts__check_job *j,
    const struct sts_view *v)
{
	static const char G[] = "tls-rpt";
	struct mtasts_tlsrpt_record *rec = NULL;
	struct mtasts_diags d;
	struct mtasts_error err;
	size_t nrec = 0;
	bool old = j->rpt_old.done && j->rpt_old.code == MTASTS_OK &&
	    j->rpt_old.n > 0;
	int rc;

	if (!j->rpt.done || dns_temp(j->rpt.code) ||
	    j->rpt.code == MTASTS_EDNS) {
		add(r, "RPT-TXT-PRESENT", G, MTASTS_CHECK_NOT_TESTED, NULL,
		    NULL, "The _smtp._tls.%s TXT lookup failed: %s.",
		    j->domain, j->rpt.reason);
		return;
	}
	for (size_t i = 0; i < j->rpt.n; i++)
		if (j->rpt.len[i] >= 11 &&
		    memcmp(j->rpt.txt[i], "v=TLSRPTv1", 10) == 0)
			nrec++;
	if (old)
		add(r, "RPT-OLD-NAME", G, MTASTS_CHECK_WARN, NULL, NULL,
		    "A TXT record exists at the draft name _smtp-tlsrpt.%s; "
		    "senders only read _smtp._tls.%s. Move it there and "
		    "delete the old one.", j->domain, j->domain);
	if (j->rpt.code != MTASTS_OK || nrec == 0) {
		add(r, "RPT-TXT-PRESENT", G, v->published ? MTASTS_CHECK_WARN :
		    MTASTS_CHECK_INFO, NULL, NULL,
		    "No _smtp._tls.%s TXT record: you will not receive TLS "
		    "reports. Publish \"v=TLSRPTv1; rua=mailto:tlsrpt@%s\" "
		    "(RFC 8460).", j->domain, j->domain);
		return;
	}
	add(r, "RPT-TXT-PRESENT", G, MTASTS_CHECK_PASS, NULL, NULL,
	    "_smtp._tls.%s has a TLSRPTv1 record.", j->domain);
	if (nrec > 1) {
		add(r, "RPT-TXT-SINGLE", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%zu TLSRPTv1 records: senders then send no reports (RFC "
		    "8460 3). Keep one, with every rua URI in it.", nrec);
		return;
	}
	add(r, "RPT-TXT-SINGLE", G, MTASTS_CHECK_PASS, NULL, NULL,
	    "Exactly one TLSRPTv1 record.");
	mtasts_diags_init(&d);
	mtasts_error_clear(&err);
	rc = mtasts_tlsrpt_rrset_select((const char *const *)j->rpt.txt,
	    j->rpt.len, j->rpt.n, &rec, &d, &err);
	if (rc != MTASTS_OK) {
		add(r, "RPT-TXT-VALID", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "The _smtp._tls record is invalid: %s.", d.count ?
		    d.item[0].msg : err.msg);
		return;
	}
	if (mtasts_tlsrpt_record_rua_count(rec) == 0) {
		add(r, "RPT-TXT-VALID", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "The _smtp._tls record has no mailto: or https: rua "
		    "destination: nobody can send you reports.");
	} else {
		char list[512] = "";

		for (size_t i = 0; i < mtasts_tlsrpt_record_rua_count(rec);
		     i++)
			snprintf(list + strlen(list), sizeof(list) -
			    strlen(list), "%s%s", i ? ", " : "",
			    mtasts_tlsrpt_record_rua(rec, i));
		r->facts.tlsrpt_valid = true;
		add(r, "RPT-TXT-VALID", G, d.warnings ? MTASTS_CHECK_WARN :
		    MTASTS_CHECK_PASS, NULL, NULL, "Reports go to %s%s%s.",
		    list, d.warnings && d.count ? "; note: " : "",
		    d.warnings && d.count ? d.item[0].msg : "");
	}
	mtasts_tlsrpt_record_free(rec);
}

/* ---- MX ---- */

static bool
weak_cipher(const char *c)
{
	static const char *const bad[] = {"RC4", "DES", "NULL", "EXP", "MD5",
		"anon", "ADH", "AECDH"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(c, bad[i]) != NULL)
			return true;
	return false;
}

static void
eval_probe(struct mtasts_check_report *r, const struct mtasts_probe_result *p,
    const struct sts_view *v, const struct mtasts_checker_options *o,
    bool *starttls, bool *tls12, bool *certok)
{
	static const char G[] = "mx";
	const char *h = p->host, *ip = p->ip, *note;
	enum mtasts_check_state bad = tls_state(v->mode, v->policy != NULL,
	    &note);
	enum mtasts_check_state nt = MTASTS_CHECK_NOT_TESTED;

	if (p->stage == MTASTS_STAGE_CONNECT) {
		add(r, "MX-CONNECT", G, p->status == MTASTS_PROBE_FAILED ?
		    MTASTS_CHECK_FAIL : nt, h, ip,
		    "Could not test %s [%s]: %s.", h, ip, p->reason);
		return;
	}
	add(r, "MX-CONNECT", G, MTASTS_CHECK_PASS, h, ip,
	    "Connected to %s [%s] port 25.", h, ip);
	if (p->stage == MTASTS_STAGE_BANNER) {
		add(r, "MX-BANNER", G, p->status == MTASTS_PROBE_UNTESTED ? nt :
		    MTASTS_CHECK_FAIL, h, ip, "%s%s", p->status ==
		    MTASTS_PROBE_UNTESTED ? "Could not test: " : "",
		    p->reason);
		return;
	}
	add(r, "MX-BANNER", G, MTASTS_CHECK_PASS, h, ip, "220 %s", p->banner);
	if (p->stage == MTASTS_STAGE_EHLO) {
		if (p->status == MTASTS_PROBE_UNTESTED) {
			add(r, "MX-EHLO", G, nt, h, ip, "Could not test: %s.",
			    p->reason);
			return;
		}
		if (p->ehlo_code == 250 && !p->starttls_offered) {
			add(r, "MX-EHLO", G, MTASTS_CHECK_PASS, h, ip,
			    "EHLO accepted.");
			add(r, "MX-STARTTLS", G, bad, h, ip,
			    "%s does not offer STARTTLS: mail to it travels "
			    "in clear text. Enable TLS in the MTA (for "
			    "Postfix: smtpd_tls_security_level = may with a "
			    "certificate).%s", h, note);
		} else {
			add(r, "MX-EHLO", G, MTASTS_CHECK_FAIL, h, ip, "%s.",
			    p->reason);
		}
		*starttls = false;
		*tls12 = false;
		*certok = false;
		return;
	}
	add(r, "MX-EHLO", G, MTASTS_CHECK_PASS, h, ip, "EHLO accepted.");
	if (p->stage == MTASTS_STAGE_STARTTLS) {
		add(r, "MX-STARTTLS", G, p->status == MTASTS_PROBE_UNTESTED ?
		    nt : bad, h, ip, "STARTTLS is offered but: %s.%s",
		    p->reason, p->status == MTASTS_PROBE_UNTESTED ? "" : note);
		if (p->status != MTASTS_PROBE_UNTESTED)
			*tls12 = *certok = false;
		return;
	}
	add(r, "MX-STARTTLS", G, MTASTS_CHECK_PASS, h, ip,
	    "STARTTLS offered and accepted.");
	if (p->stage == MTASTS_STAGE_HANDSHAKE) {
		const char *extra = "";

		if (p->old_tested && (p->tls10_accepted || p->tls11_accepted))
			extra = " The server only speaks TLS below 1.2, which "
				"MTA-STS does not allow (RFC 8461 7.2).";
		add(r, "MX-TLS-VERSION", G, bad, h, ip,
		    "No TLS 1.2+ session: %s.%s%s", p->reason, extra, note);
		*tls12 = *certok = false;
	} else {
		add(r, "MX-TLS-VERSION", G, MTASTS_CHECK_PASS, h, ip,
		    "Negotiated %s.", p->tls_version);
	}
	if (p->old_tested) {
		if (p->tls10_accepted || p->tls11_accepted)
			add(r, "MX-TLS-OLD", G, MTASTS_CHECK_WARN, h, ip,
			    "%s still accepts %s%s%s (deprecated by RFC "
			    "8996): allow only TLS 1.2 and 1.3 (Postfix: "
			    "smtpd_tls_protocols = >=TLSv1.2).", h,
			    p->tls11_accepted ? "TLS 1.1" : "",
			    p->tls11_accepted && p->tls10_accepted ? " and " :
			    "", p->tls10_accepted ? "TLS 1.0" : "");
		else
			add(r, "MX-TLS-OLD", G, MTASTS_CHECK_PASS, h, ip,
			    "TLS 1.0 and 1.1 are refused.");
	} else if (p->old_note[0]) {
		add(r, "MX-TLS-OLD", G, nt, h, ip, "Old TLS versions %s.",
		    p->old_note);
	}
	if (p->stage != MTASTS_STAGE_DONE)
		return;
	add(r, "MX-CIPHER", G, weak_cipher(p->cipher) ? MTASTS_CHECK_WARN :
	    MTASTS_CHECK_INFO, h, ip, "Cipher %s.%s", p->cipher,
	    weak_cipher(p->cipher) ? " This cipher is weak: disable it." : "");
	if (!p->cert_present) {
		add(r, "MX-CERT-TRUSTED", G, bad, h, ip,
		    "No certificate was presented.%s", note);
		*certok = false;
		return;
	}
	if (p->chain_trusted)
		add(r, "MX-CERT-TRUSTED", G, MTASTS_CHECK_PASS, h, ip,
		    "The chain leads to a trusted root.");
	else
		add(r, "MX-CERT-TRUSTED", G, bad, h, ip,
		    "The certificate chain is not trusted: %s. Use a "
		    "certificate from a public CA and send the whole chain "
		    "(leaf and intermediates).%s", p->chain_error, note);
	if (p->name_match)
		add(r, "MX-CERT-NAME", G, MTASTS_CHECK_PASS, h, ip,
		    "A subjectAltName DNS name matches %s.", h);
	else
		add(r, "MX-CERT-NAME", G, bad, h, ip,
		    "No subjectAltName DNS name of the certificate%s%s%s "
		    "matches %s (the CN is not used): get a certificate that "
		    "lists %s.%s", p->subject_cn[0] ? " (CN " : "",
		    p->subject_cn, p->subject_cn[0] ? ")" : "", h, h, note);
	if (p->cert_expired || p->days_left < 0)
		add(r, "MX-CERT-EXPIRY", G, bad, h, ip,
		    "The certificate expired %ld days ago: renew it.%s",
		    -p->days_left, note);
	else if (p->cert_not_yet_valid)
		add(r, "MX-CERT-EXPIRY", G, bad, h, ip,
		    "The certificate is not valid yet: check its start date "
		    "and the server clock.%s", note);
	else if (p->days_left < (long)o->cert_warn_days)
		add(r, "MX-CERT-EXPIRY", G, MTASTS_CHECK_WARN, h, ip,
		    "The certificate expires in %ld days (local threshold: %u "
		    "days): renew it now.", p->days_left, o->cert_warn_days);
	else
		add(r, "MX-CERT-EXPIRY", G, MTASTS_CHECK_PASS, h, ip,
		    "The certificate expires in %ld days.", p->days_left);
	if (strcmp(p->key_type, "RSA") == 0 && p->key_bits < 2048)
		add(r, "MX-CERT-KEY", G, MTASTS_CHECK_WARN, h, ip,
		    "RSA key of %d bits: use 2048 bits or more (or EC).",
		    p->key_bits);
	else
		add(r, "MX-CERT-KEY", G, MTASTS_CHECK_PASS, h, ip,
		    "%s key, %d bits.", p->key_type, p->key_bits);
	if (!p->chain_trusted || !p->name_match || p->cert_expired ||
	    p->cert_not_yet_valid)
		*certok = false;
}

static void
eval_mx(struct mtasts_check_report *r, const struct mtasts__check_job *j,
    const struct sts_view *v, const struct mtasts_checker_options *o)
{
	static const char G[] = "mx";
	struct mtasts_check_facts *f = &r->facts;
	bool starttls = true, tls12 = true, certok = true;

	if (!j->mx_done || (j->mx_code != MTASTS_OK &&
			       j->mx_code != MTASTS_ENOTFOUND)) {
		add(r, "MX-SET", G, MTASTS_CHECK_NOT_TESTED, NULL, NULL,
		    "The MX lookup for %s failed: %s.", j->domain,
		    j->mx_reason);
		return;
	}
	if (j->mx_code == MTASTS_ENOTFOUND && j->mx_nx) {
		add(r, "MX-SET", G, MTASTS_CHECK_FAIL, NULL, NULL,
		    "%s does not exist in DNS (NXDOMAIN).", j->domain);
		return;
	}
	r->mx_known = true;
	if (j->mx_null) {
		f->null_mx = true;
		add(r, "MX-NULL", G, MTASTS_CHECK_INFO, NULL, NULL,
		    "%s publishes a null MX (RFC 7505): it accepts no mail, "
		    "so there is nothing to test.", j->domain);
		return;
	}
	if (j->mx_implicit)
		add(r, "MX-IMPLICIT", G, MTASTS_CHECK_WARN, j->domain, NULL,
		    "%s has no MX record: senders use its own address "
		    "(implicit MX, RFC 5321 5.1). Publish an MX record (or a "
		    "null MX if it takes no mail).", j->domain);
	{
		char list[768] = "";

		for (size_t i = 0; i < j->nhost; i++)
			snprintf(list + strlen(list), sizeof(list) -
			    strlen(list), "%s%s (%u)", i ? ", " : "",
			    j->host[i].name, j->host[i].pref);
		add(r, "MX-SET", G, MTASTS_CHECK_INFO, NULL, NULL,
		    "MX hosts: %s%s.", list, j->mx_found > j->nhost &&
		    !j->mx_implicit ? " (more not examined)" : "");
	}
	r->mx = mtasts__calloc(j->nhost ? j->nhost : 1, sizeof(*r->mx));
	if (r->mx == NULL) {
		r->oom = true;
		return;
	}
	for (size_t i = 0; i < j->nhost; i++) {
		r->mx[i] = mtasts__strdup(j->host[i].name);
		if (r->mx[i] == NULL) {
			r->oom = true;
			return;
		}
		r->nmx = i + 1;
	}
	qsort(r->mx, r->nmx, sizeof(*r->mx), cmp_str);
	f->has_mx = j->nhost > 0;
	f->mx_hosts = (unsigned)j->nhost;
	for (size_t i = 0; i < j->nhost; i++) {
		const struct mtasts__chk_host *h = &j->host[i];

		if (!h->addr_done || dns_temp(h->addr_code)) {
			add(r, "MX-RESOLVES", G, MTASTS_CHECK_NOT_TESTED,
			    h->name, NULL, "Looking up %s failed: %s.",
			    h->name, h->addr_reason);
		} else if (h->addr_code != MTASTS_OK || h->naddr == 0) {
			add(r, "MX-RESOLVES", G, MTASTS_CHECK_FAIL, h->name,
			    NULL, "The MX host %s has no address (%s): fix "
			    "the MX record or add an A/AAAA record.", h->name,
			    h->addr_reason);
		} else {
			add(r, "MX-RESOLVES", G, MTASTS_CHECK_PASS, h->name,
			    NULL, "%s has %zu address%s%s.", h->name,
			    h->naddr_found, h->naddr_found == 1 ? "" : "es",
			    h->naddr_found > h->naddr ? " (some not probed)" :
			    "");
		}
		f->addrs += (unsigned)h->naddr;
		for (size_t k = 0; k < h->naddr; k++) {
			const struct mtasts_probe_result *p = &h->addr[k].res;

			if (!h->addr[k].done)
				continue;
			if (p->status != MTASTS_PROBE_UNTESTED ||
			    p->stage >= MTASTS_STAGE_HANDSHAKE)
				f->addrs_tested++;
			eval_probe(r, p, v, o, &starttls, &tls12, &certok);
		}
		if (h->tlsa_done) {
			if (h->tlsa_code == MTASTS_OK && h->tlsa_count > 0)
				add(r, "DANE-TLSA", "dane", MTASTS_CHECK_INFO,
				    h->name, NULL, "%zu TLSA record%s at "
				    "_25._tcp.%s (DANE published; not "
				    "validated by this version).",
				    h->tlsa_count, h->tlsa_count == 1 ? "" :
				    "s", h->name);
			else if (dns_temp(h->tlsa_code))
				add(r, "DANE-TLSA", "dane",
				    MTASTS_CHECK_NOT_TESTED, h->name, NULL,
				    "The TLSA lookup for _25._tcp.%s failed.",
				    h->name);
			else
				add(r, "DANE-TLSA", "dane", MTASTS_CHECK_INFO,
				    h->name, NULL, "No TLSA records at "
				    "_25._tcp.%s (no DANE).", h->name);
		}
	}
	if (f->addrs_tested > 0) {
		f->all_starttls = starttls;
		f->all_tls12 = starttls && tls12;
		f->all_cert_ok = starttls && tls12 && certok;
	}
}

struct mtasts_check_report *
mtasts__check_eval(const struct mtasts__check_job *j,
    const struct mtasts_checker_options *o)
{
	struct mtasts_check_report *r = mtasts__calloc(1, sizeof(*r));
	struct sts_view v;

	if (r == NULL)
		return NULL;
	memset(&v, 0, sizeof(v));
	snprintf(r->domain, sizeof(r->domain), "%s", j->domain);
	eval_sts_txt(r, j, &v);
	if (v.published) {
		eval_policy_host(r, j, &v, o);
		eval_fetch(r, j, &v, o);
	}
	eval_tlsrpt(r, j, &v);
	eval_mx(r, j, &v, o);
	eval_mx_cover(r, j, &v);
	eval_state(r, j, &v);
	r->facts.sts_published = v.published;
	r->facts.sts_valid = v.valid_record && v.policy != NULL;
	r->facts.sts_mode = v.policy ? v.mode : MTASTS_MODE_NONE;
	mtasts_policy_free(v.policy);
	if (r->oom)
		add(r, "CHECK-INTERNAL", "mx", MTASTS_CHECK_ERROR, NULL, NULL,
		    "Out of memory: some items are missing.");
	return r;
}

/* ---- accessors ---- */

const char *
mtasts_check_report_domain(const struct mtasts_check_report *r)
{
	return r->domain;
}

size_t
mtasts_check_report_count(const struct mtasts_check_report *r)
{
	return r->n;
}

const struct mtasts_check_item *
mtasts_check_report_item(const struct mtasts_check_report *r, size_t i)
{
	struct item_store *s;

	if (i >= r->n)
		return NULL;
	s = &r->items[i];
	s->it.mx = s->mx;
	s->it.ip = s->ip;
	s->it.msg = s->msg;
	return &s->it;
}

size_t
mtasts_check_report_states(const struct mtasts_check_report *r,
    enum mtasts_check_state s)
{
	return (unsigned)s < MTASTS_CHECK_NSTATES ? r->per_state[s] : 0;
}

const struct mtasts_check_facts *
mtasts_check_report_facts(const struct mtasts_check_report *r)
{
	return &r->facts;
}

const char *
mtasts_check_report_sts_id(const struct mtasts_check_report *r)
{
	return r->sts_id[0] ? r->sts_id : NULL;
}

const char *
mtasts_check_report_body_sha256(const struct mtasts_check_report *r)
{
	return r->body_hash[0] ? r->body_hash : NULL;
}

bool
mtasts_check_report_mx_known(const struct mtasts_check_report *r)
{
	return r->mx_known;
}

size_t
mtasts_check_report_mx_count(const struct mtasts_check_report *r)
{
	return r->nmx;
}

const char *
mtasts_check_report_mx(const struct mtasts_check_report *r, size_t i)
{
	return i < r->nmx ? r->mx[i] : NULL;
}

void
mtasts_check_report_free(struct mtasts_check_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		mtasts__free(r->items[i].msg);
		mtasts__free(r->items[i].mx);
		mtasts__free(r->items[i].ip);
	}
	mtasts__free(r->items);
	for (size_t i = 0; i < r->nmx; i++)
		mtasts__free(r->mx[i]);
	mtasts__free(r->mx);
	mtasts__free(r);
}
