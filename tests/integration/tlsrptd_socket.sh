#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlsrptd_socket.sh: mtasts-tlsrptd's libtlsrpt datagram socket is
# writable by Postfix's smtp processes (group postfix) and by nobody else
# on the host: a datagram sent as user nobody is refused by the kernel,
# one sent as user postfix is accepted and counted.
#
# Exit 77 (skip) when not root, or without the postfix user/group, python3
# or a built mtasts-tlsrptd.
set -uo pipefail

src=${MTASTS_SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${MTASTS_TLSRPTD_BIN:-${MTASTS_BUILD_DIR:-$src/build}/mtasts-tlsrptd}
skip() { echo "tlsrptd_socket: SKIP: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (runs senders as other users)"
[ -x "$bin" ] || skip "no mtasts-tlsrptd at $bin"
id postfix >/dev/null 2>&1 && getent group postfix >/dev/null ||
  skip "no postfix user or group"
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v python3 >/dev/null || skip "python3 missing"

T=$(mktemp -d /tmp/tlsrptd-socket.XXXXXX)
chmod 755 "$T"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ "$failed" -gt 0 ] && tail -n 20 "$T/d.log"
  rm -rf "$T"
}
trap cleanup EXIT

"$bin" -o "datagram_socket=$T/collect.sock" -o "store=sqlite:$T/c.db" \
  -o send_reports=no -o flush_interval=1s 2>"$T/d.log" &
pid=$!
for _ in $(seq 1 100); do [ -S "$T/collect.sock" ] && break; sleep 0.1; done
[ -S "$T/collect.sock" ] && ok "the socket is there" || bad "no socket"

perm=$(stat -c '%a %G' "$T/collect.sock")
[ "$perm" = "220 postfix" ] && ok "mode 0220, group postfix" ||
  bad "socket is '$perm', want '220 postfix'"

# send USER: one sample datagram as USER; prints "sent" or the error.
send() {
  runuser -u "$1" -- python3 -c '
import socket, sys
d = (b"{\"dpv\":\"1\",\"d\":\"socket.test\",\"pr\":\"v=TLSRPTv1;rua=mailto:r@socket.test\","
     b"\"policies\":[{\"policy-type\":9,\"t\":0,\"f\":0}]}")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.sendto(d, sys.argv[1]); print("sent")
except OSError as e:
    print(type(e).__name__)
' "$T/collect.sock"
}

r=$(send nobody)
[ "$r" = PermissionError ] && ok "user nobody cannot inject results" ||
  bad "user nobody: '$r', want PermissionError"
r=$(send postfix)
[ "$r" = sent ] && ok "user postfix (Postfix's smtp) can report" ||
  bad "user postfix: '$r'"

# The accepted datagram is counted (flushed within a second or two).
for _ in $(seq 1 50); do
  "$bin" -o "store=sqlite:$T/c.db" -o send_reports=no show-counters \
    >"$T/counters" 2>&1
  grep -q "socket.test" "$T/counters" && break
  sleep 0.2
done
grep -q "socket.test" "$T/counters" && ok "postfix's datagram is counted" ||
  bad "not counted: $(head -c 300 "$T/counters")"

kill "$pid" && wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] && ok "SIGTERM: clean exit" || bad "exit status $rc on SIGTERM"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
