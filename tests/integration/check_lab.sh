#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check_lab.sh: `mtasts check` and `mtasts scan` against the lab world's
# MX hosts (real Postfix smtpd services on 127.0.3.N:25) and policy hosts.
# For every lab domain below it asserts the exit status and a list of
# ID=STATE (or ID@MXHOST=STATE) items of `mtasts check --json`; then the
# --state file (a policy edited without a new id, MX drift), the text
# report, IDN and garbage input, and `mtasts scan` (JSON Lines, summary,
# the shared MX probed once). Final line: "N passed, M failed".
#
# Env: MTASTS_BIN (default $MTASTS_BUILD_DIR/mtasts). Exit 77 (skip)
# without root, unshare, nsd, nginx, jq, a built mtasts, or the lab MX
# hosts (Postfix).
set -uo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
src=${MTASTS_SRC_DIR:-$(cd "$(dirname "$self")/../.." && pwd)}
lab=$src/tests/lab

skip() {
	printf 'check_lab: SKIP: %s\n' "$*" >&2
	exit 77
}

if [[ -z ${LAB_RESOLVER:-} ]]; then
	[[ $(id -u) == 0 ]] || skip "needs root (unshare)"
	for t in unshare nsd nginx jq; do
		command -v "$t" >/dev/null || skip "missing $t"
	done
	bin=${MTASTS_BIN:-}
	if [[ -z $bin && -n ${MTASTS_BUILD_DIR:-} ]]; then
		bin=$MTASTS_BUILD_DIR/mtasts
	fi
	[[ -n $bin ]] || skip "set MTASTS_BIN or MTASTS_BUILD_DIR"
	[[ -x $bin ]] || skip "no mtasts binary at $bin"
	MTASTS_BIN=$(readlink -f "$bin")
	export MTASTS_BIN MTASTS_SRC_DIR=$src
	exec "$lab/run-in-lab.sh" "$self" "$@"
fi

# ---- inside the lab --------------------------------------------------------
[[ ${LAB_MX:-0} == 1 ]] || skip "the lab has no MX hosts (no Postfix?)"
work=$(mktemp -d "${TMPDIR:-/tmp}/check_lab.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$*"
}
m() { # mtasts with the lab's resolver and CA; short timeouts
	timeout 60 "$MTASTS_BIN" --resolver "$LAB_RESOLVER" --ca-file "$LAB_CA" \
		--timeout 8 "$@"
}

# has FILE ID[@MX]=STATE: some item has this id (and MX host) and state
has() {
	local f=$1 spec=$2 id mx state
	state=${spec##*=}
	id=${spec%=*}
	mx=
	if [[ $id == *@* ]]; then
		mx=${id#*@}
		id=${id%@*}
	fi
	jq -e --arg id "$id" --arg mx "$mx" --arg st "$state" \
		'[.items[] | select(.id == $id and .state == $st and
			($mx == "" or .mx == $mx))] | length > 0' "$f" >/dev/null
}

# expect DOMAIN EXIT SPEC...: check DOMAIN, compare exit and items
expect() {
	local d=$1 want=$2 rc spec f=$work/$1.json
	shift 2
	m --json check "$d" >"$f" 2>"$work/$d.err"
	rc=$?
	if [[ $rc == "$want" ]]; then ok; else
		bad "$d: exit $rc, want $want ($(head -c 300 "$work/$d.err"))"
	fi
	for spec in "$@"; do
		if has "$f" "$spec"; then ok; else
			bad "$d: no item $spec; got: $(jq -c '[.items[] |
				select(.state != "PASS" and .state != "INFO") |
				[.id, .state, .mx]]' "$f" 2>/dev/null | head -c 600)"
		fi
	done
}

