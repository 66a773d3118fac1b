/* SPDX-License-Identifier: MIT */
/*
 * policy.c: the MTA-STS policy file (RFC 8461 section 3.2).
 *
 * One pass over a private copy of the body, one allocation per parse:
 * the block holds the struct, the line / mx / extension pointer arrays,
 * the copy of the body (lines are NUL-terminated in place; an mx or
 * extension value is a suffix of its line, so it needs no copy) and
 * the extension keys. The parser never stops at the first problem: it
 * reports every error and warning, with its line, column and field,
 * into the caller's diags. Decisions are listed in docs/conformance.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/mx.h"
#include "mtasts/policy.h"
#include "util/alloc.h"
#include "util/cclass.h"

#define KEY_MAX 32		/* sts-policy-ext-name: 1 + 31 chars */
#define QUOTE_MAX 48		/* longest value quoted in a message */

struct policy_ext {
	const char *key;
	const char *value;
};

struct mtasts_policy {
	enum mtasts_mode mode;
	uint32_t max_age;
	uint64_t max_age_raw;
	size_t nlines, nmx, next;
	const char **lines;
	const char **mx;
	struct policy_ext *ext;
};

enum key_id { KEY_EXT, KEY_VERSION, KEY_MODE, KEY_MAX_AGE, KEY_MX };

static const char *const key_names[] = {"", "version", "mode", "max_age",
    "mx"};

struct pstate {
	struct mtasts_policy *p;
	struct mtasts_diags *d;
	struct mtasts_error *err;
	size_t maxlines;	/* size of p->lines */
	size_t mx_cap, ext_cap;
	char *keybuf;		/* next free extension key slot */
	unsigned errors;
	unsigned first_line[5];	/* line of the first occurrence per key */
	size_t mx_lines;	/* mx lines seen, valid or not */
	size_t mx_dropped, ext_dropped;
};

static void perr(struct pstate *st, unsigned line, unsigned col,
    const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void
perr(struct pstate *st, unsigned line, unsigned col, const char *field,
    const char *fmt, ...)
{
	char msg[MTASTS_DIAG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st->errors++ == 0) {
		if (line > 0 && field != NULL && field[0] != '\0')
			mtasts_error_set(st->err, MTASTS_ESYNTAX,
			    "invalid policy: line %u, field \"%s\": %s", line,
			    field, msg);
		else if (line > 0)
			mtasts_error_set(st->err, MTASTS_ESYNTAX,
			    "invalid policy: line %u: %s", line, msg);
		else
			mtasts_error_set(st->err, MTASTS_ESYNTAX,
			    "invalid policy: %s", msg);
	}
	mtasts_diags_add(st->d, MTASTS_SEV_ERROR, MTASTS_ESYNTAX, line, col,
	    field, "%s", msg);
}

/* Printable rendering of s[0..n) for messages: \xNN escapes, cut. */
static const char *
quote(char *buf, size_t size, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o >= QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			buf[o++] = (char)c;
		} else {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02X", c);
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Length of the UTF-8 character at s (n bytes left), 0 if malformed. */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	size_t want;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		want = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		want = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		want = 4;
	else
		return 0;
	if (n < want)
		return 0;
	return mtasts__utf8_valid_prefix(s, want) == want ? want : 0;
}

/*
 * Report the first byte of v[0..n) that is a control character (incl.
 * HTAB) or, if !allow_8bit, not ASCII. col0: 1-based column of v[0].
 * Returns true when v is clean.
 */
static bool
check_ctl(struct pstate *st, unsigned line, unsigned col0, const char *field,
    const char *v, size_t n, bool allow_8bit)
{
	size_t i;
	char what[32];

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c >= 0x20 && c < 0x7F) || (c >= 0x80 && allow_8bit))
			continue;
		mtasts__cc_describe(c, what, sizeof(what));
		if (c == '\r')
			perr(st, line, col0 + (unsigned)i, field, "%s at "
			    "column %zu is not followed by LF: lines must end "
			    "with LF or CRLF, a bare CR is not a line end",
			    what, col0 + i);
		else
			perr(st, line, col0 + (unsigned)i, field, "%s at "
			    "column %zu is not allowed in this value", what,
			    col0 + i);
		return false;
	}
	return true;
}

