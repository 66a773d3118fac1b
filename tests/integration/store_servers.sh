#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# store_servers.sh: the Redis and PostgreSQL policy stores against real
# servers from the Debian packages (redis-server, postgresql), started
# here on free loopback ports in a temporary directory and stopped on exit.
#
# Runs $MTASTS_BUILD_DIR/test_store with MTASTS_TEST_REDIS and
# MTASTS_TEST_PGSQL set, so the behavioural suite, the hostile-record
# tests and the fault tests run against both servers. The fault tests get
# shell commands to stop (kill -9 / pg_ctl stop -m immediate) and start
# each server: calls pending when the server dies and calls made while it
# is down must get MTASTS_ESTORE exactly once, the outage is logged once,
# the store reconnects by itself when the server is back, and a store
# opened while the server is down starts anyway and recovers.
#
# Exit 77 (skip) when not root or a package is missing.
set -uo pipefail

skip() { echo "store_servers: SKIP: $*" >&2; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (PostgreSQL runs as user postgres)"
# Run in a private PID namespace: this shell is its init, so the servers
# the fault tests kill are reaped (no zombies left behind) and nothing
# outlives the test.
if [ -z "${MTASTS_STORE_PIDNS:-}" ] && command -v unshare >/dev/null; then
  MTASTS_STORE_PIDNS=1 exec unshare --pid --fork --mount-proc \
    --kill-child bash "$0" "$@"
fi
command -v redis-server >/dev/null || skip "redis-server is not installed"
command -v redis-cli >/dev/null || skip "redis-cli is not installed"
command -v psql >/dev/null || skip "postgresql is not installed"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || skip "postgresql server binaries not found"
id postgres >/dev/null 2>&1 || skip "no postgres user"
command -v python3 >/dev/null || skip "python3 is needed to pick free ports"

BUILD=${MTASTS_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TEST_STORE=$BUILD/test_store
[ -x "$TEST_STORE" ] || skip "$TEST_STORE is not built"

T=$(mktemp -d /tmp/mtasts-servers.XXXXXX)
chmod 755 "$T"
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

cleanup() {
  if [ -f "$T/redis.pid" ]; then
    kill -9 "$(cat "$T/redis.pid")" 2>/dev/null
  fi
  if [ -f "$T/pg/postmaster.pid" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -m immediate -w \
      stop >/dev/null 2>&1
  fi
  rm -rf "$T"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s.
wait_until() {
  local n=$(( $1 * 10 )); shift
  while [ "$n" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

# ---- Redis ----------------------------------------------------------------
RP=$(free_port)
mkdir -p "$T/redis"
cat >"$T/redis-start.sh" <<EOS
#!/bin/sh
redis-server --port $RP --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$T/redis" --daemonize yes --pidfile "$T/redis.pid" \
  --logfile "$T/redis.log" || exit 1
n=100
while [ \$n -gt 0 ]; do
  [ "\$(redis-cli -p $RP ping 2>/dev/null)" = PONG ] && exit 0
  sleep 0.1; n=\$((n - 1))
done
exit 1
EOS
cat >"$T/redis-stop.sh" <<EOS
#!/bin/sh
[ -f "$T/redis.pid" ] && kill -9 "\$(cat "$T/redis.pid")"
rm -f "$T/redis.pid"
n=100
while [ \$n -gt 0 ]; do
  redis-cli -p $RP ping >/dev/null 2>&1 || exit 0
  sleep 0.1; n=\$((n - 1))
done
exit 1
EOS
chmod +x "$T/redis-start.sh" "$T/redis-stop.sh"
if "$T/redis-start.sh"; then
  ok "redis-server answers on 127.0.0.1:$RP"
else
  bad "redis-server did not start"; cat "$T/redis.log" 2>/dev/null
fi

# ---- PostgreSQL -----------------------------------------------------------
PP=$(free_port)
mkdir -p "$T/pg" "$T/pgsock"
touch "$T/pg.log"
chown postgres "$T/pg" "$T/pgsock" "$T/pg.log"
if runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg" -A trust -U postgres -E UTF8 --locale=C \
    --no-sync >"$T/initdb.log" 2>&1; then
  ok "initdb"
else
  bad "initdb"; cat "$T/initdb.log"
fi
cat >"$T/pg-start.sh" <<EOS
#!/bin/sh
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg.log" -w -t 30 \
  -o "-k $T/pgsock -c listen_addresses=127.0.0.1 -p $PP -c fsync=off" \
  start >/dev/null
EOS
cat >"$T/pg-stop.sh" <<EOS
#!/bin/sh
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -m immediate -w stop \
  >/dev/null
EOS
chmod +x "$T/pg-start.sh" "$T/pg-stop.sh"
PGURI="postgresql://postgres@127.0.0.1:$PP/postgres?connect_timeout=5"
if "$T/pg-start.sh" && wait_until 20 psql -X -q "$PGURI" -c 'SELECT 1'; then
  ok "postgresql answers on 127.0.0.1:$PP"
else
  bad "postgresql did not start"; cat "$T/pg.log" 2>/dev/null
fi

# ---- the store tests --------------------------------------------------------
out=$T/test_store.out
MTASTS_TEST_REDIS="redis://127.0.0.1:$RP" \
MTASTS_TEST_REDIS_STOP="$T/redis-stop.sh" \
MTASTS_TEST_REDIS_START="$T/redis-start.sh" \
MTASTS_TEST_PGSQL="$PGURI" \
MTASTS_TEST_PGSQL_STOP="$T/pg-stop.sh" \
MTASTS_TEST_PGSQL_START="$T/pg-start.sh" \
  timeout 600 "$TEST_STORE" >"$out" 2>&1
rc=$?
cat "$out"
n_ok=$(grep -c '^\[       OK \]' "$out")
n_fail=$(grep -c '^\[  FAILED  \] test_' "$out")
n_fail_listed=$(grep -c '^\[  FAILED  \] [0-9]* test' "$out")
passed=$((passed + n_ok))
failed=$((failed + n_fail - n_fail_listed))
[ "$rc" -eq 0 ] && ok "test_store exit status 0" ||
  bad "test_store exit status $rc"
for g in store-redis store-postgresql store-redis-faults \
  store-postgresql-faults; do
  grep -q "SKIPPED \] ${g#store-}" "$out" && bad "group $g was skipped"
done

# SQLite on a full disk: a 1 MiB tmpfs in a private mount namespace.
mkdir -p "$T/full"
if unshare --mount sh -c "mount -t tmpfs -o size=1m tmpfs '$T/full' &&
    MTASTS_TEST_SQLITE_FULLDIR='$T/full' timeout 300 '$TEST_STORE'" \
    >"$T/full.out" 2>&1; then
  grep -q '^\[       OK \] test_sqlite_disk_full' "$T/full.out" &&
    ok "sqlite store on a full disk" ||
    bad "sqlite disk-full test did not run"
else
  cat "$T/full.out"; bad "sqlite store on a full disk"
fi
grep 'disk full after' "$T/full.out"

# The servers must have come back after the fault tests and hold nothing
# of ours anymore.
if "$T/redis-start.sh" 2>/dev/null; then
  n=$(redis-cli -p "$RP" --scan --pattern 'mtasts-t*' | wc -l)
  [ "$n" -eq 0 ] && ok "redis left clean" || bad "redis holds $n test keys"
fi
n=$(psql -X -qtA "$PGURI" -c 'SELECT count(*) FROM mtasts_policy' 2>/dev/null)
[ "$n" = 0 ] && ok "postgresql left clean" ||
  bad "postgresql holds '$n' rows"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
