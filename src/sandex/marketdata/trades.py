"""Recent trades of one symbol: a bounded ring, newest first on read.

Publishers need the last trades for a fresh subscriber (DigiFinex `trades.update` with clean=true)
and REST needs them for `GET /trades`. A deque with maxlen drops the oldest trade in O(1) when a
new one arrives, so memory stays bounded however long the simulator trades.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from sandex.core.events import TradeEvent

DEFAULT_CAPACITY = 200


class RecentTrades:
    __slots__ = ("_ring", "capacity", "symbol")

    def __init__(self, symbol: str, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.symbol = symbol
        self.capacity = capacity
        # Oldest on the left, newest on the right; appending past maxlen drops the oldest.
        self._ring: deque[TradeEvent] = deque(maxlen=capacity)

    def add(self, trade: TradeEvent) -> None:
        self._ring.append(trade)

    def latest(self, limit: int | None = None) -> list[TradeEvent]:
        """The newest `limit` trades (all kept when None), newest first."""
        if limit is None or limit >= len(self._ring):
            return list(reversed(self._ring))
        if limit <= 0:
            return []
        return list(islice(reversed(self._ring), limit))

    def last(self) -> TradeEvent | None:
        return self._ring[-1] if self._ring else None

    def __len__(self) -> int:
        return len(self._ring)

    # -- state ---------------------------------------------------------------------------------

    def to_state(self) -> list[TradeEvent]:
        """Oldest first, so that loading re-adds them in their original order."""
        return list(self._ring)

    @classmethod
    def from_state(
        cls, symbol: str, trades: list[TradeEvent], capacity: int = DEFAULT_CAPACITY
    ) -> RecentTrades:
        ring = cls(symbol, capacity)
        ring._ring.extend(trades)
        return ring
