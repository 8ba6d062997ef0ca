"""The venue listener that turns each durable batch of events into DigiFinex pushes.

Everything is encoded once — per symbol for public channels, per (account, symbol/currency) for
private ones — and only for topics that have subscribers; the same frame bytes then go to every
subscriber. Private topics carry the account id, so an account's order and balance pushes cannot
reach another account's sessions whatever produced the change (a REST order, a fill against the
simulator, a fired trigger, a copy trade).

Private pushes go out with the batch, at once. Public ones (trades, depth, tickers) are marked
pending and built when the next market-data round asks (`collect`, see `server.broadcast`): the
trades since the last round in one push, one depth diff from what subscribers hold to the book
now, the latest ticker. Nothing is dropped by conflating; a busy market just gets fewer, fuller
pushes.

Depth: each symbol has a `DepthView` that remembers the top-N window subscribers hold. After a
batch that touched the book, the diff between that window and the new one is published (levels
that changed, levels that dropped or left the window with amount "0"), so a client that applies
every diff to its clean snapshot holds exactly the current top N. A view is refreshed when its
symbol gets its first subscriber (it goes stale while nobody listens) and every
`snapshot_interval_s`, when a clean snapshot goes to everyone (in a round, like the diffs). A new subscriber to a symbol that
already has subscribers gets the window the others hold, so the next diff is right for it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable

from sandex.background import BackgroundTask
from sandex.core.events import BalanceEvent, Event, OrderEvent, TradeEvent, TriggerEvent
from sandex.core.markets import Market
from sandex.faults import FaultController
from sandex.marketdata.book import Top
from sandex.marketdata.depth import DepthView
from sandex.marketdata.service import MarketDataUpdate
from sandex.server.broadcast import Broadcaster, Push
from sandex.server.hub import TopicHub
from sandex.venue import Venue

from . import pushes as pushes
from .subscriptions import ALL, private_topic, public_topic
from .wire import push_frame

log = logging.getLogger("sandex.digifinex.publisher")

#: Trades sent in the clean push that follows a trades.subscribe (newest first).
CLEAN_TRADES = 50


class Publisher:
    def __init__(
        self,
        venue: Venue,
        hub: TopicHub,
        broadcaster: Broadcaster,
        *,
        depth_levels: int,
        snapshot_interval_s: float,
        faults: FaultController | None = None,
    ) -> None:
        self.venue = venue
        self.hub = hub
        self.broadcaster = broadcaster
        broadcaster.add_source(self.collect)
        #: Fault injection: depth frames carry what it needs (skippable diffs, stale snapshots).
        self.faults = faults or FaultController()
        self.depth_levels = depth_levels
        self.snapshot_interval_s = snapshot_interval_s
        self.markets: dict[str, Market] = {m.symbol: m for m in venue.markets}
        self._depth: dict[str, DepthView] = {s: DepthView(depth_levels) for s in self.markets}
        #: symbol -> encoded clean snapshot of the window subscribers hold (dropped on change).
        self._clean: dict[str, bytes] = {}
        #: symbol -> the window subscribers held before the latest diff: what a "stale depth
        #: snapshot" fault sends (a client that applies the next diffs to it ends up wrong).
        self._stale: dict[str, Top] = {}
        self._all_ticker_topic = public_topic("all_ticker", ALL)
        self._runner = BackgroundTask(self._snapshot_loop, "digifinex-depth-snapshots")
        # Public changes since the last round (see the module docstring).
        self._pending_trades: dict[str, list[TradeEvent]] = {}
        self._pending_depth: set[str] = set()
        self._pending_tickers: set[str] = set()
        self._clean_due = False

    # -- the listener ------------------------------------------------------------------------

    def on_events(self, events: list[Event], update: MarketDataUpdate) -> None:
        if events:
            self._publish_private(events)  # first: an account's own updates never wait
        marked = False
        for symbol, trades in update.trades.items():
            pending = self._pending_trades.get(symbol)
            if pending is None:
                self._pending_trades[symbol] = list(trades)
            else:
                pending.extend(trades)
            marked = True
        if update.depth_changed:
            self._pending_depth |= update.depth_changed
            marked = True
        if update.ticker_changed:
            self._pending_tickers |= update.ticker_changed
            marked = True
        if update.reset:
            # A replayed market sought to another time: what a reconnect gets, a clean depth.
            self._clean_due = True
            marked = True
        if marked:
            self.broadcaster.wake()

    def collect(self) -> list[Push]:
        """The market-data round's pushes: everything public pending since the last round."""
        out: list[Push] = []
        trades, self._pending_trades = self._pending_trades, {}
        depth, self._pending_depth = self._pending_depth, set()
        tickers, self._pending_tickers = self._pending_tickers, set()
        for symbol, items in trades.items():
            self._trades_push(symbol, items, out)
        for symbol in sorted(depth):
            self._depth_diff_push(symbol, out)
        if self._clean_due and self.venue.market_data_error is None:
            # Held while a gateway refills a gap (its book is stale); sent once it caught up.
            # After the diffs, so that each periodic snapshot equals the book the diffs built:
            # a client can use it as a check, not only as a reset.
            self._clean_due = False
            self._clean_snapshot_pushes(out)
        if tickers:
            self._ticker_pushes(tickers, out)
        return out

    def _trades_push(self, symbol: str, trades: list[TradeEvent], out: list[Push]) -> None:
        topic = public_topic("trades", symbol)
        market = self.markets.get(symbol)
        if market is not None and self.hub.has_subscribers(topic):
            params = pushes.trades_params(market, False, reversed(trades))
            out.append(Push(topic, push_frame("trades.update", params)))

    def _depth_diff_push(self, symbol: str, out: list[Push]) -> None:
        topic = public_topic("depth", symbol)
        view = self._depth.get(symbol)
        if view is None or not self.hub.has_subscribers(topic):
            return
        before = view.sent
        diff = view.diff(self.venue.marketdata.book(symbol))
        if diff is None:
            return  # the change was deeper than the window
        self._stale[symbol] = before
        self._clean.pop(symbol, None)
        params = pushes.depth_params(self.markets[symbol], False, diff.bids, diff.asks)
        out.append(Push(topic, push_frame("depth.update", params), skippable=True))

    def _ticker_pushes(self, changed: set[str], out: list[Push]) -> None:
        hub = self.hub
        want_all = hub.has_subscribers(self._all_ticker_topic)
        items: list[pushes.TickerItem] = []
        for symbol in sorted(changed):
            topic = public_topic("ticker", symbol)
            want_one = hub.has_subscribers(topic)
            if not (want_one or want_all) or symbol not in self.markets:
                continue
            item = self._ticker_item(symbol)
            if want_one:
                out.append(Push(topic, push_frame("ticker.update", [item])))
            items.append(item)
        if want_all and items:
            out.append(Push(self._all_ticker_topic, push_frame("all_ticker.update", items)))

    def _publish_private(self, events: list[Event]) -> None:
        """One push per private topic per batch, its items in event order."""
        hub = self.hub
        accounts = self.venue.engine.accounts
        batches: dict[Hashable, tuple[str, list[object]]] = {}
        for event in events:
            if isinstance(event, OrderEvent):
                topic = private_topic("order", event.account_id, event.symbol)
                method = "order.update"
            elif isinstance(event, BalanceEvent):
                account = accounts.get(event.account_id)
                # DigiFinex spot has one account balance: the account's default wallet.
                if account is None or not account.wallets or event.wallet_id != account.wallets[0]:
                    continue
                topic = private_topic("balance", event.account_id, event.currency)
                method = "balance.update"
            elif isinstance(event, TriggerEvent):
                topic = private_topic("order_algo", event.account_id, event.symbol)
                method = "order_algo.update"
            else:
                continue
            if not hub.has_subscribers(topic):
                continue
            batch = batches.get(topic)
            if batch is None:
                batch = batches[topic] = (method, [])
            batch[1].append(self._private_item(event))
        for topic, (method, items) in batches.items():
            hub.publish(topic, push_frame(method, items))

    def _private_item(self, event: Event) -> object:
        if isinstance(event, OrderEvent):
            return pushes.order_item(self.markets[event.symbol], event)
        if isinstance(event, TriggerEvent):
            return pushes.algo_item(self.markets[event.symbol], event)
        assert isinstance(event, BalanceEvent)
        return pushes.balance_item(event.currency, event.free, event.held)

    def _ticker_item(self, symbol: str) -> pushes.TickerItem:
        return pushes.ticker_item(self.markets[symbol], self.venue.marketdata.ticker(symbol))

    # -- first pushes of a new subscription --------------------------------------------------
    # Called by the connection handler *before* it subscribes the session to the topic, so
    # "no subscribers yet" means the depth view may be stale and must be refreshed.

    def depth_clean_frame(self, symbol: str) -> bytes:
        if not self.hub.has_subscribers(public_topic("depth", symbol)):
            self._resnapshot(symbol)
        frame = self._clean.get(symbol)
        if frame is None:
            bids, asks = self._depth[symbol].sent
            params = pushes.depth_params(self.markets[symbol], True, bids, asks)
            frame = self._clean[symbol] = push_frame("depth.update", params)
        return frame

    def stale_depth_frame(self, symbol: str) -> bytes:
        """A clean snapshot of the window as it was before the latest diff (fault injection)."""
        bids, asks = self._stale.get(symbol) or self._depth[symbol].sent
        return push_frame("depth.update", pushes.depth_params(self.markets[symbol], True, bids, asks))

    def trades_clean_frame(self, symbol: str) -> bytes:
        # Trades still pending for the next round are left out: that round brings them, and a
        # client must not see a trade twice.
        pending = len(self._pending_trades.get(symbol, ()))
        recent = self.venue.marketdata.recent_trades(symbol, CLEAN_TRADES + pending)[pending:]
        return push_frame("trades.update", pushes.trades_params(self.markets[symbol], True, recent))

    def ticker_frame(self, symbol: str) -> bytes:
        return push_frame("ticker.update", [self._ticker_item(symbol)])

    def all_ticker_frame(self) -> bytes:
        return push_frame("all_ticker.update", [self._ticker_item(s) for s in self.markets])

    # -- periodic clean snapshots ------------------------------------------------------------

    def _resnapshot(self, symbol: str) -> None:
        view = self._depth[symbol]
        self._stale[symbol] = view.sent
        view.snapshot(self.venue.marketdata.book(symbol))
        self._clean.pop(symbol, None)

    def _clean_snapshot_pushes(self, out: list[Push]) -> None:
        """A fresh clean snapshot for every depth topic with subscribers."""
        for symbol in self.markets:
            topic = public_topic("depth", symbol)
            if self.hub.has_subscribers(topic):
                stale = self.stale_depth_frame(symbol)
                self._resnapshot(symbol)
                out.append(Push(topic, self.depth_clean_frame(symbol), stale=stale))

    def request_clean_snapshots(self) -> None:
        """Send every depth subscriber a clean snapshot in the next round."""
        self._clean_due = True
        self.broadcaster.wake()

    async def _snapshot_loop(self) -> None:
        while True:
            await asyncio.sleep(self.snapshot_interval_s)
            self.request_clean_snapshots()

    def start(self) -> None:
        self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()
