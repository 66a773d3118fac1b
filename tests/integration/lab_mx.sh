#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lab_mx.sh: the lab's MX hosts behave as tests/lab/scenarios.bash says
# (checked with openssl s_client and python3, not with mtasts): certificate
# verification result per host, TLS versions, no STARTTLS, slow greeting,
# 421 at connect, connection refused, MX records of the mx-* scenarios and
# of mixed bulk domains, and delivery into the per-domain maildir. Runs
# itself inside tests/lab/run-in-lab.sh (LAB_BULK=42 LAB_BULK_MIX=1).
# Exit 77 without root, unshare, Postfix or python3. Last line: "N passed,
# M failed".
set -uo pipefail
export LC_ALL=C

self=$(readlink -f "${BASH_SOURCE[0]}")
src=${MTASTS_SRC_DIR:-$(cd "$(dirname "$self")/../.." && pwd)}
lab=$src/tests/lab

skip() {
	printf 'lab_mx: SKIP: %s\n' "$*"
	exit 77
}

if [[ -z ${LAB_RESOLVER:-} ]]; then
	[[ $(id -u) == 0 ]] || skip "needs root (unshare)"
	for t in unshare nsd nginx python3 openssl; do
		command -v "$t" >/dev/null || skip "missing $t"
	done
	[[ -x /usr/lib/postfix/sbin/master ]] || skip "Postfix is not installed"
	export MTASTS_SRC_DIR=$src LAB_MX=1 LAB_BULK=42 LAB_BULK_MIX=1
	export MTASTS_LAB_DIR=${MTASTS_LAB_DIR:-/tmp/mtasts-lab-mx}
	exec "$lab/run-in-lab.sh" "$self" "$@"
fi

pass=0
fail=0
ok() {
	pass=$((pass + 1))
	printf 'ok   - %s\n' "$*"
}
bad() {
	fail=$((fail + 1))
	printf 'FAIL - %s\n' "$*"
}

# same GOT WANT OK-MESSAGE FAIL-MESSAGE
same() {
	if [[ $1 == "$2" ]]; then ok "$3"; else bad "$4"; fi
}

# "code N" (openssl's verify result) or "handshake failed" or "no starttls"
tls_probe() { # host addr [s_client options...]
	local host=$1 addr=$2 out
	shift 2
	out=$(timeout 15 openssl s_client -connect "$addr:25" -starttls smtp \
		-servername "$host" -verify_hostname "$host" -CAfile "$LAB_CA" \
		"$@" </dev/null 2>&1)
	if grep -q "Didn't find STARTTLS" <<<"$out"; then
		echo "no starttls"
	elif grep -qE '^New, TLSv' <<<"$out" &&
		grep -qE 'Verify return code: [0-9]+' <<<"$out"; then
		echo "code $(grep -oE 'Verify return code: [0-9]+' <<<"$out" | tail -n 1 | grep -oE '[0-9]+$')"
	else
		echo "handshake failed"
	fi
}

# python3: "BANNER <seconds> <first reply line>" or "ERROR <exception>"
banner() { # addr
	python3 - "$1" <<'PY'
import socket, sys, time
t = time.time()
try:
    s = socket.create_connection((sys.argv[1], 25), timeout=20)
    line = s.makefile("rb").readline().decode("ascii", "replace").strip()
    print("BANNER %.1f %s" % (time.time() - t, line))
except Exception as e:
    print("ERROR %s" % type(e).__name__)
PY
}

# python3: "OK detail" if the hostile server at ADDR behaves as KIND says.
hostile_probe() { # addr kind
	python3 - "$1" "$2" <<'PY'
import re, socket, sys, time
addr, kind = sys.argv[1], sys.argv[2]
s = socket.create_connection((addr, 25), timeout=10)
def recv_until(n, limit):
    buf = b""; end = time.time() + limit
    while len(buf) < n and time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
    return buf
t = time.time()
if kind == "endless":
    b = recv_until(200000, 5)
    lines = b.split(b"\r\n")[:-1]
    ok = len(lines) >= 1000 and all(l.startswith(b"220-") for l in lines)
    print("%s %d lines of 220- in %.1f s" % ("OK" if ok else "BAD", len(lines), time.time() - t))
elif kind == "giantline":
    b = recv_until(200000, 5)
    ok = b.startswith(b"220 ") and b"\n" not in b and len(b) >= 200000
    print("%s %d bytes without a line end" % ("OK" if ok else "BAD", len(b)))
elif kind == "drip":
    b = recv_until(3, 10)
    dt = time.time() - t
    print("%s %r took %.1f s" % ("OK" if b == b"220" and dt >= 1.5 else "BAD", b, dt))
elif kind == "silent":
    b = recv_until(1, 2)
    print("%s %d bytes in 2 s" % ("OK" if not b else "BAD", len(b)))
elif kind == "garbage":
    b = recv_until(4096, 3)
    ok = len(b) > 0 and not re.match(rb"^[0-9]{3}[ -]", b)
    print("%s %d bytes, not an SMTP reply" % ("OK" if ok else "BAD", len(b)))
elif kind == "badreply":
    g = recv_until(5, 3)
    s.sendall(b"EHLO probe.lab.test\r\n")
    r = recv_until(10, 3)
    ok = g.startswith(b"220 ") and r and not re.match(rb"^[0-9]{3}[ -]", r)
    print("%s greeting %r, EHLO reply %r" % ("OK" if ok else "BAD", g[:4], r[:20]))
PY
}

# Expected verify codes: 0 ok, 10 expired, 18 self-signed, 21 unable to
# verify the first certificate, 62 hostname mismatch.
declare -A want_code=([ok]=0 [chain]=0 [expired]=10 [selfsigned]=18
	[nochain]=21 [wrongname]=62)

