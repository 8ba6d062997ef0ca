"""Rolling 24 h ticker of one symbol, in bounded memory.

Keeping every trade of the last 24 h is unbounded under a simulator that trades many times a
second for days, so trades are folded into per-minute buckets (at most 1440 of them) with running
sums for the volumes. The price of that: the window's edge moves per minute, not per millisecond.
At time `now` the window is the current minute plus the 1439 minutes before it, so a trade counts
until the minute 24 h after its own minute begins (it is in the window for between 23h59m and 24h).

High and low are not running sums (an expiring bucket may hold the extreme), so they are cached and
recomputed by scanning the buckets only when an expiring bucket held the cached extreme.

Time comes only from event timestamps (`trade.ts`) and `roll(now_ms)`, never the wall clock, so
the same events give the same ticker. Time never goes backwards here: a trade stamped earlier than
the ticker's clock is counted at the clock's minute.
"""

from __future__ import annotations

from collections import deque

from msgspec import Struct

from sandex.core.events import TradeEvent

from .book import BookView

MINUTE_MS = 60_000
WINDOW_MINUTES = 1440


class Ticker(Struct, frozen=True, gc=False):
    """A ticker as published. Prices by price precision, amounts by amount precision, quote volume
    by the value scale (price + amount precision). `last`/`last_qty` are the last trade ever (0
    before the first trade); with no trade in the window, open/high/low are `last` and the volumes 0.
    Best bid/ask and their sizes are 0 when that side of the book is empty."""

    symbol: str
    open_24h: int
    high_24h: int
    low_24h: int
    base_volume_24h: int
    quote_volume_24h: int
    count_24h: int
    last: int
    last_qty: int
    best_bid: int
    best_bid_size: int
    best_ask: int
    best_ask_size: int
    timestamp: int  # ms, the ticker's clock (latest event ts seen)


class _Bucket:
    """The trades of one minute."""

    __slots__ = ("count", "high", "low", "minute", "open", "quote_volume", "volume")

    def __init__(self, minute: int, price: int) -> None:
        self.minute = minute
        self.open = price
        self.high = price
        self.low = price
        self.volume = 0
        self.quote_volume = 0
        self.count = 0

    def to_state(self) -> tuple[int, int, int, int, int, int, int]:
        return (self.minute, self.open, self.high, self.low, self.volume, self.quote_volume, self.count)


class Ticker24h:
    __slots__ = (
        "_buckets",
        "_count",
        "_extremes_valid",
        "_high",
        "_last",
        "_last_qty",
        "_low",
        "_now",
        "_quote_volume",
        "_volume",
        "symbol",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._buckets: deque[_Bucket] = deque()  # oldest minute first
        # Running sums over the buckets in the window.
        self._volume = 0
        self._quote_volume = 0
        self._count = 0
        self._now = 0  # ms
        self._last = 0
        self._last_qty = 0
        # Cached high/low over the buckets; invalid after an expiring bucket held one of them.
        self._high = 0
        self._low = 0
        self._extremes_valid = True

    @property
    def now_ms(self) -> int:
        return self._now

    def add(self, trade: TradeEvent) -> None:
        """Count one trade (moving the window to its time first)."""
        if trade.ts > self._now:
            self.roll(trade.ts)
        price = trade.price
        minute = self._now // MINUTE_MS
        buckets = self._buckets
        if buckets and buckets[-1].minute == minute:
            bucket = buckets[-1]
            if price > bucket.high:
                bucket.high = price
            elif price < bucket.low:
                bucket.low = price
        else:
            was_empty = not buckets
            bucket = _Bucket(minute, price)
            buckets.append(bucket)
            if was_empty:
                # The window was empty: the cached extremes are this trade's price.
                self._high = self._low = price
                self._extremes_valid = True
        bucket.volume += trade.amount
        bucket.quote_volume += trade.value
        bucket.count += 1
        self._volume += trade.amount
        self._quote_volume += trade.value
        self._count += 1
        if self._extremes_valid:
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
        self._last = price
        self._last_qty = trade.amount

    def roll(self, now_ms: int) -> bool:
        """Move the clock to `now_ms` (never backwards) and drop expired minutes.

        Returns whether the window lost any trade (the published ticker changed).
        """
        if now_ms > self._now:
            self._now = now_ms
        # Minutes at or before `oldest_gone` are out of the window.
        oldest_gone = self._now // MINUTE_MS - WINDOW_MINUTES
        buckets = self._buckets
        dropped = False
        while buckets and buckets[0].minute <= oldest_gone:
            bucket = buckets.popleft()
            self._volume -= bucket.volume
            self._quote_volume -= bucket.quote_volume
            self._count -= bucket.count
            if bucket.high >= self._high or bucket.low <= self._low:
                self._extremes_valid = False
            dropped = True
        return dropped

    def _extremes(self) -> tuple[int, int]:
        if not self._extremes_valid:
            # At most 1440 buckets, and only after an extreme expired.
            self._high = max(b.high for b in self._buckets)
            self._low = min(b.low for b in self._buckets)
            self._extremes_valid = True
        return self._high, self._low

    def snapshot(self, book: BookView | None = None, now_ms: int | None = None) -> Ticker:
        """The ticker as of the last add/roll, with best bid/ask from `book` when given.

        `now_ms` only stamps the snapshot (when later than the ticker's clock); it does not move
        the window, so reading never changes state. Call roll() first to move the window.
        """
        if self._buckets:
            open_ = self._buckets[0].open
            high, low = self._extremes()
        else:
            open_ = high = low = self._last
        best_bid = book.best_bid() if book is not None else None
        best_ask = book.best_ask() if book is not None else None
        return Ticker(
            symbol=self.symbol,
            open_24h=open_,
            high_24h=high,
            low_24h=low,
            base_volume_24h=self._volume,
            quote_volume_24h=self._quote_volume,
            count_24h=self._count,
            last=self._last,
            last_qty=self._last_qty,
            best_bid=best_bid[0] if best_bid else 0,
            best_bid_size=best_bid[1] if best_bid else 0,
            best_ask=best_ask[0] if best_ask else 0,
            best_ask_size=best_ask[1] if best_ask else 0,
            timestamp=self._now if now_ms is None or now_ms < self._now else now_ms,
        )

    # -- state ---------------------------------------------------------------------------------

    def to_state(self) -> TickerState:
        return TickerState(
            now=self._now,
            last=self._last,
            last_qty=self._last_qty,
            buckets=[b.to_state() for b in self._buckets],
        )

    @classmethod
    def from_state(cls, symbol: str, state: TickerState) -> Ticker24h:
        ticker = cls(symbol)
        ticker._now = state.now
        ticker._last = state.last
        ticker._last_qty = state.last_qty
        for minute, open_, high, low, volume, quote_volume, count in state.buckets:
            bucket = _Bucket(minute, open_)
            bucket.high, bucket.low = high, low
            bucket.volume, bucket.quote_volume, bucket.count = volume, quote_volume, count
            ticker._buckets.append(bucket)
            ticker._volume += volume
            ticker._quote_volume += quote_volume
            ticker._count += count
        # Recomputed on the first read; the answer does not depend on the cache.
        ticker._extremes_valid = False
        return ticker


class TickerState(Struct, array_like=True, gc=False):
    now: int
    last: int
    last_qty: int
    buckets: list[tuple[int, int, int, int, int, int, int]]
