"""One connection's subscriptions: a symbol set per channel, and kline types per symbol.

Subscribes are additive (set union); unsubscribes follow the seeds exactly:

- no codes -> cancel every subscription of the channel (for klines: whatever kline types were
  named — "if the codes value cannot be obtained, a full cancellation will be performed");
- codes -> only those symbols; for klines, no kline types -> every type of those symbols, kline
  types -> only those types of those symbols (A and B at 1m and 5m, minus `codes=A,
  klineTypes=1`, leaves A-5m, B-1m and B-5m).

Symbols are kept as the client wrote them, known or not: an unknown symbol is acked and then
silent, and it still counts against the per-connection limit, as on the real server. The methods
return exactly what changed so the caller can (un)subscribe the matching hub topics.
"""

from __future__ import annotations

from collections.abc import Iterable

from .codes import Channel
from .errors import symbols_over_limit

KlineKey = tuple[str, int]  # (Infoway code, kline type)


class Subscriptions:
    __slots__ = ("_klines", "_sets", "limit")

    def __init__(self, max_symbols_per_type: int = 0) -> None:
        #: Most symbols per channel (kline: distinct symbols over all types); 0 = unlimited.
        self.limit = max_symbols_per_type
        # dicts as insertion-ordered sets: pushes and listings follow subscription order.
        self._sets: dict[str, dict[str, None]] = {"trade": {}, "depth": {}}
        self._klines: dict[str, dict[int, None]] = {}

    # -- trade and depth -----------------------------------------------------------------------

    def add(self, channel: Channel, codes: Iterable[str]) -> list[str]:
        """Union `codes` into the channel's set; returns the newly added ones.

        All or nothing: over the limit, nothing is added and 505 is raised.
        """
        current = self._sets[channel]
        new = [code for code in dict.fromkeys(codes) if code not in current]
        self._check_limit(len(current) + len(new))
        for code in new:
            current[code] = None
        return new

    def remove(self, channel: Channel, codes: Iterable[str] | None) -> list[str]:
        """Drop `codes` (None = all) from the channel's set; returns what was removed."""
        current = self._sets[channel]
        if codes is None:
            removed = list(current)
            current.clear()
            return removed
        removed = [code for code in dict.fromkeys(codes) if code in current]
        for code in removed:
            del current[code]
        return removed

    def symbols(self, channel: Channel) -> list[str]:
        if channel == "kline":
            return list(self._klines)
        return list(self._sets[channel])

    # -- klines --------------------------------------------------------------------------------

    def add_klines(self, pairs: Iterable[KlineKey]) -> list[KlineKey]:
        """Union (code, type) pairs; returns the newly added pairs. All or nothing (505)."""
        pairs = list(dict.fromkeys(pairs))
        new_symbols = {code for code, _ in pairs if code not in self._klines}
        self._check_limit(len(self._klines) + len(new_symbols))
        added: list[KlineKey] = []
        for code, ktype in pairs:
            types = self._klines.setdefault(code, {})
            if ktype not in types:
                types[ktype] = None
                added.append((code, ktype))
        return added

    def remove_klines(self, codes: Iterable[str] | None, kline_types: Iterable[int] | None) -> list[KlineKey]:
        """Drop pairs as the kline unsubscribe seed defines; returns the removed pairs."""
        if codes is None:
            removed = self.kline_pairs()
            self._klines.clear()
            return removed
        wanted = None if kline_types is None else set(kline_types)
        removed = []
        for code in dict.fromkeys(codes):
            types = self._klines.get(code)
            if types is None:
                continue
            for ktype in list(types):
                if wanted is None or ktype in wanted:
                    del types[ktype]
                    removed.append((code, ktype))
            if not types:
                del self._klines[code]
        return removed

    def kline_pairs(self) -> list[KlineKey]:
        return [(code, ktype) for code, types in self._klines.items() for ktype in types]

    # -- limits --------------------------------------------------------------------------------

    def _check_limit(self, count: int) -> None:
        if self.limit and count > self.limit:
            raise symbols_over_limit(self.limit)
