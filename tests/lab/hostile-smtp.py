#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile-smtp.py: the lab's misbehaving SMTP servers (port 25).

Postfix cannot be made to misbehave in these ways, so the "hostile" MX
hosts of tests/lab/scenarios.bash are served by this small asyncio
program. Every connection is bounded in time and bytes, so a client that
never gives up cannot keep the lab busy.

usage: hostile-smtp.py --pidfile FILE ADDR:KIND...

KIND:
  endless    "220-..." continuation lines, never a final line
  giantline  "220 " and then 1 MiB without a line end
  drip       a normal session, one byte per second
  silent     accepts the connection and says nothing
  tlsalert   offers STARTTLS, then answers the ClientHello with a fatal
             TLS alert (handshake_failure)
  garbage    binary noise instead of a greeting
  badreply   a normal greeting, then replies that are not SMTP replies
"""

import argparse
import asyncio
import os
import signal
import sys

PORT = 25
MAX_SECONDS = 60          # any connection is closed after this
MAX_BYTES = 64 << 20      # and after this much output
GIANT = 1 << 20


async def send(writer, data, budget):
    if budget[0] + len(data) > MAX_BYTES:
        raise ConnectionError("byte budget spent")
    budget[0] += len(data)
    writer.write(data)
    await writer.drain()


async def read_command(reader):
    line = await reader.readline()
    if not line:
        raise ConnectionError("client closed")
    return line.strip().upper()


async def smtp_dialog(reader, writer, budget, name, starttls, reply):
    """A minimal SMTP dialog until STARTTLS or QUIT; reply(text) sends."""
    while True:
        cmd = await read_command(reader)
        if cmd.startswith(b"EHLO"):
            ext = ["250-" + name, "250-PIPELINING"]
            if starttls:
                ext.append("250-STARTTLS")
            ext.append("250 8BITMIME")
            await reply("\r\n".join(ext) + "\r\n")
        elif cmd.startswith(b"HELO"):
            await reply("250 " + name + "\r\n")
        elif cmd == b"STARTTLS" and starttls:
            await reply("220 2.0.0 Ready to start TLS\r\n")
            return "starttls"
        elif cmd == b"QUIT":
            await reply("221 2.0.0 Bye\r\n")
            return "quit"
        elif cmd == b"NOOP" or cmd == b"RSET":
            await reply("250 2.0.0 Ok\r\n")
        else:
            await reply("502 5.5.2 Error: command not recognized\r\n")


async def serve(kind, reader, writer):
    budget = [0]
    name = kind + ".mx.test"

    async def reply(text):
        await send(writer, text.encode("ascii"), budget)

    if kind == "endless":
        line = b"220-" + name.encode() + b" ESMTP this greeting never ends\r\n"
        while True:
            await send(writer, line, budget)
    elif kind == "giantline":
        await send(writer, b"220 ", budget)
        chunk = b"x" * 65536
        for _ in range(GIANT // len(chunk)):
            await send(writer, chunk, budget)
        await asyncio.sleep(MAX_SECONDS)
    elif kind == "drip":
        async def drip(text):
            for b in text.encode("ascii"):
                await send(writer, bytes([b]), budget)
                await asyncio.sleep(1)
        await drip("220 " + name + " ESMTP\r\n")
        await smtp_dialog(reader, writer, budget, name, True, drip)
    elif kind == "silent":
        await asyncio.sleep(MAX_SECONDS)
    elif kind == "tlsalert":
        await reply("220 " + name + " ESMTP\r\n")
        if await smtp_dialog(reader, writer, budget, name, True,
                             reply) == "starttls":
            await reader.read(16384)          # the ClientHello
            # TLS 1.2 record, alert, length 2: fatal (2), handshake_failure (40)
            await send(writer, b"\x15\x03\x03\x00\x02\x02\x28", budget)
    elif kind == "garbage":
        noise = bytes((i * 73 + 11) % 256 for i in range(4096))
        await send(writer, noise, budget)
        await asyncio.sleep(2)
    elif kind == "badreply":
        await reply("220 " + name + " ESMTP\r\n")
        while True:
            await read_command(reader)
            await reply("hello there, this is not an SMTP reply\r\n")


async def handle(kind, reader, writer):
    try:
        await asyncio.wait_for(serve(kind, reader, writer), MAX_SECONDS)
    except (asyncio.TimeoutError, ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


KINDS = ("endless", "giantline", "drip", "silent", "tlsalert", "garbage",
         "badreply")


async def main(args):
    servers = []
    for spec in args.listen:
        addr, _, kind = spec.rpartition(":")
        if kind not in KINDS or not addr:
            sys.exit("hostile-smtp: bad ADDR:KIND %r" % spec)
        servers.append(await asyncio.start_server(
            lambda r, w, k=kind: handle(k, r, w), addr, PORT,
            reuse_address=True, backlog=256))
    with open(args.pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(args.pidfile + ".tmp", args.pidfile)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="the lab's hostile SMTP servers")
    p.add_argument("--pidfile", required=True)
    p.add_argument("listen", nargs="+", metavar="ADDR:KIND")
    asyncio.run(main(p.parse_args()))
