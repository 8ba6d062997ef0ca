"""Depth faults, observed by clients that keep a book: a skipped DigiFinex diff or a stale
snapshot leaves the client's book different from the venue's (what a resync check must notice),
and re-subscribing without the fault brings it back. Infoway clients get an old snapshot, or none."""

from __future__ import annotations

import asyncio
import json
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from tests.digifinex.dfx_support import ws_auth_params
from tests.faults.fault_support import LiveVenue, live_venue

Book = dict[str, dict[Decimal, Decimal]]


class DepthClient:
    """What a DigiFinex bot does: a clean snapshot, then apply every diff (amount 0 = remove)."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.book: Book = {"asks": {}, "bids": {}}
        self.diffs = 0
        self._id = 0

    @classmethod
    async def connect(cls, venue: LiveVenue, creds: tuple[str, str]) -> DepthClient:
        client = cls(await websockets.connect(venue.ws_url("/ws/v1/"), ping_interval=None))
        assert (await client.call("server.auth", ws_auth_params(*creds)))["error"] is None
        return client

    async def call(self, method: str, params: list[Any]) -> dict[str, Any]:
        self._id += 1
        await self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            frame = await self._recv(2.0)
            if frame.get("id") == self._id:
                return frame
            self._apply(frame)

    async def subscribe(self) -> None:
        assert (await self.call("depth.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
        frame = await self._recv(2.0)  # the clean snapshot follows the ack
        assert frame["method"] == "depth.update" and frame["params"][0] is True
        self._apply(frame)

    async def pump(self, seconds: float) -> None:
        """Apply whatever arrives within `seconds`."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                self._apply(await self._recv(left))
            except TimeoutError:
                return

    async def _recv(self, timeout: float) -> dict[str, Any]:
        return json.loads(
            zlib.decompress(await asyncio.wait_for(self.ws.recv(), timeout)), parse_float=Decimal
        )

    def _apply(self, frame: dict[str, Any]) -> None:
        if frame.get("method") != "depth.update":
            return
        clean, levels, _ = frame["params"]
        if clean:
            self.book = {"asks": {}, "bids": {}}
        else:
            self.diffs += 1
        for side in ("asks", "bids"):
            for price, amount in levels.get(side, []):
                if Decimal(amount) == 0:
                    self.book[side].pop(Decimal(price), None)
                else:
                    self.book[side][Decimal(price)] = Decimal(amount)


async def venue_book(venue: LiveVenue) -> Book:
    """The venue's own view, over REST (what a resync check compares against)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{venue.base_url}/v3/order_book?symbol=BTC_USDT&limit=30") as response,
    ):
        body = json.loads(await response.read(), parse_float=Decimal)
    return {side: {Decimal(str(p)): Decimal(str(q)) for p, q in body[side]} for side in ("asks", "bids")}


async def build_book(venue: LiveVenue, first: int, count: int) -> None:
    for i in range(first, first + count):
        await venue.place("alice-key", "BTC_USDT", "sell", f"{65100 + 10 * i}", "0.01")
        await venue.place("bob-key", "BTC_USDT", "buy", f"{64900 - 10 * i}", "0.02")


async def test_a_skipped_diff_leaves_the_book_wrong_until_a_resubscribe(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        await build_book(venue, 0, 3)
        await venue.set_fault("gappy", dialect="digifinex", api_key="alice-key", skip_depth_probability=1.0)
        victim = await DepthClient.connect(venue, ("alice-key", "alice-secret"))
        healthy = await DepthClient.connect(venue, ("bob-key", "bob-secret"))
        for client in (victim, healthy):
            await client.subscribe()
            assert client.book == await venue_book(venue)  # snapshots are not skipped
        await build_book(venue, 3, 4)
        await asyncio.gather(victim.pump(0.5), healthy.pump(0.5))
        truth = await venue_book(venue)
        assert healthy.diffs > 0 and healthy.book == truth
        assert victim.diffs == 0 and victim.book != truth
        assert (await venue.injected("gappy"))["skip_depth"] >= 1
        # The client's resync: the fault is gone, subscribe again, hold the right book.
        await venue.disable_fault("gappy")
        await victim.subscribe()
        await build_book(venue, 7, 2)
        await victim.pump(0.5)
        assert victim.diffs > 0 and victim.book == await venue_book(venue)
        for client in (victim, healthy):
            await client.ws.close()


async def test_a_stale_snapshot_is_an_older_book_and_diffs_do_not_repair_it(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        watcher = await DepthClient.connect(venue, ("bob-key", "bob-secret"))
        await watcher.subscribe()
        await build_book(venue, 0, 3)
        await watcher.pump(0.3)
        await venue.set_fault("stale", dialect="digifinex", api_key="alice-key", stale_depth_probability=1.0)
        victim = await DepthClient.connect(venue, ("alice-key", "alice-secret"))
        await victim.subscribe()
        truth = await venue_book(venue)
        assert watcher.book == truth
        assert victim.book != truth
        # It is a real book from a moment ago (one change behind), not garbage.
        assert set(victim.book["asks"]) < set(truth["asks"]) or set(victim.book["bids"]) < set(truth["bids"])
        await build_book(venue, 3, 2)
        await asyncio.gather(victim.pump(0.5), watcher.pump(0.5))
        truth = await venue_book(venue)
        assert watcher.book == truth and victim.diffs > 0 and victim.book != truth
        await venue.disable_fault("stale")
        await victim.subscribe()
        assert victim.book == await venue_book(venue)
        for client in (victim, watcher):
            await client.ws.close()


async def infoway_depth(venue: LiveVenue, key: str) -> websockets.ClientConnection:
    ws = await websockets.connect(venue.infoway_url(key), ping_interval=None)
    assert json.loads(await ws.recv())["code"] == 200
    await ws.send(json.dumps({"code": 10003, "trace": "d", "data": {"codes": "BTCUSDT"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 2))["code"] == 10004
    return ws


async def depth_pushes(ws: websockets.ClientConnection, seconds: float) -> list[dict[str, Any]]:
    out = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if frame.get("code") == 10005:
            out.append(frame["data"])
    return out


async def test_infoway_clients_get_an_old_snapshot_or_none(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        await build_book(venue, 0, 2)
        healthy = await infoway_depth(venue, "bob-key")
        stale = await infoway_depth(venue, "alice-key")
        await depth_pushes(stale, 0.3)
        await venue.set_fault("old", dialect="infoway", api_key="alice-key", stale_depth_probability=1.0)
        await build_book(venue, 2, 1)  # a better level on each side: the top changes
        bob_pushes, alice_pushes = await asyncio.gather(depth_pushes(healthy, 0.6), depth_pushes(stale, 0.6))
        newest_ask = Decimal("65120")

        def asks(push: dict[str, Any]) -> set[Decimal]:
            return {Decimal(price) for price in push["a"][0]}

        assert bob_pushes and newest_ask in asks(bob_pushes[-1])
        # alice is always one push behind: never the book with the new level in it.
        assert alice_pushes and all(newest_ask not in asks(push) for push in alice_pushes)
        await venue.set_fault("old", stale_depth_probability=0.0, skip_depth_probability=1.0)
        assert await depth_pushes(stale, 1.3) == []  # skipped: nothing at all, not even the 1 s refresh
        assert len(await depth_pushes(healthy, 1.1)) >= 1
        for ws in (healthy, stale):
            await ws.close()
