"""From the venue's event stream to Infoway pushes: each push encoded once, sent to all.

- Trades (10002): one frame per trade, encoded when the trade is durable and sent in the next
  market-data round (`server/broadcast.py`): after the accounts' own pushes, each subscriber's
  trades of a round in one write, paced with the other dialects' market data. A client that
  subscribes just before a round may get the trades of the batch before it, as from a buffer.
- Depth (10005): a full snapshot of the top `depth_levels`, pushed when the book changed — at
  most once per `depth_interval_s` (100 ms by default) — and at least once a second while
  anyone listens, changed or not (the real feed streams snapshots continuously).
- Klines (10008): the current bar of each (symbol, type) that changed, about once a second.
  When a bar closes between two flushes, its final state is pushed at once, before the new
  bar's, so a subscriber never misses a bar's last close.

Nothing is encoded for a topic without subscribers (`TopicHub.has_subscribers`). The depth and
kline flushes are called by timers that `routes` runs; this module owns no task.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sandex.core.events import Event
from sandex.core.markets import Market
from sandex.faults import FaultController
from sandex.marketdata.book import Top
from sandex.marketdata.klines import Bar, bar_start
from sandex.marketdata.service import MarketData, MarketDataUpdate
from sandex.server.broadcast import Broadcaster, Push
from sandex.server.framing import encode_frame
from sandex.server.hub import TopicHub
from sandex.venue import Venue

from . import wire
from .connection import depth_topic, kline_topic, trade_topic
from .symbols import SymbolMap
from .wire import KLINE_INTERVALS

#: A depth topic with listeners gets a snapshot at least this often, even when nothing changed.
DEPTH_MAX_QUIET_S = 1.0
#: Kline pushes per (symbol, type): about once a second while the bar changes.
KLINE_INTERVAL_S = 1.0


def _frame(payload: bytes) -> bytes:
    return encode_frame(payload, binary=False)


class InfowayPublisher:
    def __init__(
        self,
        venue: Venue,
        hub: TopicHub,
        broadcaster: Broadcaster,
        symbols: SymbolMap,
        *,
        depth_levels: int = 5,
        depth_interval_s: float = 0.1,
        depth_max_quiet_s: float = DEPTH_MAX_QUIET_S,
        kline_interval_s: float = KLINE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultController | None = None,
    ) -> None:
        self._venue = venue
        self._hub = hub
        #: Fault injection: depth pushes go through it (skipped pushes, stale snapshots).
        self._faults = faults or FaultController()
        self._symbols = symbols
        self._markets: dict[str, Market] = {m.symbol: m for m in venue.markets if symbols.code(m.symbol)}
        self.depth_levels = depth_levels
        self.depth_interval_s = depth_interval_s
        self.depth_max_quiet_s = depth_max_quiet_s
        self.kline_interval_s = kline_interval_s
        self._clock = clock
        self._depth_dirty: set[str] = set()
        self._depth_last: dict[str, tuple[float, Top]] = {}  # symbol -> (pushed at, levels)
        #: symbol -> the last depth frame pushed: what a "stale depth" fault sends instead.
        self._depth_frames: dict[str, bytes] = {}
        # (symbol, kline type) -> open time of the bar whose latest state is not pushed yet
        self._klines_pending: dict[tuple[str, int], int] = {}
        self._trades_pending: list[Push] = []
        self._broadcaster = broadcaster
        broadcaster.add_source(self._take_trades)

    @property
    def _md(self) -> MarketData:
        # Read through the venue every time: recovery replaces the MarketData object.
        return self._venue.marketdata

    # -- the venue listener --------------------------------------------------------------------

    def on_events(self, events: list[Event], update: MarketDataUpdate) -> None:
        """Called by the venue after every durable batch (and by its timer with no events)."""
        if update.depth_changed:
            self._depth_dirty.update(update.depth_changed)
        hub = self._hub
        for symbol, trades in update.trades.items():
            market = self._markets.get(symbol)
            if market is None:
                continue
            code = self._symbols.code(symbol)
            assert code is not None
            topic = trade_topic(symbol)
            if hub.has_subscribers(topic):
                pending = self._trades_pending
                for trade in trades:
                    pending.append(Push(topic, _frame(wire.trade_push(code, market, trade))))
                self._broadcaster.wake()
            self._note_bars(symbol, code, market, [trade.ts for trade in trades])

    def _take_trades(self) -> list[Push]:
        """The broadcaster's source: every trade push since the last round, in order."""
        pending, self._trades_pending = self._trades_pending, []
        return pending

    def _note_bars(self, symbol: str, code: str, market: Market, trade_times: list[int]) -> None:
        """Mark the changed bars of subscribed kline topics; push bars that closed meanwhile."""
        hub, md, pending = self._hub, self._md, self._klines_pending
        for ktype, interval in KLINE_INTERVALS.items():
            topic = kline_topic(symbol, ktype)
            if not hub.has_subscribers(topic):
                continue
            current = md.current_bar(symbol, interval)
            if current is None:
                continue
            key = (symbol, ktype)
            touched = {bar_start(interval, ts) for ts in trade_times}
            earlier = pending.get(key)
            if earlier is not None:
                touched.add(earlier)
            touched.discard(current.open_time)
            for open_time in sorted(touched):
                # A bar that closed since the last flush: its final state, now, before the next.
                closed = md.bars(symbol, interval, open_time, open_time)
                if closed:
                    hub.publish(topic, _frame(wire.kline_push(code, market, closed[0], ktype)))
            pending[key] = current.open_time

    # -- timed pushes --------------------------------------------------------------------------

    def flush_depth(self, now: float | None = None) -> int:
        """Push the snapshots that are due; returns how many topics got one."""
        if now is None:
            now = self._clock()
        if self._venue.market_data_error is not None:
            return 0  # a gateway refilling a gap: its book is stale; pushed once caught up
        dirty, self._depth_dirty = self._depth_dirty, set()
        hub, md = self._hub, self._md
        pushed = 0
        for symbol, market in self._markets.items():
            topic = depth_topic(symbol)
            if not hub.has_subscribers(topic):
                self._depth_last.pop(symbol, None)
                self._depth_frames.pop(symbol, None)
                continue
            last = self._depth_last.get(symbol)
            due = last is None or now - last[0] >= self.depth_max_quiet_s
            if not due and symbol not in dirty:
                continue
            top = md.top(symbol, self.depth_levels)
            if not due and last is not None and top == last[1]:
                continue  # the change was below the published levels
            frame = self._depth_frame(symbol, market, top)
            self._faults.publish_depth(
                hub, topic, frame, skippable=True, stale=self._depth_frames.get(symbol)
            )
            self._depth_last[symbol] = (now, top)
            self._depth_frames[symbol] = frame
            pushed += 1
        return pushed

    def flush_klines(self) -> int:
        """Push the current bar of every (symbol, type) that changed since the last flush."""
        pending, self._klines_pending = self._klines_pending, {}
        hub, md = self._hub, self._md
        pushed = 0
        for symbol, ktype in pending:
            topic = kline_topic(symbol, ktype)
            if not hub.has_subscribers(topic):
                continue
            bar = md.current_bar(symbol, KLINE_INTERVALS[ktype])
            if bar is None:
                continue
            hub.publish(topic, self._kline_frame(symbol, bar, ktype))
            pushed += 1
        return pushed

    def depth_snapshot(self, symbol: str) -> bytes | None:
        """The current snapshot frame of one market, for a connection that just subscribed."""
        market = self._markets.get(symbol)
        if market is None or self._venue.market_data_error is not None:
            return None  # unknown; or a gateway's stale book (the next push brings the book)
        return self._depth_frame(symbol, market, self._md.top(symbol, self.depth_levels))

    def stale_depth_snapshot(self, symbol: str) -> bytes | None:
        """The last depth frame pushed for `symbol` (fault injection: an older book), if any."""
        return self._depth_frames.get(symbol)

    def _depth_frame(self, symbol: str, market: Market, top: Top) -> bytes:
        code = self._symbols.code(symbol)
        assert code is not None
        md = self._md
        # A replayed market's clock is the recording's.
        now_ms = md.clock(symbol) if md.is_replayed(symbol) else int(self._venue.clock() * 1000)
        return _frame(wire.depth_push(code, market, top, now_ms))

    def _kline_frame(self, symbol: str, bar: Bar, ktype: int) -> bytes:
        code = self._symbols.code(symbol)
        assert code is not None
        return _frame(wire.kline_push(code, self._markets[symbol], bar, ktype))
