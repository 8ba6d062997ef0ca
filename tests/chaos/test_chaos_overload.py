"""Overload against a real `sandex serve`: a client that stops reading is cut without slowing
1,000 others, and a flood of frames, connections or calls from one key is limited without
touching other keys."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.server import BASE_CONFIG, ROOT, SandexServer

READERS = 1000
SEND_BUFFER = 65536

SLOW_CONFIG = (
    BASE_CONFIG.replace(
        "[simulator]\nenabled = false",
        "[simulator]\nenabled = true\norders_per_second = 12\nlevels = 30\ntaker_ratio = 0.6",
    )
    + f"""
[limits.infoway]
profile = "relaxed"
[limits.session]
send_buffer_limit_bytes = {SEND_BUFFER}
"""
)


def metric(server: SandexServer, name: str, dialect: str) -> float:
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f'{name}{{dialect="{dialect}"}}'):
                return float(line.split()[-1])
    return 0.0


class Reader:
    """One well-behaved Infoway client: reads every frame, stamps each trade push on arrival."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.trades: list[tuple[int, float]] = []  # (trade time in ms, received at in s), wall clock
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            if '"code":10002' in raw:
                self.trades.append((json.loads(raw)["data"]["t"], time.time()))


async def connect_readers(server: SandexServer, count: int) -> list[Reader]:
    async def one() -> Reader:
        ws = await websockets.connect(
            server.ws_url("/ws?business=crypto&apikey=alice-key"),
            ping_interval=None,
            compression=None,
            max_queue=None,
        )
        assert json.loads(await ws.recv())["code"] == 200
        await ws.send('{"code":10000,"trace":"t","data":{"codes":"BTCUSDT"}}')
        assert json.loads(await ws.recv())["code"] == 10001
        return Reader(ws)

    readers: list[Reader] = []
    for start in range(0, count, 100):
        readers += await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    return readers


def fan_out_latencies(readers: list[Reader], since: float, until: float) -> list[float]:
    """Per trade made in [since, until): how long until the LAST of the readers had its push.

    One number per push, not per delivery: a single hiccup of the test process (1,000 clients in
    one Python loop) then counts once, not a thousand times, while a server that waited for a slow
    client would show in every push after it."""
    last: dict[int, float] = {}
    for reader in readers:
        for t, received in reader.trades:
            if since <= t / 1000 < until:
                last[t] = max(last.get(t, 0.0), received - t / 1000)
    return sorted(last.values())


async def test_a_stalled_client_is_cut_and_a_thousand_others_keep_their_latency(tmp_path: Path) -> None:
    with SandexServer(tmp_path, SLOW_CONFIG) as server:
        readers = await connect_readers(server, READERS)
        await asyncio.sleep(1.0)
        baseline_from = time.time()
        await asyncio.sleep(4.0)
        stalled_from = time.time()
        # The stalled client (its own process, see stalled_client.py): a tiny TCP window and a hung
        # reader, while its writer keeps asking for depth snapshots. Its backlog grows through the
        # kernel's buffers into sandex's, and past limits.session.send_buffer_limit_bytes it is cut.
        stalled = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.chaos.stalled_client",
            str(server.port),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await asyncio.wait_for(stalled.communicate(), 60)
        cut_at = time.time() if out.startswith(b"cut after") else None
        assert cut_at is not None, "the stalled client was never cut"
        await asyncio.sleep(max(0.5, 4.0 - (time.time() - stalled_from)))
        stalled_until = time.time()
        await asyncio.sleep(1.0)  # pushes of the last second arrive

        assert metric(server, "sandex_ws_slow_consumer_drops_total", "digifinex") == 1
        assert metric(server, "sandex_ws_slow_consumer_drops_total", "infoway") == 0
        base = fan_out_latencies(readers, baseline_from, stalled_from)
        under = fan_out_latencies(readers, stalled_from, stalled_until)
        print(
            f"slow consumer: {out.decode().strip()}; time for a trade to reach all {READERS} readers, "
            f"median/max: {statistics.median(base) * 1000:.1f}/{max(base) * 1000:.1f} ms before, "
            f"{statistics.median(under) * 1000:.1f}/{max(under) * 1000:.1f} ms with the stalled client "
            f"({len(base)} and {len(under)} trades)"
        )
        assert len(base) >= 5 and len(under) >= 5, (len(base), len(under))

        # Every reader got every trade, in order: nobody was slowed into losing or reordering one.
        # (Up to stalled_until: the simulator keeps trading, and the latest push may be on its way.)
        def seen(reader: Reader) -> list[int]:
            return [t for t, _ in reader.trades if baseline_from <= t / 1000 < stalled_until]

        reference = seen(readers[0])
        assert reference == sorted(reference)
        assert len(reference) >= 10 and all(seen(r) == reference for r in readers)
        # Nobody waited for the stalled client: a server that did would hold every later push back.
        assert statistics.median(under) <= 1.5 * statistics.median(base) + 0.02, (base, under)
        assert max(under) < 0.5, under
        for reader in readers:
            await reader.ws.close()
        await asyncio.gather(*(r.task for r in readers), return_exceptions=True)


