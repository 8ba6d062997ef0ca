"""Depth diffs are exact: a client applying them holds the true book, after thousands of updates.

The simulator trades and amends quotes on both markets while the test places and cancels its own
orders over REST. A client keeps its book from `depth.update` alone: a clean push replaces it, a
diff sets each level and drops those sent as "0". The venue re-sends a clean snapshot every
second here; each one must equal the book the client built from diffs since the previous one —
a check in mid-stream, under load. At the end, with the market stopped, the client's book must
equal a fresh subscriber's snapshot, `GET /v3/order_book`, and the venue's own book.
"""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tests.digifinex.dfx_support import ALICE, InProcess, arest, in_process, with_sections, ws_client

Side = dict[str, str]  # price string -> amount string
SYMBOLS = ("BTC_USDT", "ETH_USDT")


class DepthClient:
    """A DigiFinex depth consumer, checking every push it applies."""

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self.books: dict[str, dict[str, Side]] = {}
        self.diffs = 0
        self.resyncs = 0  # clean pushes that arrived on top of a book built from diffs
        self.last_frame = time.monotonic()

    def apply(self, params: list) -> None:
        clean, data, symbol = params
        assert set(data) == {"asks", "bids"}
        for side in ("asks", "bids"):
            prices = [Decimal(p) for p, _ in data[side]]
            assert prices == sorted(prices, reverse=True), f"{side} not descending"
        snapshot = {side: {p: q for p, q in data[side]} for side in ("asks", "bids")}
        if clean:
            for side in ("asks", "bids"):
                assert len(snapshot[side]) <= self.levels and "0" not in snapshot[side].values()
            if symbol in self.books:
                # The periodic snapshot: what the diffs built must be exactly this.
                assert self.books[symbol] == snapshot, f"{symbol}: diffs drifted from the book"
                self.resyncs += 1
            self.books[symbol] = snapshot
            return
        assert symbol in self.books, "a diff before the clean snapshot"
        self.diffs += 1
        for side in ("asks", "bids"):
            book = self.books[symbol][side]
            for price, amount in data[side]:
                if amount == "0":
                    assert price in book, f"{side} {price}: dropped a level the client does not hold"
                    del book[price]
                else:
                    assert Decimal(amount) > 0
                    book[price] = amount
            # A missed drop would leave the client with more levels than the window.
            assert len(book) <= self.levels, f"{symbol} {side}: {len(book)} levels > {self.levels}"


def as_numbers(side: Side) -> list[tuple[Decimal, Decimal]]:
    return sorted(((Decimal(p), Decimal(q)) for p, q in side.items()), reverse=True)


async def churn(url: str, stop: asyncio.Event) -> int:
    """Subscribe and unsubscribe over and over under load: the frame after each subscribe ack
    must be that subscription's clean snapshot (the ack comes first, and no diff slips in)."""
    rounds = 0
    async with ws_client(url) as ws:
        while not stop.is_set():
            await ws.call("depth.subscribe", ["BTC_USDT"])
            first = await ws.recv()
            assert first["method"] == "depth.update" and first["params"][0] is True, first
            assert first["params"][2] == "BTC_USDT"
            request_id = await ws.send("depth.unsubscribe", [])
            while "method" in (frame := await ws.recv()):
                # Pushes already in flight (diffs, or the periodic clean snapshot) precede the ack.
                assert frame["method"] == "depth.update" and frame["params"][2] == "BTC_USDT"
            assert frame == {"error": None, "result": {"status": "success"}, "id": request_id}
            rounds += 1
            await asyncio.sleep(0.01)
    return rounds


