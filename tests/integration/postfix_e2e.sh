#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# postfix_e2e.sh: MTA-STS end to end with a real Postfix. Inside the lab
# (tests/lab/run-in-lab.sh), a sending Postfix whose smtp_tls_policy_maps
# asks mtastsd delivers one message to every scenario domain that has a
# `deliver` line in tests/lab/scenarios.bash, to the lab's MX hosts (a
# receiving Postfix). Checks, per domain, from the receiving side (the
# maildir and its Received header), the sender's queue (postqueue -p) and
# its log: "verified" mail arrived over a verified TLS connection,
# "delivered" mail arrived, "deferred" mail is still queued with a reason
# matching the scenario's regex. Then the policy of mx-change.test is
# changed in the lab (new TXT id, new policy body, NSD reloaded) and the
# deferred message must go out once mtastsd has seen the new id.
#
# Env: MTASTSD_BIN (default $MTASTS_BUILD_DIR/mtastsd), E2E_TXT_CHECK
# (mtastsd's txt_check_interval here, default 2s). Exit 77 (skip) without
# root, unshare, Postfix or the mtastsd binary. Last line: "N passed,
# M failed".
set -uo pipefail
export LC_ALL=C

self=$(readlink -f "${BASH_SOURCE[0]}")
src=${MTASTS_SRC_DIR:-$(cd "$(dirname "$self")/../.." && pwd)}
lab=$src/tests/lab

skip() {
	printf 'postfix_e2e: SKIP: %s\n' "$*"
	exit 77
}

if [[ -z ${LAB_RESOLVER:-} ]]; then
	[[ $(id -u) == 0 ]] || skip "needs root (unshare)"
	for t in unshare nsd nginx sendmail postqueue; do
		command -v "$t" >/dev/null || skip "missing $t"
	done
	[[ -x /usr/lib/postfix/sbin/master ]] || skip "Postfix is not installed"
	bin=${MTASTSD_BIN:-${MTASTS_BUILD_DIR:-$src/build}/mtastsd}
	[[ -x $bin ]] || skip "no mtastsd binary at $bin (set MTASTSD_BIN)"
	MTASTSD_BIN=$(readlink -f "$bin")
	export MTASTSD_BIN MTASTS_SRC_DIR=$src LAB_MX=1
	export MTASTS_LAB_DIR=${MTASTS_LAB_DIR:-/tmp/mtasts-lab-e2e}
	exec "$lab/run-in-lab.sh" "$self" "$@"
fi

# ---- inside the lab --------------------------------------------------------
[[ ${LAB_MX:-0} == 1 ]] || skip "the lab has no MX hosts (LAB_MX=0?)"
sender=$lab/postfix-sender.sh
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

finish() {
	trap - EXIT
	if ((fail > 0)); then
		echo "--- mtastsd log (tail)"
		tail -n 25 "$LAB_DIR/logs/mtastsd.log" 2>/dev/null
		echo "--- sending Postfix log (tail)"
		tail -n 25 "$("$sender" logfile)" 2>/dev/null
	fi
	"$sender" stop >/dev/null 2>&1
	"$sender" mtastsd-stop >/dev/null 2>&1
	echo "$pass passed, $fail failed"
	((fail == 0))
	exit $?
}
trap finish EXIT

if ! "$sender" mtastsd-start -o "txt_check_interval=${E2E_TXT_CHECK:-2s}"; then
	bad "mtastsd starts ($MTASTSD_BIN)"
	exit 1
fi
ok "mtastsd starts and listens"
if ! "$sender" start; then
	bad "the sending Postfix starts"
	exit 1
fi
ok "the sending Postfix starts"
log=$("$sender" logfile)

