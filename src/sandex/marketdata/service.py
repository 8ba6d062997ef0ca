"""MarketData: every market-data view of every symbol, fed by the engine's events.

`apply(events)` routes OrderEvents to the symbol's BookView and TradeEvents to its recent trades,
24 h ticker and klines, and reports what changed so that publishers push only that. Everything is
derived from the event stream (the engine's internals are never consulted) and time comes only
from the events' `ts` (on a replayed market, from its recorded events': see `_on_replay_clock`),
so replaying the same events gives the same market data, bit for bit.

`to_state()`/`from_state()` snapshot the whole thing as bytes, so it can be stored next to the
engine's snapshot and both restored after a restart instead of replaying the whole journal. The
bytes are msgspec JSON, not msgpack, for the same reason as the engine's snapshot: msgpack integers
stop at 64 bits, and a day's quote volume in value scale (or a trade's fee in ledger scale, 18
decimals) goes past that, while msgspec's JSON reads and writes integers of any size exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import Struct

from sandex.core.events import Event, OrderEvent, ReplayDepthEvent, ReplaySeekEvent, TradeEvent
from sandex.core.markets import Market

from .book import BookView, Level, Top
from .klines import DEFAULT_LIMIT, INTERVALS, Bar, Klines
from .ticker import MINUTE_MS, Ticker, Ticker24h, TickerState
from .trades import DEFAULT_CAPACITY, RecentTrades

STATE_VERSION = 1


class UnknownSymbolError(KeyError):
    """A read for a symbol that is not one of the configured markets."""


@dataclass(slots=True)
class MarketDataUpdate:
    """What one `apply` (or `roll`) changed."""

    #: New trades per symbol, in the order they happened.
    trades: dict[str, list[TradeEvent]] = field(default_factory=dict)
    #: Symbols whose book changed at any level (each publisher diffs its own window).
    depth_changed: set[str] = field(default_factory=set)
    #: Symbols whose ticker changed: a trade, a best bid/ask (price or size) change, or a trade
    #: leaving the 24 h window.
    ticker_changed: set[str] = field(default_factory=set)
    #: (symbol, interval) pairs whose current bar changed.
    klines_changed: set[tuple[str, str]] = field(default_factory=set)
    #: Replayed symbols sought to another time: their book and trade history were replaced, so
    #: each dialect re-sends what it sends after a reconnect (a clean depth, a snapshot).
    reset: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.trades or self.depth_changed or self.ticker_changed or self.klines_changed or self.reset
        )


class SymbolData:
    """The views of one symbol."""

    __slots__ = ("book", "kline_keys", "klines", "market", "ticker", "trades")

    def __init__(
        self,
        market: Market,
        book: BookView | None = None,
        trades: RecentTrades | None = None,
        ticker: Ticker24h | None = None,
        klines: Klines | None = None,
        *,
        trades_capacity: int = DEFAULT_CAPACITY,
        kline_limit: int = DEFAULT_LIMIT,
    ) -> None:
        symbol = market.symbol
        self.market = market
        self.book = book if book is not None else BookView(symbol)
        self.trades = trades if trades is not None else RecentTrades(symbol, trades_capacity)
        self.ticker = ticker if ticker is not None else Ticker24h(symbol)
        self.klines = klines if klines is not None else Klines(symbol, kline_limit)
        # Built once: a trade changes the current bar of every interval.
        self.kline_keys = tuple((symbol, interval) for interval in INTERVALS)


class MarketData:
    def __init__(
        self,
        markets: Iterable[Market],
        *,
        trades_capacity: int = DEFAULT_CAPACITY,
        kline_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.trades_capacity = trades_capacity
        self.kline_limit = kline_limit
        self._symbols: dict[str, SymbolData] = {}
        self._now = 0  # ms, the latest event ts seen (or rolled to)
        #: Replayed symbols -> their clock (the recording's exchange time, ms): their 24 h
        #: windows move with it, not with the venue's clock.
        self._clocks: dict[str, int] = {}
        for market in markets:
            self.add_market(market)

    def add_market(self, market: Market) -> None:
        if market.symbol in self._symbols:
            raise ValueError(f"market {market.symbol} already exists")
        self._symbols[market.symbol] = SymbolData(
            market, trades_capacity=self.trades_capacity, kline_limit=self.kline_limit
        )

    @property
    def markets(self) -> dict[str, Market]:
        return {symbol: data.market for symbol, data in self._symbols.items()}

    @property
    def now_ms(self) -> int:
        return self._now

    # -- updates -------------------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> MarketDataUpdate:
        """Apply the events of one or more commands, in order; return what changed.

        Events of other types, and events of symbols that are not configured, are ignored.
        """
        update = MarketDataUpdate()
        symbols = self._symbols
        now = self._now
        # Best bid/ask of each touched book before this batch, to tell whether the ticker changed.
        tops_before: dict[str, tuple[Level | None, Level | None]] = {}
        clocks = self._clocks
        for event in events:
            if event.ts > now:
                now = event.ts
            # isinstance on these plain classes is cheap (no ABCs involved), and it narrows types.
            if isinstance(event, OrderEvent):
                data = symbols.get(event.symbol)
                if data is None:
                    continue
                book = data.book
                if event.symbol not in tops_before:
                    tops_before[event.symbol] = (book.best_bid(), book.best_ask())
                if book.apply(event):
                    update.depth_changed.add(event.symbol)
            elif isinstance(event, TradeEvent):
                symbol = event.symbol
                data = symbols.get(symbol)
                if data is None:
                    continue
                if clocks and symbol in clocks:
                    event = self._on_replay_clock(event, clocks)
                data.trades.add(event)
                data.ticker.add(event)
                data.klines.add(event)
                new_trades = update.trades.get(symbol)
                if new_trades is None:
                    update.trades[symbol] = [event]
                else:
                    new_trades.append(event)
                update.ticker_changed.add(symbol)
                update.klines_changed.update(data.kline_keys)
            elif isinstance(event, ReplayDepthEvent):
                data = symbols.get(event.symbol)
                if data is None:
                    continue
                book = data.book
                if event.symbol not in tops_before:
                    tops_before[event.symbol] = (book.best_bid(), book.best_ask())
                self._clocks[event.symbol] = event.time_ms
                if book.replay(event.reset, event.bids, event.asks):
                    update.depth_changed.add(event.symbol)
            elif isinstance(event, ReplaySeekEvent):
                self._seek(event, update)
        for symbol, (bid, ask) in tops_before.items():
            book = symbols[symbol].book
            if bid != book.best_bid() or ask != book.best_ask():
                update.ticker_changed.add(symbol)
        self._advance(now, update)
        return update

    @staticmethod
    def _on_replay_clock(trade: TradeEvent, clocks: dict[str, int]) -> TradeEvent:
        """A trade on a replayed market, on that market's clock. A recorded trade (no account on
        either side) carries the recording's time and moves the clock. A venue trade there (a
        client's order filled by the tape or taking the replayed book, two clients trading)
        carries the engine's wall time: among the recorded prints it would put the tape out of
        order, open a kline bar in today's time (into which every later recorded trade would then
        fall) and move the 24 h window past the whole recording. So it is published at the
        clock: the latest record applied (for a fill by the tape, the print that filled it)."""
        symbol = trade.symbol
        if trade.maker_account_id == 0 and trade.taker_account_id == 0:
            if trade.ts > clocks[symbol]:
                clocks[symbol] = trade.ts
            return trade
        return msgspec.structs.replace(trade, ts=clocks[symbol])

    def _seek(self, event: ReplaySeekEvent, update: MarketDataUpdate) -> None:
        """A replayed symbol's book and trade history replaced by the recording's at a time."""
        symbol = event.symbol
        data = self._symbols.get(symbol)
        if data is None:
            return
        data.book.replay(True, event.bids, event.asks)
        data.trades = RecentTrades(symbol, self.trades_capacity)
        data.ticker = Ticker24h(symbol)
        data.klines = Klines(symbol, self.kline_limit)
        for trade in event.trades:
            data.trades.add(trade)
            data.ticker.add(trade)
            data.klines.add(trade)
        data.ticker.roll(event.time_ms)
        self._clocks[symbol] = event.time_ms
        update.reset.add(symbol)
        update.depth_changed.add(symbol)
        update.ticker_changed.add(symbol)
        update.klines_changed.update(data.kline_keys)

    def clock(self, symbol: str) -> int:
        """A symbol's clock (ms): a replayed market's recording time, else the venue's."""
        return self._clocks.get(symbol, self._now)

    def is_replayed(self, symbol: str) -> bool:
        """Whether a symbol plays a recording (its clock is the recording's)."""
        return symbol in self._clocks

    def roll(self, now_ms: int) -> MarketDataUpdate:
        """Move the clock (never backwards) so that a quiet market's 24 h window still moves.

        Call it from a timer with a time derived from the engine's clock; the update lists the
        tickers whose window dropped trades.
        """
        update = MarketDataUpdate()
        self._advance(now_ms, update)
        return update

    def _advance(self, now: int, update: MarketDataUpdate) -> None:
        if now <= self._now:
            return
        minute_changed = now // MINUTE_MS != self._now // MINUTE_MS
        self._now = now
        if minute_changed:
            # The window's edge moves per minute, so other symbols' tickers only need a roll
            # when the minute changes.
            clocks = self._clocks
            for symbol, data in self._symbols.items():
                if symbol in clocks:
                    continue  # a replayed market's window moves with the recording
                if data.ticker.roll(now):
                    update.ticker_changed.add(symbol)

    # -- reads ---------------------------------------------------------------------------------

    def _data(self, symbol: str) -> SymbolData:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise UnknownSymbolError(symbol) from None

    def book(self, symbol: str) -> BookView:
        return self._data(symbol).book

    def top(self, symbol: str, n: int) -> Top:
        return self._data(symbol).book.top(n)

    def recent_trades(self, symbol: str, limit: int | None = None) -> list[TradeEvent]:
        """Newest first."""
        return self._data(symbol).trades.latest(limit)

    def ticker(self, symbol: str) -> Ticker:
        data = self._data(symbol)
        # Every ticker's window was rolled when the clock last changed minute (see _advance), so
        # reading only stamps the latest event time: a read never changes the state.
        return data.ticker.snapshot(data.book, self._clocks.get(symbol, self._now))

    def tickers(self) -> list[Ticker]:
        return [self.ticker(symbol) for symbol in self._symbols]

    def bars(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        """See KlineSeries.bars: open_time in [start_ms, end_ms], oldest first."""
        return self._data(symbol).klines.bars(interval, start_ms, end_ms, limit)

    def current_bar(self, symbol: str, interval: str) -> Bar | None:
        return self._data(symbol).klines.current(interval)

    # -- state ---------------------------------------------------------------------------------

    def to_state(self) -> bytes:
        state = _State(
            version=STATE_VERSION,
            now=self._now,
            trades_capacity=self.trades_capacity,
            kline_limit=self.kline_limit,
            clocks=self._clocks,
            symbols=[
                _SymbolState(
                    market=_market_fields(data.market),
                    orders=data.book.to_state(),
                    trades=data.trades.to_state(),
                    ticker=data.ticker.to_state(),
                    klines=data.klines.to_state(),
                    replayed=data.book.replayed(),
                )
                for data in self._symbols.values()
            ],
        )
        return msgspec.json.encode(state)

    @classmethod
    def from_state(cls, data: bytes, markets: Iterable[Market] | None = None) -> MarketData:
        """Restore from `to_state()` bytes.

        With `markets` (the current config), exactly those markets are served: a market missing
        from the state starts empty, and state of a market no longer configured is dropped. Without
        it, the markets stored in the state are used.
        """
        state = msgspec.json.decode(data, type=_State)
        if state.version != STATE_VERSION:
            raise ValueError(f"market data state version {state.version}, expected {STATE_VERSION}")
        stored = {s.market["symbol"]: s for s in state.symbols}
        if markets is None:
            markets = [Market(**s.market) for s in state.symbols]
        md = cls([], trades_capacity=state.trades_capacity, kline_limit=state.kline_limit)
        md._now = state.now
        md._clocks = dict(state.clocks)
        for market in markets:
            s = stored.get(market.symbol)
            if s is None:
                md.add_market(market)
                continue
            symbol = market.symbol
            md._symbols[symbol] = SymbolData(
                market,
                book=BookView.from_state(symbol, s.orders),
                trades=RecentTrades.from_state(symbol, s.trades, state.trades_capacity),
                ticker=Ticker24h.from_state(symbol, s.ticker),
                klines=Klines.from_state(symbol, s.klines, state.kline_limit),
            )
            if s.replayed[0] or s.replayed[1]:
                md._symbols[symbol].book.replay(True, s.replayed[0], s.replayed[1])
        return md


def _market_fields(market: Market) -> dict[str, Any]:
    # Only the constructor's fields: the derived ones are recomputed by Market itself.
    return {f.name: getattr(market, f.name) for f in dataclasses.fields(market) if f.init}


class _SymbolState(Struct, array_like=True, gc=False):
    market: dict[str, Any]
    orders: list[tuple[int, str, int, int]]
    trades: list[TradeEvent]
    ticker: TickerState
    klines: dict[str, list[Bar]]
    #: A replayed market's recorded sizes (bids, asks); absent from states written before replay.
    replayed: tuple[list[Level], list[Level]] = ([], [])


class _State(Struct, gc=False):
    version: int
    now: int
    trades_capacity: int
    kline_limit: int
    symbols: list[_SymbolState]
    clocks: dict[str, int] = {}
