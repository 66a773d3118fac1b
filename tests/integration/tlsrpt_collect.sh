#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlsrpt_collect.sh: the TLS-RPT collectors end to end.
#
#  - the datagram socket: the nine sample datagrams replayed by a small
#    sender reach the SQLite counter store (10 sessions, exact split);
#  - the counter store's unit suite against a real PostgreSQL (Debian's
#    postgresql, started here on a free loopback port as
#    store_servers.sh does);
#  - two collectors feeding one PostgreSQL database at the same time:
#    the counts are the sums;
#  - PostgreSQL stopped while a collector counts, and SQLite on a full
#    file system: the failure is logged, nothing counted is lost once the
#    store is back;
#  - the log reader: counts a Postfix log, does not recount it after a
#    restart (committed cursor), counts only appended lines, follows a
#    rotation.
#
# The collector process is bench_tlsrpt_intake's "collect" command (the
# same code as mtasts-tlsrptd's collectors). Exit 77 (skip) when not root
# or a package is missing.
set -uo pipefail

skip() { echo "tlsrpt_collect: SKIP: $*" >&2; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (PostgreSQL runs as user postgres)"
if [ -z "${MTASTS_TLSRPT_PIDNS:-}" ] && command -v unshare >/dev/null; then
  MTASTS_TLSRPT_PIDNS=1 exec unshare --pid --fork --mount-proc \
    --kill-child bash "$0" "$@"
fi
command -v psql >/dev/null || skip "postgresql is not installed"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || skip "postgresql server binaries not found"
id postgres >/dev/null 2>&1 || skip "no postgres user"
command -v python3 >/dev/null || skip "python3 is needed to pick free ports"

SRC=${MTASTS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${MTASTS_BUILD_DIR:-$SRC/build}
TOOL=$BUILD/bench_tlsrpt_intake
TEST_COUNTERS=$BUILD/test_tlsrpt_counters
[ -x "$TOOL" ] || skip "$TOOL is not built"
# The collector process: the program's own "collect" command when it is
# built, else the bench tool's copy of the same code.
COLLECT=("$TOOL" collect)
TLSRPTD=${MTASTS_TLSRPTD_BIN:-$BUILD/mtasts-tlsrptd}
if [ -x "$TLSRPTD" ] && "$TLSRPTD" collect --help >/dev/null 2>&1; then
  COLLECT=("$TLSRPTD" collect)
fi
echo "collector: ${COLLECT[*]}"
SAMPLES=$SRC/tests/data/tlsrpt_datagram/datagrams.jsonl

T=$(mktemp -d /tmp/mtasts-tlsrpt.XXXXXX)
chmod 755 "$T"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

cleanup() {
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
wait_until() {
  local n=$(( $1 * 10 )); shift
  while [ "$n" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}
# check NAME WANT GOT
check() {
  if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: want '$2', got '$3'"; fi
}
# start_collector NAME ARGS...: background collector, pid in $T/NAME.pid
start_collector() {
  local name=$1; shift
  "${COLLECT[@]}" "$@" --stats >"$T/$name.out" 2>"$T/$name.err" &
  echo $! >"$T/$name.pid"
}
stop_collector() {
  local pid
  pid=$(cat "$T/$1.pid")
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
sessions() { "$TOOL" count --store "$1" | sed -n 's/^sessions=\([0-9]*\).*/\1/p'; }

# ---- datagram socket end to end (SQLite) -----------------------------------
start_collector c0 --store "sqlite:$T/c0.db" --socket "$T/c0.sock"
wait_until 5 test -S "$T/c0.sock" || bad "socket $T/c0.sock did not appear"
"$TOOL" send --socket "$T/c0.sock" --file "$SAMPLES" >"$T/send0.out"
stop_collector c0
check "sample datagrams sent" "sent=9 lost=0" "$(cut -d' ' -f1-2 "$T/send0.out")"
check "sample sessions counted" \
  "sessions=10 success=5 failure=5 domains=2" \
  "$("$TOOL" count --store "sqlite:$T/c0.db" | head -1)"
[ -S "$T/c0.sock" ] && bad "socket left behind" || ok "socket removed on exit"
# hostile datagrams are counted as rejected, the collector survives
start_collector c0b --store "sqlite:$T/c0.db" --socket "$T/c0.sock"
wait_until 5 test -S "$T/c0.sock"
for f in "$SRC"/tests/data/tlsrpt_datagram/*.json; do
  python3 - "$T/c0.sock" "$f" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(open(sys.argv[2], 'rb').read(), sys.argv[1])
PY
done
python3 - "$T/c0.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
s.sendto(b'{"dpv":"1",' + b' ' * 200000 + b'}', sys.argv[1])
s.sendto(b'\x00\xff' * 100, sys.argv[1])
PY
sleep 0.5
pid=$(cat "$T/c0b.pid")
kill -0 "$pid" 2>/dev/null && ok "collector alive after hostile datagrams" ||
  bad "collector died on hostile datagrams"
stop_collector c0b
rej=$("$TOOL" count --store "sqlite:$T/c0.db" | grep -c '^reject datagram/')
[ "$rej" -ge 5 ] && ok "hostile datagrams counted as rejected ($rej reasons)" ||
  bad "rejected datagrams not counted: $rej"

# ---- full disk (SQLite on a small tmpfs in this mount namespace) ------------
mkdir -p "$T/small"
if mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
  start_collector full --store "sqlite:$T/small/c.db" --socket "$T/full.sock" \
    --flush-ms 100
  wait_until 5 test -S "$T/full.sock"
  sleep 0.3
  dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null
  "$TOOL" send --socket "$T/full.sock" --file "$SAMPLES" --count 900 \
    --rate 2000 >"$T/send-full.out"
  sleep 1
  grep -q 'keeping .* sessions in memory' "$T/full.err" &&
    ok "full disk reported" || bad "full disk not reported: $(cat "$T/full.err")"
  rm -f "$T/small/filler"
  sleep 1
  grep -q 'counter store back' "$T/full.err" && ok "recovery after full disk" ||
    bad "no recovery after full disk"
  stop_collector full
  check "nothing lost to the full disk" \
    "$(sed -n 's/.* sessions=\([0-9]*\).*/\1/p' "$T/send-full.out")" \
    "$(sessions "sqlite:$T/small/c.db")"
  umount "$T/small"
else
  echo "note: no tmpfs mount: full disk test skipped"
fi

# ---- PostgreSQL --------------------------------------------------------------
PP=$(free_port)
mkdir -p "$T/pg" "$T/pgsock"
touch "$T/pg.log"
chown postgres "$T/pg" "$T/pgsock" "$T/pg.log"
runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg" -A trust -U postgres \
  -E UTF8 --locale=C --no-sync >"$T/initdb.log" 2>&1 || {
  cat "$T/initdb.log"; skip "initdb failed"; }
pg_start() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg.log" -w -t 30 \
    -o "-k $T/pgsock -c listen_addresses=127.0.0.1 -p $PP -c fsync=off" \
    start >/dev/null
}
pg_stop() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$T/pg" -m immediate -w stop \
    >/dev/null
}
PGURI="postgresql://postgres@127.0.0.1:$PP/postgres?connect_timeout=5"
if pg_start && wait_until 20 psql -X -q "$PGURI" -c 'SELECT 1'; then
  ok "postgresql answers on 127.0.0.1:$PP"
else
  bad "postgresql did not start"; cat "$T/pg.log"; exit 1
fi

if [ -x "$TEST_COUNTERS" ]; then
  if MTASTS_TEST_PGSQL="$PGURI" timeout 300 "$TEST_COUNTERS" \
      >"$T/unit.out" 2>&1; then
    ok "test_tlsrpt_counters on SQLite and PostgreSQL"
  else
    bad "test_tlsrpt_counters"; cat "$T/unit.out"
  fi
  n=$(grep -c '^\[       OK \]' "$T/unit.out")
  [ "$n" -ge 11 ] && ok "PostgreSQL group ran ($n tests passed in all)" ||
    bad "PostgreSQL group did not run: $n tests passed"
  psql -X -q "$PGURI" -c 'DROP TABLE IF EXISTS tlsrpt_policy, tlsrpt_detail,
    tlsrpt_reject, tlsrpt_cursor, tlsrpt_closed, tlsrpt_reported,
    tlsrpt_delivery' >/dev/null 2>&1
fi

# ---- two collectors, one database ------------------------------------------
K=300   # rounds of the nine samples per collector
start_collector a --store "$PGURI" --socket "$T/a.sock" --flush-ms 100
start_collector b --store "$PGURI" --socket "$T/b.sock" --flush-ms 100
wait_until 10 test -S "$T/a.sock" -a -S "$T/b.sock" ||
  bad "collector sockets did not appear"
"$TOOL" send --socket "$T/a.sock" --file "$SAMPLES" --count $((9 * K)) \
  --rate 2000 >"$T/send-a.out" &
sa=$!
"$TOOL" send --socket "$T/b.sock" --file "$SAMPLES" --count $((9 * K)) \
  --rate 2000 >"$T/send-b.out" &
sb=$!
wait $sa $sb
sleep 0.5
stop_collector a
stop_collector b
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$T/send-a.out" "$T/send-b.out" |
  paste -sd+ | bc; }
lost=$(field lost)
sent_sessions=$(field sessions)
q() { psql -X -A -t -q "$PGURI" -c "$1"; }
echo "senders: $(cat "$T/send-a.out" "$T/send-b.out" | tr '\n' ' ')"
check "summed sessions, two collectors (all that were sent)" \
  "$sent_sessions" "$(q 'SELECT sum(success + failure) FROM tlsrpt_policy')"
if [ "$lost" = 0 ]; then
  ok "no datagram refused by the kernel"
  check "summed sessions, two collectors" $((2 * K * 10)) "$sent_sessions"
  check "company-y.example success/failure" "$((2 * K * 5))|$((2 * K * 4))" \
    "$(q "SELECT sum(success), sum(failure) FROM tlsrpt_policy WHERE domain = 'company-y.example'")"
  check "expired-certificate detail count" $((2 * K * 2)) \
    "$(q "SELECT sum(count) FROM tlsrpt_detail WHERE result_text = 'certificate-expired'")"
else
  echo "note: the kernel refused $lost datagrams (slow build or loaded host)"
fi
check "one row per policy (upserts add)" 4 \
  "$(q "SELECT count(*) FROM tlsrpt_policy WHERE domain = 'company-y.example'")"

# ---- database outage -------------------------------------------------------
before=$(q 'SELECT sum(success + failure) FROM tlsrpt_policy')
start_collector c --store "$PGURI" --socket "$T/c.sock" --flush-ms 100
wait_until 10 test -S "$T/c.sock"
pg_stop
"$TOOL" send --socket "$T/c.sock" --file "$SAMPLES" --count 90 --rate 500 \
  >"$T/send-c.out"
sent_c=$(sed -n 's/.* sessions=\([0-9]*\).*/\1/p' "$T/send-c.out")
sleep 1
grep -q 'keeping .* sessions in memory' "$T/c.err" &&
  ok "outage reported" || bad "outage not reported: $(cat "$T/c.err")"
pg_start && wait_until 20 psql -X -q "$PGURI" -c 'SELECT 1'
sleep 1
grep -q 'counter store back' "$T/c.err" && ok "recovery reported" ||
  bad "recovery not reported"
stop_collector c
check "nothing lost across the outage" $((before + sent_c)) \
  "$(q 'SELECT sum(success + failure) FROM tlsrpt_policy')"

# ---- the log reader ------------------------------------------------------------
LOG=$T/mail.log
cat "$SRC"/tests/data/postfix_log/{verified,expired,not_offered,untrusted}.log >"$LOG"
L="sqlite:$T/log.db"
"${COLLECT[@]}" --store "$L" --log "$LOG" >/dev/null 2>&1
check "log sessions" 4 "$(sessions "$L")"
"${COLLECT[@]}" --store "$L" --log "$LOG" >/dev/null 2>&1
check "restart does not recount" 4 "$(sessions "$L")"
cat "$SRC"/tests/data/postfix_log/rfc3339.log >>"$LOG"
"${COLLECT[@]}" --store "$L" --log "$LOG" >/dev/null 2>&1
check "appended lines counted once" 5 "$(sessions "$L")"
start_collector f --store "$L" --log "$LOG" --follow --flush-ms 100
sleep 0.5
cat "$SRC"/tests/data/postfix_log/verified.log >>"$LOG"
sleep 0.7
mv "$LOG" "$LOG.1"
cat "$SRC"/tests/data/postfix_log/expired.log >"$LOG"
sleep 1
stop_collector f
check "followed appends and a rotation" 7 "$(sessions "$L")"
grep -q rotated "$T/f.err" && ok "rotation logged" || bad "rotation not logged"
cat "$SRC"/tests/data/postfix_log/verified.log | \
  "${COLLECT[@]}" --store "$L" --log - >/dev/null 2>&1
check "standard input" 8 "$(sessions "$L")"

echo "tlsrpt_collect: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
