# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# The lab's scenario table: the one place that defines every test domain.
# lab.sh sources this file; each `scenario` line opens a block and the
# calls under it (until the next `scenario`) change that block's defaults.
# tests/lab/scenarios.tsv is generated from this file (`lab.sh tsv`).
#
#   scenario DOMAIN RESULT FAILURE MODE REASON_REGEX DESCRIPTION
#       The first five are what `mtasts policy --json DOMAIN` must say
#       (see scenarios.tsv). Defaults for a new block: TXT record
#       "v=STSv1; id=<domain letters>1", policy host mta-sts.DOMAIN on its
#       own address 127.0.0.N, a lab-CA certificate for that name, TLS 1.2
#       and 1.3, and a valid CRLF policy whose mode is the MODE column
#       (enforce if "-") with "mx: mx1.DOMAIN" and "mx: *.mx.DOMAIN".
#
#   txt STRING...     one TXT record at _mta-sts.DOMAIN, one argument per
#                     character-string; the first call drops the default,
#                     further calls add records
#   no_txt            no TXT record at _mta-sts.DOMAIN
#   ttl SECONDS       TTL of the _mta-sts TXT records (default 300; put it
#                     before any txt line)
#   rr OWNER TYPE RDATA...   extra zone line; "{d}" is replaced by DOMAIN;
#                     write owners as absolute names ("x.{d}.")
#   host KIND         policy host: serve (default), none (NXDOMAIN),
#                     nodata (name exists, no A), refused (A record, no
#                     server), plain (plain HTTP on port 443)
#   cert KIND         ok (default), wrongname, cn-only, expired, notyet,
#                     untrusted, wildcard, partialwild, chain, nochain
#   tls PROTOCOLS [CIPHERS]  nginx ssl_protocols / ssl_ciphers
#   body_crlf LINE... / body_lf LINE...   policy file, one line per arg
#   body_raw STRING   policy file bytes as given (use $'...')
#   body_pad BYTES    valid LF policy padded with extension lines to BYTES
#   nginx DIRECTIVE   extra directive in location /.well-known/mta-sts.txt
#   server DIRECTIVE  extra directive in the server block
#   drip SECONDS      send a valid policy one line per second (echo module)
#   stall SECONDS     send nothing for SECONDS, then a valid policy
#   huge_headers COUNT BYTES   add COUNT response headers of BYTES each
#   expect PATH VALUE extra check on the --json output: PATH is dotted
#                     ("policy.max_age", "id"); VALUE is JSON, or else a
#                     plain string (lab.sh expect lists them)
#   broken_zone ZONE  configure ZONE ("{d}." allowed) in NSD without data:
#                     NSD answers SERVFAIL for every name in it
#   mx HOST [PREF]    MX record DOMAIN -> HOST (an mxhost name: "good" is
#                     good.mx.test), preference PREF (10); the default
#                     policy then lists the domain's MX hosts as its mx
#                     lines instead of mx1.DOMAIN and *.mx.DOMAIN
#   deliver OUTCOME [REGEX]   what a sending Postfix whose
#                     smtp_tls_policy_maps asks mtastsd must do with mail
#                     to DOMAIN: verified (delivered over verified TLS),
#                     delivered (delivered, TLS or not), deferred (held;
#                     Postfix's reason matches REGEX, extended, any case);
#                     `lab.sh mail` lists them (tests/integration/postfix_e2e.sh)
#
#   mxhost NAME CERT KIND DESCRIPTION [PARAM=VALUE...]
#       An SMTP server on 127.0.3.(1 + N):25 (N = table order from 0),
#       host name NAME.mx.test (or NAME itself if it has a dot), A record
#       in the zone. An smtpd service of the lab's receiving Postfix, which
#       puts every message into $LAB_MX_MAIL/<recipient domain>/ (maildir).
#       CERT: a `cert` kind, or selfsigned, or - (none). KIND: starttls
#       (TLS 1.2+), plain (no STARTTLS), tls10 (TLS 1.0 and 1.1 accepted
#       too), slow (greeting after LAB_MX_SLOW s), busy (421 at connect),
#       refused (nothing listens); served by hostile-smtp.py instead of
#       Postfix (CERT -): endless (220- lines forever), giantline (1 MiB
#       greeting line), drip (one byte per second), silent (never speaks),
#       tlsalert (fatal TLS alert after STARTTLS), garbage (binary noise),
#       badreply (replies that are not SMTP). PARAM=VALUE: extra smtpd -o
#       settings.
#       Keep names stable: other tests and helpers use them.

