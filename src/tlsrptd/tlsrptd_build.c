/* SPDX-License-Identifier: MIT */
/* tlsrptd_build.c: counters -> report -> payload (see tlsrptd_build.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tlsrptd_build.h"
#include "tlsrptd_sched.h"
#include "util/alloc.h"

char *
tlsrptd_report_id(int64_t day, const char *domain, const char *submitter,
		  char *buf, size_t size)
{
	char d[16];
	uint64_t h = tlsrptd_hash(domain, (uint64_t)day);
	size_t i, j = 0;

	h = tlsrptd_hash(submitter, h);
	tlsrptd_day_format(day, d, sizeof(d));
	for (i = 0; d[i] != '\0' && j + 1 < sizeof(d); i++)
		if (d[i] != '-')
			d[j++] = d[i];
	d[j] = '\0';
	snprintf(buf, size, "%s%016" PRIx64, d, h);
	return buf;
}

struct build_ctx {
	struct mtasts_tlsrpt_report *rep;
	const struct tlsrptd_identity *id;
	struct mtasts_error *err;
	int rc;
};

static int
add_policy(const struct tlsrptd_policy_agg *a, void *arg)
{
	struct build_ctx *b = arg;
	struct mtasts_tlsrpt_policy_result *p;
	size_t i;

	b->rc = mtasts_tlsrpt_report_add_policy(b->rep, a->policy_type,
	    a->policy_strings, a->policy_string_count, a->policy_domain,
	    a->mx_patterns, a->mx_pattern_count, a->success, a->failure, &p,
	    b->err);
	for (i = 0; b->rc == MTASTS_OK && i < a->detail_count; i++) {
		const struct tlsrptd_failure_detail *d = &a->details[i];
		struct mtasts_tlsrpt_failure_in f = {
			.result_type = d->result_text != NULL ?
			    d->result_text : mtasts_tlsrpt_result_name(d->result),
			.sending_mta_ip = d->sending_mta_ip != NULL ?
			    d->sending_mta_ip : b->id->sending_ip,
			.receiving_mx_hostname = d->receiving_mx_hostname,
			.receiving_mx_helo = d->receiving_mx_helo,
			.receiving_ip = d->receiving_ip,
			.additional_information = d->additional_information,
			.failure_reason_code = d->failure_reason_code,
			.failed_session_count = d->count,
		};

		if (f.result_type == NULL)
			f.result_type = "validation-failure";
		b->rc = mtasts_tlsrpt_policy_add_failure(p, &f, b->err);
	}
	return b->rc == MTASTS_OK ? 0 : 1;
}

int
tlsrptd_build_report(struct tlsrptd_counters *c,
		     const struct tlsrptd_identity *id, int64_t day,
		     const char *domain, const char *report_id,
		     struct mtasts_tlsrpt_report **out,
		     struct mtasts_error *err)
{
	struct build_ctx b = {NULL, id, err, MTASTS_OK};
	int rc;

	*out = NULL;
	rc = mtasts_tlsrpt_report_new(id->organization, id->contact,
	    report_id, day * 86400, &b.rep, err);
	if (rc != MTASTS_OK)
		return rc;
	rc = tlsrptd_counters_read(c, day, domain, id->max_details, add_policy,
	    &b, err);
	if (rc == 1)
		rc = b.rc;
	if (rc != MTASTS_OK) {
		mtasts_tlsrpt_report_free(b.rep);
		return rc;
	}
	*out = b.rep;
	return MTASTS_OK;
}

int
tlsrptd_payload_make(const struct mtasts_tlsrpt_report *rep,
		     const char *submitter, const char *domain,
		     struct tlsrptd_payload *p, struct mtasts_error *err)
{
	int rc;

	memset(p, 0, sizeof(*p));
	rc = mtasts_tlsrpt_report_to_json(rep, 0, &p->json, &p->json_len,
	    err);
	if (rc == MTASTS_OK)
		rc = mtasts_tlsrpt_gzip(p->json, p->json_len, rep->start,
		    &p->gz, &p->gz_len, err);
	if (rc == MTASTS_OK)
		rc = mtasts_tlsrpt_report_filename(submitter, domain,
		    rep->start, rep->end, rep->report_id, true, p->filename,
		    sizeof(p->filename), err);
	if (rc == MTASTS_OK)
		rc = mtasts_tlsrpt_report_subject(domain, submitter,
		    rep->report_id, p->subject, sizeof(p->subject), err);
	if (rc != MTASTS_OK)
		tlsrptd_payload_clear(p);
	return rc;
}

void
tlsrptd_payload_clear(struct tlsrptd_payload *p)
{
	if (p == NULL)
		return;
	mtasts_free(p->json);
	mtasts_free(p->gz);
	memset(p, 0, sizeof(*p));
}