FLOOD_CONFIG = (
    BASE_CONFIG
    + """
[[accounts]]
name = "carol"
api_key = "carol-key"
secret = "carol-secret"
[limits.infoway]
max_connections_per_key = 20
block_after_disconnects = 3
[limits.dbot]
rest_calls_per_minute = 30
"""
)


async def test_a_flood_from_one_key_is_limited_without_touching_other_keys(tmp_path: Path) -> None:
    with SandexServer(tmp_path, FLOOD_CONFIG) as server:
        url = server.ws_url("/ws?business=crypto&apikey={key}")
        bob = await websockets.connect(url.format(key="bob-key"), ping_interval=None)
        assert json.loads(await bob.recv())["code"] == 200
        await bob.send('{"code":10000,"trace":"t","data":{"codes":"BTCUSDT"}}')
        assert json.loads(await bob.recv())["code"] == 10001

        # alice floods frames: 501 and a close each time, and after 3 such disconnects her key is
        # blocked at the upgrade (401).
        for _ in range(3):
            ws = await websockets.connect(url.format(key="alice-key"), ping_interval=None)
            await ws.recv()
            codes = []
            try:
                for i in range(100):
                    await ws.send(json.dumps({"code": 10010, "trace": str(i)}))
                while True:
                    codes.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["code"])
            except ConnectionClosed:
                pass
            assert codes == [501]
        try:
            await websockets.connect(url.format(key="alice-key"))
            raise AssertionError("a blocked key connected")
        except InvalidStatus as refused:
            assert refused.response.status_code == 401

        # carol floods connections: beyond 20 of her own, each new one gets 512 and is closed.
        opened = []
        for _ in range(20):
            ws = await websockets.connect(url.format(key="carol-key"), ping_interval=None)
            assert json.loads(await ws.recv())["code"] == 200
            opened.append(ws)
        extra = await websockets.connect(url.format(key="carol-key"), ping_interval=None)
        assert json.loads(await extra.recv())["code"] == 512
        with_bob = await websockets.connect(url.format(key="bob-key"), ping_interval=None)
        assert json.loads(await with_bob.recv())["code"] == 200  # bob may still connect
        opened.append(with_bob)

        # Meanwhile bob's first connection is untouched: it still gets its trades, promptly.
        async with aiohttp.ClientSession() as http:
            placed = await trade(http, server)
        push = await recv_code(bob, 10002)
        assert push["data"]["p"] == "65000" and time.time() - placed < 1.0

        # DBot REST: one account over its 30 calls a minute gets 429; the other is served.
        async with aiohttp.ClientSession() as http:
            statuses = [await dbot_status(http, server, "alice-key") for _ in range(35)]
            assert statuses[:30] == [200] * 30 and set(statuses[30:]) == {429}
            assert await dbot_status(http, server, "bob-key") == 200
        for ws in [bob, extra, *opened]:
            await ws.close()


async def trade(http: aiohttp.ClientSession, server: SandexServer) -> float:
    from tests.digifinex.dfx_support import arest

    await arest(
        http,
        server.base_url,
        "POST",
        "/v3/spot/order/new",
        {"symbol": "BTC_USDT", "type": "sell", "price": "65000", "amount": "0.01"},
        ("alice-key", "alice-secret"),
    )
    placed = time.time()
    await arest(
        http,
        server.base_url,
        "POST",
        "/v3/spot/order/new",
        {"symbol": "BTC_USDT", "type": "buy", "price": "65000", "amount": "0.01"},
        ("bob-key", "bob-secret"),
    )
    return placed


async def recv_code(ws: websockets.ClientConnection, code: int) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame.get("code") == code:
            return frame


async def dbot_status(http: aiohttp.ClientSession, server: SandexServer, key: str) -> int:
    async with http.get(
        server.base_url + "/automation/follow_orders", headers={"X-API-KEY": key}
    ) as response:
        await response.read()
        return response.status