# ---- MX hosts (port 25) --------------------------------------------------
mxhost good ok starttls "valid lab-CA certificate for good.mx.test, TLS 1.2 and 1.3"
mxhost chain chain starttls "certificate from the intermediate CA, sent with the intermediate"
mxhost nostarttls - plain "no STARTTLS offered"
mxhost expired expired starttls "certificate expired in 2020"
mxhost wrongname wrongname starttls "certificate only for www.elsewhere.test"
mxhost selfsigned selfsigned starttls "self-signed certificate for selfsigned.mx.test"
mxhost nochain nochain starttls "leaf from the intermediate CA, intermediate not sent"
mxhost tls10 ok tls10 "valid certificate; TLS 1.0 and 1.1 still accepted besides 1.2 and 1.3"
mxhost slow ok slow "valid certificate; greeting only after LAB_MX_SLOW seconds (default 5)"
mxhost busy ok busy "421 4.3.2 at connect, then hangs up"
mxhost refused - refused "A record, nothing listens on port 25"
mxhost shared ok starttls "valid certificate; MX of several domains (mx-shared*.test)"
mxhost good.mx-elsewhere.test ok starttls "valid certificate for its name, which no lab policy covers"
mxhost bulk1 ok starttls "valid certificate; MX of bulk domains"
mxhost bulk2 ok starttls "valid certificate; MX of bulk domains"
mxhost bulk3 ok starttls "valid certificate; MX of bulk domains"
mxhost bulk4 ok starttls "valid certificate; MX of bulk domains"
mxhost endless - endless "greeting of 220- continuation lines that never ends"
mxhost giantline - giantline "greeting line of 1 MiB without a line end"
mxhost drip - drip "normal session offering STARTTLS, one byte per second"
mxhost silent - silent "accepts connections, never says anything"
mxhost tlsalert - tlsalert "offers STARTTLS, answers the ClientHello with a fatal alert"
mxhost garbage - garbage "binary noise instead of a greeting"
mxhost badreply - badreply "greets, then answers EHLO with lines that are not SMTP replies"

# ---- valid policies ------------------------------------------------------
scenario enforce.test policy - enforce - \
	"valid enforce policy, CRLF line ends"
	expect id enforcetest1
	expect policy.version STSv1
	expect policy.max_age 86400
	expect policy.mx '["mx1.enforce.test", "*.mx.enforce.test"]'
	expect policy.extensions '{}'
scenario testing.test policy - testing - \
	"valid testing policy"
scenario none.test policy - none - \
	"mode none without any mx line"
	expect policy.mx '[]'
scenario lf.test policy - enforce - \
	"policy with bare LF line ends (erratum 6253)"
	body_lf "version: STSv1" "mode: enforce" "mx: mx1.lf.test" \
		"max_age: 86400"
	expect policy.mx '["mx1.lf.test"]'
scenario mixed.test policy - enforce - \
	"policy mixing CRLF and LF line ends"
	body_raw $'version: STSv1\r\nmode: enforce\nmx: mx1.mixed.test\r\nmax_age: 86400\n'
scenario ext.test policy - testing - \
	"unknown extension fields (one with a UTF-8 value) are ignored"
	body_crlf "version: STSv1" "x-note: caf"$'\xc3\xa9'" au lait" \
		"mode: testing" "mx: mx1.ext.test" "max_age: 604800" \
		"x_other.field-2: 1"
	expect policy.extensions '{"x-note": "caf\u00e9 au lait", "x_other.field-2": "1"}'
