/* SPDX-License-Identifier: MIT */
/*
 * smtp_reply.c: sans-I/O reader of SMTP replies (see smtp_reply.h).
 */
#include <string.h>
#include <strings.h>

#include "mtasts/smtp_reply.h"

void
mtasts_smtp_reply_init(struct mtasts_smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Does the EHLO line text (after "DDD-") start with keyword STARTTLS? */
static bool
keyword_is_starttls(const char *s, size_t n)
{
	static const char kw[] = "STARTTLS";
	size_t k = sizeof(kw) - 1;

	if (n < k || strncasecmp(s, kw, k) != 0)
		return false;
	return n == k || s[k] == ' ' || s[k] == '\t';
}

/* One whole line (without its line end) in r->line[0..r->linelen). */
static int
take_line(struct mtasts_smtp_reply *r, struct mtasts_error *err)
{
	const char *s = r->line;
	size_t n = r->linelen;
	int code;
	bool last;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "reply line %u does not start with a 3-digit code",
		    r->lines);
	if (s[0] < '2' || s[0] > '5' || s[1] > '5')
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "reply line %u has the invalid code %.3s", r->lines, s);
	if (n > 3 && s[3] != ' ' && s[3] != '-')
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "reply line %u: code %.3s is followed by neither a space "
		    "nor a hyphen", r->lines, s);
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (r->lines > 1 && code != r->code)
		return mtasts_error_set(err, MTASTS_ESYNTAX,
		    "reply line %u has code %d after %d", r->lines, code,
		    r->code);
	if (r->lines == 1) {
		size_t t = n > 4 ? n - 4 : 0;

		r->code = code;
		if (t > MTASTS_SMTP_TEXT_MAX)
			t = MTASTS_SMTP_TEXT_MAX;
		memcpy(r->text, s + 4, t);
		r->text[t] = '\0';
		/* Keep the text printable. */
		for (size_t i = 0; i < t; i++)
			if ((unsigned char)r->text[i] < 0x20 ||
			    (unsigned char)r->text[i] > 0x7e)
				r->text[i] = '?';
	} else if (n > 4 && keyword_is_starttls(s + 4, n - 4)) {
		r->starttls = true;
	}
	last = n == 3 || s[3] == ' ';
	if (last)
		r->complete = true;
	return MTASTS_OK;
}

int
mtasts_smtp_reply_feed(struct mtasts_smtp_reply *r, const char *data,
    size_t len, size_t *used, struct mtasts_error *err)
{
	size_t i;

	*used = 0;
	if (r->complete)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "reply already complete");
	for (i = 0; i < len; i++) {
		char c = data[i];

		if (r->bytes >= MTASTS_SMTP_REPLY_MAX) {
			*used = i;
			return mtasts_error_set(err, MTASTS_ETOOBIG,
			    "reply longer than %d bytes",
			    MTASTS_SMTP_REPLY_MAX);
		}
		r->bytes++;
		if (c != '\n') {
			if (r->linelen >= MTASTS_SMTP_LINE_MAX - 1) {
				*used = i + 1;
				return mtasts_error_set(err, MTASTS_ETOOBIG,
				    "reply line %u longer than %d bytes",
				    r->lines + 1, MTASTS_SMTP_LINE_MAX);
			}
			r->line[r->linelen++] = c;
			continue;
		}
		if (r->lines >= MTASTS_SMTP_LINES_MAX) {
			*used = i + 1;
			return mtasts_error_set(err, MTASTS_ETOOBIG,
			    "reply has more than %d lines",
			    MTASTS_SMTP_LINES_MAX);
		}
		r->lines++;
		r->line[r->linelen] = '\0';
		{
			int rc = take_line(r, err);

			r->linelen = 0;
			if (rc != MTASTS_OK) {
				*used = i + 1;
				return rc;
			}
		}
		if (r->complete) {
			*used = i + 1;
			return MTASTS_OK;
		}
	}
	*used = len;
	return MTASTS_EAGAIN;
}
