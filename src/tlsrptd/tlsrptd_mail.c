/* SPDX-License-Identifier: MIT */
/* tlsrptd_mail.c: the report message (see tlsrptd_mail.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifdef HAVE_GMIME
#include <gmime/gmime.h>
#endif

#include "tlsrptd_mail.h"
#include "util/alloc.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tlsrptd_mailto_address(const char *uri, char *buf, size_t size,
		       struct mtasts_error *err)
{
	const char *s;
	size_t n = 0;
	bool at = false;

	if (size > 0)
		buf[0] = '\0';
	if (uri == NULL || strncasecmp(uri, "mailto:", 7) != 0)
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "not a mailto: URI");
	for (s = uri + 7; *s != '\0' && *s != '?'; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0)
				return mtasts_error_set(err, MTASTS_EINVAL,
				    "bad percent escape in %s", uri);
			c = hi * 16 + lo;
			s += 2;
		}
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' ||
		    c == ',' || c == '"' || c == '\\')
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "unusable character in %s", uri);
		if (c == '@')
			at = true;
		if (n + 1 >= size || n >= 254)
			return mtasts_error_set(err, MTASTS_EINVAL,
			    "address too long in %s", uri);
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	if (!at || buf[0] == '@' || buf[n - 1] == '@' ||
	    strchr(strchr(buf, '@') + 1, '@') != NULL) {
		buf[0] = '\0';
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "no single addr-spec in %s", uri);
	}
	return MTASTS_OK;
}

#ifdef HAVE_GMIME

static void
gmime_once(void)
{
	static bool done;

	if (!done) {
		g_mime_init();
		done = true;
	}
}

/* Header values are ours or validated; still refuse CR/LF. */
static bool
clean(const char *s)
{
	return s != NULL && s[0] != '\0' && strpbrk(s, "\r\n") == NULL;
}

int
tlsrptd_mail_build(const struct tlsrptd_mail_in *in, char **msg, size_t *len,
		   struct mtasts_error *err)
{
	GMimeMessage *m;
	GMimeMultipart *mp;
	GMimeTextPart *text;
	GMimePart *att;
	GMimeDataWrapper *dw;
	GMimeStream *src, *out;
	GMimeFormatOptions *fo;
	GByteArray *bytes;
	GDateTime *dt;
	char body[1024], mid[400];
	int rc = MTASTS_OK;

	*msg = NULL;
	*len = 0;
	if (in == NULL || in->payload == NULL || in->payload->gz == NULL ||
	    !clean(in->from) || !clean(in->to) ||
	    !clean(in->policy_domain) || !clean(in->submitter) ||
	    !clean(in->report_id))
		return mtasts_error_set(err, MTASTS_EINVAL,
		    "incomplete report message");
	gmime_once();
	m = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, NULL, in->from);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, in->to);
	g_mime_message_set_subject(m, in->payload->subject, "us-ascii");
	dt = g_date_time_new_from_unix_utc(in->date);
	g_mime_message_set_date(m, dt);
	g_date_time_unref(dt);
	snprintf(mid, sizeof(mid), "%s@%s", in->report_id, in->submitter);
	g_mime_message_set_message_id(m, mid);
	g_mime_object_set_header(GMIME_OBJECT(m), "TLS-Report-Domain",
	    in->policy_domain, NULL);
	g_mime_object_set_header(GMIME_OBJECT(m), "TLS-Report-Submitter",
	    in->submitter, NULL);
	g_mime_object_set_header(GMIME_OBJECT(m), "TLS-Required", "No", NULL);

	mp = g_mime_multipart_new_with_subtype("report");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mp),
	    "report-type", "tlsrpt");

	snprintf(body, sizeof(body),
	    "This is an aggregate TLS report (RFC 8460) from %s.\n"
	    "Policy domain: %s\nSubmitter: %s\nReport-ID: %s\n"
	    "The report is attached as %s.\n",
	    clean(in->organization) ? in->organization : in->submitter,
	    in->policy_domain, in->submitter, in->report_id,
	    in->payload->filename);
	text = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(text, body);
	g_mime_text_part_set_charset(text, "us-ascii");
	g_mime_part_set_content_encoding(GMIME_PART(text),
	    GMIME_CONTENT_ENCODING_7BIT);
	g_mime_multipart_add(mp, GMIME_OBJECT(text));
	g_object_unref(text);

	att = g_mime_part_new_with_type("application", "tlsrpt+gzip");
	src = g_mime_stream_mem_new_with_buffer((const char *)in->payload->gz,
	    in->payload->gz_len);
	dw = g_mime_data_wrapper_new_with_stream(src,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(src);
	g_mime_part_set_content(att, dw);
	g_object_unref(dw);
	g_mime_part_set_content_encoding(att, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_part_set_filename(att, in->payload->filename);
	g_mime_object_set_disposition(GMIME_OBJECT(att), "attachment");
	g_mime_multipart_add(mp, GMIME_OBJECT(att));
	g_object_unref(att);

	g_mime_message_set_mime_part(m, GMIME_OBJECT(mp));
	g_object_unref(mp);

	out = g_mime_stream_mem_new();
	fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	if (g_mime_object_write_to_stream(GMIME_OBJECT(m), fo, out) < 0) {
		rc = mtasts_error_set(err, MTASTS_EINTERNAL,
		    "GMime could not write the message");
	} else {
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
		*msg = mtasts__malloc(bytes->len + 1);
		if (*msg == NULL) {
			rc = mtasts_error_set(err, MTASTS_ENOMEM,
			    "out of memory");
		} else {
			memcpy(*msg, bytes->data, bytes->len);
			(*msg)[bytes->len] = '\0';
			*len = bytes->len;
		}
	}
	g_mime_format_options_free(fo);
	g_object_unref(out);
	g_object_unref(m);
	return rc;
}

#else

int
tlsrptd_mail_build(const struct tlsrptd_mail_in *in, char **msg, size_t *len,
		   struct mtasts_error *err)
{
	(void)in;
	*msg = NULL;
	*len = 0;
	return mtasts_error_set(err, MTASTS_EINTERNAL,
	    "built without GMime: no report mail");
}

#endif
