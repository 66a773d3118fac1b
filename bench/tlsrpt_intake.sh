#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlsrpt_intake.sh: TLS-RPT collection benchmarks (docs/benchmarks.md,
# "TLS-RPT collection").
#
#  1. datagram intake: SENDERS processes replay the sample datagrams
#     without blocking (as libtlsrpt does) at RATE datagrams/s for
#     SECONDS; sent, lost (EAGAIN) and counted sessions are compared;
#  2. the same load against a reader that spends SLOW_US per datagram
#     with the default receive buffer (the reference behaviour in
#     interop.md: events are lost when the collector is slow);
#  3. log reading: a generated Postfix 3.7 log of LOG_BYTES bytes.
#
# Runs in a private network namespace (root) so net.unix.max_dgram_qlen
# can be set to QLEN (512, what systemd sets on Debian hosts; a fresh
# namespace has 10) without touching the host.
# Usage: bench/tlsrpt_intake.sh [BUILD_DIR]   (needs bench_tlsrpt_intake)
set -euo pipefail
BUILD=${1:-${MTASTS_BUILD_DIR:-build}}
BIN=$BUILD/bench_tlsrpt_intake
SRC=$(cd "$(dirname "$0")/.." && pwd)
SAMPLES=${SAMPLES:-$SRC/tests/data/tlsrpt_datagram/datagrams.jsonl}
RATE=${RATE:-50000}
SECONDS_=${SECONDS_:-10}
SENDERS=${SENDERS:-8}
SLOW_US=${SLOW_US:-50}
QLEN=${QLEN:-512}
LOG_BYTES=${LOG_BYTES:-1073741824}
DISTINCT=${DISTINCT:-no}   # yes: every datagram unique (no parse reuse)
[ -x "$BIN" ] || { echo "build $BIN first" >&2; exit 1; }
if [ -z "${TLSRPT_BENCH_NS:-}" ]; then
  TLSRPT_BENCH_NS=1 exec unshare --net bash "$0" "$@"
fi
sysctl -qw net.unix.max_dgram_qlen="$QLEN" || true
T=$(mktemp -d /tmp/tlsrpt-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
N=$((RATE * SECONDS_))
echo "== datagram intake: $N datagrams at $RATE/s from $SENDERS senders," \
  "distinct=$DISTINCT" \
  "(max_dgram_qlen $(cat /proc/sys/net/unix/max_dgram_qlen))"

sum_send() {
  awk '/sent=/{for(i=1;i<=NF;i++){split($i,a,"="); t[a[1]]+=a[2]}}
       END{printf "sent=%d lost=%d sessions_sent=%d loss=%.2f%%\n",
           t["sent"], t["lost"], t["sessions"],
           100*t["lost"]/(t["sent"]+t["lost"])}'
}

"$BIN" collect --store "sqlite:$T/c.db" --socket "$T/s.sock" --stats \
  >"$T/collect.out" 2>"$T/collect.err" &
CP=$!
sleep 0.5
"$BIN" send --socket "$T/s.sock" --file "$SAMPLES" --count "$N" \
  --rate "$RATE" --procs "$SENDERS" --distinct "$DISTINCT" | sum_send
sleep 1.5
kill -TERM "$CP"; wait "$CP"
cat "$T/collect.out"
echo "counted: $("$BIN" count --store "sqlite:$T/c.db" | tr '\n' ' ')"

echo "== reference behaviour: reader at ${SLOW_US}us per datagram," \
  "default receive buffer"
"$BIN" slowrecv --socket "$T/r.sock" --delay-us "$SLOW_US" \
  --seconds $((SECONDS_ + 2)) >"$T/slow.out" &
RP=$!
sleep 0.5
"$BIN" send --socket "$T/r.sock" --file "$SAMPLES" --count "$N" \
  --rate "$RATE" --procs "$SENDERS" | sum_send
wait "$RP"
cat "$T/slow.out"

echo "== log reading: $LOG_BYTES bytes of generated Postfix 3.7 log"
"$BIN" genlog --out "$T/mail.log" --bytes "$LOG_BYTES"
sync
start=$(date +%s.%N)
"$BIN" collect --store "sqlite:$T/l.db" --log "$T/mail.log" --stats \
  2>/dev/null
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v b="$LOG_BYTES" \
  'BEGIN{printf "seconds=%.1f MB/s=%.0f\n", e-s, b/1e6/(e-s)}'
echo "counted: $("$BIN" count --store "sqlite:$T/l.db" | head -1)"
