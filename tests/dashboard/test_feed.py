"""The dashboard feed without a browser: a real venue (journal off), the real feed and its
rounds, and tabs that keep what they are sent. The page's side of the protocol (apply a
snapshot, then diffs whose `prev` is the book held) is replayed here in Python."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest

from sandex.config import parse_config
from sandex.core.commands import CancelOrder, PlaceOrder
from sandex.dashboard.feed import (
    DEPTH_LEVELS,
    ROUND_INTERVAL_S,
    TAB_BACKLOG_BYTES,
    TAB_STALL_S,
    DashboardFeed,
    Tab,
)
from sandex.server.app import build_context
from sandex.server.context import ServerContext
from tests.support.server import BASE_CONFIG

CONFIG = BASE_CONFIG.replace("[simulator]", '[journal]\nsync = "off"\n[simulator]')


def payload(frame: bytes) -> dict[str, Any]:
    """The JSON of one unmasked server text frame."""
    assert frame[0] == 0x81, "a final text frame"
    length = frame[1] & 0x7F
    start = 2 if length < 126 else 4 if length == 126 else 10
    return json.loads(frame[start:])


class Page:
    """A tab as the browser holds it: every message, and the book built from them."""

    def __init__(self, backlog: int = 0) -> None:
        self.messages: list[dict[str, Any]] = []
        self.backlog_bytes = backlog
        self.tab = Tab(self.send, lambda: self.backlog_bytes)
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.book_seq: int | None = None
        self.gaps = 0

    def send(self, frame: bytes) -> bool:
        message = payload(frame)
        self.messages.append(message)
        if message["type"] == "book":
            self._book(message)
        return True

    def _book(self, message: dict[str, Any]) -> None:
        if message["snapshot"]:
            self.bids, self.asks = dict(message["bids"]), dict(message["asks"])
        else:
            if message["prev"] != self.book_seq:
                self.gaps += 1
                return
            for levels, changes in ((self.bids, message["bids"]), (self.asks, message["asks"])):
                for price, size in changes:
                    if Decimal(size) == 0:
                        levels.pop(price, None)
                    else:
                        levels[price] = size
        self.book_seq = message["seq"]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]


@pytest.fixture
async def ctx() -> Any:
    context = build_context(parse_config(CONFIG))
    await context.venue.open()
    yield context
    await context.venue.close()


def ids(ctx: ServerContext) -> tuple[int, int]:
    accounts = ctx.venue.engine.account_by_key
    return accounts["alice-key"].id, accounts["bob-key"].id


def venue_top(ctx: ServerContext, symbol: str) -> tuple[dict[str, str], dict[str, str]]:
    market = ctx.venue.engine.markets[symbol]
    bids, asks = ctx.venue.marketdata.top(symbol, DEPTH_LEVELS)
    fmt = lambda levels: {market.format_price(p): market.format_amount(q) for p, q in levels}  # noqa: E731
    return fmt(bids), fmt(asks)


def feed_for(ctx: ServerContext, **kwargs: Any) -> DashboardFeed:
    feed = DashboardFeed(ctx, **kwargs)
    ctx.venue.listeners.append(feed.on_events)
    return feed


async def test_a_tab_gets_the_venue_then_a_snapshot_of_the_market_it_watches(ctx: ServerContext) -> None:
    alice, bob = ids(ctx)
    await ctx.venue.execute(PlaceOrder(bob, "BTC_USDT", "sell", price=6_510_000, amount=500_000))
    await ctx.venue.execute(PlaceOrder(alice, "BTC_USDT", "buy", price=6_490_000, amount=200_000))
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    assert [m["type"] for m in page.messages] == ["hello", "tickers", "accounts", "status"]
    hello = page.messages[0]
    assert [m["symbol"] for m in hello["markets"]] == ["BTC_USDT", "ETH_USDT"]
    assert "1m" in hello["intervals"] and "1M" in hello["intervals"]
    assert {a["name"] for a in page.of("accounts")[0]["accounts"]} == {"alice", "bob"}
    assert page.of("status")[0]["replay"] is None
    feed.receive(page.tab, json.dumps({"op": "watch", "symbol": "BTC_USDT", "interval": "5m"}))
    book = page.of("book")[-1]
    assert book["snapshot"] and book["seq"] == ctx.venue.engine.seq
    assert book["asks"] == [["65100.00", "0.500000"]] and book["bids"] == [["64900.00", "0.200000"]]
    # Both are own accounts' orders: the ladder marks them.
    assert book["own"] == [["buy", "64900.00", "0.200000"], ["sell", "65100.00", "0.500000"]]
    assert page.of("bars")[-1]["interval"] == "5m"
    assert all(m["seq"] == ctx.venue.engine.seq for m in page.messages[-3:])


async def test_diffs_chain_by_seq_and_rebuild_the_venues_book_exactly(ctx: ServerContext) -> None:
    alice, bob = ids(ctx)
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    feed.receive(page.tab, '{"op": "watch", "symbol": "BTC_USDT"}')
    placed = []
    for i in range(120):
        side, account = ("sell", bob) if i % 2 else ("buy", alice)
        price = 6_500_000 + (i % 30 + 1) * 100 * (1 if side == "sell" else -1)
        events = await ctx.venue.execute(PlaceOrder(account, "BTC_USDT", side, price=price, amount=1000 + i))
        placed.append((account, events[0].order_id))  # type: ignore[attr-defined]
        if i % 7 == 0:
            feed.run_round()
    for account, order_id in placed[::3]:
        await ctx.venue.execute(CancelOrder(account, order_id))
    # A taker through several levels.
    await ctx.venue.execute(PlaceOrder(alice, "BTC_USDT", "buy", price=6_501_000, amount=50_000))
    feed.run_round()
    diffs = [m for m in page.of("book") if not m["snapshot"]]
    assert len(diffs) >= 10 and page.gaps == 0
    assert page.book_seq == ctx.venue.engine.seq
    assert (page.bids, page.asks) == venue_top(ctx, "BTC_USDT")
    trades = page.of("trades")[-1]["trades"]
    assert trades and all(row[5] for row in trades)  # alice and bob traded: own trades


async def test_a_page_that_misses_a_diff_sees_the_gap_and_a_resync_repairs_it(ctx: ServerContext) -> None:
    _, bob = ids(ctx)
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    feed.receive(page.tab, '{"op": "watch", "symbol": "BTC_USDT"}')
    real_send = page.send
    page.tab.send = lambda frame: True  # one round lost on the way
    await ctx.venue.execute(PlaceOrder(bob, "BTC_USDT", "sell", price=6_600_000, amount=1000))
    feed.run_round()
    page.tab.send = real_send
    await ctx.venue.execute(PlaceOrder(bob, "BTC_USDT", "sell", price=6_610_000, amount=1000))
    feed.run_round()
    assert page.gaps == 1  # the diff names a book the page never had
    feed.receive(page.tab, '{"op": "resync"}')
    assert page.of("book")[-1]["snapshot"]
    assert (page.bids, page.asks) == venue_top(ctx, "BTC_USDT")


async def test_a_backed_up_tab_is_skipped_then_gets_a_snapshot(ctx: ServerContext) -> None:
    _, bob = ids(ctx)
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    feed.receive(page.tab, '{"op": "watch", "symbol": "BTC_USDT"}')
    page.backlog_bytes = TAB_BACKLOG_BYTES + 1
    before = len(page.messages)
    for i in range(5):
        await ctx.venue.execute(PlaceOrder(bob, "BTC_USDT", "sell", price=6_600_000 + i, amount=1000))
        feed.run_round()
    assert len(page.messages) == before  # nothing queued behind a page that does not read
    page.backlog_bytes = 0
    feed.run_round()
    assert page.of("book")[-1]["snapshot"] and page.gaps == 0
    assert (page.bids, page.asks) == venue_top(ctx, "BTC_USDT")


async def test_book_updates_are_coalesced_to_at_most_20_a_second(ctx: ServerContext) -> None:
    alice, bob = ids(ctx)
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    feed.receive(page.tab, '{"op": "watch", "symbol": "BTC_USDT"}')
    feed.start()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = 0
        while loop.time() - started < 2.0:
            for i in range(10):
                side, account = ("sell", bob) if (sent + i) % 2 else ("buy", alice)
                offset = ((sent + i) % 40 + 1) * 100
                price = 6_500_000 + offset if side == "sell" else 6_500_000 - offset
                ctx.venue.submit(PlaceOrder(account, "BTC_USDT", side, price=price, amount=1000))
            sent += 10
            await asyncio.sleep(0.002)
        await asyncio.sleep(ROUND_INTERVAL_S * 3)
        elapsed = loop.time() - started
    finally:
        await feed.stop()
    diffs = [m for m in page.of("book") if not m["snapshot"]]
    assert sent >= 1000
    assert 10 <= len(diffs) <= 20 * elapsed + 1, (len(diffs), elapsed)
    stamps = [m["ts"] for m in diffs]
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= ROUND_INTERVAL_S * 1000 * 0.8
    assert page.gaps == 0 and (page.bids, page.asks) == venue_top(ctx, "BTC_USDT")


async def test_bad_requests_get_an_error_message_and_change_nothing(ctx: ServerContext) -> None:
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    for bad in (
        b"\xff\xfe",
        "not json",
        "[]",
        '{"op": "watch", "symbol": "DOGE_USDT"}',
        '{"op": "watch", "interval": "7m"}',
        '{"op": "explode"}',
        '{"op": "watch", "extra": 1}',
        '{"op": 5}',
    ):
        feed.receive(page.tab, bad)
        assert page.messages[-1]["type"] == "error", bad
    assert page.tab.symbol is None and page.tab.interval == "1m"
    assert not page.of("book")


async def test_accounts_show_balances_orders_fills_and_rejects(ctx: ServerContext) -> None:
    alice, bob = ids(ctx)
    feed = feed_for(ctx)
    page = Page()
    feed.open(page.tab)
    await ctx.venue.execute(PlaceOrder(bob, "BTC_USDT", "sell", price=6_500_000, amount=100_000))
    await ctx.venue.execute(PlaceOrder(alice, "BTC_USDT", "buy", price=6_500_000, amount=40_000))
    await ctx.venue.execute(PlaceOrder(alice, "BTC_USDT", "buy", price=6_500_000, amount=10**12))  # too big
    feed.run_round()
    accounts = {a["name"]: a for a in page.of("accounts")[-1]["accounts"]}
    alice_view, bob_view = accounts["alice"], accounts["bob"]
    assert alice_view["wallets"][0]["balances"]["BTC"] == {"free": "10.03996", "held": "0"}
    assert bob_view["wallets"][0]["balances"]["BTC"] == {"free": "9.9", "held": "0.06"}
    assert [row[0] for row in bob_view["open_orders"]] and bob_view["open_orders"][0][6] == "0.040000"
    assert alice_view["fills"][0][3:7] == ["buy", "taker", "65000.00", "0.040000"]
    assert alice_view["rejects"] and alice_view["rejects"][0][2] == "insufficient_balance"


async def test_a_tab_that_never_drains_is_closed(ctx: ServerContext) -> None:
    now = [1000.0]
    feed = feed_for(ctx, monotonic=lambda: now[0])
    page = Page(backlog=TAB_BACKLOG_BYTES + 1)
    closed: list[bool] = []
    page.tab.close = lambda: closed.append(True)
    feed.open(page.tab)
    feed.run_round()
    now[0] += TAB_STALL_S / 2
    feed.run_round()
    assert not closed and page.tab in feed.tabs  # slow, but not gone yet
    now[0] += TAB_STALL_S
    feed.run_round()
    assert closed == [True] and page.tab not in feed.tabs
