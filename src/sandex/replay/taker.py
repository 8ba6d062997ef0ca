"""A client's taker order takes the replayed liquidity it crosses, and consumes it.

The replayed book is market data, not in the engine's book (plugin.py). So, just before a
client's order on a replayed market matches (the engine's `before_taker` hook), the replay's
account rests what the order could take of the replayed levels it crosses, best price first up
to the order's limit and amount (a market buy: its quote budget), each level at the head of its
price (the recorded queue was there before any client order joined it), funded with exactly
what it offers. The engine's ordinary matching then fills the client level by level at the
replayed prices, interleaved with other clients' orders by price, with the usual holds, fees
and events. Right after (`after_taker`), what the order did not take is cancelled and its
funding taken back, so the replay's account keeps no resting order and is funded exactly for
what was filled (as fills.py does for a resting order's fill); its proceeds stay with it.

What was taken comes off the level's replayed size (`TapeFills.books`, published with a
`ReplayDepthEvent`) until the recording next updates that level, which sets its absolute size
again. A client order resting at a consumed level was behind the replayed size there, so its
queue ahead shrinks by what was taken (never more than the size now displayed).

Cost: the replayed levels are a dict (the recording updates them far more often than clients
trade), so each client order on a replayed market scans its opposite side once (about 15 us
for the sample's 1,200 levels) and a market order sorts it; orders elsewhere pay nothing.

A post-only order that would take replayed liquidity is cancelled unfilled, as one that would
take a client's order (the engine asks the plugin, `crosses`). Not taken: an amend that moves an
order across replayed liquidity (it rests there and the tape fills it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.commands import BUY, LIMIT, MARKET, POST_ONLY, SELL
from ..core.literals import R_CANCELLED
from .fills import TapeFills
from .queue import clamp_to_depth

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.orders import Order

#: (bids, asks) of one market whose replayed size changed: (price, new absolute size).
Changes = tuple[list[tuple[int, int]], list[tuple[int, int]]]


class ReplayTakes:
    def __init__(self, engine: Engine, fills: TapeFills) -> None:
        self.engine = engine
        self.fills = fills
        #: The replay's orders resting for the order now matching (empty between commands).
        self.offered: list[Order] = []

    def before(self, order: Order) -> None:
        fills = self.fills
        if order.account_id == fills.account_id or order.tif == POST_ONLY:
            return
        book = fills.books.get(order.symbol)
        if book is None:
            return
        buy = order.side == BUY
        levels = book[1] if buy else book[0]
        if not levels:
            return
        if order.kind == LIMIT:
            limit = order.price
            crossed = [p for p in levels if p <= limit] if buy else [p for p in levels if p >= limit]
            if not crossed:
                return
        else:
            crossed = list(levels)
        crossed.sort(reverse=not buy)
        engine = self.engine
        market = engine.markets[order.symbol]
        per_value = market.value_to_ledger
        market_buy = buy and order.kind == MARKET
        # A market buy spends its held quote; any other order fills its base amount.
        budget = order.hold if market_buy else order.remaining
        account = fills.account()
        wallet = engine.accounts[account].wallets[0]
        for price in crossed:
            size = levels[price]
            # A market buy: one unit more than its budget buys where it runs out, so the engine
            # stops the order as done (its budget down to dust) rather than as out of liquidity,
            # as it would with a book this deep. The unit is withdrawn after.
            wanted = budget // (price * per_value) + 1 if market_buy else budget
            quantity = wanted if wanted < size else size
            if quantity <= 0:
                break
            if buy:  # the replay sells base
                engine.ledger.deposit(wallet, market.base, quantity * market.base_to_ledger)
            else:
                engine.ledger.deposit(wallet, market.quote, price * quantity * per_value)
            maker = engine.rest_order(account, order.symbol, SELL if buy else BUY, price, quantity, "replay")
            assert maker is not None  # funded just above
            self.offered.append(maker)
            if quantity < size:
                break  # the order cannot take more than this
            budget -= quantity * price * per_value if market_buy else quantity

    def after(self, order: Order) -> Changes | None:
        """Consume what was taken, withdraw the rest; the changed replayed sizes, if any."""
        offered = self.offered
        if not offered:
            return None
        self.offered = []
        engine, fills = self.engine, self.fills
        side = 0 if offered[0].side == BUY else 1
        levels = fills.books[order.symbol][side]
        resting = engine.books[order.symbol].bids if side == 0 else engine.books[order.symbol].asks
        changed: list[tuple[int, int]] = []
        for maker in offered:
            price, taken = maker.price, maker.filled
            if maker.id in engine.orders:
                released, (wallet, currency) = maker.hold, maker.hold_key
                engine.cancel_resting_order(maker, R_CANCELLED)
                engine.ledger.deposit(wallet, currency, -released)
            if not taken:
                continue
            size = levels.get(price, 0) - taken
            if size > 0:
                levels[price] = size
            else:
                levels.pop(price, None)
                size = 0
            changed.append((price, size))
            level = resting.levels.get(price)
            if level is not None and fills.ahead:
                ahead = fills.ahead
                for client in level.orders.values():
                    before = ahead.get(client.id)
                    if before is not None:
                        ahead[client.id] = clamp_to_depth(max(before - taken, 0), size)
        if not changed:
            return None
        return (changed, []) if side == 0 else ([], changed)
