#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mtastsd_shared_store.sh: a fleet of two mtastsd instances sharing one
# persistent cache, once on a real redis-server and once on a real
# PostgreSQL (Debian packages), inside the lab world.
#
# For each backend: instance A discovers enforce.test (real DNS + HTTPS
# from the lab) and writes it through to the store; instance B, asked for
# the same domain, answers from the shared store (its store_hits counter
# goes up) with the same policy id. Then the store server dies: both
# instances keep answering from memory and discovery, and neither exits;
# when the server is back, B's next miss is again served from the store.
#
# Exit 77 (skip) without root, unshare, the lab's servers, redis-server,
# PostgreSQL or a built mtastsd/mtasts.
set -uo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
src=${MTASTS_SRC_DIR:-$(cd "$(dirname "$self")/../.." && pwd)}
build=${MTASTS_BUILD_DIR:-$src/build}
skip() { echo "mtastsd_shared_store: SKIP: $*" >&2; exit 77; }

if [ -z "${LAB_RESOLVER:-}" ]; then
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  for t in unshare nsd nginx python3 redis-server redis-cli psql; do
    command -v "$t" >/dev/null || skip "missing $t"
  done
  id postgres >/dev/null 2>&1 || skip "no postgres user"
  MTASTSD_BIN=$(readlink -f "${MTASTSD_BIN:-$build/mtastsd}")
  MTASTS_BIN=$(readlink -f "${MTASTS_BIN:-$build/mtasts}")
  [ -x "$MTASTSD_BIN" ] || skip "no mtastsd at $MTASTSD_BIN"
  [ -x "$MTASTS_BIN" ] || skip "no mtasts at $MTASTS_BIN"
  export MTASTSD_BIN MTASTS_BIN MTASTS_SRC_DIR=$src
  exec "$src/tests/lab/run-in-lab.sh" "$self" "$@"
fi