scenario dupkey.test policy - testing - \
	"duplicate mode key: the first (testing) wins over the later enforce"
	body_crlf "version: STSv1" "mode: testing" "mode: enforce" \
		"mx: mx1.dupkey.test" "max_age: 86400"
scenario bigmaxage.test policy - enforce - \
	"max_age 9999999999 (10 digits, > 31557600 and > 2^32) is clamped"
	body_crlf "version: STSv1" "mode: enforce" "mx: mx1.bigmaxage.test" \
		"max_age: 9999999999"
	expect policy.max_age 31557600
scenario charset.test policy - enforce - \
	"Content-Type: text/plain; charset=utf-8 is accepted"
	nginx 'default_type "text/plain; charset=utf-8";'
scenario ctypecase.test policy - enforce - \
	"Content-Type: TEXT/PLAIN (media types are case-insensitive)"
	nginx 'default_type "TEXT/PLAIN";'
scenario chunked.test policy - enforce - \
	"policy sent with chunked transfer encoding (echo module)"
	nginx 'echo "version: STSv1";' 'echo_flush;' 'echo "mode: enforce";' \
		'echo_flush;' 'echo "mx: mx1.chunked.test";' \
		'echo "max_age: 86400";'
scenario slowok.test policy - enforce - \
	"policy dripped over about 1 s, well inside a 3 s timeout"
	drip 1
scenario wildcard.test policy - enforce - \
	"certificate for *.wildcard.test (left-most label wildcard is allowed)"
	cert wildcard
scenario chain.test policy - enforce - \
	"leaf signed by an intermediate CA; server sends leaf + intermediate"
	cert chain

# ---- TXT record (RFC 8461 3.1) -------------------------------------------
scenario notxt.test no-policy - - - \
	"no _mta-sts TXT record at all (NXDOMAIN)"
	no_txt
	host none
scenario txtnodata.test no-policy - - - \
	"_mta-sts name exists (A record) but has no TXT record (NODATA)"
	no_txt
	host none
	rr '_mta-sts.{d}.' A 127.0.0.2
scenario twotxt.test no-policy - - - \
	"two v=STSv1 TXT records"
	txt "v=STSv1; id=first1"
	txt "v=STSv1; id=second2"
scenario split.test policy - enforce - \
	"TXT record split into character-strings, joined without spaces"
	txt "v=ST" "Sv1; id=sp" "lit1"
	expect id split1
scenario cname.test policy - enforce - \
	"_mta-sts TXT reached through a CNAME (delegation, RFC 8461 8.2)"
	no_txt
	rr '_mta-sts.{d}.' CNAME '_mta-sts.provider.test.'
	rr '_mta-sts.provider.test.' TXT '"v=STSv1; id=provider1"'
	expect id provider1
scenario cnamechain.test policy - enforce - \
	"_mta-sts TXT reached through two CNAMEs"
	no_txt
	rr '_mta-sts.{d}.' CNAME 'hop1.{d}.'
	rr 'hop1.{d}.' CNAME 'hop2.{d}.'
	rr 'hop2.{d}.' TXT '"v=STSv1; id=chain2"'
	expect id chain2
scenario othertxt.test policy - enforce - \
	"an unrelated TXT record beside the STS one is discarded"
	txt "v=STSv1; id=other1"
	txt "site-verification=0123456789abcdef"
	expect id other1
scenario twotxtspace.test policy - enforce - \
	"two records; 'v=STSv1 ;' fails the literal v=STSv1; prefix filter, so one is left"
	txt "v=STSv1; id=kept1"
	txt "v=STSv1 ; id=dropped2"
	expect id kept1
scenario spacesemi.test policy - enforce - \
	"single record 'v=STSv1 ; id=...' (WSP before ';' is ABNF-valid)"
	txt "v=STSv1 ; id=spacesemi1"
	expect id spacesemi1
scenario txtdupid.test policy - enforce - \
	"TXT record with two id fields: the first one counts (RFC 8461 3.2)"
	txt "v=STSv1; id=first1; id=second2"
	expect id first1