# Both the good path and every failure the lab's MX hosts model.
expect mx-enforce-good.test 1 STS-TXT-VALID=PASS STS-HOST-RESOLVES=PASS \
	STS-CERT-VALID=PASS STS-HTTP-STATUS=PASS STS-POLICY-SYNTAX=PASS \
	STS-MODE=PASS STS-MX-COVERED@good.mx.test=PASS \
	RPT-TXT-PRESENT=WARN MX-SET=INFO MX-CONNECT=PASS MX-BANNER=PASS \
	MX-EHLO=PASS MX-STARTTLS=PASS MX-TLS-VERSION=PASS MX-TLS-OLD=PASS \
	MX-CERT-TRUSTED=PASS MX-CERT-NAME=PASS MX-CERT-EXPIRY=PASS \
	MX-CERT-KEY=PASS MX-CIPHER=INFO DANE-TLSA=INFO
# A domain that does everything right (TLS-RPT too): exit 0.
expect mx-complete.test 0 STS-TXT-VALID=PASS STS-MODE=PASS \
	STS-MX-COVERED@good.mx.test=PASS RPT-TXT-PRESENT=PASS \
	RPT-TXT-VALID=PASS MX-STARTTLS=PASS MX-CERT-NAME=PASS
expect mx-enforce-chain.test 1 MX-CERT-TRUSTED@chain.mx.test=PASS \
	MX-CERT-NAME=PASS
expect mx-enforce-twomx.test 1 MX-CONNECT@refused.mx.test=NOT-TESTED \
	MX-CERT-TRUSTED@good.mx.test=PASS
expect mx-enforce-tls10.test 1 MX-TLS-VERSION=PASS MX-TLS-OLD=WARN
expect mx-enforce-slow.test 1 MX-BANNER@slow.mx.test=PASS MX-CERT-NAME=PASS
expect mx-enforce-badcert.test 2 MX-CERT-NAME@wrongname.mx.test=FAIL \
	MX-CERT-TRUSTED=PASS
expect mx-enforce-expired.test 2 MX-CERT-EXPIRY@expired.mx.test=FAIL
expect mx-enforce-selfsigned.test 2 MX-CERT-TRUSTED@selfsigned.mx.test=FAIL
expect mx-enforce-nochain.test 2 MX-CERT-TRUSTED@nochain.mx.test=FAIL
expect mx-enforce-nostarttls.test 2 MX-STARTTLS@nostarttls.mx.test=FAIL
expect mx-enforce-refused.test 3 MX-CONNECT@refused.mx.test=NOT-TESTED
expect mx-enforce-busy.test 3 MX-BANNER@busy.mx.test=NOT-TESTED
expect mx-enforce-notinpolicy.test 2 STS-MX-COVERED@good.mx.test=FAIL \
	STS-MX-STALE=WARN MX-CERT-NAME=PASS
expect mx-testing-badcert.test 1 STS-MODE=INFO \
	MX-CERT-NAME@wrongname.mx.test=WARN
expect mx-testing-nostarttls.test 1 MX-STARTTLS@nostarttls.mx.test=WARN
expect mx-none.test 1 MX-CERT-NAME=WARN
expect mx-nopolicy.test 0 STS-TXT-PRESENT=INFO RPT-TXT-PRESENT=INFO \
	MX-CERT-NAME@good.mx.test=PASS
expect mx-nopolicy-badcert.test 1 STS-TXT-PRESENT=INFO MX-CERT-NAME=WARN
expect mx-shared1.test 1 MX-CERT-NAME@shared.mx.test=PASS
expect mx-change.test 2 STS-MX-COVERED@good.mx.test=FAIL STS-MX-STALE=WARN
# Policy-host failures seen through check (no MX records: implicit MX).
expect redirect301.test 2 STS-HTTP-REDIRECT=FAIL MX-IMPLICIT=WARN
expect ctype.test 2 STS-HTTP-CTYPE=FAIL
expect wrongname.test 2 STS-CERT-VALID=FAIL
expect expired.test 2 STS-CERT-VALID=FAIL STS-CERT-EXPIRY=FAIL
expect twotxt.test 2 STS-TXT-SINGLE=FAIL
expect badid.test 2 STS-TXT-VALID=FAIL
expect notfound404.test 2 STS-HTTP-STATUS=FAIL
expect bigbody.test 2 STS-HTTP-SIZE=FAIL
expect emptybody.test 2 STS-POLICY-SYNTAX=FAIL
expect hostnx.test 2 STS-HOST-RESOLVES=FAIL
expect dnsfail.test 3 STS-TXT-PRESENT=NOT-TESTED MX-SET=NOT-TESTED

