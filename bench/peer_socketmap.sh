#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# peer_socketmap.sh: socketmap figures for mtastsd and for the Python peer
# (Debian's postfix-mta-sts-resolver, whose mta-sts-daemon serves the same
# protocol), measured in one run, on the same machine, against the same lab
# (real NSD and nginx on loopback, in private namespaces; tests/lab), with
# our own load generator (bench_socketmap).
#
#   usage: bench/peer_socketmap.sh
#
# Environment (all optional):
#   BENCH_BIN       bench_socketmap (default build/bench_socketmap)
#   MTASTSD_BIN     mtastsd (default build/mtastsd); when it is missing,
#                   only the peer is measured and the output says so
#   PEER_BIN        mta-sts-daemon (default /usr/bin/mta-sts-daemon)
#   LAB_BULK        lab bulk domains, for the cold run (default 1000)
#   BENCH_KEYS      distinct keys of the cached runs (default 100)
#   BENCH_DURATION  seconds per cached run (default 10)
#   BENCH_CONNS     connection counts of the cached runs (default "1 20 200")
#   BENCH_COLD_CONC connections of the cold run (default 50)
#   BENCH_THREADS   load generator threads (default 1)
#   BENCH_PIPELINE  also a cached run at 20 connections with this many
#                   requests in flight on each (default 8; 0: skip). Postfix
#                   itself waits for each reply; this shows the capacity
#                   left once the client's wake-ups are amortised
#   BENCH_REPEAT    rounds of the cached runs (default 3); the summary shows
#                   the round with the median throughput per server and
#                   connection count (the machine is shared: noisy)
#   BENCH_OUT       also append every raw JSON result to this file
#
# What it does, inside the lab's namespaces:
#  1. points /etc/resolv.conf at the lab's NSD with a private bind mount
#     (the peer resolves with c-ares and getaddrinfo, which both read it;
#     the mount is visible only inside the lab's mount namespace) and makes
#     the peer trust the lab's CA through SSL_CERT_FILE (aiohttp uses
#     Python's ssl default context, which loads OpenSSL's default paths);
#  2. starts mta-sts-daemon (internal cache, strict_testing false) and
#     mtastsd (-o cache=memory) in the foreground on 127.0.0.1;
#  3. cached lookups: asks every key once (fills the caches, checks that
#     each answer is OK), then for each connection count, per server in
#     turn: a 2 s warm-up and a measured run of BENCH_DURATION seconds,
#     BENCH_REPEAT rounds interleaved so that both see the same noise;
#  4. cold lookups: restarts each server with an empty cache and asks all
#     LAB_BULK domains once each at BENCH_COLD_CONC connections, checking
#     that all answers are OK; reports the server's RSS afterwards.
# Needs root (namespaces). Exits 77 when the lab cannot run here.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
top=$(cd "$(dirname "$self")/.." && pwd)

if [[ ${1:-} != --inside ]]; then
	export BENCH_BIN=${BENCH_BIN:-$top/build/bench_socketmap}
	export MTASTSD_BIN=${MTASTSD_BIN:-$top/build/mtastsd}
	export PEER_BIN=${PEER_BIN:-/usr/bin/mta-sts-daemon}
	export LAB_BULK=${LAB_BULK:-1000}
	[[ -x $BENCH_BIN ]] || { echo "build bench_socketmap first ($BENCH_BIN)" >&2; exit 2; }
	[[ -x $PEER_BIN ]] || {
		echo "peer missing: apt-get install postfix-mta-sts-resolver" >&2
		exit 77
	}
	exec "$top/tests/lab/run-in-lab.sh" "$self" --inside
fi

# ---- inside the lab --------------------------------------------------------
keys_n=${BENCH_KEYS:-100}
dur=${BENCH_DURATION:-10}
conns=${BENCH_CONNS:-1 20 200}
cold_c=${BENCH_COLD_CONC:-50}
threads=${BENCH_THREADS:-1}
repeat=${BENCH_REPEAT:-3}
pipe=${BENCH_PIPELINE:-8}
peer_port=18461
ours_port=18462
work=$LAB_DIR/peer-bench
mkdir -p "$work"
results=$work/results.jsonl
: >"$results"

log() { printf '%s\n' "$*" >&2; }