scenario txtutf8.test no-policy - - - \
	"TXT record with a non-ASCII byte (RFC 8461 3.1: US-ASCII only)"
	txt "v=STSv1; id=txtutf81; x=caf"$'\xc3\xa9'
scenario onlyother.test no-policy - - - \
	"only unrelated TXT records at _mta-sts"
	txt "site-verification=0123456789abcdef"
	txt "v=spf1 -all"
scenario badid.test no-policy - - - \
	"TXT id of 33 characters is invalid"
	txt "v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456"
scenario noid.test no-policy - - - \
	"TXT record without an id field"
	txt "v=STSv1; foo=bar"
scenario txtcase.test no-policy - - - \
	"TXT version tag is case-sensitive: v=stsv1"
	txt "v=stsv1; id=txtcase1"
scenario dnsfail.test temperror - - '_mta-sts\.dnsfail\.test' \
	"TXT lookup ends in SERVFAIL: zone dnsfail.test. is configured in NSD without data"
	no_txt
	host none
	broken_zone '{d}.'

# ---- policy host address and connection ----------------------------------
scenario hostnx.test error sts-policy-fetch-error - 'mta-sts\.hostnx\.test' \
	"valid TXT record, but mta-sts.hostnx.test does not exist (NXDOMAIN)"
	host none
	expect id hostnxtest1
scenario hostnodata.test error sts-policy-fetch-error - 'mta-sts\.hostnodata\.test' \
	"mta-sts.hostnodata.test exists but has no address record"
	host nodata
scenario refused.test error sts-policy-fetch-error - 'refused|connect' \
	"policy host address has no listener: connection refused"
	host refused
scenario plain.test error sts-policy-fetch-error - 'TLS|SSL|handshake' \
	"plain HTTP (no TLS) on port 443"
	host plain

# ---- certificate (RFC 8461 3.3) ------------------------------------------
scenario wrongname.test error sts-webpki-invalid - \
	'mta-sts\.wrongname\.test.*www\.elsewhere\.test|www\.elsewhere\.test.*mta-sts\.wrongname\.test' \
	"certificate only for www.elsewhere.test; the reason names both names"
	cert wrongname
scenario cnonly.test error sts-webpki-invalid - 'mta-sts\.cnonly\.test' \
	"certificate has the right CN but no subjectAltName (no CN-ID fallback)"
	cert cn-only
scenario partialwild.test error sts-webpki-invalid - 'mta-sts\.partialwild\.test' \
	"certificate for mta*.partialwild.test (partial-label wildcard)"
	cert partialwild
scenario expired.test error sts-webpki-invalid - 'expired' \
	"certificate expired in 2020"
	cert expired
scenario notyet.test error sts-webpki-invalid - 'not yet valid' \
	"certificate valid only from 2049"
	cert notyet
scenario untrusted.test error sts-webpki-invalid - 'issuer|trust' \
	"certificate from a second CA that is not in LAB_CA"
	cert untrusted
scenario nochain.test error sts-webpki-invalid - 'issuer|trust' \
	"leaf signed by an intermediate CA the server does not send"
	cert nochain
scenario tls10.test error sts-policy-fetch-error - 'TLS|SSL|protocol|version' \
	"server speaks only TLS 1.0/1.1; client needs >= 1.2 (RFC 8461 7.2, RFC 8996). fetch-error, not webpki: the handshake fails before any certificate is checked"
	tls "TLSv1 TLSv1.1" "DEFAULT:@SECLEVEL=0"

# ---- HTTP response (RFC 8461 3.2, 3.3) -----------------------------------
scenario redirect301.test error sts-policy-fetch-error - 'redirect' \
	"301 redirect to a valid policy must not be followed"
	nginx 'return 301 https://mta-sts.enforce.test/.well-known/mta-sts.txt;'
scenario redirect302.test error sts-policy-fetch-error - 'redirect' \
	"302 redirect to a valid policy must not be followed"
	nginx 'return 302 https://mta-sts.enforce.test/.well-known/mta-sts.txt;'
