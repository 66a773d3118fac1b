/* SPDX-License-Identifier: MIT */
/* mtastsd_reply.c: socketmap reply builders (see mtastsd_reply.h). */
#include <stdlib.h>
#include <string.h>

#include "mtasts/mx.h"
#include "mtastsd_reply.h"

void
mtastsd_buf_init(struct mtastsd_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
mtastsd_buf_free(struct mtastsd_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
mtastsd_buf_reset(struct mtastsd_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

int
mtastsd_buf_add(struct mtastsd_buf *b, const char *s, size_t n)
{
	size_t want;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return -1;
	if (b->len + n + 1 > b->cap) {
		want = b->cap ? b->cap : 128;
		while (want < b->len + n + 1)
			want *= 2;
		if (want > b->max + 1)
			want = b->max + 1;
		p = realloc(b->p, want);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
mtastsd_buf_str(struct mtastsd_buf *b, const char *s)
{
	return mtastsd_buf_add(b, s, strlen(s));
}

int
mtastsd_reply_match(struct mtastsd_buf *out, const char *const *mx, size_t n)
{
	size_t i, len;
	const char *p;

	for (i = 0; i < n; i++) {
		len = strlen(mx[i]);
		if (!mtasts_domain_valid(mx[i], len, true, NULL))
			return -1;
		p = mx[i][0] == '*' ? mx[i] + 1 : mx[i];
		if ((i && mtastsd_buf_add(out, ":", 1) != 0) ||
		    mtastsd_buf_str(out, p) != 0)
			return -1;
	}
	return 0;
}

bool
mtastsd_reply_line_safe(const char *line, size_t len)
{
	size_t i;
	unsigned char ch;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)line[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '{' || ch == '}')
			return false;
	}
	return true;
}

/* Only LDH, dots and ':' separators: nothing that could end a value. */
static bool
match_safe(const char *m)
{
	for (; *m != '\0'; m++) {
		if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') ||
		    (*m >= '0' && *m <= '9') || *m == '-' || *m == '.' ||
		    *m == ':'))
			return false;
	}
	return true;
}

/* Walk body's lines: LF or CRLF ends, trailing blanks dropped. */
static const char *
next_line(const char *p, const char *end, size_t *len, const char **rest)
{
	const char *nl, *e;

	if (p >= end)
		return NULL;
	nl = memchr(p, '\n', (size_t)(end - p));
	e = nl ? nl : end;
	*rest = nl ? nl + 1 : end;
	while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*len = (size_t)(e - p);
	return p;
}

static int
add_policy_strings(struct mtastsd_buf *out, const char *body, size_t blen,
    bool *dropped)
{
	const char *p = body, *end = body + blen, *line, *rest;
	size_t len;
	int any_unsafe = 0;

	for (line = next_line(p, end, &len, &rest); line != NULL;
	    line = next_line(rest, end, &len, &rest))
		if (!mtastsd_reply_line_safe(line, len))
			any_unsafe = 1;
	if (any_unsafe) {
		*dropped = true;
		return 0;
	}
	for (line = next_line(p, end, &len, &rest); line != NULL;
	    line = next_line(rest, end, &len, &rest)) {
		if (len == 0)
			continue;
		if (memchr(line, ' ', len) || memchr(line, '\t', len)) {
			if (mtastsd_buf_str(out, " { policy_string = ") ||
			    mtastsd_buf_add(out, line, len) ||
			    mtastsd_buf_str(out, " }"))
				return -1;
		} else if (mtastsd_buf_str(out, " policy_string=") ||
		    mtastsd_buf_add(out, line, len)) {
			return -1;
		}
	}
	return 0;
}

int
mtastsd_reply_secure(struct mtastsd_buf *out,
    const struct mtastsd_zone *zone, const char *domain, const char *match,
    const char *body, size_t body_len, bool *dropped_lines)
{
	const char *p, *colon;
	size_t n;

	*dropped_lines = false;
	mtastsd_buf_reset(out);
	if (match[0] == '\0' || !match_safe(match) || !match_safe(domain))
		return -1;
	if (mtastsd_buf_str(out, "OK secure match=") ||
	    mtastsd_buf_str(out, match))
		return -1;
	if (zone->require_sni && mtastsd_buf_str(out, " servername=hostname"))
		return -1;
	if (!zone->tlsrpt_attributes)
		return 0;
	if (mtastsd_buf_str(out, " policy_type=sts policy_domain=") ||
	    mtastsd_buf_str(out, domain))
		return -1;
	for (p = match; *p != '\0'; p = colon ? colon + 1 : p + n) {
		colon = strchr(p, ':');
		n = colon ? (size_t)(colon - p) : strlen(p);
		if (mtastsd_buf_str(out, " mx_host_pattern=") ||
		    (p[0] == '.' && mtastsd_buf_add(out, "*", 1)) ||
		    mtastsd_buf_add(out, p, n))
			return -1;
		if (colon == NULL)
			break;
	}
	if (body != NULL && body_len > 0 &&
	    add_policy_strings(out, body, body_len, dropped_lines) != 0)
		return -1;
	return 0;
}

int
mtastsd_reply_notfound(struct mtastsd_buf *out)
{
	mtastsd_buf_reset(out);
	return mtastsd_buf_str(out, "NOTFOUND ");
}

int
mtastsd_reply_status(struct mtastsd_buf *out, const char *verb,
    const char *reason)
{
	size_t start;
	size_t i;

	mtastsd_buf_reset(out);
	if (mtastsd_buf_str(out, verb) || mtastsd_buf_add(out, " ", 1))
		return -1;
	start = out->len;
	if (mtastsd_buf_str(out, reason))
		return -1;
	for (i = start; i < out->len; i++)
		if ((unsigned char)out->p[i] < 0x20 || out->p[i] == 0x7f)
			out->p[i] = '?';
	return 0;
}