static enum key_id
key_lookup(const char *k, size_t n)
{
	switch (n) {
	case 2:
		return memcmp(k, "mx", 2) == 0 ? KEY_MX : KEY_EXT;
	case 4:
		return memcmp(k, "mode", 4) == 0 ? KEY_MODE : KEY_EXT;
	case 7:
		if (memcmp(k, "version", 7) == 0)
			return KEY_VERSION;
		return memcmp(k, "max_age", 7) == 0 ? KEY_MAX_AGE : KEY_EXT;
	default:
		return KEY_EXT;
	}
}

/* Does k[0..n) equal a known key when case is ignored? */
static const char *
key_fold_match(const char *k, size_t n)
{
	int id;
	size_t i;

	for (id = KEY_VERSION; id <= KEY_MX; id++) {
		const char *name = key_names[id];

		if (strlen(name) != n)
			continue;
		for (i = 0; i < n; i++)
			if (mtasts__cc_lower((unsigned char)k[i]) != name[i])
				break;
		if (i == n)
			return name;
	}
	return NULL;
}

static bool
check_version(struct pstate *st, unsigned line, unsigned col,
    const char *v, size_t n)
{
	char q[QUOTE_MAX + 16];

	if (n == 5 && memcmp(v, "STSv1", 5) == 0)
		return true;
	perr(st, line, col, "version", "\"%s\" is not STSv1 (the only "
	    "version; case-sensitive)", quote(q, sizeof(q), v, n));
	return false;
}

static bool
check_mode(struct pstate *st, unsigned line, unsigned col, const char *v,
    size_t n, enum mtasts_mode *mode)
{
	char q[QUOTE_MAX + 16];

	if (n == 7 && memcmp(v, "enforce", 7) == 0)
		*mode = MTASTS_MODE_ENFORCE;
	else if (n == 7 && memcmp(v, "testing", 7) == 0)
		*mode = MTASTS_MODE_TESTING;
	else if (n == 4 && memcmp(v, "none", 4) == 0)
		*mode = MTASTS_MODE_NONE;
	else {
		perr(st, line, col, "mode", "\"%s\" is not one of enforce, "
		    "testing, none (values are case-sensitive)",
		    quote(q, sizeof(q), v, n));
		return false;
	}
	return true;
}

static bool
check_max_age(struct pstate *st, unsigned line, unsigned col,
    const char *v, size_t n, uint64_t *val)
{
	char q[QUOTE_MAX + 16];
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			perr(st, line, col, "max_age", "\"%s\" is not a number "
			    "of seconds (digits only: no sign, unit or "
			    "space)", quote(q, sizeof(q), v, n));
			return false;
		}
		if (i < 10)
			x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > 10) {
		perr(st, line, col, "max_age", "\"%s\" has %zu digits; at "
		    "most 10 are allowed (and the maximum is 31557600)",
		    quote(q, sizeof(q), v, n), n);
		return false;
	}
	*val = x;
	return true;
}

/* sts-policy-ext-value: VCHAR or UTF-8, inner spaces, no CTL or HTAB. */
static bool
check_ext_value(struct pstate *st, unsigned line, unsigned col,
    const char *field, const char *v, size_t n)
{
	size_t i = 0, k;
	const unsigned char *u = (const unsigned char *)v;

	while (i < n) {
		unsigned char c = u[i];

		if (c >= 0x20 && c < 0x7F) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_char(u + i, n - i);
			if (k > 0) {
				i += k;
				continue;
			}
			perr(st, line, col + (unsigned)i, field, "invalid "
			    "UTF-8 (byte 0x%02X) at column %zu", c, col + i);
			return false;
		}
		return check_ctl(st, line, col, field, v, n, true);
	}
	return true;
}

/* Only line terminators (LF, CRLF) in t[pos..len)? */
static bool
only_terminators(const char *t, size_t pos, size_t len)
{
	while (pos < len) {
		if (t[pos] == '\n')
			pos++;
		else if (t[pos] == '\r' && pos + 1 < len && t[pos + 1] == '\n')
			pos += 2;
		else
			return false;
	}
	return true;
}

