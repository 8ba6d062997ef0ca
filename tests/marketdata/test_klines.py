"""Klines against klines recomputed from the trade list by brute force, for every interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.marketdata.klines import (
    DAY_MS,
    INTERVALS,
    Bar,
    Klines,
    bar_end,
    bar_start,
    civil_from_days,
    days_from_civil,
)

from .factories import SYMBOL, trade_event

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(dt: datetime) -> int:
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return ms(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


# The reference uses the datetime module, not the integer calendar arithmetic under test.
_FIXED_MINUTES = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "12h": 720,
    "1d": 1440,
}


def ref_bar_start(interval: str, ts: int) -> int:
    if interval in _FIXED_MINUTES:
        length = _FIXED_MINUTES[interval] * 60_000
        return ts // length * length
    dt = EPOCH + timedelta(milliseconds=ts)
    day = datetime(dt.year, dt.month, dt.day, tzinfo=UTC)
    if interval == "1w":
        return ms(day - timedelta(days=dt.weekday()))
    if interval == "1M":
        return ms(datetime(dt.year, dt.month, 1, tzinfo=UTC))
    if interval == "3M":
        return ms(datetime(dt.year, (dt.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC))
    assert interval == "1y"
    return ms(datetime(dt.year, 1, 1, tzinfo=UTC))


def ref_bars(trades: list[tuple[int, int, int]], interval: str) -> list[Bar]:
    bars: dict[int, Bar] = {}
    for ts, price, amount in trades:
        start = ref_bar_start(interval, ts)
        bar = bars.get(start)
        if bar is None:
            bars[start] = Bar(start, price, price, price, price, amount, price * amount, 1)
        else:
            bar.high = max(bar.high, price)
            bar.low = min(bar.low, price)
            bar.close = price
            bar.volume += amount
            bar.quote_volume += price * amount
            bar.count += 1
    return [bars[k] for k in sorted(bars)]


# Times around the edges that matter: leap days, month/quarter/year ends, a week's end (Sunday
# night), century years (2000 is a leap year, 2100 is not), and the epoch.
ANCHORS = [
    utc(2024, 2, 28, 23),
    utc(2024, 2, 29, 23, 59),
    utc(2023, 2, 28, 23, 59),
    utc(2023, 12, 31, 23, 59),
    utc(2024, 3, 31, 23, 58),
    utc(2024, 6, 30, 23, 59),
    utc(2024, 9, 30, 23, 59),
    utc(2024, 12, 31, 23, 59),
    utc(2024, 6, 9, 23, 59),  # a Sunday
    utc(2000, 2, 28, 22),
    utc(2100, 2, 28, 22),
    0,
]

step = st.one_of(
    st.integers(0, 5_000),  # same bar, often the same millisecond
    st.integers(0, 3 * 3_600_000),  # hours
    st.integers(0, 5 * DAY_MS),  # days
    st.integers(0, 100 * DAY_MS),  # across months, quarters and years
)


@st.composite
def trade_lists(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    ts = draw(st.sampled_from(ANCHORS)) - draw(st.integers(0, 2 * 3_600_000))
    ts = max(ts, 0)
    trades = []
    for _ in range(draw(st.integers(1, 60))):
        ts += draw(step)
        trades.append((ts, draw(st.integers(1, 50)), draw(st.integers(1, 9))))
    return trades


def feed(trades: list[tuple[int, int, int]], limit: int = 1000) -> Klines:
    klines = Klines(SYMBOL, limit)
    for i, (ts, price, amount) in enumerate(trades, 1):
        klines.add(trade_event(seq=i, ts=ts, trade_id=i, price=price, amount=amount))
    return klines


@settings(max_examples=300, deadline=None)
@given(trade_lists())
def test_klines_equal_brute_force(trades: list[tuple[int, int, int]]) -> None:
    klines = feed(trades)
    for interval in INTERVALS:
        expected = ref_bars(trades, interval)
        assert klines.bars(interval) == expected, interval
        assert klines.current(interval) == expected[-1]


@settings(max_examples=200, deadline=None)
@given(trade_lists(), st.data())
def test_reads_between_trades_see_every_trade_so_far(
    trades: list[tuple[int, int, int]], data: st.DataObject
) -> None:
    """Trades inside the live bars are added to them when one is read: a read at any point
    sees all of them, and reading changes nothing that follows."""
    klines = Klines(SYMBOL)
    for i, (ts, price, amount) in enumerate(trades, 1):
        klines.add(trade_event(seq=i, ts=ts, trade_id=i, price=price, amount=amount))
        if data.draw(st.booleans()):
            interval = data.draw(st.sampled_from(INTERVALS))
            assert klines.current(interval) == ref_bars(trades[:i], interval)[-1], interval
    for interval in INTERVALS:
        assert klines.bars(interval) == ref_bars(trades, interval), interval
    restored = Klines.from_state(SYMBOL, klines.to_state())
    assert all(restored.bars(i) == klines.bars(i) for i in INTERVALS)


@settings(max_examples=200, deadline=None)
@given(trade_lists(), st.data())
def test_time_range_queries(trades: list[tuple[int, int, int]], data: st.DataObject) -> None:
    klines = feed(trades)
    lo_ts, hi_ts = trades[0][0] - DAY_MS, trades[-1][0] + DAY_MS
    for interval in INTERVALS:
        expected = ref_bars(trades, interval)
        start = data.draw(st.none() | st.integers(lo_ts, hi_ts))
        end = data.draw(st.none() | st.integers(lo_ts, hi_ts))
        limit = data.draw(st.none() | st.integers(0, 5))
        want = [
            b
            for b in expected
            if (start is None or b.open_time >= start) and (end is None or b.open_time <= end)
        ]
        if limit is not None:
            want = want[:limit] if start is not None and end is None else want[max(0, len(want) - limit) :]
        assert klines.bars(interval, start, end, limit) == want


@settings(max_examples=500, deadline=None)
@given(st.integers(0, utc(2200, 1, 1)), st.sampled_from(INTERVALS))
def test_bar_start_and_end_match_the_calendar(ts: int, interval: str) -> None:
    start = bar_start(interval, ts)
    assert start == ref_bar_start(interval, ts)
    end = bar_end(interval, start)
    assert start <= ts < end
    assert bar_start(interval, end) == end  # the next bar starts exactly where this one ends
    assert bar_start(interval, end - 1) == start


@settings(max_examples=500, deadline=None)
@given(st.integers(-800_000, 800_000))
def test_civil_round_trip(days: int) -> None:
    year, month, day = civil_from_days(days)
    assert days_from_civil(year, month, day) == days
    if 1 <= year <= 9999:
        ref = EPOCH.date() + timedelta(days=days)
        assert (ref.year, ref.month, ref.day) == (year, month, day)


def test_leap_year_boundaries() -> None:
    trades = [
        (utc(2024, 2, 28, 12), 10, 1),
        (utc(2024, 2, 29, 0), 12, 2),
        (utc(2024, 2, 29, 23, 59, 59) + 999, 9, 3),
        (utc(2024, 3, 1), 11, 4),
        (utc(2024, 3, 31, 23, 59), 13, 1),
        (utc(2024, 4, 1), 14, 1),
        (utc(2024, 12, 31, 23, 59, 59) + 999, 15, 1),
        (utc(2025, 1, 1), 16, 1),
    ]
    klines = feed(trades)
    assert [b.open_time for b in klines.bars("1d")][:4] == [
        utc(2024, 2, 28),
        utc(2024, 2, 29),
        utc(2024, 3, 1),
        utc(2024, 3, 31),
    ]
    assert [b.open_time for b in klines.bars("1M")] == [
        utc(2024, 2, 1),
        utc(2024, 3, 1),
        utc(2024, 4, 1),
        utc(2024, 12, 1),
        utc(2025, 1, 1),
    ]
    feb = klines.bars("1M")[0]
    assert (feb.open, feb.high, feb.low, feb.close, feb.volume, feb.count) == (10, 12, 9, 9, 6, 3)
    assert [b.open_time for b in klines.bars("3M")] == [
        utc(2024, 1, 1),
        utc(2024, 4, 1),
        utc(2024, 10, 1),
        utc(2025, 1, 1),
    ]
    assert [b.open_time for b in klines.bars("1y")] == [utc(2024, 1, 1), utc(2025, 1, 1)]
    assert bar_end("1M", utc(2024, 2, 1)) == utc(2024, 3, 1)
    assert bar_end("1M", utc(2023, 2, 1)) == utc(2023, 3, 1)
    assert bar_end("1y", utc(2024, 1, 1)) - utc(2024, 1, 1) == 366 * DAY_MS
    assert bar_end("3M", utc(2024, 10, 1)) == utc(2025, 1, 1)
    # 2024-02-26 is a Monday; the week bar holds the leap day and ends Monday 2024-03-04.
    assert bar_start("1w", utc(2024, 2, 29, 15)) == utc(2024, 2, 26)
    assert bar_end("1w", utc(2024, 2, 26)) == utc(2024, 3, 4)


def test_keeps_the_newest_bars_only() -> None:
    trades = [(utc(2024, 1, 1) + i * 60_000 + 5, 100 + i % 7, 1) for i in range(1500)]
    klines = feed(trades, limit=1000)
    bars = klines.bars("1m")
    assert len(bars) == 1000
    assert bars == ref_bars(trades, "1m")[-1000:]
    assert klines.bars("1h") == ref_bars(trades, "1h")  # 25 hourly bars: nothing dropped
    assert klines.bars("1m", limit=3) == bars[-3:]
    assert klines.bars("1m", start_ms=bars[10].open_time, limit=2) == bars[10:12]


def test_reads_hand_out_copies_of_the_live_bar() -> None:
    klines = feed([(utc(2024, 5, 1), 10, 1)])
    held = klines.current("1m")
    listed = klines.bars("1m")[-1]
    klines.add(trade_event(ts=utc(2024, 5, 1) + 1, price=20, amount=1))
    assert held is not None and held.close == 10 and listed.close == 10
    assert klines.current("1m").close == 20  # type: ignore[union-attr]


def test_unknown_interval() -> None:
    with pytest.raises(ValueError, match="unknown kline interval"):
        bar_start("2w", 0)
    with pytest.raises(ValueError):
        Klines(SYMBOL).bars("7m")
