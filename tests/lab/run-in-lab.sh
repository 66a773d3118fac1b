#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run-in-lab.sh CMD [ARGS...]: run CMD with the lab's DNS and HTTPS servers
# up, in private network, mount and PID namespaces. The variables of the
# lab's env file (LAB_RESOLVER, LAB_CA, LAB_DIR, ...) are exported to CMD.
# Exits with CMD's status, or 77 (skip) when namespaces are unavailable.
#
# The lab directory ($MTASTS_LAB_DIR, default /tmp/mtasts-lab) is a private
# tmpfs inside the namespace, so several labs can run at once. Set
# LAB_KEEP_LOGS=DIR to copy the lab's logs to DIR on exit. In the namespace,
# /etc/resolv.conf is the lab's (nameserver $LAB_DNS_ADDR).
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
here=$(dirname "$self")

skip() {
	printf 'run-in-lab: %s (skipping)\n' "$*" >&2
	exit 77
}

if (($# == 0)); then
	echo "usage: run-in-lab.sh CMD [ARGS...]" >&2
	exit 2
fi

if [[ ${MTASTS_LAB_INSIDE:-} != "$$" ]]; then
	[[ $(id -u) == 0 ]] || skip "needs root for unshare"
	for t in unshare mount ip nsd nginx openssl dig curl; do
		command -v "$t" >/dev/null || skip "missing tool: $t"
	done
	unshare --net --mount --pid --fork --mount-proc true 2>/dev/null ||
		skip "unshare --net --mount --pid is not permitted here"
	# In the new PID namespace this script is PID 1; MTASTS_LAB_INSIDE=1
	# marks that. --kill-child: if unshare dies, the namespace dies too,
	# taking every lab process with it.
	exec env MTASTS_LAB_INSIDE=1 unshare --net --mount --pid --fork \
		--mount-proc --kill-child -- "$self" "$@"
fi
unset MTASTS_LAB_INSIDE

lab_dir=${MTASTS_LAB_DIR:-/tmp/mtasts-lab}
export MTASTS_LAB_DIR=$lab_dir

ip link set lo up
mkdir -p "$lab_dir"
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=1g mtasts-lab "$lab_dir"

# shellcheck disable=SC2317 # called through trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	"$here/lab.sh" stop || true
	if [[ -n ${LAB_KEEP_LOGS:-} && -d $lab_dir/logs ]]; then
		if mkdir -p "$LAB_KEEP_LOGS"; then
			cp -r "$lab_dir/logs/." "$LAB_KEEP_LOGS/" || true
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$here/lab.sh" start
# Programs that use the system resolver (Postfix) ask the lab's NSD. In
# this mount namespace only: the host's /etc/resolv.conf is untouched.
if [[ -f $lab_dir/resolv.conf ]]; then
	mount --bind "$lab_dir/resolv.conf" /etc/resolv.conf ||
		echo "run-in-lab: cannot mount $lab_dir/resolv.conf on /etc/resolv.conf" >&2
fi
set -a
# shellcheck source=/dev/null
. "$lab_dir/env"
set +a

rc=0
"$@" || rc=$?
exit "$rc"