scenario notfound404.test error sts-policy-fetch-error - '404' \
	"HTTP 404"
	nginx 'return 404;'
scenario servererror500.test error sts-policy-fetch-error - '500' \
	"HTTP 500"
	nginx 'return 500;'
scenario ctype.test error sts-policy-fetch-error - 'text/html' \
	"Content-Type text/html (an HTTP-level check, so fetch-error)"
	nginx 'default_type text/html;'
scenario bigbody.test error sts-policy-fetch-error - '64 ?KiB|exceed' \
	"body of 70000 bytes (a valid policy plus padding) exceeds the 64 KiB limit"
	body_pad 70000
scenario hugeheaders.test error sts-policy-fetch-error - 'header' \
	"about 1 MiB of response headers"
	huge_headers 256 4000
scenario drip.test error sts-policy-fetch-error - 'time' \
	"valid policy dripped one line per second for 30 s: the 3 s timeout must cover the whole transfer"
	drip 30
scenario stall.test error sts-policy-fetch-error - 'time' \
	"server sends nothing for 30 s"
	stall 30

# ---- policy syntax (RFC 8461 3.2) ----------------------------------------
scenario emptybody.test error sts-policy-invalid - - \
	"HTTP 200 with an empty body"
	body_raw ''
scenario badmode.test error sts-policy-invalid - 'mode' \
	"mode: Enforce (values are case-sensitive)"
	body_crlf "version: STSv1" "mode: Enforce" "mx: mx1.badmode.test" \
		"max_age: 86400"
scenario badversion.test error sts-policy-invalid - 'version' \
	"version: STSv2"
	body_crlf "version: STSv2" "mode: enforce" "mx: mx1.badversion.test" \
		"max_age: 86400"
scenario badmx.test error sts-policy-invalid - 'mx' \
	"mx value with an underscore is not an RFC 5321 Domain"
	body_crlf "version: STSv1" "mode: enforce" "mx: bad_host.badmx.test" \
		"max_age: 86400"
scenario nomx.test error sts-policy-invalid - 'mx' \
	"mode enforce without any mx line"
	body_crlf "version: STSv1" "mode: enforce" "max_age: 86400"
scenario nomaxage.test error sts-policy-invalid - 'max_age' \
	"max_age missing"
	body_crlf "version: STSv1" "mode: enforce" "mx: mx1.nomaxage.test"

# ---- MX hosts: mail delivery (postfix_e2e.sh; mtasts check) ---------------
scenario mx-enforce-good.test policy - enforce - \
	"enforce; MX good.mx.test with a valid certificate"
	mx good
	deliver verified
	expect policy.mx '["good.mx.test"]'
scenario mx-complete.test policy - enforce - \
	"enforce, good MX, TLS-RPT published: everything a checker wants"
	mx good
	rr "_smtp._tls.{d}." TXT '"v=TLSRPTv1; rua=mailto:tlsrpt@mx-complete.test"'
	deliver verified
scenario mx-enforce-chain.test policy - enforce - \
	"enforce; MX sends its certificate with the intermediate CA"
	mx chain
	deliver verified
scenario mx-enforce-twomx.test policy - enforce - \
	"enforce; first MX refuses connections, the second is good"
	mx refused 10
	mx good 20
	deliver verified
scenario mx-enforce-tls10.test policy - enforce - \
	"enforce; MX also accepts TLS 1.0 (a sender still negotiates 1.2+)"
	mx tls10
	deliver verified
scenario mx-enforce-slow.test policy - enforce - \
	"enforce; MX greets after LAB_MX_SLOW seconds"
	mx slow
	deliver verified
scenario mx-enforce-badcert.test policy - enforce - \
	"enforce; MX certificate is for another name"
	mx wrongname
	deliver deferred 'not verified|verification failed|name mismatch'
scenario mx-enforce-expired.test policy - enforce - \
	"enforce; MX certificate expired"
	mx expired
	deliver deferred 'not verified|verification failed|expired'
