/* SPDX-License-Identifier: MIT */
/* tlsrptd_sched.c: delivery timing rules (see tlsrptd_sched.h). */
#include "tlsrptd_sched.h"

#define DAY 86400

void
tlsrptd_sched_defaults(struct tlsrptd_sched_policy *p)
{
	p->send_delay = 1800;
	p->send_spread = 4 * 3600;
	p->retry_min = 300;
	p->retry_max = 4 * 3600;
	p->jitter_pct = 20;
	p->give_up = DAY;
	p->suppress_after = 3;
	p->suppress_period = 7 * DAY;
}

uint64_t
tlsrptd_hash(const char *s, uint64_t seed)
{
	uint64_t h = 14695981039346656037ULL ^ seed;

	while (s != NULL && *s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	/* final avalanche (splitmix64) so close inputs spread well */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

int64_t
tlsrptd_send_time(const struct tlsrptd_sched_policy *p, int64_t day,
		  const char *domain)
{
	int64_t t = (day + 1) * DAY + p->send_delay;

	if (p->send_spread > 0)
		t += (int64_t)(tlsrptd_hash(domain, (uint64_t)day) %
			       (uint64_t)p->send_spread);
	return t;
}

int64_t
tlsrptd_retry_next(const struct tlsrptd_sched_policy *p, uint32_t attempts,
		   int64_t now, int64_t give_up_at, uint64_t rnd)
{
	int64_t delay = p->retry_min > 0 ? p->retry_min : 1;
	uint32_t i;
	int64_t t;

	for (i = 1; i < attempts && delay < p->retry_max; i++)
		delay *= 2;
	if (delay > p->retry_max && p->retry_max > 0)
		delay = p->retry_max;
	if (p->jitter_pct > 0)
		delay += (int64_t)(rnd % ((uint64_t)delay * p->jitter_pct /
					  100 + 1));
	t = now + delay;
	if (give_up_at > 0 && t >= give_up_at)
		return 0;
	return t;
}

void
tlsrptd_dest_feed(struct tlsrptd_dest_state *s, bool sent, bool gave_up,
		  int64_t when)
{
	if (sent) {
		s->streak = 0;
	} else if (gave_up) {
		s->streak++;
		if (when > s->last_gaveup)
			s->last_gaveup = when;
	}
}

bool
tlsrptd_dest_suppressed(const struct tlsrptd_sched_policy *p,
			const struct tlsrptd_dest_state *s, int64_t now)
{
	return p->suppress_after > 0 && s->streak >= p->suppress_after &&
	       now < s->last_gaveup + p->suppress_period;
}

enum tlsrptd_outcome
tlsrptd_http_outcome(long status)
{
	if (status >= 200 && status <= 299)
		return TLSRPTD_OUT_OK;
	if (status == 0 || status == 408 || status == 425 || status == 429 ||
	    (status >= 500 && status <= 599))
		return TLSRPTD_OUT_TEMP;
	return TLSRPTD_OUT_PERM;
}

enum tlsrptd_outcome
tlsrptd_sendmail_outcome(int status)
{
	switch (status) {
	case 0:
		return TLSRPTD_OUT_OK;
	case -1:
	case 69:
	case 71:
	case 74:
	case 75:
		return TLSRPTD_OUT_TEMP;
	default:
		return TLSRPTD_OUT_PERM;
	}
}

enum tlsrptd_outcome
tlsrptd_smtp_outcome(long code)
{
	if (code >= 200 && code <= 299)
		return TLSRPTD_OUT_OK;
	if (code >= 500 && code <= 599)
		return TLSRPTD_OUT_PERM;
	return TLSRPTD_OUT_TEMP;
}