# ---- inside the lab (private net, mount and pid namespaces) ---------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || skip "postgresql server binaries not found"
T=$(mktemp -d /tmp/mtastsd-shared.XXXXXX)
chmod 755 "$T"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$T/redis.pid" ] && kill -9 "$(cat "$T/redis.pid")" 2>/dev/null
  [ -f "$T/pg/postmaster.pid" ] && runuser -u postgres -- \
    "$PGBIN/pg_ctl" -D "$T/pg" -m immediate -w stop >/dev/null 2>&1
  if [ "$failed" -gt 0 ]; then
    for f in "$T"/*.log; do echo "--- $f"; tail -n 15 "$f"; done
  fi
  [ -n "${KEEP_T:-}" ] && cp -r "$T" "$KEEP_T"; rm -rf "$T"
}
trap cleanup EXIT

wait_until() { # SECONDS COMMAND...
  local n=$(($1 * 10))
  shift
  while [ $n -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

# query PORT KEY: one socketmap request, prints the reply payload.
query() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
p = ("postfix " + sys.argv[2]).encode()
s.sendall(str(len(p)).encode() + b":" + p + b",")
d = b""
while not d.endswith(b","):
    c = s.recv(4096)
    if not c:
        break
    d += c
print(d.split(b":", 1)[1][:-1].decode() if b":" in d else "EOF")
EOF
}

stat() { # CONTROL NAME: one counter of "mtasts cache stats"
  "$MTASTS_BIN" --control "$1" cache stats | awk -v k="$2" '$1 == k {print $2}'
}

# ---- servers -----------------------------------------------------------------
redis_start() {
  redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$T" --daemonize yes --pidfile "$T/redis.pid" \
    --logfile "$T/redis.log" >/dev/null &&
    wait_until 10 sh -c '[ "$(redis-cli -p 6379 ping)" = PONG ]'
}
redis_stop() {
  kill -9 "$(cat "$T/redis.pid")" 2>/dev/null
  rm -f "$T/redis.pid"
  wait_until 10 sh -c '! redis-cli -p 6379 ping'
}
pg_start() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg.log" -w \
    -t 30 -o "-k $T/pgsock -c listen_addresses=127.0.0.1 -p 5432 \
    -c fsync=off" start >/dev/null
}
pg_stop() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -m immediate -w stop \
    >/dev/null
}

redis_start && ok "redis-server started" || bad "redis-server did not start"
mkdir -p "$T/pg" "$T/pgsock"
touch "$T/pg.log"
chown postgres "$T/pg" "$T/pgsock" "$T/pg.log"
if runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg" -A trust -U postgres \
  -E UTF8 --locale=C --no-sync >"$T/initdb.log" 2>&1 && pg_start; then
  ok "postgresql started"
else
  bad "postgresql did not start"
fi

# start_daemon NAME PORT URI: one mtastsd in the foreground.
start_daemon() {
  "$MTASTSD_BIN" -o "listen=inet:127.0.0.1:$2" \
    -o "dns_resolver=$LAB_RESOLVER" -o "ca_file=$LAB_CA" -o "cache=$3" \
    -o "control_socket=$T/$1.ctl" -o log_level=debug \
    2>"$T/mtastsd-$1.log" &
  pids+=($!)
  wait_until 10 test -S "$T/$1.ctl"
}

# ---- the fleet, once per backend ----------------------------------------------
run_backend() { # NAME URI STOP START PORT_A PORT_B
  local name=$1 uri=$2 stop=$3 start=$4 pa=$5 pb=$6 r hits id_a id_b
  start_daemon "$name-a" "$pa" "$uri" || bad "$name: instance A did not start"
  start_daemon "$name-b" "$pb" "$uri" || bad "$name: instance B did not start"

  r=$(query "$pa" enforce.test)
  [[ $r == "OK secure match="* ]] && ok "$name: A discovers enforce.test" ||
    bad "$name: A answered '$r' for enforce.test"
  sleep 0.5 # the write-through completes asynchronously
  r=$(query "$pb" enforce.test)
  hits=$(stat "$T/$name-b.ctl" store_hits)
  [[ $r == "OK secure match="* ]] && [ "${hits:-0}" -ge 1 ] &&
    ok "$name: B answers enforce.test from the shared store" ||
    bad "$name: B answered '$r' with store_hits=${hits:-?}"
  id_a=$("$MTASTS_BIN" --control "$T/$name-a.ctl" cache show enforce.test |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  id_b=$("$MTASTS_BIN" --control "$T/$name-b.ctl" cache show enforce.test |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  [ -n "$id_a" ] && [ "$id_a" = "$id_b" ] &&
    ok "$name: both instances hold policy id $id_a" ||
    bad "$name: ids differ: '$id_a' vs '$id_b'"

  # The store dies mid-run: keep serving from memory and discovery.
  $stop
  r=$(query "$pa" enforce.test)
  [[ $r == "OK secure match="* ]] && ok "$name: store down, A still answers from memory" ||
    bad "$name: store down, A answered '$r'"
  r=$(query "$pb" lf.test)
  [[ $r == "OK secure match="* ]] && ok "$name: store down, B still discovers lf.test" ||
    bad "$name: store down, B answered '$r' for lf.test"
  r=$(query "$pb" testing.test)
  [ "$r" = "NOTFOUND " ] && ok "$name: store down, testing.test is NOTFOUND" ||
    bad "$name: store down, testing.test gave '$r'"
  kill -0 "${pids[-1]}" 2>/dev/null && kill -0 "${pids[-2]}" 2>/dev/null &&
    ok "$name: both instances survive the store outage" ||
    bad "$name: an instance exited during the outage"

  # Back again: a new domain written by A reaches B through the store.
  $start || bad "$name: server did not restart"
  local i
  for i in $(seq 1 40); do
    r=$(query "$pa" mixed.test)
    sleep 1
    hits=$(stat "$T/$name-b.ctl" store_hits)
    r=$(query "$pb" mixed.test)
    [ "$(stat "$T/$name-b.ctl" store_hits)" -gt "${hits:-0}" ] && break
    # Not in the store yet (reconnect pending): forget and retry.
    "$MTASTS_BIN" --control "$T/$name-a.ctl" cache purge mixed.test >/dev/null
    "$MTASTS_BIN" --control "$T/$name-b.ctl" cache purge mixed.test >/dev/null
  done
  [ "$i" -lt 40 ] && [[ $r == "OK secure match="* ]] &&
    ok "$name: after reconnecting, B reads A's new policy from the store" ||
    bad "$name: no store sharing after the server came back ('$r')"
  grep -q "warning: cache store: .*serving from memory" \
    "$T/mtastsd-$name-a.log" &&
    grep -qE "cache store: .*connected again" "$T/mtastsd-$name-a.log" &&
    ok "$name: the outage and the recovery are logged" ||
    bad "$name: the store outage or recovery is not in the log"
  [ "$(grep -c 'logged once' "$T/mtastsd-$name-a.log")" -le 1 ] &&
    ok "$name: the outage is logged once, not per lookup" ||
    bad "$name: the outage is logged more than once"
  kill "${pids[-1]}" "${pids[-2]}" 2>/dev/null
  wait "${pids[-1]}" "${pids[-2]}" 2>/dev/null
}

run_backend redis "redis://127.0.0.1:6379" redis_stop redis_start 8461 8462
run_backend pgsql "postgresql://postgres@127.0.0.1:5432/postgres" \
  pg_stop pg_start 8463 8464

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
