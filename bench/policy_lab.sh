#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: "mtasts policy" over N lab domains at once (default 1000),
# against the lab world started with LAB_BULK=N (real NSD and nginx on
# loopback, inside a private network namespace). Prints wall time, peak
# RSS and the count of each result. Needs root and a built mtasts.
#   usage: bench/policy_lab.sh [N] [path/to/mtasts]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000}
bin=${2:-$top/build/mtasts}
[ -x "$bin" ] || { echo "build mtasts first ($bin)" >&2; exit 1; }

export BENCH_N=$n BENCH_BIN=$bin
LAB_BULK=$n "$top/tests/lab/run-in-lab.sh" bash -c '
  set -euo pipefail
  out=$(mktemp) tm=$(mktemp)
  mapfile -t domains < <(seq -f "bulk%05g.test" 1 "$BENCH_N")
  /usr/bin/time -f "%e %M" -o "$tm" "$BENCH_BIN" --resolver "$LAB_RESOLVER" \
    --ca-file "$LAB_CA" --timeout 30 --json policy "${domains[@]}" >"$out" || true
  read -r secs kb <"$tm"
  echo "domains: $BENCH_N"
  echo "wall seconds: $secs"
  echo "peak RSS MB: $((kb / 1024))"
  echo "results:"
  python3 -c "
import json,sys,collections
c=collections.Counter(json.loads(l)[\"result\"] for l in open(sys.argv[1]))
[print(\"  %-10s %d\" % kv) for kv in sorted(c.items())]" "$out"
  rm -f "$out" "$tm"
'