static void
store_ext(struct pstate *st, unsigned line, const char *k, size_t kn,
    const char *value)
{
	struct mtasts_policy *p = st->p;
	size_t i;

	for (i = 0; i < p->next; i++)
		if (strlen(p->ext[i].key) == kn &&
		    memcmp(p->ext[i].key, k, kn) == 0) {
			mtasts_diags_add(st->d, MTASTS_SEV_WARNING,
			    MTASTS_ESYNTAX, line, 1, p->ext[i].key,
			    "duplicate key ignored; the first one is used");
			return;
		}
	if (p->next >= st->ext_cap) {
		st->ext_dropped++;
		return;
	}
	memcpy(st->keybuf, k, kn);
	st->keybuf[kn] = '\0';
	p->ext[p->next].key = st->keybuf;
	p->ext[p->next].value = value;
	p->next++;
	st->keybuf += KEY_MAX + 1;
}

/* Parse one non-empty line l[0..n) (NUL-terminated in place). */
static void
parse_line(struct pstate *st, char *l, size_t n, unsigned line,
    unsigned col0)
{
	struct mtasts_policy *p = st->p;
	size_t k = 0, v, e, i, kend;
	unsigned char c;
	enum key_id id;
	char what[32], keyname[KEY_MAX + 1], q[QUOTE_MAX + 16];
	const char *why;
	bool ok;

	/* Trailing WSP is allowed and not part of the line or value. */
	e = n;
	while (e > 0 && mtasts__cc_wsp((unsigned char)l[e - 1]))
		e--;
	l[e] = '\0';
	p->lines[p->nlines++] = l;
	if (e == 0) {
		perr(st, line, col0, NULL, "the line holds only whitespace; "
		    "blank lines are not allowed between fields");
		return;
	}
	if (mtasts__cc_wsp((unsigned char)l[0])) {
		perr(st, line, col0, NULL, "the line starts with whitespace; "
		    "a key must start in column 1");
		while (k < e && mtasts__cc_wsp((unsigned char)l[k]))
			k++;
	}
	if (l[k] == '#') {
		perr(st, line, col0 + (unsigned)k, NULL, "comments (\"#\") "
		    "are not allowed in a policy file");
		return;
	}
	i = k;
	while (i < e && mtasts__cc((unsigned char)l[i], MTASTS__CC_NAME))
		i++;
	if (i == k) {
		c = (unsigned char)l[k];
		mtasts__cc_describe(c, what, sizeof(what));
		if (c == '\r')
			perr(st, line, col0 + (unsigned)k, NULL, "%s at column "
			    "%zu is not followed by LF: lines must end with "
			    "LF or CRLF", what, col0 + k);
		else
			perr(st, line, col0 + (unsigned)k, NULL, "the line "
			    "must start with a key (\"name: value\"), not "
			    "%s", what);
		return;
	}
	keyname[0] = '\0';
	if (i - k <= KEY_MAX) {
		memcpy(keyname, l + k, i - k);
		keyname[i - k] = '\0';
	}
	if (!mtasts__cc_alnum((unsigned char)l[k])) {
		perr(st, line, col0 + (unsigned)k, keyname, "a key must start "
		    "with a letter or digit");
		return;
	}
	if (i - k > KEY_MAX) {
		perr(st, line, col0 + (unsigned)k, NULL, "the key \"%s\" is "
		    "longer than 32 characters", quote(q, sizeof(q), l + k,
		    i - k));
		return;
	}
	kend = i;
	id = key_lookup(l + k, kend - k);
	if (i < e && l[i] != ':' && mtasts__cc_wsp((unsigned char)l[i])) {
		size_t j = i;

		while (j < e && mtasts__cc_wsp((unsigned char)l[j]))
			j++;
		if (j < e && l[j] == ':') {
			perr(st, line, col0 + (unsigned)i, keyname,
			    "whitespace between the key and \":\" is not "
			    "allowed (write \"%s:\")", keyname);
			i = j;
		}
	}
	if (i >= e || l[i] != ':') {
		if (i >= e) {
			perr(st, line, col0 + (unsigned)i, keyname, "missing "
			    "\":\" after the key (fields are \"name: "
			    "value\")");
		} else {
			c = (unsigned char)l[i];
			mtasts__cc_describe(c, what, sizeof(what));
			if (c == '\r')
				perr(st, line, col0 + (unsigned)i, keyname,
				    "%s at column %zu is not followed by LF: "
				    "lines must end with LF or CRLF", what,
				    col0 + i);
			else
				perr(st, line, col0 + (unsigned)i, keyname,
				    "%s at column %zu is not allowed in a key "
				    "(letters, digits, \"_\", \"-\", \".\"), "
				    "or \":\" is missing", what, col0 + i);
		}
		if (id != KEY_EXT && st->first_line[id] == 0)
			st->first_line[id] = line;
		if (id == KEY_MX)
			st->mx_lines++;
		return;
	}
	v = i + 1;
	while (v < e && mtasts__cc_wsp((unsigned char)l[v]))
		v++;
	if (id == KEY_EXT) {
		const char *known = key_fold_match(l + k, kend - k);

		if (known != NULL)
			mtasts_diags_add(st->d, MTASTS_SEV_WARNING,
			    MTASTS_ESYNTAX, line, col0 + (unsigned)k, keyname,
			    "keys are case-sensitive: \"%s\" is not \"%s\", "
			    "so this line is an unknown extension and is "
			    "ignored", keyname, known);
		if (v == e) {
			perr(st, line, col0 + (unsigned)v, keyname, "the value "
			    "is empty");
			return;
		}
		if (check_ext_value(st, line, col0 + (unsigned)v, keyname,
			l + v, e - v))
			store_ext(st, line, l + k, kend - k, l + v);
		return;
	}
	if (v == e) {
		perr(st, line, col0 + (unsigned)v, keyname, "the value is "
		    "empty");
		if (st->first_line[id] == 0)
			st->first_line[id] = line;
		if (id == KEY_MX)
			st->mx_lines++;
		return;
	}
	ok = check_ctl(st, line, col0 + (unsigned)v, keyname, l + v, e - v,
	    false);
	switch (id) {
	case KEY_VERSION:
		ok = ok && check_version(st, line, col0 + (unsigned)v, l + v,
		    e - v);
		break;
	case KEY_MODE: {
		enum mtasts_mode m = MTASTS_MODE_NONE;

		ok = ok && check_mode(st, line, col0 + (unsigned)v, l + v,
		    e - v, &m);
		if (ok && st->first_line[id] == 0)
			p->mode = m;
		break;
	}
	case KEY_MAX_AGE: {
		uint64_t x = 0;

		ok = ok && check_max_age(st, line, col0 + (unsigned)v, l + v,
		    e - v, &x);
		if (ok && st->first_line[id] == 0) {
			p->max_age_raw = x;
			if (x > MTASTS_MAX_AGE_LIMIT) {
				p->max_age = MTASTS_MAX_AGE_LIMIT;
				mtasts_diags_add(st->d, MTASTS_SEV_WARNING,
				    MTASTS_ESYNTAX, line, col0 + (unsigned)v,
				    "max_age", "%llu is above the maximum of "
				    "31557600 seconds (one year); 31557600 is "
				    "used", (unsigned long long)x);
			} else {
				p->max_age = (uint32_t)x;
			}
		}
		break;
	}
	case KEY_MX:
		st->mx_lines++;
		if (!ok)
			break;
		if (!mtasts_domain_valid(l + v, e - v, true, &why)) {
			perr(st, line, col0 + (unsigned)v, "mx",
			    "\"%s\" is not "
			    "a valid MX host name or \"*.\" pattern: %s",
			    quote(q, sizeof(q), l + v, e - v), why);
			break;
		}
		if (p->nmx < st->mx_cap)
			p->mx[p->nmx++] = l + v;
		else
			st->mx_dropped++;
		return;
	case KEY_EXT:
		break;
	}
	if (id == KEY_MX)
		return;
	if (st->first_line[id] != 0) {
		if (ok)
			mtasts_diags_add(st->d, MTASTS_SEV_WARNING,
			    MTASTS_ESYNTAX, line, col0, keyname, "duplicate "
			    "key ignored; the first one (line %u) is used",
			    st->first_line[id]);
		return;
	}
	st->first_line[id] = line;
}