[[ ${LAB_MX:-0} == 1 ]] || { bad "the lab started without MX hosts"; exit 1; }
while IFS=$'\t' read -r name addr cert kind _; do
	[[ $name != name ]] || continue
	case $kind in
	starttls)
		r=$(tls_probe "$name" "$addr")
		same "$r" "code ${want_code[$cert]}" "$name ($cert): verify $r" \
			"$name ($cert): verify gave '$r', want code ${want_code[$cert]}"
		r=$(tls_probe "$name" "$addr" -tls1 -cipher 'DEFAULT:@SECLEVEL=0')
		same "$r" "handshake failed" "$name: TLS 1.0 refused" \
			"$name: TLS 1.0 not refused ($r)"
		;;
	tls10)
		for v in tls1 tls1_1 tls1_2 tls1_3; do
			r=$(tls_probe "$name" "$addr" "-$v" -cipher 'DEFAULT:@SECLEVEL=0')
			same "$r" "code 0" "$name: -$v accepted, verify ok" \
				"$name: -$v gave '$r'"
		done
		;;
	plain)
		r=$(tls_probe "$name" "$addr")
		same "$r" "no starttls" "$name: no STARTTLS offered" \
			"$name: want no STARTTLS, got '$r'"
		;;
	slow)
		r=$(banner "$addr")
		read -r _ secs line <<<"$r"
		if [[ $r == BANNER* && ${secs%.*} -ge $((LAB_MX_SLOW - 1)) && $line == 220* ]]; then
			ok "$name: 220 greeting after $secs s"
		else
			bad "$name: want a 220 greeting after ~$LAB_MX_SLOW s, got '$r'"
		fi
		;;
	busy)
		r=$(banner "$addr")
		if [[ $r == "BANNER "*" 421 "* ]]; then
			ok "$name: ${r#BANNER * }"
		else
			bad "$name: want 421 at connect, got '$r'"
		fi
		;;
	refused)
		r=$(banner "$addr")
		same "$r" "ERROR ConnectionRefusedError" "$name: connection refused" \
			"$name: want connection refused, got '$r'"
		;;
	tlsalert)
		out=$(timeout 15 openssl s_client -connect "$addr:25" -starttls smtp \
			</dev/null 2>&1)
		if grep -q 'alert handshake failure' <<<"$out"; then
			ok "$name: fatal alert (handshake failure) after STARTTLS"
		else
			bad "$name: no handshake-failure alert: $(grep -m 1 -i 'error\|alert' <<<"$out")"
		fi
		;;
	endless | giantline | drip | silent | garbage | badreply)
		r=$(hostile_probe "$addr" "$kind")
		if [[ $r == OK* ]]; then
			ok "$name: ${r#OK }"
		else
			bad "$name ($kind): ${r#BAD }"
		fi
		;;
	esac
	r=$(dig +short -p "$LAB_DNS_PORT" "@$LAB_DNS_ADDR" A "$name")
	[[ $r == "$addr" ]] || bad "$name: A record '$r', want $addr"
done <"$LAB_MX_HOSTS"

# MX records of the mx-* scenarios match their policies' mx lines.
n=0
while IFS=$'\t' read -r d _; do
	mx=$(dig +short -p "$LAB_DNS_PORT" "@$LAB_DNS_ADDR" MX "$d" | wc -l)
	((mx > 0)) || bad "$d: no MX record"
	n=$((n + 1))
done < <("$lab/lab.sh" mail)
((n > 0)) && ok "$n deliver scenarios, each with an MX record"

# Bulk domains: MX as bulk-mx.tsv says; the mix has the bad cases.
wrong=0
while IFS=$'\t' read -r d h; do
	r=$(dig +short -p "$LAB_DNS_PORT" "@$LAB_DNS_ADDR" MX "$d")
	[[ $r == "10 $h." ]] || { wrong=$((wrong + 1)); bad "$d: MX '$r', want 10 $h."; }
done <"${LAB_BULK_MX:?}"
((wrong == 0)) && ok "$(wc -l <"$LAB_BULK_MX") bulk domains have the MX of bulk-mx.tsv"
for h in expired.mx.test refused.mx.test good.mx-elsewhere.test bulk4.mx.test; do
	if grep -q $'\t'"$h"'$' "$LAB_BULK_MX"; then
		ok "LAB_BULK_MIX=1 uses $h"
	else
		bad "LAB_BULK_MIX=1 does not use $h"
	fi
done

# Delivery into the maildir of the recipient's domain (plain SMTP).
python3 - <<'PY' || bad "python smtplib delivery to good.mx.test failed"
import smtplib
s = smtplib.SMTP("127.0.3.1", 25, timeout=20)
s.sendmail("probe@lab.test", ["someone@mx-enforce-good.test",
                              "other@bulk00001.test"],
           "Subject: lab_mx probe\r\n\r\nhello\r\n")
s.quit()
PY
for d in mx-enforce-good.test bulk00001.test; do
	for ((k = 0; k < 50; k++)); do
		grep -qs 'Subject: lab_mx probe' "$LAB_MX_MAIL/$d/new/"* && break
		sleep 0.1
	done
	if grep -qs 'Subject: lab_mx probe' "$LAB_MX_MAIL/$d/new/"*; then
		ok "mail for $d lands in \$LAB_MX_MAIL/$d/new"
	else
		bad "mail for $d did not arrive in \$LAB_MX_MAIL/$d/new"
	fi
done

echo "$pass passed, $fail failed"
((fail == 0))
