#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# postfix-sender.sh: a *sending* Postfix instance inside the lab whose
# smtp client asks mtastsd for the TLS policy of each next-hop domain
# (smtp_tls_policy_maps = socketmap:...), and mtastsd itself. Run it
# inside tests/lab/run-in-lab.sh (it needs LAB_DIR, LAB_CA, LAB_RESOLVER
# and /etc/resolv.conf pointing at the lab's NSD, which run-in-lab.sh
# arranges).
#
#   postfix-sender.sh mtastsd-start [-o KEY=VALUE...]   start mtastsd
#   postfix-sender.sh mtastsd-stop
#   postfix-sender.sh start [PARAM=VALUE...]  write main.cf (plus these
#                               settings) and master.cf, start Postfix
#   postfix-sender.sh stop | status
#   postfix-sender.sh send [-n] [-f FROM] [-s SUBJECT] TO...
#                               submit one message with sendmail; prints
#                               its Message-ID, waits until it was tried
#                               (-n: does not wait; use settle)
#   postfix-sender.sh flush     retry every deferred message now and wait
#                               until each attempt has ended
#   postfix-sender.sh settle [SECONDS]   wait until nothing is in flight
#   postfix-sender.sh queue     postqueue -p (deferred mail with reasons)
#   postfix-sender.sh queue-ids queue ids of all queued messages
#   postfix-sender.sh log | logfile     the Postfix log / its path
#   postfix-sender.sh postconf ARGS...  postconf for this instance
#   postfix-sender.sh env       shell-sourceable paths (SENDER_*)
#
# Environment: SENDER_DIR ($LAB_DIR/sender), MTASTSD_BIN (for
# mtastsd-start), SENDER_MTASTSD_PORT (8461), SENDER_POLICY_MAP
# (socketmap:inet:127.0.0.1:PORT:postfix), SENDER_TIMEOUT (60 s per wait).
# Logs: $LAB_DIR/logs/sender-postfix.log and $LAB_DIR/logs/mtastsd.log.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${LAB_DIR:?postfix-sender.sh runs inside the lab (tests/lab/run-in-lab.sh)}"
dir=${SENDER_DIR:-$LAB_DIR/sender}
etc=$dir/etc
q=$dir/queue
log=$LAB_DIR/logs/sender-postfix.log
dlog=$LAB_DIR/logs/mtastsd.log
dpid=$dir/mtastsd.pid
port=${SENDER_MTASTSD_PORT:-8461}
policy_map=${SENDER_POLICY_MAP:-socketmap:inet:127.0.0.1:$port:postfix}
timeout=${SENDER_TIMEOUT:-60}
daemons=${LAB_POSTFIX_DAEMONS:-/usr/lib/postfix/sbin}

# Shared with lab.sh: postfix_base_services, postfix_dirs,
# postfix_backdate, pid_alive, read_pid, pidfile_alive, stop_pidfile.
saved_lab_dir=$LAB_DIR
# shellcheck source-path=SCRIPTDIR source=lab.sh
LAB_LIB_ONLY=1 . "$here/lab.sh"
LAB_DIR=$saved_lab_dir

die() {
	printf 'postfix-sender: %s\n' "$*" >&2
	exit 1
}

# The daemon's /proc comm (its file name, at most 15 characters).
dcomm() {
	cat "$dpid.comm" 2>/dev/null || echo mtastsd
}

cmd_mtastsd_start() {
	local bin=${MTASTSD_BIN:-} k
	[[ -n $bin && -x $bin ]] || die "set MTASTSD_BIN to the mtastsd binary"
	! pidfile_alive "$dpid" "$(dcomm)" || die "mtastsd already runs"
	mkdir -p "$dir"
	rm -f "$dir/control.sock"
	"$bin" -c /dev/null -o "listen=inet:127.0.0.1:$port" \
		-o "dns_resolver=$LAB_RESOLVER" -o "ca_file=$LAB_CA" \
		-o cache=memory -o "control_socket=$dir/control.sock" \
		-o log=stderr "$@" </dev/null >>"$dlog" 2>&1 &
	echo $! >"$dpid"
	basename "$bin" | cut -c1-15 >"$dpid.comm"
	for ((k = 0; k < timeout * 10; k++)); do
		pidfile_alive "$dpid" "$(dcomm)" ||
			{ tail -n 20 "$dlog" >&2; die "mtastsd exited at start"; }
		timeout 2 bash -c ": <>/dev/tcp/127.0.0.1/$port" 2>/dev/null &&
			return 0
		sleep 0.1
	done
	die "mtastsd does not listen on 127.0.0.1:$port"
}

cmd_mtastsd_stop() {
	stop_pidfile "$dpid" "$(dcomm)"
}

write_config() {
	local kv
	rm -rf "$dir/queue" "$dir/data" "$etc"
	postfix_dirs "$dir"
	cat >"$etc/main.cf" <<EOF
# The lab's sending Postfix (tests/lab/postfix-sender.sh).
compatibility_level = 3.6
queue_directory = $q
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.lab.test
mydomain = lab.test
myorigin = \$myhostname
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file = $log
maillog_file_prefixes = $LAB_DIR
notify_classes =
smtp_tls_security_level = may
smtp_tls_policy_maps = $policy_map
smtp_tls_CAfile = $LAB_CA
smtp_tls_loglevel = 1
smtp_connect_timeout = 5s
smtp_address_preference = ipv4
EOF
	for kv in "$@"; do
		[[ $kv == *=* ]] || die "start: '$kv' is not PARAM=VALUE"
		printf '%s\n' "$kv" >>"$etc/main.cf"
	done
	{
		printf '# No smtpd: mail comes in through sendmail only.\n'
		postfix_base_services
	} >"$etc/master.cf"
	postfix_backdate "$etc"
}

