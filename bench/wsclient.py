"""Load clients for the transport benches, run as their own process (so that they do not share
the server's event loop; on a 2-core machine they still share the machine).

    python bench/wsclient.py fanout  URL --conns 1000 --warmup 2 --seconds 5 [--send TEXT ...]
    python bench/wsclient.py hold    URL --conns 10000 [--auth KEY:SECRET] --seconds 5

Both print one JSON object on stdout.

`fanout` opens --conns WebSocket connections, sends each --send text frame on each, and counts
the frames received during --seconds (after --warmup): deliveries per second. Frames are counted,
not decoded: picows parses them in C and calls back once per frame.

`hold` opens --conns connections (signing each in with DigiFinex `server.auth` when --auth is
given, and waiting for the answer), reports `ready` on stdout, then keeps them open and idle
until its stdin closes or --seconds pass.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import resource
import sys
import time

from picows import WSListener, WSMsgType, ws_connect


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Stats:
    __slots__ = ("answers", "bytes", "connected", "counting", "disconnected", "frames")

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.connected = 0
        self.disconnected = 0
        self.counting = False
        self.answers = 0


class Counter(WSListener):
    def __init__(self, stats: Stats, sends: list[bytes]) -> None:
        self.stats = stats
        self.sends = sends

    def on_ws_connected(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.stats.connected += 1
        for text in self.sends:
            transport.send(WSMsgType.TEXT, text)

    def on_ws_frame(self, transport, frame) -> None:  # type: ignore[no-untyped-def]
        stats = self.stats
        stats.answers += 1
        if stats.counting:
            stats.frames += 1
            stats.bytes += frame.payload_size

    def on_ws_disconnected(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.stats.disconnected += 1


async def connect_all(url: str, conns: int, stats: Stats, sends: list[bytes], batch: int = 100) -> list:
    transports = []
    for start in range(0, conns, batch):
        results = await asyncio.gather(
            *(
                ws_connect(lambda: Counter(stats, sends), url, max_frame_size=64 * 1024 * 1024)
                for _ in range(min(batch, conns - start))
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
            transports.append(result[0])
    return transports


async def fanout(args: argparse.Namespace) -> dict:
    stats = Stats()
    sends = [text.encode() for text in args.send]
    started = time.perf_counter()
    transports = await connect_all(args.url, args.conns, stats, sends)
    connect_s = time.perf_counter() - started
    await asyncio.sleep(args.warmup)
    stats.counting = True
    t0 = time.perf_counter()
    await asyncio.sleep(args.seconds)
    stats.counting = False
    elapsed = time.perf_counter() - t0
    frames, nbytes, lost = stats.frames, stats.bytes, stats.disconnected
    for transport in transports:
        transport.disconnect()
    await asyncio.sleep(0.2)
    return {
        "conns": args.conns,
        "connected": stats.connected,
        "disconnected_during": lost,
        "frames": frames,
        "seconds": elapsed,
        "rate": frames / elapsed,
        "avg_payload": nbytes / frames if frames else 0,
        "connect_s": connect_s,
    }


def auth_text(key: str, secret: str, rid: int) -> bytes:
    ts = str(int(time.time() * 1000))
    sign = base64.b64encode(hmac.new(secret.encode(), ts.encode(), hashlib.sha256).digest()).decode()
    return json.dumps({"id": rid, "method": "server.auth", "params": [key, ts, sign]}).encode()


async def hold(args: argparse.Namespace) -> dict:
    stats = Stats()
    sends = []
    if args.auth:
        key, _, secret = args.auth.partition(":")
        sends = [auth_text(key, secret, 1)]
    started = time.perf_counter()
    transports = await connect_all(args.url, args.conns, stats, sends)
    # Wait for every connection's answer (the auth reply), so all of them are signed in.
    deadline = time.perf_counter() + 60
    want = args.conns if args.auth else 0
    while stats.answers < want and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    ready_s = time.perf_counter() - started
    print(
        json.dumps(
            {"ready": True, "connected": stats.connected, "answers": stats.answers, "ready_s": ready_s}
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdin_closed, args.seconds)
    alive = stats.connected - stats.disconnected
    for transport in transports:
        transport.disconnect()
    await asyncio.sleep(0.2)
    return {"conns": args.conns, "connected": stats.connected, "alive_at_end": alive}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["fanout", "hold"])
    parser.add_argument("url")
    parser.add_argument("--conns", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--send", action="append", default=[])
    parser.add_argument("--auth", default="")
    args = parser.parse_args()
    raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(fanout(args) if args.mode == "fanout" else hold(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