# Delivery expectations from the scenario table.
mapfile -t rows < <("$lab/lab.sh" mail)
((${#rows[@]} > 0)) || bad "lab.sh mail lists no deliver lines"

# The first message of each domain: submit all, then wait.
declare -A mid=()
for row in "${rows[@]}"; do
	IFS=$'\t' read -r d outcome re <<<"$row"
	mid[$d]=$("$sender" send -n -s "e2e $d" "user@$d") ||
		bad "$d: sendmail accepts the message"
done
t0=$SECONDS
if "$sender" settle 90; then
	ok "every message was tried ($((SECONDS - t0)) s)"
else
	bad "messages still in flight after 90 s"
fi
queue=$("$sender" queue 2>&1)

# Prints the file in $LAB_MX_MAIL/DOMAIN/new holding Message-ID $2.
arrived() {
	local d=$1 m=$2
	grep -lsF "Message-ID: $m" "$LAB_MX_MAIL/$d/new/"* 2>/dev/null | head -n 1
}

# Prints the sender's TLS summary ("Verified", "Trusted", "Untrusted",
# "Anonymous" or "none") for the delivery of user@DOMAIN: the TLS line the
# same smtp process logged since its previous delivery status.
tls_of_delivery() {
	awk -v rcpt="to=<user@$1>," '
		match($0, /postfix\/smtp\[[0-9]+\]/) {
			pid = substr($0, RSTART, RLENGTH)
			if ($0 ~ / TLS connection established to /) {
				for (i = 1; i <= NF; i++)
					if ($(i + 1) == "TLS" && $(i + 2) == "connection") {
						last[pid] = $i; break
					}
			} else if ($0 ~ / status=/) {
				if (index($0, rcpt) && $0 ~ /status=sent/) {
					print (pid in last ? last[pid] : "none"); exit
				}
				delete last[pid]
			}
		}' "$log"
}

# The TLS protocol the receiving smtpd recorded in the Received header of
# file $1 (smtpd_tls_received_header), or "none".
tls_received() {
	local p
	p=$(grep -oE '^[[:space:]]+\(using TLSv1(\.[0-9])?' "$1" | head -n 1)
	[[ -n $p ]] && echo "${p##* }" || echo none
}

# The block of `postqueue -p` for the message to user@DOMAIN.
queue_entry() {
	awk -v rcpt="user@$1" -v RS= 'index($0, rcpt)' <<<"$queue"
}

check_domain() { # domain outcome regex
	local d=$1 outcome=$2 re=$3 f tls entry reason
	f=$(arrived "$d" "${mid[$d]}")
	case $outcome in
	verified | delivered)
		if [[ -z $f ]]; then
			reason=$(queue_entry "$d" | grep -o '(.*)' | head -n 1)
			bad "$d: $outcome expected, not delivered ${reason:-(not in queue either)}"
			return
		fi
		tls=$(tls_of_delivery "$d")
		if [[ $outcome == verified ]]; then
			if [[ $tls == Verified && $(tls_received "$f") == TLSv1.[23] ]]; then
				ok "$d: delivered over verified TLS (receiver: $(tls_received "$f"))"
			else
				bad "$d: delivered, but TLS was '${tls:-?}' (receiver: $(tls_received "$f")), not Verified"
			fi
		else
			ok "$d: delivered (sender TLS: ${tls:-?}, receiver: $(tls_received "$f"))"
		fi
		;;
	deferred)
		entry=$(queue_entry "$d")
		if [[ -n $f ]]; then
			bad "$d: must stay deferred, but it was delivered (TLS: $(tls_of_delivery "$d"))"
		elif [[ -z $entry ]]; then
			bad "$d: must stay deferred, but it is not in the queue"
		else
			reason=$(tr -s ' \n' ' ' <<<"$entry" | grep -o '(.*)' | head -n 1)
			if [[ $re == - ]] || grep -qiE "$re" <<<"$reason"; then
				ok "$d: deferred $reason"
			else
				bad "$d: deferred, but the reason $reason does not match /$re/"
			fi
		fi
		;;
	esac
}

for row in "${rows[@]}"; do
	IFS=$'\t' read -r d outcome re <<<"$row"
	[[ -n ${mid[$d]:-} ]] && check_domain "$d" "$outcome" "$re"
done

# Postfix asked mtastsd (and not some other map) for each domain.
n_lookups=$(grep -c 'policy id .* mode ' "$LAB_DIR/logs/mtastsd.log" || true)
if ((n_lookups > 0)); then
	ok "mtastsd discovered $n_lookups policies for Postfix's lookups"
else
	bad "mtastsd logged no discovered policy"
fi

# ---- policy change: mx-change.test -------------------------------------------
d=mx-change.test
zone=$LAB_DIR/nsd/test.zone
www=$LAB_DIR/www/$d/.well-known/mta-sts.txt
if [[ -z ${mid[$d]:-} ]]; then
	bad "$d: no message was sent (deliver line missing?)"
else
	printf 'version: STSv1\r\nmode: enforce\r\nmx: good.mx.test\r\nmax_age: 86400\r\n' \
		>"$www.new" && mv "$www.new" "$www"
	sed -i 's/"v=STSv1; id=change1"/"v=STSv1; id=change2"/' "$zone"
	touch -d '+2 seconds' "$zone" # NSD reloads files whose mtime changed
	kill -HUP "$(cat "$LAB_DIR/nsd/nsd.pid")"
	t0=$SECONDS
	until dig +short +time=1 +tries=1 -p "$LAB_DNS_PORT" "@$LAB_DNS_ADDR" \
		TXT "_mta-sts.$d" | grep -q 'id=change2'; do
		((SECONDS - t0 < 10)) || break
		sleep 0.2
	done
	if dig +short -p "$LAB_DNS_PORT" "@$LAB_DNS_ADDR" TXT "_mta-sts.$d" |
		grep -q 'id=change2'; then
		ok "$d: the lab publishes id=change2 ($((SECONDS - t0)) s after SIGHUP)"
	else
		bad "$d: NSD does not serve the new TXT record"
	fi
	# Each flush makes Postfix look the domain up again; a lookup after
	# txt_check_interval makes mtastsd check the TXT record.
	t0=$SECONDS
	f=
	while ((SECONDS - t0 < 30)); do
		"$sender" flush || break
		f=$(arrived "$d" "${mid[$d]}")
		[[ -z $f ]] || break
		sleep 1
	done
	if [[ -n $f && $(tls_of_delivery "$d") == Verified ]]; then
		ok "$d: after the policy change the deferred message went out over verified TLS ($((SECONDS - t0)) s)"
	elif [[ -n $f ]]; then
		bad "$d: delivered after the change, but not over verified TLS"
	else
		queue=$("$sender" queue 2>&1)
		bad "$d: still not delivered 30 s after the change: $(queue_entry "$d" | tr -s ' \n' ' ')"
	fi
	if grep -q "$d: .*id change2" "$LAB_DIR/logs/mtastsd.log"; then
		ok "$d: mtastsd logged the new policy id change2"
	else
		bad "$d: mtastsd did not log policy id change2"
	fi
fi

if "$sender" status >/dev/null; then
	ok "mtastsd and the sending Postfix still run"
else
	bad "mtastsd or the sending Postfix died: $("$sender" status 2>&1 | tr '\n' ' ')"
fi
