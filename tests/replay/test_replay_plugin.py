"""The replay plugin in an engine (no server): events independent of how records are cut into
commands, seeks rebuilding the book and cancelling client orders, market data's replay clock."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
import pytest

from sandex.core.commands import CreateAccount, Deposit, PlaceOrder
from sandex.core.engine import Engine
from sandex.core.events import Event, OrderEvent, ReplayDepthEvent, ReplaySeekEvent, TradeEvent
from sandex.core.markets import make_market
from sandex.marketdata.service import MarketData
from sandex.replay import Recording, bundled, open_recording
from sandex.replay.commands import ReplayAdvance, ReplayLoad, ReplaySeek
from sandex.replay.plugin import ReplayPlugin

MARKET = make_market("BTC_USDT", 2, 6, min_amount="0.00001", min_value="1")
WALL = 1_800_000_000_000  # the commands' (wall) time: never the replayed market's clock


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return open_recording(
        [bundled("btcusdt")],
        markets={"BTC_USDT": MARKET},
        symbols={"BTCUSDT": "BTC_USDT"},
        data_dir=tmp_path_factory.mktemp("replay-data"),
    )


def engine_with(recording: Recording) -> tuple[Engine, ReplayPlugin]:
    plugin = ReplayPlugin(recording)
    engine = Engine([MARKET], plugins=[plugin])
    return engine, plugin


def play(recording: Recording, step_ms: int, until_ms: int) -> list[Event]:
    engine, _ = engine_with(recording)
    assert recording.start_ms is not None
    events = engine.apply(ReplayLoad(recording.digest, recording.start_ms, 1.0, "playing"), WALL)
    at = recording.start_ms
    while at < until_ms:
        at = min(at + step_ms, until_ms)
        events += engine.apply(ReplayAdvance(list(recording.position_at(at)), at), WALL)
    return events


def digest(events: list[Event]) -> str:
    return hashlib.sha256(b"".join(msgspec.msgpack.encode(e) for e in events)).hexdigest()


def test_events_do_not_depend_on_the_speed(recording: Recording) -> None:
    assert recording.start_ms is not None
    until = recording.start_ms + 60_000
    fine, coarse, whole = (play(recording, step, until) for step in (20, 2_500, 60_000))
    assert digest(fine) == digest(coarse) == digest(whole)
    trades = [e for e in whole if isinstance(e, TradeEvent)]
    expected = list(recording.trades(until_ms=until))
    assert [(t.ts, t.price, t.amount) for t in trades] == [(t.time_ms, t.price, t.amount) for t in expected]
    assert all(t.maker_account_id == t.taker_account_id == 0 for t in trades)


def test_market_data_holds_the_recorded_book_on_the_recordings_clock(recording: Recording) -> None:
    assert recording.start_ms is not None
    until = recording.start_ms + 45_000
    md = MarketData([MARKET])
    md.apply(play(recording, 1_000, until))
    book = recording.book_at(until)["BTC_USDT"]
    assert md.top("BTC_USDT", 20) == (list(book.bids[:20]), list(book.asks[:20]))
    assert md.clock("BTC_USDT") <= until and md.is_replayed("BTC_USDT")
    # The venue's wall-clock roll does not empty a replayed market's 24 h window.
    count = md.ticker("BTC_USDT").count_24h
    assert count == len(list(recording.trades(until_ms=until))) > 0
    md.roll(WALL + 10 * 86_400_000)
    assert md.ticker("BTC_USDT").count_24h == count
    # A snapshot keeps the replayed sizes and the clock.
    restored = MarketData.from_state(md.to_state(), [MARKET])
    assert restored.top("BTC_USDT", 20) == md.top("BTC_USDT", 20)
    assert restored.clock("BTC_USDT") == md.clock("BTC_USDT")


def test_a_seek_rebuilds_the_market_and_cancels_client_orders(recording: Recording, tmp_path: Path) -> None:
    assert recording.start_ms is not None
    engine, plugin = engine_with(recording)
    md = MarketData([MARKET])
    md.apply(engine.apply(ReplayLoad(recording.digest, recording.start_ms, 1.0, "paused"), WALL))
    later = recording.start_ms + 200_000
    md.apply(engine.apply(ReplayAdvance(list(recording.position_at(later)), later), WALL))
    md_events = engine.apply(CreateAccount("alice", "k", "s"), WALL)
    account = engine.accounts[1]
    md.apply(md_events)
    md.apply(engine.apply(Deposit(account.wallets[0], "USDT", 10**6 * 10**18), WALL))
    placed = engine.apply(PlaceOrder(account.id, "BTC_USDT", "buy", price=100_00, amount=1_000_000), WALL)
    md.apply(placed)
    assert md.book("BTC_USDT").level("buy", 100_00) == 1_000_000
    back = recording.start_ms + 30_000
    events = engine.apply(ReplaySeek(back), WALL)
    md.apply(events)
    cancelled = [e for e in events if isinstance(e, OrderEvent)]
    assert [(e.status, e.reason) for e in cancelled] == [("cancelled", "replay_seek")]
    assert engine.ledger.free(account.wallets[0], "USDT") == 10**6 * 10**18
    seek = [e for e in events if isinstance(e, ReplaySeekEvent)]
    assert len(seek) == 1 and not [e for e in events if isinstance(e, (TradeEvent, ReplayDepthEvent))]
    book = recording.book_at(back)["BTC_USDT"]
    assert md.top("BTC_USDT", 5000) == (list(book.bids), list(book.asks))
    assert plugin.state.position == list(recording.position_at(back))
    history = list(recording.trades(until_ms=back))
    tape = md.recent_trades("BTC_USDT", 5)
    assert [(t.ts, t.price, t.amount) for t in tape] == [
        (t.time_ms, t.price, t.amount) for t in history[::-1][:5]
    ]
    assert md.ticker("BTC_USDT").count_24h == len(history)
    # Playing on from there equals playing from the start to the same time.
    end = recording.start_ms + 60_000
    md.apply(engine.apply(ReplayAdvance(list(recording.position_at(end)), end), WALL))
    fresh = MarketData([MARKET])
    fresh.apply(play(recording, 5_000, end))
    assert md.top("BTC_USDT", 5000) == fresh.top("BTC_USDT", 5000)
    assert md.ticker("BTC_USDT").count_24h == fresh.ticker("BTC_USDT").count_24h


def test_advances_for_another_recording_are_ignored(recording: Recording) -> None:
    engine, plugin = engine_with(recording)
    engine.apply(ReplayLoad("another digest", 0, 1.0, "playing"), WALL)
    assert not plugin.loaded
    assert engine.apply(ReplayAdvance(list(recording.position_at(2_000_000_000_000)), 1), WALL) == []
