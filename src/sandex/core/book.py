"""The order book of one market: price levels with FIFO queues, best price first.

A level keeps its live orders in a dict from place-in-queue token (`qpos`, increasing) to order:
a dict remembers insertion order, so it is the time-priority queue, and it removes an order from
anywhere in O(1) with no stale entries left behind (a cancel or an amend takes an order out of
the middle of its queue). Each level also keeps its live quantity, so the quantities the market
data sees are always exact, and a level disappears the moment its last order goes.

The engine's amend path inlines `remove` and `add` (amends are 82 % of exchange-core's mix); a
change to either must be mirrored in `Engine._amend`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sortedcontainers import SortedList

if TYPE_CHECKING:
    from .orders import Order

#: Removals a level tolerates beyond its live count before it rebuilds its dict. A CPython dict
#: leaves a hole where an entry was deleted and only compacts when it grows; finding the head
#: walks over the holes in front of it, so a level drained from the front by fills would make
#: each `head()` slower than the last.
_COMPACT_SLACK = 32


class Level:
    __slots__ = ("orders", "price", "removed", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: dict[int, Order] = {}  # qpos -> order, oldest first
        self.total = 0  # live resting quantity
        self.removed = 0  # removals since the dict was last rebuilt (see _COMPACT_SLACK)

    @property
    def live(self) -> int:
        """Live orders at this price."""
        return len(self.orders)

    @property
    def queue(self) -> deque[tuple[int, Order]]:
        """(qpos, order) in time priority (a copy, for inspection; not for the hot path)."""
        return deque(self.orders.items())

    def head(self) -> Order | None:
        """The oldest order."""
        for order in self.orders.values():
            return order
        return None


class BookSide:
    """One side of the book. `keys` sorts so that index 0 is always the best price."""

    __slots__ = ("best_price_cache", "keys", "levels", "sign")

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
            level = self._new_level(price)
        level.orders[qpos] = order
        level.total += order.remaining
        order.qpos = qpos

    def _new_level(self, price: int) -> Level:
        level = self.levels[price] = Level(price)
        self.keys.add(price * self.sign)
        best = self.best_price_cache
        if best is None or (price > best if self.sign < 0 else price < best):
            self.best_price_cache = price
        return level

    def remove(self, order: Order) -> None:
        """Take a resting order off the book."""
        price = order.price
        level = self.levels[price]
        orders = level.orders
        del orders[order.qpos]
        level.total -= order.remaining
        order.qpos = 0
        if not orders:
            self._drop(price)
        else:
            removed = level.removed = level.removed + 1
            if removed > len(orders) + _COMPACT_SLACK:
                level.orders = dict(orders)  # a fresh dict has no holes
                level.removed = 0

    def _drop(self, price: int) -> None:
        """Forget the (now empty) level at `price`."""
        del self.levels[price]
        keys = self.keys
        keys.remove(price * self.sign)
        if price == self.best_price_cache:
            self.best_price_cache = keys[0] * self.sign if keys else None

    def reduce(self, order: Order, quantity: int) -> None:
        """A resting order shrank by `quantity` but keeps its place."""
        self.levels[order.price].total -= quantity

    def iter_levels(self) -> Iterator[Level]:
        """Levels best first (for snapshots and tests; not for the hot path)."""
        sign = self.sign
        levels = self.levels
        for key in self.keys:
            yield levels[key * sign]

    def depth(self) -> int:
        return len(self.keys)


class OrderBook:
    __slots__ = ("asks", "bids", "last_price")

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.last_price = 0