[[ ${LAB_DNS_PORT:-53} == 53 ]] ||
	{ log "the peer needs the lab's DNS on port 53"; exit 77; }
printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$LAB_DNS_ADDR" \
	>"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf

# NSD's response rate limiting (on by default: 200 answers/s per /24 and
# answer class) drops "nodata" answers (AAAA of the policy hosts) from
# 127.0.0.0/24 during the cold run, which turns into 1-2 s resolver
# retries on both servers: a lab artefact, not a property of either
# server. Turn it off for this run unless the lab already sets it.
nsd_conf=$LAB_DIR/nsd/nsd.conf
if [[ -f $nsd_conf ]] && ! grep -q 'rrl-ratelimit' "$nsd_conf"; then
	sed -i 's/^server:$/server:\n\trrl-ratelimit: 0/' "$nsd_conf"
	nsd_pid=$(cat "$LAB_DIR/nsd/nsd.pid")
	kill -TERM "$nsd_pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$nsd_pid" 2>/dev/null || break
		sleep 0.1
	done
	nsd -c "$nsd_conf" >>"$LAB_DIR/logs/nsd.log" 2>&1
	for ((i = 0; i < 100; i++)); do
		dig +short +time=1 +tries=1 @"$LAB_DNS_ADDR" -p "${LAB_DNS_PORT:-53}" \
			TXT "_mta-sts.$(head -n1 "$LAB_BULK_DOMAINS")" | grep -q STSv1 && break
		sleep 0.1
	done
	log "lab: NSD restarted with rrl-ratelimit: 0"
fi

have_ours=0
[[ -x $MTASTSD_BIN ]] && have_ours=1

# The cached keys: the first BENCH_KEYS bulk domains; the cold keys: all.
head -n "$keys_n" "$LAB_BULK_DOMAINS" >"$work/keys-cached.txt"
cp "$LAB_BULK_DOMAINS" "$work/keys-cold.txt"
((keys_n <= LAB_BULK)) || { log "BENCH_KEYS > LAB_BULK"; exit 2; }

cat >"$work/mta-sts-daemon.yml" <<EOF
host: 127.0.0.1
port: $peer_port
reuse_port: true
shutdown_timeout: 2
cache:
  type: internal
  options:
    cache_size: 100000
default_zone:
  strict_testing: false
  timeout: 4
EOF

declare -A pid
wait_port() { # PORT: wait up to 10 s for a listener
	local i
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
start() { # peer|ours
	case $1 in
	peer)
		SSL_CERT_FILE=$LAB_CA "$PEER_BIN" -c "$work/mta-sts-daemon.yml" \
			-v warn -l "$work/peer.log" &
		pid[peer]=$!
		wait_port "$peer_port" || { log "peer did not start"; exit 1; }
		;;
	ours)
		"$MTASTSD_BIN" -o "listen=inet:127.0.0.1:$ours_port" \
			-o "dns_resolver=$LAB_RESOLVER" -o "ca_file=$LAB_CA" \
			-o cache=memory 2>>"$work/ours.log" &
		pid[ours]=$!
		wait_port "$ours_port" || { log "mtastsd did not start"; exit 1; }
		;;
	esac
}
stop() { # peer|ours
	local p=${pid[$1]:-}
	[[ -n $p ]] || return 0
	kill -TERM "$p" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	pid[$1]=
}
cleanup() { stop peer; stop ours; }
trap cleanup EXIT
port_of() { [[ $1 == peer ]] && echo "$peer_port" || echo "$ours_port"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/${pid[$1]}/status"; }

# bench WHO PHASE ARGS...: run the load generator, tag and keep its JSON.
bench() {
	local who=$1 phase=$2 out
	shift 2
	out=$("$BENCH_BIN" --json -t "$threads" "$@" "127.0.0.1:$(port_of "$who")") || true
	[[ -n $out ]] || { log "bench_socketmap failed ($who $phase)"; exit 1; }
	jq -c --arg who "$who" --arg phase "$phase" \
		'{who: $who, phase: $phase} + .' <<<"$out" | tee -a "$results"
}
# fill WHO PHASE KEYSFILE N CONNS: ask each key once; all must be OK.
fill() {
	local line ok
	line=$(bench "$1" "$2" -f "$3" -n "$4" -c "$5" -d 300 -T 30)
	ok=$(jq '.verbs.OK' <<<"$line")
	[[ $ok == "$4" ]] || log "$1: only $ok of $4 answers were OK"
}
# One reply, as Postfix would see it (for the record).
show_reply() {
	/usr/bin/python3 - "$(port_of "$1")" "$2" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
q = ("postfix " + sys.argv[2]).encode()
s.sendall(b"%d:%s," % (len(q), q))
buf = b""
while not buf.endswith(b","):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode(errors="replace"))
EOF
}

