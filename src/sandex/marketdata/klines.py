"""Candles (klines) per symbol for every published interval, UTC-aligned.

Intervals are named by strings: "1m" "5m" "15m" "30m" "1h" "2h" "4h" "12h" "1d" (fixed lengths,
aligned on the Unix epoch, which is midnight UTC), "1w" (weeks start Monday 00:00 UTC), and the
calendar ones "1M" (month), "3M" (quarter: Jan/Apr/Jul/Oct) and "1y" (year). Calendar arithmetic is
done on integers (days <-> civil date), so there is no float and no time zone database involved.

Only intervals with trades make bars: a quiet interval leaves a gap rather than a flat bar, like the
trade list it is derived from. Each (symbol, interval) keeps its newest 1000 bars.

The current (newest) bar is updated in place as trades arrive; reads hand out a copy of it so that
a publisher holding on to a bar never sees it change. Closed bars never change.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from operator import attrgetter

from msgspec import Struct
from msgspec.structs import replace

from sandex.core.events import TradeEvent

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
#: 1970-01-01 was a Thursday; the first Monday after the epoch is 4 days later.
_FIRST_MONDAY_MS = 4 * DAY_MS

_FIXED_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
}
#: Calendar intervals, as a number of months.
_MONTHS: dict[str, int] = {"1M": 1, "3M": 3, "1y": 12}

INTERVALS: tuple[str, ...] = (*_FIXED_MS, "1w", *_MONTHS)
DEFAULT_LIMIT = 1000


class Bar(Struct, array_like=True, gc=False):
    """One candle. Prices by price precision, volume by amount precision, quote volume by the value
    scale (price + amount precision). `open_time` is the bar's start in ms (UTC)."""

    open_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_volume: int
    count: int


# -- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) ------------------------------
# Howard Hinnant's algorithms, exact for any year; Python's floor division handles negative eras.


