#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: "mtasts scan" with full checks (DNS, policy fetch, policy
# host certificate, TLS-RPT, MX STARTTLS probes with old-TLS attempts,
# TLSA) over N generated lab domains (default 10000), against the lab
# started with LAB_BULK=N LAB_BULK_MIX=1: real NSD, nginx and Postfix
# smtpd MX hosts on loopback (good hosts mixed with expired, wrong name,
# self-signed, missing intermediate, no STARTTLS, TLS 1.0, refused, 421
# and not-in-policy). Then "mtasts check" on one lab domain, five times.
# Prints wall time, peak RSS, the rate, the summary table and the
# per-status counts. Targets: scan < 60 s and < 200 MB; check < 1 s.
#   usage: bench/scan_lab.sh [N] [path/to/mtasts] [CONCURRENCY]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
bin=${2:-$top/build/mtasts}
conc=${3:-200}
[ -x "$bin" ] || { echo "build mtasts first ($bin)" >&2; exit 1; }
bin=$(readlink -f "$bin")

export BENCH_N=$n BENCH_BIN=$bin BENCH_CONC=$conc
# shellcheck disable=SC2016 # expanded by the inner shell, inside the lab
LAB_BULK=$n LAB_BULK_MIX=${LAB_BULK_MIX:-1} "$top/tests/lab/run-in-lab.sh" bash -c '
  set -euo pipefail
  out=$(mktemp) err=$(mktemp) tm=$(mktemp)
  /usr/bin/time -f "%U %S %e %M" -o "$tm" "$BENCH_BIN" --resolver "$LAB_RESOLVER" \
    --ca-file "$LAB_CA" --timeout 10 --concurrency "$BENCH_CONC" \
    scan "$LAB_BULK_DOMAINS" >"$out" 2>"$err" || true
  read -r us ss secs kb < <(tail -1 "$tm")
  echo "scan: domains $BENCH_N, concurrency $BENCH_CONC"
  echo "scan: wall seconds $secs (user $us, sys $ss), peak RSS MB $((kb / 1024))"
  echo "scan: JSON lines $(wc -l <"$out")"
  python3 -c "
import json,sys,collections
c=collections.Counter(json.loads(l).get(\"status\",\"error\") for l in open(sys.argv[1]))
[print(\"  status %-11s %d\" % kv) for kv in sorted(c.items())]" "$out"
  sed "s/^/  /" "$err"
  d=$(head -1 "$LAB_BULK_DOMAINS")
  for i in 1 2 3 4 5; do
    /usr/bin/time -f "%U %S %e %M" -o "$tm" "$BENCH_BIN" --resolver "$LAB_RESOLVER" \
      --ca-file "$LAB_CA" --json check "$d" >/dev/null || true
    read -r us ss secs kb < <(tail -1 "$tm")
    echo "check $d: wall seconds $secs, peak RSS MB $((kb / 1024))"
  done
  rm -f "$out" "$err" "$tm"
'