static size_t
align_up(size_t n)
{
	size_t a = sizeof(void *);

	return (n + a - 1) / a * a;
}

int
mtasts_policy_parse(const char *body, size_t len, struct mtasts_policy **out,
    struct mtasts_diags *diags, struct mtasts_error *err)
{
	struct pstate st;
	struct mtasts_policy *p;
	size_t maxlines = 1, off_lines, off_mx, off_ext, off_text, off_keys;
	size_t total, pos, start = 0;
	const char *s, *nl;
	char *block, *text;
	unsigned line = 0;

	if (out == NULL)
		return mtasts_error_set(err, MTASTS_EINVAL, "no output");
	*out = NULL;
	if (body == NULL && len > 0)
		return mtasts_error_set(err, MTASTS_EINVAL, "no policy body");
	if (len > MTASTS_POLICY_BODY_MAX) {
		mtasts_diags_add(diags, MTASTS_SEV_ERROR, MTASTS_ETOOBIG, 0, 0,
		    NULL, "the policy is %zu bytes long; the limit is %u "
		    "bytes (64 KiB)", len, MTASTS_POLICY_BODY_MAX);
		return mtasts_error_set(err, MTASTS_ETOOBIG, "the policy is "
		    "%zu bytes long; the limit is %u bytes (64 KiB)", len,
		    MTASTS_POLICY_BODY_MAX);
	}
	memset(&st, 0, sizeof(st));
	st.d = diags;
	st.err = err;
	if (len == 0) {
		perr(&st, 0, 0, NULL, "the policy is empty");
		return MTASTS_ESYNTAX;
	}
	s = body;
	while ((nl = memchr(s, '\n', len - (size_t)(s - body))) != NULL) {
		maxlines++;
		s = nl + 1;
	}
	st.maxlines = maxlines;
	st.mx_cap = maxlines < MTASTS_POLICY_MX_MAX ? maxlines
						     : MTASTS_POLICY_MX_MAX;
	st.ext_cap = maxlines < MTASTS_POLICY_EXT_MAX ? maxlines
						       : MTASTS_POLICY_EXT_MAX;
	off_lines = align_up(sizeof(*p));
	off_mx = off_lines + maxlines * sizeof(char *);
	off_ext = off_mx + st.mx_cap * sizeof(char *);
	off_text = off_ext + st.ext_cap * sizeof(struct policy_ext);
	off_keys = off_text + len + 1;
	total = off_keys + st.ext_cap * (KEY_MAX + 1);
	block = mtasts__malloc(total);
	if (block == NULL)
		return mtasts_error_set(err, MTASTS_ENOMEM,
		    "out of memory parsing a policy");
	p = (struct mtasts_policy *)(void *)block;
	memset(p, 0, sizeof(*p));
	p->lines = (const char **)(void *)(block + off_lines);
	p->mx = (const char **)(void *)(block + off_mx);
	p->ext = (struct policy_ext *)(void *)(block + off_ext);
	text = block + off_text;
	memcpy(text, body, len);
	text[len] = '\0';
	st.p = p;
	st.keybuf = block + off_keys;

	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		perr(&st, 1, 1, NULL, "the policy starts with a UTF-8 byte "
		    "order mark (BOM); save it without one");
		start = 3;
	}
	pos = start;
	while (pos < len) {
		size_t end, next, eol;

		line++;
		nl = memchr(text + pos, '\n', len - pos);
		end = nl ? (size_t)(nl - text) : len;
		next = nl ? end + 1 : len;
		eol = end;
		if (nl != NULL && eol > pos && text[eol - 1] == '\r')
			eol--;
		if (eol == pos) {
			if (only_terminators(text, next, len))
				break;	/* trailing line ends: tolerated */
			perr(&st, line, 1, NULL, "empty line; blank lines are "
			    "only allowed at the end of the policy");
		} else {
			parse_line(&st, text + pos, eol - pos, line,
			    pos == 3 && start == 3 ? 4 : 1);
		}
		pos = next;
	}
	if (st.first_line[KEY_VERSION] == 0)
		perr(&st, 0, 0, "version", "the policy has no \"version\" "
		    "line (add \"version: STSv1\")");
	if (st.first_line[KEY_MODE] == 0)
		perr(&st, 0, 0, "mode", "the policy has no \"mode\" line "
		    "(add \"mode: testing\", \"mode: enforce\" or "
		    "\"mode: none\")");
	if (st.first_line[KEY_MAX_AGE] == 0)
		perr(&st, 0, 0, "max_age", "the policy has no \"max_age\" "
		    "line (add e.g. \"max_age: 604800\" for one week)");
	if (st.first_line[KEY_MODE] != 0 && st.mx_lines == 0 &&
	    p->mode != MTASTS_MODE_NONE)
		perr(&st, 0, 0, "mx", "mode \"%s\" needs at least one \"mx\" "
		    "line naming the allowed MX hosts",
		    mtasts_mode_name(p->mode));
	if (st.mx_dropped > 0)
		mtasts_diags_add(diags, MTASTS_SEV_WARNING, MTASTS_ETOOBIG, 0,
		    0, "mx", "%zu mx lines after the first %d are ignored",
		    st.mx_dropped, MTASTS_POLICY_MX_MAX);
	if (st.ext_dropped > 0)
		mtasts_diags_add(diags, MTASTS_SEV_WARNING, MTASTS_ETOOBIG, 0,
		    0, NULL, "%zu extension lines after the first %d are "
		    "not kept", st.ext_dropped, MTASTS_POLICY_EXT_MAX);
	if (st.errors > 0) {
		mtasts__free(block);
		return MTASTS_ESYNTAX;
	}
	*out = p;
	return MTASTS_OK;
}