# Hostile MX hosts (tests/lab/hostile-smtp.py): each cut off by a limit
# or a timer with a clear state; --timeout 3 keeps the waits short.
hostile() { # DOMAIN EXIT SPEC
	local d=$1 want=$2 spec=$3 rc f=$work/$1.json
	timeout 60 "$MTASTS_BIN" --resolver "$LAB_RESOLVER" --ca-file "$LAB_CA" \
		--timeout 3 --json check "$d" >"$f" 2>/dev/null
	rc=$?
	if [[ $rc == "$want" ]] && has "$f" "$spec"; then ok; else
		bad "$d: exit $rc (want $want), $spec: $(jq -c '[.items[] |
			select(.group == "mx" and .state != "PASS" and
			.state != "INFO") | [.id, .state]]' "$f" 2>/dev/null)"
	fi
}
if grep -q '^scenario mx-hostile-endless.test' "$lab/scenarios.bash"; then
	hostile mx-hostile-endless.test 2 MX-BANNER@endless.mx.test=FAIL
	hostile mx-hostile-giantline.test 2 MX-BANNER@giantline.mx.test=FAIL
	hostile mx-hostile-drip.test 3 MX-BANNER@drip.mx.test=NOT-TESTED
	hostile mx-hostile-silent.test 3 MX-BANNER@silent.mx.test=NOT-TESTED
	hostile mx-hostile-tlsalert.test 2 MX-TLS-VERSION@tlsalert.mx.test=FAIL
	hostile mx-hostile-garbage.test 2 MX-BANNER@garbage.mx.test=FAIL
	hostile mx-hostile-badreply.test 2 MX-EHLO@badreply.mx.test=FAIL
fi

# A banner slower than --timeout: could not test (exit 3), not a failure.
timeout 60 "$MTASTS_BIN" --resolver "$LAB_RESOLVER" --ca-file "$LAB_CA" \
	--timeout 1.5 --json check mx-enforce-slow.test >"$work/slow.json"
rc=$?
if [[ $rc == 3 ]] && has "$work/slow.json" MX-BANNER@slow.mx.test=NOT-TESTED
then ok; else bad "slow banner with --timeout 1.5: exit $rc"; fi

# The testing-mode message says what would fail once enforced.
if jq -e '[.items[] | select(.id == "MX-CERT-NAME") |
	.message | test("FAIL once the policy is switched to enforce")] |
	any' "$work/mx-testing-badcert.test.json" >/dev/null; then ok; else
	bad "testing mode: no 'would FAIL once enforced' note"
fi
# JSON schema: fixed top-level members and item members.
if jq -e 'has("domain") and has("status") and has("exit") and
	has("counts") and has("facts") and has("sts_id") and
	has("policy_sha256") and has("mx") and (.items | all(has("id") and
	has("group") and has("state") and has("mx") and has("ip") and
	has("message")))' "$work/mx-enforce-good.test.json" >/dev/null; then
	ok
else bad "JSON schema of mx-enforce-good.test"; fi

# --state: first run remembers; a state with the same id but another
# body hash warns (policy edited without a new id); another MX set warns.
st=$work/state.json
m --state "$st" --json check mx-enforce-good.test >"$work/s1.json"
if has "$work/s1.json" STS-STATE-ID=INFO && [[ -s $st ]]; then ok; else
	bad "state: first run"; fi
m --state "$st" --json check mx-enforce-good.test >"$work/s2.json"
if has "$work/s2.json" STS-STATE-ID=PASS &&
	has "$work/s2.json" STS-STATE-MX=PASS; then ok; else
	bad "state: second run"; fi
jq '.domains["mx-enforce-good.test"].policy_sha256 = "00" |
	.domains["mx-enforce-good.test"].mx = ["old.mx.test"]' "$st" \
	>"$st.new" && mv "$st.new" "$st"
m --state "$st" --json check mx-enforce-good.test >"$work/s3.json"
if has "$work/s3.json" STS-STATE-ID=WARN &&
	has "$work/s3.json" STS-STATE-MX=WARN; then ok; else
	bad "state: edited body / MX drift not reported"; fi

