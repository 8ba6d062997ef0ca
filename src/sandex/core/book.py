"""The order book of one market: price levels with FIFO queues, best price first.

Levels keep their orders in a deque in time priority. Removing an order from the middle of a
queue would cost O(n), so removal is lazy: the order's `qpos` (its place-in-queue token) is
cleared or changed, and stale queue entries are skipped when they reach the head. Each level
counts its live orders and live quantity, so a level disappears the moment its last live order
goes and the quantities the market data sees are always exact.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from sortedcontainers import SortedList

if TYPE_CHECKING:
    from .orders import Order


class Level:
    __slots__ = ("price", "queue", "total", "live")

    def __init__(self, price: int) -> None:
        self.price = price
        self.queue: deque[tuple[int, Order]] = deque()
        self.total = 0  # live resting quantity
        self.live = 0  # live orders

    def head(self) -> Order | None:
        """The oldest live order, dropping stale entries on the way."""
        queue = self.queue
        while queue:
            qpos, order = queue[0]
            if order.qpos == qpos:
                return order
            queue.popleft()
        return None


class BookSide:
    """One side of the book. `keys` sorts so that index 0 is always the best price."""

    __slots__ = ("levels", "keys", "sign", "best_price_cache")

    def __init__(self, is_bid: bool) -> None:
        self.levels: dict[int, Level] = {}
        self.keys = SortedList()
        self.sign = -1 if is_bid else 1  # bids: key = -price, so the highest bid sorts first
        # The best price, kept up to date on add/remove: reading it is the hot path of every
        # order and amend, and indexing a SortedList costs several times an attribute read.
        self.best_price_cache: int | None = None

    def best(self) -> Level | None:
        best = self.best_price_cache
        return None if best is None else self.levels[best]

    def best_price(self) -> int | None:
        return self.best_price_cache

    def add(self, order: Order, qpos: int) -> None:
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level(price)
            self.keys.add(price * self.sign)
            best = self.best_price_cache
            if best is None or (price > best if self.sign < 0 else price < best):
                self.best_price_cache = price
        level.queue.append((qpos, order))
        level.total += order.remaining
        level.live += 1
        order.qpos = qpos

    def remove(self, order: Order) -> None:
        """Take a resting order off the book (lazily: its queue entry becomes stale)."""
        price = order.price
        level = self.levels[price]
        level.total -= order.remaining
        level.live -= 1
        order.qpos = 0
        if level.live == 0:
            del self.levels[price]
            keys = self.keys
            keys.remove(price * self.sign)
            if price == self.best_price_cache:
                self.best_price_cache = keys[0] * self.sign if keys else None

    def reduce(self, order: Order, quantity: int) -> None:
        """A resting order shrank by `quantity` but keeps its place."""
        self.levels[order.price].total -= quantity

    def iter_levels(self):
        """Levels best first (for snapshots and tests; not for the hot path)."""
        sign = self.sign
        levels = self.levels
        for key in self.keys:
            yield levels[key * sign]

    def depth(self) -> int:
        return len(self.keys)


class OrderBook:
    __slots__ = ("bids", "asks", "last_price")

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.last_price = 0
