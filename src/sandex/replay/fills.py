"""Client orders filled by the recorded tape (the `risk_averse` queue model, see `queue.py`).

The replayed liquidity is not in the engine's book (its sizes are market data, see plugin.py),
so a fill is made the engine's ordinary way: an IOC order of the replay's own account ("replay",
no API key, funded for each fill) at the client order's price, which the engine matches against
the client's resting order with the usual holds, fees and events. Orders are taken in the
engine's priority (best price first, then time), so the IOC meets the order meant.

A client's own taker order takes replayed liquidity through the same account (taker.py).

Limits, plainly: a fill smaller than the market's minimum order size waits until it adds up to
it; client orders are seen by the queue model when the next replay command runs after their
arrival (at most one driver tick later).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.commands import BUY, IOC, LIMIT, SELL, CreateAccount, PlaceOrder
from .queue import clamp_to_depth, fill_at_price, prints_through, prob_on_depth

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.orders import Order

REPLAY_ACCOUNT = "replay"


class TapeFills:
    def __init__(self, engine: Engine, markets: tuple[str, ...]) -> None:
        self.engine = engine
        self.markets = markets
        #: Replayed sizes per market: (bids, asks), price -> size.
        self.books: dict[str, tuple[dict[int, int], dict[int, int]]] = {m: ({}, {}) for m in markets}
        #: Client order id -> the amount ahead of it in its level's queue.
        self.ahead: dict[int, int] = {}
        #: Client order id -> filled by the model but not yet executed (below the market minimum).
        self.owed: dict[int, int] = {}
        self.account_id = 0
        #: "risk_averse" or "prob" (queue.py).
        self.model = "risk_averse"

    # ------------------------------------------------------------------ state
    def clear(self) -> None:
        for bids, asks in self.books.values():
            bids.clear()
            asks.clear()
        self.ahead.clear()
        self.owed.clear()

    # ------------------------------------------------------------------ the recording
    def on_depth(
        self, symbol: str, reset: bool, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
    ) -> None:
        book = self.books.get(symbol)
        if book is None:
            return
        before = (dict(book[0]), dict(book[1])) if self.ahead and self.model == "prob" else None
        if reset:
            book[0].clear()
            book[1].clear()
        for levels, sizes in zip(book, (bids, asks), strict=True):
            for price, size in sizes:
                if size:
                    levels[price] = size
                else:
                    levels.pop(price, None)
        if self.ahead:
            orders = self.engine.orders
            for order_id, ahead in list(self.ahead.items()):
                order = orders.get(order_id)
                if order is None or order.symbol != symbol:
                    continue
                side = 0 if order.side == BUY else 1
                displayed = book[side].get(order.price, 0)
                if before is None:
                    self.ahead[order_id] = clamp_to_depth(ahead, displayed)
                else:
                    was = before[side].get(order.price, 0)
                    self.ahead[order_id] = prob_on_depth(ahead, was, displayed)

    def discover(self) -> None:
        """Give each client order new on a replayed market its place in the queue."""
        engine = self.engine
        orders = engine.orders
        for order_id in [i for i in self.ahead if i not in orders]:
            del self.ahead[order_id]
            self.owed.pop(order_id, None)
        for order in orders.values():
            if (
                order.id in self.ahead
                or order.symbol not in self.books
                or order.account_id == self.account_id
            ):
                continue
            side = engine.books[order.symbol].bids if order.side == BUY else engine.books[order.symbol].asks
            level = side.levels.get(order.price)
            clients = 0
            if level is not None:
                clients = sum(o.remaining for o in level.orders.values() if o.qpos < order.qpos)
            replayed = self.books[order.symbol][0 if order.side == BUY else 1].get(order.price, 0)
            self.ahead[order.id] = replayed + clients

    def on_trade(self, symbol: str, price: int, amount: int, buy: bool) -> None:
        """A recorded trade (aggressor buy: it lifts asks, else it hits bids)."""
        if not self.ahead:
            return
        engine = self.engine
        book = engine.books.get(symbol)
        if book is None:
            return
        side = book.asks if buy else book.bids
        fills: list[tuple[Order, int]] = []
        for level in side.iter_levels():
            if not (prints_through(not buy, level.price, price) or level.price == price):
                break
            for order in list(level.orders.values()):
                ahead = self.ahead.get(order.id)
                if ahead is None:
                    continue
                if level.price == price:
                    self.ahead[order.id], filled = fill_at_price(ahead, order.remaining, amount)
                else:
                    filled = order.remaining
                if filled:
                    fills.append((order, filled))
        for order, filled in fills:
            self._fill(order, filled + self.owed.pop(order.id, 0))

    # ------------------------------------------------------------------ fills
    def _fill(self, order: Order, quantity: int) -> None:
        engine = self.engine
        market = engine.markets[order.symbol]
        quantity = min(quantity, order.remaining)
        if quantity < market.min_amount or order.price * quantity < market.min_value:
            self.owed[order.id] = quantity
            return
        account = self.account()
        wallet = engine.accounts[account].wallets[0]
        if order.side == BUY:  # the replay sells base
            engine.ledger.deposit(wallet, market.base, quantity * market.base_to_ledger)
        else:
            engine.ledger.deposit(wallet, market.quote, order.price * quantity * market.value_to_ledger)
        engine.place_order(
            PlaceOrder(
                account,
                order.symbol,
                SELL if order.side == BUY else BUY,
                LIMIT,
                IOC,
                order.price,
                quantity,
                source="replay",
            )
        )

    def account(self) -> int:
        """The replay's account (created on first use: no API key, so no client reaches it)."""
        if not self.account_id:
            account = self.engine.create_account(CreateAccount(REPLAY_ACCOUNT, "", ""))
            assert account is not None
            self.account_id = account.id
        return self.account_id
