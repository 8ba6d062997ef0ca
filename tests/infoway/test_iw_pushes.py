"""Pushes against the truth: the engine's trades, klines recomputed from them, and the book."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import aiohttp

from sandex.core.events import TradeEvent
from tests.infoway.iw_support import Client, Venue, running_venue
from tests.support.recording import RecordingSubscriber


def pushes(frames: list[dict], code: int) -> list[dict]:
    return [f["data"] for f in frames if f.get("code") == code]


def dec(scaled: int, decimals: int) -> Decimal:
    return Decimal(scaled).scaleb(-decimals)


async def test_trade_pushes_match_the_engine_trades_one_for_one(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.request({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT,ETHUSDT"}})
    # Duplicate subscribe: still one push per trade.
    await client.request({"code": 10000, "trace": "t2", "data": {"codes": "BTCUSDT"}})
    trades: list[TradeEvent] = []
    trades += await venue.trade("BTC_USDT", "65000.5", "0.07933", taker_side="buy")
    trades += await venue.trade("ETH_USDT", "3500.25", "1.5", taker_side="sell")
    # One taker sweeping three makers: three trades from one command.
    for price in ("65001", "65002", "65003.75"):
        await venue.place("alice-key", "BTC_USDT", "sell", price, "0.001")
    events = await venue.place("bob-key", "BTC_USDT", "buy", "65010", "0.003")
    trades += [e for e in events if isinstance(e, TradeEvent)]
    assert len(trades) == 5

    got = pushes(await client.collect(1.0), 10002)
    assert len(got) == len(trades)
    markets = venue.ctx.venue.engine.markets
    for push, trade in zip(got, trades, strict=True):
        market = markets[trade.symbol]
        assert push["s"] == trade.symbol.replace("_", "")
        assert Decimal(push["p"]) == dec(trade.price, market.price_precision)
        assert Decimal(push["v"]) == dec(trade.amount, market.amount_precision)
        assert Decimal(push["vw"]) == Decimal(push["p"]) * Decimal(push["v"])  # exact turnover
        assert push["t"] == trade.ts and isinstance(push["t"], int)
        assert push["td"] == (1 if trade.taker_side == "buy" else 2)
        assert list(push) == ["s", "p", "v", "vw", "t", "td"]
    assert [p["p"] for p in got[2:]] == ["65001", "65002", "65003.75"]
    await client.close()


async def test_the_trades_of_one_batch_reach_a_subscriber_in_one_write(venue: Venue) -> None:
    # Trades go out in market-data rounds: a sweep of three makers is one write of three frames.
    from sandex.protocols.infoway.connection import trade_topic

    recorder = RecordingSubscriber()
    topic = trade_topic("BTC_USDT")
    venue.ctx.hub.subscribe(topic, recorder)  # type: ignore[arg-type]
    for price in ("65001", "65002", "65003.75"):
        await venue.place("alice-key", "BTC_USDT", "sell", price, "0.001")
    await venue.place("bob-key", "BTC_USDT", "buy", "65010", "0.003")
    for _ in range(100):
        if recorder.writes:
            break
        await asyncio.sleep(0.01)
    venue.ctx.hub.unsubscribe(topic, recorder)  # type: ignore[arg-type]
    assert len(recorder.writes) == 1, recorder.writes
    data, count = recorder.writes[0]
    assert count == 3
    assert [p.encode() in data for p in ('"p":"65001"', '"p":"65002"', '"p":"65003.75"')] == [True] * 3
    assert data.index(b'"p":"65001"') < data.index(b'"p":"65002"') < data.index(b'"p":"65003.75"')


# -- klines: recomputed here from the trades, with the calendar done by datetime ---------------


def bar_start_s(ktype: int, ts_ms: int) -> int:
    moment = datetime.fromtimestamp(ts_ms / 1000, UTC)
    minutes = {1: 1, 2: 5, 3: 15, 4: 30, 5: 60, 6: 120, 7: 240, 8: 1440}
    if ktype in minutes:
        step = minutes[ktype] * 60
        return ts_ms // 1000 // step * step
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if ktype == 9:
        start = day - timedelta(days=day.weekday())  # Monday
    elif ktype == 10:
        start = day.replace(day=1)
    elif ktype == 11:
        start = day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    else:
        start = day.replace(day=1, month=1)
    return int(start.timestamp())


def expected_bar(trades: list[TradeEvent], ktype: int, start_s: int, pp: int, ap: int) -> dict:
    mine = [t for t in trades if bar_start_s(ktype, t.ts) == start_s]
    prices = [dec(t.price, pp) for t in mine]
    o, c = prices[0], prices[-1]
    pfr = ((c - o) * 100 / o).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "o": o,
        "h": max(prices),
        "l": min(prices),
        "c": c,
        "v": sum((dec(t.amount, ap) for t in mine), Decimal(0)),
        "vw": sum((dec(t.price, pp) * dec(t.amount, ap) for t in mine), Decimal(0)),
        "pca": c - o,
        "pfr": f"{'-' if pfr < 0 else ''}{abs(pfr):.2f}%",
        "t": str(start_s),
    }


def as_decimals(push: dict) -> dict:
    return {
        k: (Decimal(v) if k in ("o", "h", "l", "c", "v", "vw", "pca") else v)
        for k, v in push.items()
        if k not in ("s", "ty")
    }


async def test_kline_pushes_match_klines_recomputed_from_the_trades(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    arr = [{"type": ktype, "codes": "BTCUSDT"} for ktype in range(1, 13)] + [{"type": 1, "codes": "ETHUSDT"}]
    ack = await client.request({"code": 10006, "trace": "k", "data": {"arr": arr}})
    assert ack["code"] == 10007
    trades: list[TradeEvent] = []
    for price, amount, side in [
        ("65000", "0.01", "buy"),
        ("65120.25", "0.02", "sell"),
        ("64880.5", "0.003", "buy"),
        ("64990", "0.5", "sell"),
    ]:
        trades += await venue.trade("BTC_USDT", price, amount, taker_side=side)
    eth = await venue.trade("ETH_USDT", "3500.5", "0.25")

    frames = pushes(await client.collect(2.5), 10008)
    latest: dict[tuple[str, int], dict] = {}
    for push in frames:
        latest[(push["s"], push["ty"])] = push
    assert set(latest) == {("BTCUSDT", ktype) for ktype in range(1, 13)} | {("ETHUSDT", 1)}
    for ktype in range(1, 13):
        push = latest[("BTCUSDT", ktype)]
        assert isinstance(push["t"], str) and isinstance(push["ty"], int)
        start = max(bar_start_s(ktype, t.ts) for t in trades)
        assert as_decimals(push) == expected_bar(trades, ktype, start, 2, 6), ktype
        # Every bar the trades touched was pushed in its final state (a 1m boundary may fall
        # between two of the trades: the closed bar's last state must not be lost).
        for bar in {bar_start_s(ktype, t.ts) for t in trades}:
            finals = [p for p in frames if p["s"] == "BTCUSDT" and p["ty"] == ktype and p["t"] == str(bar)]
            assert as_decimals(finals[-1]) == expected_bar(trades, ktype, bar, 2, 6)
    eth_push = latest[("ETHUSDT", 1)]
    assert as_decimals(eth_push) == expected_bar(eth, 1, bar_start_s(1, eth[0].ts), 2, 4)
    assert eth_push["pfr"] == "0.00%" and eth_push["pca"] == "0"
    await client.close()


async def test_klines_are_pushed_about_once_a_second_while_the_bar_changes(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.request({"code": 10006, "trace": "k", "data": {"arr": [{"type": 1, "codes": "BTCUSDT"}]}})
    for i in range(10):  # ten trades over ~1 s
        await venue.trade("BTC_USDT", f"{65000 + i}", "0.001")
        await asyncio.sleep(0.1)
    during = pushes(await client.collect(1.2), 10008)
    assert 1 <= len(during) <= 3, len(during)
    assert during[-1]["c"] == "65009"
    # A quiet bar is not pushed again.
    assert pushes(await client.collect(1.5), 10008) == []
    await client.close()


# -- depth --------------------------------------------------------------------------------------


async def test_depth_pushes_match_the_book(venue: Venue) -> None:
    asks = [
        ("65010", "0.1"),
        ("65005", "0.2"),
        ("65020.5", "0.3"),
        ("65005", "0.05"),
        ("65030", "1"),
        ("65040", "2"),
        ("65050", "3"),
    ]
    bids = [
        ("64990", "0.4"),
        ("64995.25", "0.6"),
        ("64980", "0.7"),
        ("64990", "0.1"),
        ("64970", "1"),
        ("64960", "1"),
        ("64900", "9"),
    ]
    for price, amount in asks:
        await venue.place("alice-key", "BTC_USDT", "sell", price, amount)
    for price, amount in bids:
        await venue.place("bob-key", "BTC_USDT", "buy", price, amount)
    client = await Client.connect(venue.url())
    await client.request({"code": 10003, "trace": "d", "data": {"codes": "BTCUSDT"}})
    first = pushes([await client.recv()], 10005)[0]  # the snapshot right after the ack
    expected = {
        "a": [["65005", "65010", "65020.5", "65030", "65040"], ["0.25", "0.1", "0.3", "1", "2"]],
        "b": [["64995.25", "64990", "64980", "64970", "64960"], ["0.6", "0.5", "0.7", "1", "1"]],
    }
    assert first["s"] == "BTCUSDT" and {"a": first["a"], "b": first["b"]} == expected
    assert list(first) == ["s", "t", "a", "b"] and isinstance(first["t"], int)
    bids_book, asks_book = venue.ctx.venue.marketdata.top("BTC_USDT", 5)
    assert [
        [f"{dec(p, 2).normalize():f}" for p, _ in asks_book],
        [f"{dec(q, 6).normalize():f}" for _, q in asks_book],
    ] == expected["a"]
    assert [
        [f"{dec(p, 2).normalize():f}" for p, _ in bids_book],
        [f"{dec(q, 6).normalize():f}" for _, q in bids_book],
    ] == expected["b"]

    # A partial fill of the best ask changes the top level: the next push shows it.
    await venue.place("bob-key", "BTC_USDT", "buy", "65005", "0.2")
    update = await client.recv_until(lambda m: m.get("code") == 10005 and m["data"]["a"][1][0] != "0.25", 2.0)
    assert update["data"]["a"] == [
        ["65005", "65010", "65020.5", "65030", "65040"],
        ["0.05", "0.1", "0.3", "1", "2"],
    ]
    await client.close()


async def test_depth_is_pushed_at_most_every_100ms_and_at_least_every_second(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.request({"code": 10003, "trace": "d", "data": {"codes": "ETHUSDT"}})
    await client.recv()  # the snapshot after the ack
    quiet = pushes(await client.collect(3.3), 10005)
    assert 3 <= len(quiet) <= 4, len(quiet)  # unchanged book: about once a second

    async def churn() -> None:
        for i in range(40):  # a change every ~25 ms for 1 s
            await venue.place("alice-key", "ETH_USDT", "buy", f"{3000 + i}", "0.01")
            await asyncio.sleep(0.025)

    churning = asyncio.create_task(churn())
    busy = pushes(await client.collect(1.2), 10005)
    await churning
    assert len(busy) >= 5  # changes are pushed promptly...
    stamps = [d["t"] for d in busy]
    assert all(b - a >= 99 for a, b in itertools.pairwise(stamps)), (
        stamps
    )  # ...but not more often than 100 ms
    await client.close()


async def test_unknown_symbols_are_acked_then_silent_and_counted(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    assert (await client.request({"code": 10000, "trace": "a", "data": {"codes": "DOGEUSDT,btcusdt"}}))[
        "code"
    ] == 10001
    assert (await client.request({"code": 10003, "trace": "b", "data": {"codes": "DOGEUSDT"}}))[
        "code"
    ] == 10004
    assert (
        await client.request(
            {
                "code": 10006,
                "trace": "c",
                "data": {"arr": [{"type": 1, "codes": "DOGEUSDT"}, {"type": 2, "codes": "DOGEUSDT"}]},
            }
        )
    )["code"] == 10007
    await venue.trade("BTC_USDT", "65000", "0.01")
    assert await client.collect(1.5) == []
    async with aiohttp.ClientSession() as http, http.get(f"{venue.base_url}/metrics") as response:
        text = await response.text()
    assert 'sandex_infoway_unknown_symbols_total{channel="trade"} 2.0' in text
    assert 'sandex_infoway_unknown_symbols_total{channel="depth"} 1.0' in text
    assert 'sandex_infoway_unknown_symbols_total{channel="kline"} 1.0' in text
    await client.close()


async def test_other_businesses_are_served_as_empty_markets(venue: Venue) -> None:
    client = await Client.connect(venue.url(business="stock"))
    assert (await client.request({"code": 10000, "trace": "a", "data": {"codes": "BTCUSDT"}}))[
        "code"
    ] == 10001
    await venue.trade("BTC_USDT", "65000", "0.01")
    assert await client.collect(0.8) == []
    await client.close()


async def test_a_bar_that_closes_between_two_flushes_is_pushed_in_its_final_state(tmp_path: Path) -> None:
    """Two trades 200 ms apart across a minute boundary, well inside one 1 s kline flush: the
    closed bar's last state must still reach the client, before the new bar's."""
    now = [1_800_000_059.7]  # 0.3 s before a minute boundary (1_800_000_060 is divisible by 60)
    async with running_venue(tmp_path, clock=lambda: now[0]) as venue:
        client = await Client.connect(venue.url())
        await client.request(
            {"code": 10006, "trace": "k", "data": {"arr": [{"type": 1, "codes": "BTCUSDT"}]}}
        )
        await venue.trade("BTC_USDT", "65000", "0.01")
        await venue.trade("BTC_USDT", "65100", "0.02")  # the same bar, its final state
        now[0] = 1_800_000_060.1
        await venue.trade("BTC_USDT", "64900", "0.03")  # opens the next bar
        frames = pushes(await client.collect(1.5), 10008)
        closed = [p for p in frames if p["t"] == "1800000000"]
        assert (
            closed and closed[-1]["c"] == "65100" and closed[-1]["v"] == "0.03" and closed[-1]["h"] == "65100"
        )
        assert frames[-1]["t"] == "1800000060" and frames[-1]["o"] == frames[-1]["c"] == "64900"
        assert frames.index(closed[-1]) < frames.index(frames[-1])
        await client.close()