def days_from_civil(year: int, month: int, day: int) -> int:
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _month_index(ts_ms: int) -> int:
    year, month, _ = civil_from_days(ts_ms // DAY_MS)
    return year * 12 + month - 1


def _month_start_ms(index: int) -> int:
    year, month0 = divmod(index, 12)
    return days_from_civil(year, month0 + 1, 1) * DAY_MS


def check_interval(interval: str) -> str:
    if interval not in _FIXED_MS and interval != "1w" and interval not in _MONTHS:
        raise ValueError(f"unknown kline interval {interval!r} (known: {', '.join(INTERVALS)})")
    return interval


def bar_start(interval: str, ts_ms: int) -> int:
    """The open time (ms) of the `interval` bar that contains `ts_ms`."""
    length = _FIXED_MS.get(interval)
    if length is not None:
        return ts_ms - ts_ms % length
    if interval == "1w":
        return ts_ms - (ts_ms - _FIRST_MONDAY_MS) % WEEK_MS
    months = _MONTHS.get(interval)
    if months is None:
        check_interval(interval)  # raises: every other interval is one of the above
    assert months is not None
    index = _month_index(ts_ms)
    return _month_start_ms(index - index % months)


def bar_end(interval: str, start_ms: int) -> int:
    """The open time of the bar after the one opening at `start_ms` (the bar's exclusive end)."""
    length = _FIXED_MS.get(interval)
    if length is not None:
        return start_ms + length
    if interval == "1w":
        return start_ms + WEEK_MS
    months = _MONTHS.get(interval)
    if months is None:
        check_interval(interval)  # raises: every other interval is one of the above
    assert months is not None
    return _month_start_ms(_month_index(start_ms) + months)


# -- series ---------------------------------------------------------------------------------------

_open_time = attrgetter("open_time")


class KlineSeries:
    """The bars of one (symbol, interval), oldest first, at most `limit` of them."""

    __slots__ = ("_bars", "_end", "interval", "limit")

    def __init__(self, interval: str, limit: int = DEFAULT_LIMIT) -> None:
        self.interval = check_interval(interval)
        if limit <= 0:
            raise ValueError("limit must be positive")
        self.limit = limit
        # A list rather than a deque: time-range queries bisect it. Dropping the oldest bar is a
        # memmove of `limit` pointers, and happens at most once per bar (at most once a minute).
        self._bars: list[Bar] = []
        self._end = 0  # exclusive end of the newest bar; a trade before it updates that bar

    def add(self, price: int, amount: int, value: int, ts: int) -> None:
        """Count one trade. Within a symbol, go through Klines.add (it caches the live bars)."""
        bars = self._bars
        if ts < self._end and bars:
            # In the current bar. (A trade stamped before the bar's start cannot happen with the
            # engine's monotonic clock; if it did, it is counted in the current bar, since closed
            # bars never change.)
            bar = bars[-1]
            if price > bar.high:
                bar.high = price
            elif price < bar.low:
                bar.low = price
            bar.close = price
            bar.volume += amount
            bar.quote_volume += value
            bar.count += 1
            return
        start = bar_start(self.interval, ts)
        bars.append(Bar(start, price, price, price, price, amount, value, 1))
        self._end = bar_end(self.interval, start)
        if len(bars) > self.limit:
            del bars[0]

    def current(self) -> Bar | None:
        """A copy of the newest bar (which may be older than now when the market is quiet)."""
        return replace(self._bars[-1]) if self._bars else None

    def bars(
        self, start_ms: int | None = None, end_ms: int | None = None, limit: int | None = None
    ) -> list[Bar]:
        """Bars with `start_ms <= open_time <= end_ms` (either end open when None), oldest first.

        With `limit`, at most that many: the oldest ones when only `start_ms` is given (paging
        forward from a time, like `since`), the newest ones otherwise.
        """
        bars = self._bars
        lo = 0 if start_ms is None else bisect_left(bars, start_ms, key=_open_time)
        hi = len(bars) if end_ms is None else bisect_right(bars, end_ms, key=_open_time)
        if limit is not None:
            limit = max(0, limit)
            if start_ms is not None and end_ms is None:
                hi = min(hi, lo + limit)
            else:
                lo = max(lo, hi - limit)
        out = bars[lo:hi]
        if out and hi == len(bars):
            out[-1] = replace(out[-1])  # the live bar: hand out a copy
        return out

    def __len__(self) -> int:
        return len(self._bars)

    def to_state(self) -> list[Bar]:
        return list(self._bars)

    @classmethod
    def from_state(cls, interval: str, bars: list[Bar], limit: int = DEFAULT_LIMIT) -> KlineSeries:
        series = cls(interval, limit)
        series._bars = [replace(bar) for bar in bars[-limit:]]
        if series._bars:
            series._end = bar_end(interval, series._bars[-1].open_time)
        return series


class Klines:
    """Every interval's series for one symbol."""

    __slots__ = (
        "_all",
        "_live",
        "_live_end",
        "_pending",
        "_pending_close",
        "_pending_high",
        "_pending_low",
        "_pending_quote",
        "_pending_volume",
        "_series",
        "limit",
        "symbol",
    )

    def __init__(self, symbol: str, limit: int = DEFAULT_LIMIT) -> None:
        self.symbol = symbol
        self.limit = limit
        self._series: dict[str, KlineSeries] = {
            interval: KlineSeries(interval, limit) for interval in INTERVALS
        }
        self._all = tuple(self._series.values())
        # Trades inside every live bar, not yet added to them (see add): their count, extremes,
        # last price and sums.
        self._pending = 0
        self._pending_high = self._pending_low = self._pending_close = 0
        self._pending_volume = self._pending_quote = 0
        self._refresh_live()

    def _refresh_live(self) -> None:
        # Every interval's bar boundaries are minute boundaries, so a trade before the current
        # minute bar's end falls in the current bar of every interval: the fast path in add()
        # then counts it once for all of them instead of going through each series.
        self._live: tuple[Bar, ...] = tuple(s._bars[-1] for s in self._all if s._bars)
        ends = [s._end for s in self._all if s._bars]
        self._live_end = min(ends) if len(self._live) == len(self._all) else 0

    def add(self, trade: TradeEvent) -> None:
        price, amount, value, ts = trade.price, trade.amount, trade.value, trade.ts
        if ts < self._live_end:
            # In every live bar: summed here, and added to the 13 bars when one is read or the
            # minute ends (a replayed market prints thousands of trades between two reads).
            if self._pending:
                if price > self._pending_high:
                    self._pending_high = price
                elif price < self._pending_low:
                    self._pending_low = price
                self._pending_volume += amount
                self._pending_quote += value
            else:
                self._pending_high = self._pending_low = price
                self._pending_volume = amount
                self._pending_quote = value
            self._pending_close = price
            self._pending += 1
            return
        self._flush()
        for series in self._all:
            series.add(price, amount, value, ts)
        self._refresh_live()

    def _flush(self) -> None:
        """Add the pending trades to every live bar."""
        count = self._pending
        if not count:
            return
        high, low, close = self._pending_high, self._pending_low, self._pending_close
        volume, quote = self._pending_volume, self._pending_quote
        for bar in self._live:
            if high > bar.high:
                bar.high = high
            if low < bar.low:
                bar.low = low
            bar.close = close
            bar.volume += volume
            bar.quote_volume += quote
            bar.count += count
        self._pending = 0

    def series(self, interval: str) -> KlineSeries:
        """One interval's series, for reading (add trades through Klines.add)."""
        self._flush()
        try:
            return self._series[interval]
        except KeyError:
            check_interval(interval)
            raise

    def bars(
        self, interval: str, start_ms: int | None = None, end_ms: int | None = None, limit: int | None = None
    ) -> list[Bar]:
        return self.series(interval).bars(start_ms, end_ms, limit)

    def current(self, interval: str) -> Bar | None:
        return self.series(interval).current()

    def to_state(self) -> dict[str, list[Bar]]:
        self._flush()
        return {interval: series.to_state() for interval, series in self._series.items()}

    @classmethod
    def from_state(cls, symbol: str, state: dict[str, list[Bar]], limit: int = DEFAULT_LIMIT) -> Klines:
        klines = cls(symbol, limit)
        for interval, bars in state.items():
            klines._series[check_interval(interval)] = KlineSeries.from_state(interval, bars, limit)
        klines._all = tuple(klines._series.values())
        klines._refresh_live()
        return klines
