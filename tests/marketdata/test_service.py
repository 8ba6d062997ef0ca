"""MarketData: routing, what each apply reports, rolling, and state that restores exactly."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from sandex.core.events import BalanceEvent, Event, Rejected
from sandex.core.markets import make_market
from sandex.marketdata.klines import INTERVALS
from sandex.marketdata.service import MarketData, UnknownSymbolError

from .factories import MARKET, OTHER, SYMBOL, OrderFlow, op_strategy, order_event, trade_event

T0 = 1_717_200_000_000  # 2024-06-01 00:00 UTC
DAY = 86_400_000


def balance(seq: int, ts: int) -> BalanceEvent:
    return BalanceEvent(seq=seq, ts=ts, account_id=1, wallet_id="main", currency="USDT", free=1, held=0)


def reads(md: MarketData) -> dict:
    """Every answer MarketData gives, for comparing two instances."""
    out: dict = {"now": md.now_ms}
    for symbol in md.markets:
        out[symbol] = (
            md.top(symbol, 1000),
            md.recent_trades(symbol),
            md.ticker(symbol),
            {i: (md.bars(symbol, i), md.current_bar(symbol, i)) for i in INTERVALS},
        )
    return out


def test_apply_reports_what_changed() -> None:
    md = MarketData([MARKET, OTHER])
    bid = order_event(seq=1, ts=T0, order_id=1, side="buy", price=100, amount=5, resting=5)
    update = md.apply([bid, balance(2, T0)])
    assert update.depth_changed == {SYMBOL}
    assert update.ticker_changed == {SYMBOL}  # a new best bid
    assert not update.trades and not update.klines_changed

    # A deeper bid changes the depth but not the ticker.
    deep = order_event(seq=3, ts=T0 + 1, order_id=2, side="buy", price=90, amount=5, resting=5)
    update = md.apply([deep])
    assert update.depth_changed == {SYMBOL}
    assert update.ticker_changed == set()

    # A taker sells into the best bid: one trade, the maker's fill, the taker's final state.
    t1 = trade_event(seq=4, ts=T0 + 2, trade_id=1, price=100, amount=2, taker_side="sell")
    maker = order_event(seq=5, ts=T0 + 2, order_id=1, side="buy", price=100, amount=5, resting=3, filled=2)
    taker = order_event(seq=6, ts=T0 + 2, order_id=3, side="sell", price=0, amount=2, resting=0, filled=2)
    t2 = trade_event(seq=7, ts=T0 + 2, trade_id=2, price=5, amount=1, symbol="ETH_USDT")
    update = md.apply(iter([t1, maker, taker, t2]))
    assert update.trades == {SYMBOL: [t1], "ETH_USDT": [t2]}
    assert update.depth_changed == {SYMBOL}
    assert update.ticker_changed == {SYMBOL, "ETH_USDT"}
    assert update.klines_changed == {(s, i) for s in (SYMBOL, "ETH_USDT") for i in INTERVALS}
    assert md.top(SYMBOL, 5) == ([(100, 3), (90, 5)], [])
    assert md.recent_trades(SYMBOL) == [t1]
    ticker = md.ticker(SYMBOL)
    assert (ticker.last, ticker.best_bid, ticker.best_bid_size, ticker.timestamp) == (100, 100, 3, T0 + 2)
    bar = md.current_bar(SYMBOL, "1m")
    assert bar is not None and (bar.open_time, bar.close, bar.volume, bar.quote_volume) == (T0, 100, 2, 200)

    # An event that changes nothing reports nothing.
    assert not md.apply([taker, balance(8, T0 + 3)])


def test_ignores_other_events_and_unknown_symbols() -> None:
    md = MarketData([MARKET])
    events: list[Event] = [
        Rejected(seq=1, ts=T0, account_id=1, symbol=SYMBOL, code="invalid_price", message="x"),
        order_event(seq=2, ts=T0, order_id=1, side="buy", price=1, amount=1, resting=1, symbol="DOGE_USDT"),
        trade_event(seq=3, ts=T0, price=1, amount=1, symbol="DOGE_USDT"),
    ]
    assert not md.apply(events)
    assert md.now_ms == T0
    with pytest.raises(UnknownSymbolError):
        md.ticker("DOGE_USDT")


def test_roll_moves_quiet_windows() -> None:
    md = MarketData([MARKET, OTHER])
    md.apply([trade_event(seq=1, ts=T0, price=10, amount=1)])
    assert not md.roll(T0 + DAY - 1)
    assert md.ticker(SYMBOL).count_24h == 1
    # The other market's events move the clock too: MarketData rolls every ticker.
    update = md.apply([trade_event(seq=2, ts=T0 + DAY, price=7, amount=1, symbol="ETH_USDT")])
    assert update.ticker_changed == {SYMBOL, "ETH_USDT"}
    assert md.ticker(SYMBOL).count_24h == 0
    assert md.ticker(SYMBOL).timestamp == T0 + DAY
    assert md.roll(T0).ticker_changed == set()  # never backwards
    assert md.now_ms == T0 + DAY


ops = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.sampled_from([SYMBOL, "ETH_USDT"]), op_strategy),
        st.tuples(
            st.just("trade"),
            st.sampled_from([SYMBOL, "ETH_USDT"]),
            st.tuples(st.integers(0, 6 * 3_600_000), st.integers(1, 100), st.integers(1, 9)),
        ),
        st.tuples(st.just("balance"), st.just(""), st.integers(0, 10 * 3_600_000)),
    ),
    max_size=80,
)


def run(md: MarketData, flows: dict[str, OrderFlow], clock: list[int], program: list) -> None:
    for kind, symbol, args in program:
        if kind == "order":
            md.apply([replace(flows[symbol].step(args), ts=clock[0])])
        elif kind == "trade":
            dt, price, amount = args
            clock[0] += dt
            md.apply([trade_event(seq=1, ts=clock[0], price=price, amount=amount, symbol=symbol)])
        else:
            clock[0] += args
            md.apply([balance(1, clock[0])])


@settings(max_examples=100, deadline=None)
@given(ops, ops)
def test_state_round_trip(first: list, then: list) -> None:
    md = MarketData([MARKET, OTHER], trades_capacity=5, kline_limit=3)
    flows = {SYMBOL: OrderFlow(span=6, symbol=SYMBOL), "ETH_USDT": OrderFlow(span=6, symbol="ETH_USDT")}
    clock = [T0]
    run(md, flows, clock, first)
    data = md.to_state()
    reads(md)
    assert md.to_state() == data  # reading never changes the state
    restored = MarketData.from_state(data)
    assert restored.to_state() == data
    assert reads(restored) == reads(md)
    assert restored.markets == md.markets
    # And it keeps answering the same as the same events keep coming.
    flows_copy = copy.deepcopy(flows)
    clock_copy = list(clock)
    run(md, flows, clock, then)
    run(restored, flows_copy, clock_copy, then)
    assert reads(restored) == reads(md)
    assert restored.to_state() == md.to_state()


def test_restore_with_the_current_config() -> None:
    md = MarketData([MARKET, OTHER])
    md.apply([trade_event(seq=1, ts=T0, price=10, amount=1)])
    sol = make_market("SOL_USDT", 3, 2)
    restored = MarketData.from_state(md.to_state(), [MARKET, sol])
    assert set(restored.markets) == {SYMBOL, "SOL_USDT"}
    assert restored.recent_trades(SYMBOL) == md.recent_trades(SYMBOL)
    assert restored.recent_trades("SOL_USDT") == []
    assert restored.markets["SOL_USDT"] is sol


def test_state_holds_integers_beyond_64_bits() -> None:
    # 60 000.00 USDT x 1.00000000 BTC in value scale is 6e14 per trade; a busy day's quote volume
    # passes 2**64, and so does a fee in ledger scale (18 decimals).
    btc = make_market("BTC_USDT", 2, 8)
    md = MarketData([btc])
    big = 6_000_000 * 100_000_000
    trades = [
        replace(
            trade_event(seq=i, ts=T0 + i, trade_id=i, price=6_000_000, amount=100_000_000),
            taker_fee=60 * 10**18,
        )
        for i in range(1, 40_001)
    ]
    md.apply(trades)
    assert md.ticker(SYMBOL).quote_volume_24h == 40_000 * big > 2**64
    restored = MarketData.from_state(md.to_state())
    assert reads(restored) == reads(md)


def test_a_venue_trade_on_a_replayed_market_is_stamped_with_its_clock() -> None:
    """Recorded trades (no account on either side) carry the recording's time and move the
    replayed market's clock; a client's trade there carries wall time and is published at that
    clock, so the tape, the bars and the 24 h window stay on the recording's time. Markets that
    are not replayed keep their events' time."""
    from sandex.core.events import ReplayDepthEvent

    recorded_ms, wall_ms = T0 + 30_000, T0 + 400 * DAY
    md = MarketData([MARKET, OTHER])
    md.apply([ReplayDepthEvent(1, T0, SYMBOL, T0, True, [(100, 5)], [(101, 5)])])
    recorded = replace(
        trade_event(seq=2, ts=recorded_ms, price=100, amount=1), maker_account_id=0, taker_account_id=0
    )
    client = trade_event(seq=3, ts=wall_ms, trade_id=2, price=100, amount=2)
    other = trade_event(seq=4, ts=wall_ms, trade_id=3, price=50, amount=1, symbol=OTHER.symbol)
    update = md.apply([recorded, client, other])
    assert [t.ts for t in update.trades[SYMBOL]] == [recorded_ms, recorded_ms]
    assert [t.ts for t in md.recent_trades(SYMBOL)] == [recorded_ms, recorded_ms]
    assert [(b.open_time, b.volume) for b in md.bars(SYMBOL, "1m")] == [(recorded_ms // 60_000 * 60_000, 3)]
    assert md.ticker(SYMBOL).base_volume_24h == 3
    assert [t.ts for t in update.trades[OTHER.symbol]] == [wall_ms]
    # The clock a restart restores stamps the next client trade the same way.
    restored = MarketData.from_state(md.to_state(), [MARKET, OTHER])
    later = restored.apply([trade_event(seq=5, ts=wall_ms + 1, trade_id=4, price=100, amount=1)])
    assert [t.ts for t in later.trades[SYMBOL]] == [recorded_ms]