cmd_start() {
	local k
	[[ -x $daemons/master ]] || die "no Postfix ($daemons/master)"
	! pidfile_alive "$q/pid/master.pid" master ||
		die "the sending Postfix already runs"
	grep -qs "^nameserver $LAB_DNS_ADDR\$" /etc/resolv.conf ||
		echo "postfix-sender: warning: /etc/resolv.conf does not name the lab's DNS server" >&2
	write_config "$@"
	setsid "$daemons/master" -c "$etc" </dev/null \
		>"$LAB_DIR/logs/sender-postfix-start.log" 2>&1 &
	for ((k = 0; k < timeout * 10; k++)); do
		if pidfile_alive "$q/pid/master.pid" master &&
			[[ -e $q/public/pickup ]]; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 20 "$log" "$LAB_DIR/logs/sender-postfix-start.log" >&2 || true
	die "the sending Postfix did not start"
}

cmd_stop() {
	stop_pidfile "$q/pid/master.pid" master
}

cmd_status() {
	local rc=0
	if pidfile_alive "$q/pid/master.pid" master; then
		echo "sending postfix: running (pid $(read_pid "$q/pid/master.pid"))"
	else
		echo "sending postfix: not running"
		rc=3
	fi
	if pidfile_alive "$dpid" "$(dcomm)"; then
		echo "mtastsd: running (pid $(read_pid "$dpid")) on 127.0.0.1:$port"
	else
		echo "mtastsd: not running"
		rc=3
	fi
	return $rc
}

# Messages not yet deferred or gone: in maildrop, incoming or active.
in_flight() {
	find "$q/maildrop" "$q/incoming" "$q/active" -type f 2>/dev/null |
		grep -c . || true
}

cmd_settle() {
	local limit=${1:-$timeout} k
	for ((k = 0; k < limit * 10; k++)); do
		(($(in_flight) == 0)) && return 0
		sleep 0.1
	done
	die "mail still in flight after $limit s"
}

cmd_queue_ids() {
	find "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred" \
		"$q/hold" -type f -printf '%f\n' 2>/dev/null | sort
}

cmd_flush() {
	local off ids id k pending
	off=$(stat -c %s "$log" 2>/dev/null || echo 0)
	ids=$(find "$q/deferred" -type f -printf '%f\n' 2>/dev/null)
	postqueue -c "$etc" -f
	# Done when every message that was deferred has a new status line
	# (or has left the queue), and nothing else is in flight.
	for ((k = 0; k < timeout * 10; k++)); do
		pending=0
		for id in $ids; do
			[[ -n $(find "$q" -name "$id" -type f 2>/dev/null) ]] ||
				continue
			tail -c +"$((off + 1))" "$log" |
				grep -q " $id: .*status=" || pending=1
		done
		((pending == 0 && $(in_flight) == 0)) && return 0
		sleep 0.1
	done
	die "flush: deliveries still running after $timeout s"
}

cmd_send() {
	local from=sender@sender.lab.test subject='lab test message' mid opt
	local wait=1
	OPTIND=1
	while getopts nf:s: opt; do
		case $opt in
		n) wait=0 ;;
		f) from=$OPTARG ;;
		s) subject=$OPTARG ;;
		*) die "send [-n] [-f FROM] [-s SUBJECT] TO..." ;;
		esac
	done
	shift $((OPTIND - 1))
	(($# > 0)) || die "send: no recipient"
	mid="<$(date +%s).$$.$RANDOM@sender.lab.test>"
	{
		printf 'From: %s\n' "$from"
		printf 'To: %s\n' "$(
			IFS=,
			echo "$*"
		)"
		printf 'Subject: %s\n' "$subject"
		printf 'Message-ID: %s\n' "$mid"
		printf 'Date: %s\n' "$(date -R)"
		printf '\nA message from the mtasts lab (postfix-sender.sh).\n'
	} | sendmail -C "$etc" -f "$from" -- "$@"
	printf '%s\n' "$mid"
	((wait == 0)) || cmd_settle
}

cmd_env() {
	printf 'SENDER_DIR=%q\n' "$dir"
	printf 'SENDER_CONFIG=%q\n' "$etc"
	printf 'SENDER_LOG=%q\n' "$log"
	printf 'SENDER_MTASTSD_LOG=%q\n' "$dlog"
	printf 'SENDER_MTASTSD_PORT=%q\n' "$port"
	printf 'SENDER_CONTROL_SOCKET=%q\n' "$dir/control.sock"
}

cmd=${1:-}
(($# == 0)) || shift
case $cmd in
mtastsd-start) cmd_mtastsd_start "$@" ;;
mtastsd-stop) cmd_mtastsd_stop ;;
start) cmd_start "$@" ;;
stop) cmd_stop ;;
status) cmd_status ;;
send) cmd_send "$@" ;;
flush) cmd_flush ;;
settle) cmd_settle "$@" ;;
queue) postqueue -c "$etc" -p ;;
queue-ids) cmd_queue_ids ;;
log) cat "$log" ;;
logfile) printf '%s\n' "$log" ;;
postconf) postconf -c "$etc" "$@" ;;
env) cmd_env ;;
*)
	sed -n '/^#   postfix-sender/,/^#   postfix-sender.sh env/p' "$0" >&2
	exit 2
	;;
esac
