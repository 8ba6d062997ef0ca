"""The dashboard's feed: one JSON WebSocket per browser tab, outside every dialect.

`DashboardFeed` is a venue listener like a dialect's publisher (`on_events`): per batch it only
notes what changed — which books, which markets traded, whether an own account moved — and
rounds at most every `interval_s` (50 ms: at most 20 book updates a second) build each tab's
messages from the venue's market data and account data. A busy market so costs the dashboard
one diff per round however many batches it saw, and a quiet one nothing.

Every message carries the venue's event sequence number (`seq`, the engine's, which also counts
with the journal off) and the server's clock (`ts`, ms), so the page measures its lag. A tab's
book is a snapshot then diffs over a top-`depth_levels` window (`marketdata.depth.DepthView`, as
DigiFinex's depth channel): each diff names the `seq` of the book it applies to (`prev`), and
a page holding another one has missed something and asks for a snapshot (`resync`). The server
sends a snapshot by itself where it skipped a tab: a tab whose socket is backed up (a hidden or
frozen page) gets nothing until it drains, then a snapshot, so a slow tab never queues the
venue's rate of messages nor holds a stale book.

Nothing here touches a socket: a `Tab` is given a `send` (complete frames) and a `backlog`
(bytes not yet written) by `routes`, which owns the connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import msgspec

from ..automation import AutomationEvent, TradeResult
from ..background import BackgroundTask
from ..core.events import (
    AccountEvent,
    BalanceEvent,
    DepositEvent,
    Event,
    OrderEvent,
    Rejected,
    TradeEvent,
    TriggerEvent,
    WalletEvent,
)
from ..marketdata.depth import DepthView
from ..marketdata.klines import INTERVALS
from ..marketdata.service import MarketDataUpdate
from ..server.context import ServerContext
from ..server.framing import encode_frame
from . import views
from .status import StatusView

log = logging.getLogger("sandex.dashboard.feed")

#: Rounds at most this often: at most 20 book updates a second per tab.
ROUND_INTERVAL_S: Final = 0.05
#: Levels per side of a tab's book (the ladder shows the best of them, the depth chart all).
DEPTH_LEVELS: Final = 50
#: Trades in a snapshot's tape, and the most a round sends (the page keeps as many).
TAPE_TRADES: Final = 60
#: Bars of a candles snapshot.
SNAPSHOT_BARS: Final = 500
ACCOUNTS_INTERVAL_S: Final = 0.25
TICKERS_INTERVAL_S: Final = 0.5
STATUS_INTERVAL_S: Final = 1.0
#: A tab with more than this many bytes not yet written is skipped until it drains...
TAB_BACKLOG_BYTES: Final = 256 * 1024
#: ... and closed when it has not drained for this long (a peer gone without a word).
TAB_STALL_S: Final = 30.0
#: Rejects and automation results remembered per account (since the server started).
HISTORY: Final = 50

_encode = msgspec.json.Encoder().encode
#: Events that move an account's panel (a fill's TradeEvent is checked on both sides).
_ACCOUNT_EVENTS: Final = (OrderEvent, BalanceEvent, TriggerEvent, AutomationEvent)


class FeedError(ValueError):
    """A message from the page the feed cannot act on; answered with an error message."""


class Watch(msgspec.Struct, forbid_unknown_fields=True):
    op: str
    symbol: str | None = None
    interval: str | None = None


class Tab:
    """One browser tab's socket, as the feed sees it: what it watches and what it holds."""

    __slots__ = (
        "backlog",
        "book_seq",
        "close",
        "depth",
        "interval",
        "last_bar_open",
        "last_trade_id",
        "needs_snapshot",
        "send",
        "stalled_since",
        "symbol",
    )

    def __init__(
        self,
        send: Callable[[bytes], bool],
        backlog: Callable[[], int],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        self.send = send
        self.backlog = backlog
        self.close = close
        self.stalled_since: float | None = None
        self.symbol: str | None = None
        self.interval = INTERVALS[0]
        self.depth = DepthView(DEPTH_LEVELS)
        #: The seq of the book the page holds (what the next diff's `prev` names).
        self.book_seq = 0
        self.last_trade_id = 0
        self.last_bar_open = 0
        self.needs_snapshot = False


class DashboardFeed:
    def __init__(
        self,
        ctx: ServerContext,
        *,
        interval_s: float = ROUND_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.venue = ctx.venue
        self.interval_s = interval_s
        self._clock = clock
        self._monotonic = monotonic
        self.tabs: dict[Tab, None] = {}
        self.status = StatusView(ctx, monotonic=monotonic)
        #: Messages (frames) written to tabs since start: what bench/dashboard.py reports.
        self.messages_sent = 0
        self.events_total = 0
        self.rounds = 0
        # Changes since the last round.
        self._trades: dict[str, deque[TradeEvent]] = {}
        self._depth: set[str] = set()
        self._klines: set[str] = set()
        self._tickers_changed = True
        self._accounts_changed = True
        # Account ids that have an API key (the venue's clients; the simulator's have none).
        self._own: dict[int, str] = {}
        self._own_stale = True
        self.rejects: dict[int, deque[Rejected]] = {}
        self.results: dict[int, deque[TradeResult]] = {}
        self._next_tickers = self._next_accounts = self._next_status = 0.0
        self._runner = BackgroundTask(self._run, "dashboard-feed")

    # -- the listener ------------------------------------------------------------------------

    def on_events(self, events: list[Event], update: MarketDataUpdate) -> None:
        self.events_total += len(events)
        if self.tabs:
            for symbol, trades in update.trades.items():
                pending = self._trades.get(symbol)
                if pending is None:
                    pending = self._trades[symbol] = deque(maxlen=TAPE_TRADES)
                pending.extend(trades)
            self._depth |= update.depth_changed
            if update.klines_changed:
                self._klines.update(symbol for symbol, _ in update.klines_changed)
        if update.ticker_changed:
            self._tickers_changed = True
        if events:
            self._note_accounts(events)

    def _note_accounts(self, events: list[Event]) -> None:
        own = self.own_accounts()
        changed = False
        for event in events:
            kind = type(event)
            if kind is TradeEvent:
                trade: TradeEvent = event  # type: ignore[assignment]
                changed = changed or trade.taker_account_id in own or trade.maker_account_id in own
            elif kind in _ACCOUNT_EVENTS:
                changed = changed or event.account_id in own  # type: ignore[attr-defined]
            elif kind is Rejected:
                rejected: Rejected = event  # type: ignore[assignment]
                if rejected.account_id in own:
                    self._remember(self.rejects, rejected.account_id, rejected)
                    changed = True
            elif kind is TradeResult:
                result: TradeResult = event  # type: ignore[assignment]
                if result.account_id in own:
                    self._remember(self.results, result.account_id, result)
                    changed = True
            elif kind is AccountEvent or kind is WalletEvent or kind is DepositEvent:
                self._own_stale = changed = True
        if changed:
            self._accounts_changed = True

    @staticmethod
    def _remember(store: dict[int, deque[Any]], account_id: int, event: Any) -> None:
        history = store.get(account_id)
        if history is None:
            history = store[account_id] = deque(maxlen=HISTORY)
        history.append(event)

    def own_accounts(self) -> dict[int, str]:
        """Account id -> name of every account with an API key: the venue's clients."""
        if self._own_stale:
            self._own = {a.id: a.name for a in self.venue.engine.account_by_key.values()}
            self._own_stale = False
        return self._own

    # -- tabs --------------------------------------------------------------------------------

    def open(self, tab: Tab) -> None:
        """A tab connected: it gets the venue's markets and everything but a market's data now."""
        self.tabs[tab] = None
        markets = self.venue.engine.markets
        self._send(
            tab,
            self._frame(
                "hello",
                {
                    "markets": [views.market_info(m) for m in markets.values()],
                    "intervals": list(INTERVALS),
                    "depth_levels": DEPTH_LEVELS,
                    "round_ms": round(self.interval_s * 1000),
                },
            ),
        )
        self._send(tab, self._tickers_frame())
        self._send(tab, self._accounts_frame())
        self._send(tab, self._status_frame())

    def close(self, tab: Tab) -> None:
        self.tabs.pop(tab, None)

    def receive(self, tab: Tab, data: str | bytes) -> None:
        """One message from the page: `{"op": "watch", "symbol": ..., "interval": ...}` to show a
        market (a snapshot follows at once), `{"op": "resync"}` after a gap."""
        try:
            try:
                request = msgspec.json.decode(data, type=Watch)
            except msgspec.ValidationError as exc:
                raise FeedError(f"bad request: {exc}") from None
            except msgspec.DecodeError:
                raise FeedError("requests are JSON objects") from None
            if request.op == "watch":
                if request.symbol is not None:
                    if request.symbol not in self.venue.engine.markets:
                        raise FeedError(f"unknown market {request.symbol!r}")
                    tab.symbol = request.symbol
                if request.interval is not None:
                    if request.interval not in INTERVALS:
                        raise FeedError(f"unknown kline interval {request.interval!r}")
                    tab.interval = request.interval
            elif request.op != "resync":
                raise FeedError(f"unknown op {request.op!r} (watch, resync)")
        except FeedError as exc:
            self._send(tab, self._frame("error", {"message": str(exc)}))
            return
        if tab.symbol is not None:
            self._send_snapshot(tab)

    # -- rounds ------------------------------------------------------------------------------

    def run_round(self) -> None:
        """One round: each tab's changes since the last, and the slower panels when due."""
        self.rounds += 1
        now = self._monotonic()
        trades, self._trades = self._trades, {}
        depth, self._depth = self._depth, set()
        klines, self._klines = self._klines, set()
        shared: list[bytes] = []
        if self._tickers_changed and now >= self._next_tickers:
            self._tickers_changed = False
            self._next_tickers = now + TICKERS_INTERVAL_S
            shared.append(self._tickers_frame())
        if self._accounts_changed and now >= self._next_accounts:
            self._accounts_changed = False
            self._next_accounts = now + ACCOUNTS_INTERVAL_S
            shared.append(self._accounts_frame())
        if now >= self._next_status:
            self._next_status = now + STATUS_INTERVAL_S
            shared.append(self._status_frame())
        own_rows: dict[str, list[list[str]]] = {}
        for tab in list(self.tabs):
            if tab.backlog() > TAB_BACKLOG_BYTES:
                # Backed up: send nothing more now, and a snapshot once it has drained.
                tab.needs_snapshot = True
                if tab.stalled_since is None:
                    tab.stalled_since = now
                elif now - tab.stalled_since > TAB_STALL_S:
                    log.info("closing a dashboard tab that has not read for %gs", TAB_STALL_S)
                    self.close(tab)
                    tab.close()
                continue
            tab.stalled_since = None
            symbol = tab.symbol
            if symbol is not None:
                if tab.needs_snapshot:
                    self._send_snapshot(tab)
                else:
                    if symbol in depth:
                        self._book_diff(tab, symbol, own_rows)
                    pending = trades.get(symbol)
                    if pending:
                        self._trades_update(tab, symbol, pending)
                    if symbol in klines:
                        self._bars_update(tab, symbol)
            for frame in shared:
                self._send(tab, frame)

    def _book_diff(self, tab: Tab, symbol: str, own_rows: dict[str, list[list[str]]]) -> None:
        diff = tab.depth.diff(self.venue.marketdata.book(symbol))
        if diff is None:
            return  # the change was deeper than the window
        market = self.venue.engine.markets[symbol]
        own = own_rows.get(symbol)
        if own is None:
            own = own_rows[symbol] = views.own_orders(self.venue, self.own_accounts(), market)
        seq = self.venue.engine.seq
        body = {
            "symbol": symbol,
            "snapshot": False,
            "prev": tab.book_seq,
            "bids": views.level_rows(market, diff.bids),
            "asks": views.level_rows(market, diff.asks),
            "own": own,
        }
        tab.book_seq = seq
        self._send(tab, self._frame("book", body, seq))

    def _trades_update(self, tab: Tab, symbol: str, pending: deque[TradeEvent]) -> None:
        market = self.venue.engine.markets[symbol]
        own = self.own_accounts()
        rows = [views.trade_row(market, t, own) for t in pending if t.trade_id > tab.last_trade_id]
        if rows:
            tab.last_trade_id = rows[-1][0]
            self._send(tab, self._frame("trades", {"symbol": symbol, "snapshot": False, "trades": rows}))

    def _bars_update(self, tab: Tab, symbol: str) -> None:
        market = self.venue.engine.markets[symbol]
        # From the bar the page last got: the one that just closed gets its final values too.
        bars = self.venue.marketdata.bars(symbol, tab.interval, start_ms=tab.last_bar_open)
        if bars:
            tab.last_bar_open = bars[-1].open_time
            body = {
                "symbol": symbol,
                "interval": tab.interval,
                "snapshot": False,
                "bars": [views.bar_row(market, b) for b in bars],
            }
            self._send(tab, self._frame("bars", body))

    def _send_snapshot(self, tab: Tab) -> None:
        """The tab's market as it is now: book, tape and candles, each marked `snapshot`."""
        symbol = tab.symbol
        assert symbol is not None
        tab.needs_snapshot = False
        venue = self.venue
        market = venue.engine.markets[symbol]
        marketdata = venue.marketdata
        bids, asks = tab.depth.snapshot(marketdata.book(symbol))
        seq = venue.engine.seq
        tab.book_seq = seq
        book = {
            "symbol": symbol,
            "snapshot": True,
            "prev": None,
            "bids": views.level_rows(market, bids),
            "asks": views.level_rows(market, asks),
            "own": views.own_orders(venue, self.own_accounts(), market),
        }
        self._send(tab, self._frame("book", book, seq))
        own = self.own_accounts()
        recent = list(reversed(marketdata.recent_trades(symbol, TAPE_TRADES)))  # oldest first
        tab.last_trade_id = recent[-1].trade_id if recent else 0
        trades = {
            "symbol": symbol,
            "snapshot": True,
            "trades": [views.trade_row(market, t, own) for t in recent],
        }
        self._send(tab, self._frame("trades", trades, seq))
        bars = marketdata.bars(symbol, tab.interval, limit=SNAPSHOT_BARS)
        tab.last_bar_open = bars[-1].open_time if bars else 0
        candles = {
            "symbol": symbol,
            "interval": tab.interval,
            "snapshot": True,
            "bars": [views.bar_row(market, b) for b in bars],
        }
        self._send(tab, self._frame("bars", candles, seq))

    # -- shared panels -----------------------------------------------------------------------

    def _tickers_frame(self) -> bytes:
        marketdata = self.venue.marketdata
        rows = [views.ticker_row(m, marketdata.ticker(s)) for s, m in self.venue.engine.markets.items()]
        return self._frame("tickers", {"tickers": rows})

    def _accounts_frame(self) -> bytes:
        engine = self.venue.engine
        automation = views.automation_of(self.venue)
        accounts = [
            views.account_panel(
                self.ctx,
                engine.accounts[account_id],
                rejects=self.rejects.get(account_id),
                results=self.results.get(account_id),
                automation=automation,
            )
            for account_id in self.own_accounts()
            if account_id in engine.accounts
        ]
        return self._frame("accounts", {"accounts": accounts})

    def _status_frame(self) -> bytes:
        return self._frame("status", self.status.build(self.events_total, len(self.tabs)))

    # -- wire --------------------------------------------------------------------------------

    def _frame(self, kind: str, body: dict[str, Any], seq: int | None = None) -> bytes:
        """A complete WebSocket text frame of one message, built once for every tab it goes to."""
        body["type"] = kind
        body["seq"] = self.venue.engine.seq if seq is None else seq
        body["ts"] = int(self._clock() * 1000)
        return encode_frame(_encode(body), binary=False)

    def _send(self, tab: Tab, frame: bytes) -> None:
        if tab.send(frame):
            self.messages_sent += 1

    def refresh_status(self) -> None:
        """Send the status (faults, key blocks) in the next round, not a second later: after a
        write from the page."""
        self._next_status = 0.0
        self._accounts_changed = True

    # -- lifecycle ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if not self.tabs:
                self._trades.clear()
                self._depth.clear()
                self._klines.clear()
                continue
            try:
                self.run_round()
            except Exception:  # a bad round must not end the feed
                log.exception("dashboard round failed")

    def start(self) -> None:
        self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()