scenario mx-enforce-selfsigned.test policy - enforce - \
	"enforce; MX certificate is self-signed"
	mx selfsigned
	deliver deferred 'not verified|verification failed|self.signed'
scenario mx-enforce-nochain.test policy - enforce - \
	"enforce; MX does not send its intermediate CA"
	mx nochain
	deliver deferred 'not verified|verification failed|issuer'
scenario mx-enforce-nostarttls.test policy - enforce - \
	"enforce; MX does not offer STARTTLS"
	mx nostarttls
	deliver deferred 'TLS is required'
scenario mx-enforce-refused.test policy - enforce - \
	"enforce; nothing listens on the MX"
	mx refused
	deliver deferred 'refused'
scenario mx-enforce-busy.test policy - enforce - \
	"enforce; MX answers 421 at connect"
	mx busy
	deliver deferred '421'
scenario mx-enforce-notinpolicy.test policy - enforce - \
	"enforce; the MX (good.mx.test) is not matched by the policy's mx lines"
	mx good
	body_crlf "version: STSv1" "mode: enforce" "mx: other.mx.test" \
		"mx: *.other.test" "max_age: 86400"
	deliver deferred 'not verified|verification failed|name mismatch'
scenario mx-testing-badcert.test policy - testing - \
	"testing; MX certificate is for another name: delivered anyway"
	mx wrongname
	deliver delivered
scenario mx-testing-nostarttls.test policy - testing - \
	"testing; MX without STARTTLS: delivered in plain text"
	mx nostarttls
	deliver delivered
scenario mx-none.test policy - none - \
	"mode none; MX certificate is for another name: delivered"
	mx wrongname
	deliver delivered
scenario mx-nopolicy.test no-policy - - - \
	"no _mta-sts record; MX good.mx.test"
	no_txt
	host none
	mx good
	deliver delivered
scenario mx-nopolicy-badcert.test no-policy - - - \
	"no _mta-sts record; MX certificate is for another name: delivered"
	no_txt
	host none
	mx wrongname
	deliver delivered
scenario mx-shared1.test policy - enforce - \
	"enforce; MX shared.mx.test, shared with mx-shared2 and mx-shared3"
	mx shared
	deliver verified
scenario mx-shared2.test policy - enforce - \
	"enforce; MX shared.mx.test (shared)"
	mx shared
	deliver verified
scenario mx-shared3.test policy - testing - \
	"testing; MX shared.mx.test (shared)"
	mx shared
	deliver delivered
scenario mx-change.test policy - enforce - \
	"enforce; the policy lists other.mx.test, the MX is good.mx.test; postfix_e2e.sh then publishes id=change2 listing good.mx.test (TXT TTL 1 s)"
	mx good
	ttl 1
	txt "v=STSv1; id=change1"
	body_crlf "version: STSv1" "mode: enforce" "mx: other.mx.test" \
		"max_age: 86400"
	deliver deferred 'not verified|verification failed|name mismatch'
	expect id change1

# ---- hostile MX hosts (hostile-smtp.py): for mtasts check ---------------
scenario mx-hostile-endless.test policy - enforce - \
	"enforce; MX greets with 220- lines forever"
	mx endless
scenario mx-hostile-giantline.test policy - enforce - \
	"enforce; MX greeting is one line of 1 MiB"
	mx giantline
scenario mx-hostile-drip.test policy - enforce - \
	"enforce; MX sends one byte per second"
	mx drip
scenario mx-hostile-silent.test policy - enforce - \
	"enforce; MX accepts the connection and never speaks"
	mx silent
scenario mx-hostile-tlsalert.test policy - enforce - \
	"enforce; MX answers the ClientHello with a fatal TLS alert"
	mx tlsalert
scenario mx-hostile-garbage.test policy - enforce - \
	"enforce; MX sends binary noise instead of a greeting"
	mx garbage
scenario mx-hostile-badreply.test policy - enforce - \
	"enforce; MX answers EHLO with lines that are not SMTP replies"
	mx badreply