servers=(peer)
((have_ours)) && servers+=(ours)

log "== versions"
peer_ver=$(dpkg-query -W -f '${Version}' postfix-mta-sts-resolver 2>/dev/null || echo unknown)
log "postfix-mta-sts-resolver $peer_ver (uvloop: $(/usr/bin/python3 -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo no))"
((have_ours)) || log "mtastsd not found at $MTASTSD_BIN: measuring the peer only"
log "cpus: $(nproc); load generator threads: $threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

for s in "${servers[@]}"; do start "$s"; done
for s in "${servers[@]}"; do
	log "$s: $(show_reply "$s" "$(head -n1 "$work/keys-cached.txt")")"
done

log "== cached lookups ($keys_n keys, ${dur}s per run)"
for s in "${servers[@]}"; do
	fill "$s" fill "$work/keys-cached.txt" "$keys_n" 20 >/dev/null
done
for ((r = 1; r <= repeat; r++)); do
	for c in $conns; do
		for s in "${servers[@]}"; do
			"$BENCH_BIN" -c "$c" -d 2 -f "$work/keys-cached.txt" \
				"127.0.0.1:$(port_of "$s")" >/dev/null || true
			bench "$s" "cached-c$c" -c "$c" -d "$dur" \
				-f "$work/keys-cached.txt" >/dev/null
		done
	done
	((pipe > 0)) || continue
	for s in "${servers[@]}"; do
		bench "$s" "cached-c20-p$pipe" -c 20 -p "$pipe" -d "$dur" \
			-f "$work/keys-cached.txt" >/dev/null
	done
done
log "load average after the cached runs: $(cut -d' ' -f1-3 /proc/loadavg)"

log "== cold lookups ($LAB_BULK distinct domains, $cold_c connections)"
for s in "${servers[@]}"; do
	stop "$s"
done
for s in "${servers[@]}"; do
	start "$s"
	fill "$s" "cold-c$cold_c" "$work/keys-cold.txt" "$LAB_BULK" \
		"$cold_c" >/dev/null
	jq -c --arg who "$s" --argjson kb "$(rss_kb "$s")" --argjson n "$LAB_BULK" \
		'{who: $who, phase: "rss-after-cold", entries: $n, rss_kb: $kb}' \
		<<<'{}' >>"$results"
	stop "$s"
done

[[ -n ${BENCH_OUT:-} ]] && cat "$results" >>"$BENCH_OUT"

# ---- summary ---------------------------------------------------------------
log ""
printf '%-7s %-14s %6s %12s %9s %9s %9s %9s %7s %5s %s\n' server phase \
	conns replies/s p50_ms p90_ms p99_ms p99.9_ms errors runs verbs
jq -r -s 'map(select(.replies != null)) | group_by(.who + .phase) |
	map(sort_by(.replies_per_s) | .[length / 2 | floor] + {runs: length}) |
	sort_by(.connections, .phase, .who) | .[] |
	[.who, .phase, .connections, (.replies_per_s | floor),
	 .latency_ms.p50, .latency_ms.p90, .latency_ms.p99,
	 .latency_ms["p99.9"], .errors, .runs,
	 (.verbs | to_entries | map(select(.value > 0) |
	   "\(.key)=\(.value)") | join(","))] | @tsv' "$results" |
	while IFS=$'\t' read -r w p c r p50 p90 p99 p999 e n v; do
		printf '%-7s %-14s %6s %12s %9.3f %9.3f %9.3f %9.3f %7s %5s %s\n' \
			"$w" "$p" "$c" "$r" "$p50" "$p90" "$p99" "$p999" "$e" \
			"$n" "$v"
	done
jq -r 'select(.rss_kb != null) |
	"\(.who): RSS \(.rss_kb) KiB after \(.entries) cold lookups"' "$results"