# Text report: grouped, no colour when not a terminal.
m check mx-enforce-nostarttls.test >"$work/text" 2>&1
if grep -q '^  MX hosts$' "$work/text" &&
	grep -q 'FAIL .*MX-STARTTLS \[nostarttls.mx.test 127.0.3.3\]' \
		"$work/text" && ! grep -q $'\033' "$work/text"; then ok; else
	bad "text report: $(head -c 300 "$work/text")"; fi

# IDN in Unicode is converted; garbage is a usage error.
m --json check "MX-ENFORCE-GOOD.test." >"$work/idn.json"
if [[ $(jq -r .domain "$work/idn.json") == mx-enforce-good.test ]]; then
	ok; else bad "upper case / trailing dot not normalised"; fi
m --json check "bücher.test" >"$work/idn2.json" 2>/dev/null
if [[ $(jq -r .domain "$work/idn2.json") == xn--bcher-kva.test ]]; then
	ok; else bad "IDN not converted: $(head -c 200 "$work/idn2.json")"; fi
for g in "a..b" "$(printf 'x%.0s' {1..300}).test" "-bad.test" "a b"; do
	m check "$g" >/dev/null 2>&1
	rc=$?
	if [[ $rc == 2 ]]; then ok; else bad "garbage '$g': exit $rc"; fi
done

# scan: JSON Lines, bad lines reported, summary, shared MX probed once.
{
	echo "# comment"
	echo ""
	for d in mx-shared1.test mx-shared2.test mx-shared3.test \
		mx-enforce-good.test mx-nopolicy.test mx-enforce-nostarttls.test; do
		echo "$d"
	done
	echo "not a domain"
} >"$work/list"
m scan --concurrency 4 "$work/list" >"$work/scan.out" 2>"$work/scan.err"
rc=$?
if [[ $rc == 1 ]]; then ok; else bad "scan: exit $rc, want 1 (bad line)"; fi
if [[ $(jq -c 'select(.status)' "$work/scan.out" | wc -l) == 6 ]] &&
	[[ $(jq -c 'select(.error)' "$work/scan.out" | wc -l) == 1 ]]; then
	ok
else bad "scan: JSON lines: $(head -c 300 "$work/scan.out")"; fi
if grep -q 'every MX offers STARTTLS' "$work/scan.err" &&
	grep -q 'Scanned 6 domains' "$work/scan.err"; then ok; else
	bad "scan: summary: $(head -c 400 "$work/scan.err")"; fi
# Postfix logs one connect per probe connection; the shared MX
# (127.0.3.12) is probed by one main and one old-TLS connection only.
n=$(grep -c 'connect from .*\[127\.0\.0\.1\]' "${LAB_MX_LOG:-/dev/null}" 2>/dev/null)
shared=$(grep -cE ' shared postfix/smtpd\[[0-9]+\]: connect from' \
	"${LAB_MX_LOG:-/dev/null}" 2>/dev/null)
if [[ -n ${LAB_MX_LOG:-} && -f $LAB_MX_LOG ]]; then
	# shared.mx.test was checked by 3 domains in the scan (and by
	# mx-shared1 once before): at most 2 runs x 2 connections.
	if ((shared >= 2 && shared <= 4)); then ok; else
		bad "shared MX: $shared connections (want <= 4; log total $n)"
	fi
fi
m --summary-only --json scan - <"$work/list" >"$work/sum.json" 2>/dev/null
if [[ $(jq -r .domains "$work/sum.json") == 6 ]] &&
	[[ $(jq -r .sts_enforce "$work/sum.json") == 4 ]]; then ok; else
	bad "scan --summary-only --json: $(head -c 300 "$work/sum.json")"; fi
: >"$work/empty"
m scan --summary-only "$work/empty" >"$work/empty.out" 2>&1
rc=$?
if [[ $rc == 0 ]] && grep -q 'Scanned 0 domains' "$work/empty.out"; then
	ok
else bad "scan of an empty file: exit $rc"; fi

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
