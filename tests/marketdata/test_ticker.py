"""The 24 h ticker against a brute-force window over the full trade list."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.marketdata.book import BookView
from sandex.marketdata.ticker import MINUTE_MS, WINDOW_MINUTES, Ticker, Ticker24h, TickerState

from .factories import SYMBOL, order_event, trade_event

HOUR = 3_600_000
T0 = 1_717_200_000_000  # 2024-06-01 00:00 UTC

op = st.one_of(
    st.tuples(st.just("trade"), st.integers(0, 2 * HOUR), st.integers(1, 100), st.integers(1, 20)),
    st.tuples(st.just("trade"), st.integers(0, 2_000), st.integers(1, 100), st.integers(1, 20)),
    st.tuples(st.just("roll"), st.integers(0, 10 * HOUR), st.just(0), st.just(0)),
)


def expected(trades: list[tuple[int, int, int]], now: int) -> tuple[int, ...]:
    """(open, high, low, volume, quote volume, count, last, last_qty) by brute force."""
    window = [t for t in trades if t[0] // MINUTE_MS > now // MINUTE_MS - WINDOW_MINUTES]
    last, last_qty = (trades[-1][1], trades[-1][2]) if trades else (0, 0)
    if not window:
        return (last, last, last, 0, 0, 0, last, last_qty)
    prices = [p for _, p, _ in window]
    return (
        window[0][1],
        max(prices),
        min(prices),
        sum(a for _, _, a in window),
        sum(p * a for _, p, a in window),
        len(window),
        last,
        last_qty,
    )


def observed(t: Ticker) -> tuple[int, ...]:
    return (
        t.open_24h,
        t.high_24h,
        t.low_24h,
        t.base_volume_24h,
        t.quote_volume_24h,
        t.count_24h,
        t.last,
        t.last_qty,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(op, max_size=120))
def test_ticker_equals_brute_force_window(ops: list[tuple[str, int, int, int]]) -> None:
    ticker = Ticker24h(SYMBOL)
    trades: list[tuple[int, int, int]] = []
    now = T0
    for i, (kind, dt, price, amount) in enumerate(ops, 1):
        now += dt
        if kind == "trade":
            ticker.add(trade_event(seq=i, ts=now, trade_id=i, price=price, amount=amount))
            trades.append((now, price, amount))
        else:
            ticker.roll(now)
        snap = ticker.snapshot()
        assert observed(snap) == expected(trades, now)
        assert snap.timestamp == now
        # A restored ticker answers the same (its high/low cache is rebuilt on demand).
        state = ticker.to_state()
        assert observed(Ticker24h.from_state(SYMBOL, state).snapshot()) == observed(snap)


def test_trades_leave_the_window_per_minute() -> None:
    ticker = Ticker24h(SYMBOL)
    ticker.add(trade_event(ts=T0 + 30_000, price=50, amount=2))  # 00:00:30
    ticker.add(trade_event(ts=T0 + 90_000, price=70, amount=1))  # 00:01:30
    day = 24 * HOUR
    assert not ticker.roll(T0 + day - 1)  # 23:59:59.999: both still in
    assert observed(ticker.snapshot()) == (50, 70, 50, 3, 170, 2, 70, 1)
    assert ticker.roll(T0 + day)  # the next day's 00:00 minute: the 00:00 minute is gone
    assert observed(ticker.snapshot()) == (70, 70, 70, 1, 70, 1, 70, 1)
    assert ticker.roll(T0 + day + 60_000)
    # Quiet market: no trade in the window, the last price stays.
    assert observed(ticker.snapshot()) == (70, 70, 70, 0, 0, 0, 70, 1)
    assert not ticker.roll(T0 + 10 * day)


def test_time_never_goes_backwards() -> None:
    ticker = Ticker24h(SYMBOL)
    ticker.roll(T0 + 10 * MINUTE_MS)
    ticker.add(trade_event(ts=T0, price=5, amount=1))  # stamped before the clock: counted now
    assert ticker.now_ms == T0 + 10 * MINUTE_MS
    ticker.roll(T0 + 10 * MINUTE_MS + 24 * HOUR - 1)
    assert ticker.snapshot().count_24h == 1


def test_best_bid_and_ask_come_from_the_book() -> None:
    book = BookView(SYMBOL)
    ticker = Ticker24h(SYMBOL)
    empty = ticker.snapshot(book)
    assert (empty.best_bid, empty.best_bid_size, empty.best_ask, empty.best_ask_size) == (0, 0, 0, 0)
    assert observed(empty) == (0,) * 8
    book.apply(order_event(order_id=1, side="buy", price=99, amount=3, resting=3))
    book.apply(order_event(order_id=2, side="sell", price=101, amount=4, resting=4))
    snap = ticker.snapshot(book)
    assert (snap.best_bid, snap.best_bid_size, snap.best_ask, snap.best_ask_size) == (99, 3, 101, 4)


def test_memory_is_bounded_by_minutes() -> None:
    ticker = Ticker24h(SYMBOL)
    # Three days at 10 trades a second would be 2.6 M trades; one per 6 s is enough to show that
    # at most 1440 minutes are kept.
    for i in range(3 * 24 * 600):
        ticker.add(trade_event(ts=T0 + i * 6_000, price=100 + i % 13, amount=1))
    state: TickerState = ticker.to_state()
    assert len(state.buckets) == WINDOW_MINUTES
    assert ticker.snapshot().count_24h == WINDOW_MINUTES * 10  # 10 trades in each whole minute