async def own_orders(
    venue: InProcess, session: aiohttp.ClientSession, stop: asyncio.Event, rng: random.Random
) -> int:
    """Alice trades too: limit orders in and around the top of the book, cancels, market orders."""
    placed: list[str] = []
    count = 0
    md = venue.ctx.venue.marketdata
    while not stop.is_set():
        symbol = rng.choice(SYMBOLS)
        bids, asks = md.top(symbol, 1)
        market = venue.ctx.venue.engine.markets[symbol]
        roll = rng.random()
        if roll < 0.15 and placed:
            order_id = placed.pop(rng.randrange(len(placed)))
            await arest(
                session, venue.base_url, "POST", "/v3/spot/order/cancel", {"order_id": order_id}, ALICE
            )
        elif roll < 0.25:
            await arest(
                session,
                venue.base_url,
                "POST",
                "/v3/spot/order/new",
                {"symbol": symbol, "type": "sell_market", "amount": "0.01"},
                ALICE,
            )
        elif bids and asks:
            side = rng.choice(("buy", "sell"))
            mid = (bids[0][0] + asks[0][0]) // 2
            offset = rng.randint(-30, 60) * (1 if side == "sell" else -1) * max(1, mid // 20000)
            price = market.format_price(max(1, mid + offset))
            reply = await arest(
                session,
                venue.base_url,
                "POST",
                "/v3/spot/order/new",
                {"symbol": symbol, "type": side, "price": price, "amount": "0.05"},
                ALICE,
            )
            if reply["code"] == 0:
                placed.append(reply["order_id"])
        count += 1
        await asyncio.sleep(0.005)
    return count


@pytest.mark.parametrize(("sync", "levels", "target_diffs"), [("off", 10, 5000), ("normal", 30, 2000)])
async def test_depth_diffs_rebuild_the_exact_book(
    tmp_path: Path, sync: str, levels: int, target_diffs: int
) -> None:
    # sync "off" publishes after every command; "normal" batches commands per group commit, so a
    # diff covers many changes. 10 levels makes levels enter and leave the window all the time.
    config = with_sections(
        f'[journal]\nsync = "{sync}"\n[limits.digifinex]\ndepth_levels = {levels}\ndepth_snapshot_interval_s = 1\n',
        simulator="enabled = true\norders_per_second = 500\nlevels = 40\nseed = 11",
    )
    async with in_process(tmp_path, config) as venue:
        client = DepthClient(levels)
        async with ws_client(venue.ws_url) as ws, aiohttp.ClientSession() as session:
            reply = await ws.call("depth.subscribe", list(SYMBOLS))
            assert reply["result"] == {"status": "success"}

            async def read() -> None:
                while True:
                    frame = await ws.recv(timeout=30)
                    assert frame["method"] == "depth.update" and frame["id"] is None
                    client.apply(frame["params"])
                    client.last_frame = time.monotonic()

            reader = asyncio.create_task(read())
            stop = asyncio.Event()
            trader = asyncio.create_task(own_orders(venue, session, stop, random.Random(5)))
            churner = asyncio.create_task(churn(venue.ws_url, stop))
            deadline = time.monotonic() + 60
            while client.diffs < target_diffs and time.monotonic() < deadline and not reader.done():
                await asyncio.sleep(0.2)
            stop.set()
            if reader.done():
                reader.result()  # the client's own assertion, if it failed
            placed = await trader
            assert await churner > 20
            await venue.stop_simulator()
            # Quiet: nothing left in flight, every push read.
            while time.monotonic() - client.last_frame < 0.6 and not reader.done():
                await asyncio.sleep(0.1)
            if reader.done():
                reader.result()  # re-raise an assertion from the reader
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            assert client.diffs >= target_diffs, f"only {client.diffs} diffs"
            assert client.resyncs >= 3 and placed > 50

            # Subscribing again to a subscribed symbol re-sends its clean snapshot (a resync).
            await ws.call("depth.subscribe", ["BTC_USDT"])
            again = await ws.recv()
            assert again["params"][0] is True and again["params"][2] == "BTC_USDT"
            client.apply(again["params"])  # equal to what the diffs built: checked in apply

            async with ws_client(venue.ws_url) as fresh:
                await fresh.call("depth.subscribe", list(SYMBOLS))
                snapshots = {}
                for _ in SYMBOLS:
                    frame = await fresh.recv()
                    assert frame["params"][0] is True
                    snapshots[frame["params"][2]] = frame["params"][1]
            for symbol in SYMBOLS:
                held = client.books[symbol]
                fresh_book = {side: dict(map(tuple, snapshots[symbol][side])) for side in ("asks", "bids")}
                assert held == fresh_book, symbol
                rest_book = await arest(
                    session, venue.base_url, "GET", "/v3/order_book", {"symbol": symbol, "limit": levels}
                )
                for side in ("asks", "bids"):
                    assert as_numbers(held[side]) == [
                        (Decimal(str(p)), Decimal(str(q))) for p, q in rest_book[side]
                    ]
                true_bids, true_asks = venue.ctx.venue.marketdata.top(symbol, levels)
                market = venue.ctx.venue.engine.markets[symbol]
                assert held["bids"] == {market.format_price(p): market.format_amount(q) for p, q in true_bids}
                assert held["asks"] == {market.format_price(p): market.format_amount(q) for p, q in true_asks}
                assert len(true_bids) == levels or len(true_asks) == levels  # the window edge was in play