void
mtasts_policy_free(struct mtasts_policy *p)
{
	mtasts__free(p);
}

enum mtasts_mode
mtasts_policy_mode(const struct mtasts_policy *p)
{
	return p ? p->mode : MTASTS_MODE_NONE;
}

const char *
mtasts_mode_name(enum mtasts_mode mode)
{
	switch (mode) {
	case MTASTS_MODE_ENFORCE:
		return "enforce";
	case MTASTS_MODE_TESTING:
		return "testing";
	case MTASTS_MODE_NONE:
		return "none";
	}
	return "none";
}

uint32_t
mtasts_policy_max_age(const struct mtasts_policy *p)
{
	return p ? p->max_age : 0;
}

uint64_t
mtasts_policy_max_age_raw(const struct mtasts_policy *p)
{
	return p ? p->max_age_raw : 0;
}

const char *
mtasts_policy_version(const struct mtasts_policy *p)
{
	(void)p;
	return "STSv1";
}

size_t
mtasts_policy_mx_count(const struct mtasts_policy *p)
{
	return p ? p->nmx : 0;
}

const char *
mtasts_policy_mx(const struct mtasts_policy *p, size_t i)
{
	if (p == NULL || i >= p->nmx)
		return NULL;
	return p->mx[i];
}

size_t
mtasts_policy_ext_count(const struct mtasts_policy *p)
{
	return p ? p->next : 0;
}

bool
mtasts_policy_ext(const struct mtasts_policy *p, size_t i, const char **key,
    const char **value)
{
	if (p == NULL || i >= p->next)
		return false;
	if (key != NULL)
		*key = p->ext[i].key;
	if (value != NULL)
		*value = p->ext[i].value;
	return true;
}

bool
mtasts_policy_match_mx(const struct mtasts_policy *p, const char *host)
{
	size_t i;

	if (p == NULL || host == NULL)
		return false;
	for (i = 0; i < p->nmx; i++)
		if (mtasts_mx_match(p->mx[i], host))
			return true;
	return false;
}

size_t
mtasts_policy_line_count(const struct mtasts_policy *p)
{
	return p ? p->nlines : 0;
}

const char *
mtasts_policy_line(const struct mtasts_policy *p, size_t i)
{
	if (p == NULL || i >= p->nlines)
		return NULL;
	return p->lines[i];
}
