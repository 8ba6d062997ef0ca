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

`KeySymbolBudget` is the limit shared by every connection of one API key (516): it counts, per
channel, the distinct symbols the key's connections hold together, so a symbol two connections
both subscribe counts once. A connection takes from it as its sets grow and gives back as they
shrink, and `Subscriptions.clear` gives back everything when the connection closes.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import symbols_over_key_limit, symbols_over_limit
from .wire import Channel

KlineKey = tuple[str, int]  # (Infoway code, kline type)


class KeySymbolBudget:
    """Distinct symbols per (API key, channel) over all the key's connections (error 516).

    Each symbol is counted with the number of connections holding it, so it leaves the key's
    total only when its last connection drops it. Entries exist only while held: a key whose
    connections hold nothing (or that has none) has no entry at all.
    """

    __slots__ = ("_held", "limit")

    def __init__(self, limit: int) -> None:
        #: Most distinct symbols per channel per key (kline: symbols over all types); 0 = unlimited.
        self.limit = limit
        self._held: dict[tuple[str, Channel], dict[str, int]] = {}

    def take(self, key: str, channel: Channel, codes: list[str]) -> None:
        """Count `codes` (new to one connection, no repeats) for the key; all or nothing (516)."""
        if not codes:
            return
        held = self._held.get((key, channel), {})
        fresh = sum(1 for code in codes if code not in held)
        if self.limit and len(held) + fresh > self.limit:
            raise symbols_over_key_limit(self.limit)
        for code in codes:
            held[code] = held.get(code, 0) + 1
        self._held[key, channel] = held

    def give_back(self, key: str, channel: Channel, codes: Iterable[str]) -> None:
        """Uncount `codes` one connection dropped (each must have been taken by it)."""
        held = self._held.get((key, channel))
        if held is None:
            return
        for code in codes:
            if held[code] > 1:
                held[code] -= 1
            else:
                del held[code]
        if not held:
            del self._held[key, channel]

    def count(self, key: str, channel: Channel) -> int:
        """Distinct symbols the key's connections hold on `channel`."""
        return len(self._held.get((key, channel), ()))

    def keys(self) -> set[str]:
        """The keys holding anything (for tests and diagnostics)."""
        return {key for key, _ in self._held}


class Subscriptions:
    __slots__ = ("_budget", "_key", "_klines", "_sets", "limit")

    def __init__(
        self, max_symbols_per_type: int = 0, *, budget: KeySymbolBudget | None = None, key: str = ""
    ) -> None:
        #: Most symbols per channel (kline: distinct symbols over all types); 0 = unlimited.
        self.limit = max_symbols_per_type
        #: The key-wide budget this connection takes from, if any, and the key it counts under.
        self._budget = budget
        self._key = key
        # dicts as insertion-ordered sets: pushes and listings follow subscription order.
        self._sets: dict[str, dict[str, None]] = {"trade": {}, "depth": {}}
        self._klines: dict[str, dict[int, None]] = {}

    # -- trade and depth -----------------------------------------------------------------------

    def add(self, channel: Channel, codes: Iterable[str]) -> list[str]:
        """Union `codes` into the channel's set; returns the newly added ones.

        All or nothing: over the limit, nothing is added and 505 (or 516 for the key's) is raised.
        """
        current = self._sets[channel]
        new = [code for code in dict.fromkeys(codes) if code not in current]
        self._check_limit(len(current) + len(new))
        self._take(channel, new)
        for code in new:
            current[code] = None
        return new

    def remove(self, channel: Channel, codes: Iterable[str] | None) -> list[str]:
        """Drop `codes` (None = all) from the channel's set; returns what was removed."""
        current = self._sets[channel]
        if codes is None:
            removed = list(current)
            current.clear()
        else:
            removed = [code for code in dict.fromkeys(codes) if code in current]
            for code in removed:
                del current[code]
        self._give_back(channel, removed)
        return removed

    def symbols(self, channel: Channel) -> list[str]:
        if channel == "kline":
            return list(self._klines)
        return list(self._sets[channel])

    # -- klines --------------------------------------------------------------------------------

    def add_klines(self, pairs: Iterable[KlineKey]) -> list[KlineKey]:
        """Union (code, type) pairs; returns the newly added pairs. All or nothing (505, 516)."""
        pairs = list(dict.fromkeys(pairs))
        new_symbols = list(dict.fromkeys(code for code, _ in pairs if code not in self._klines))
        self._check_limit(len(self._klines) + len(new_symbols))
        self._take("kline", new_symbols)
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
            self._give_back("kline", self._klines)
            self._klines.clear()
            return removed
        wanted = None if kline_types is None else set(kline_types)
        removed = []
        emptied: list[str] = []
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
                emptied.append(code)
        self._give_back("kline", emptied)
        return removed

    def kline_pairs(self) -> list[KlineKey]:
        return [(code, ktype) for code, types in self._klines.items() for ktype in types]

    def clear(self) -> None:
        """Drop everything (the connection closed), giving the key's budget back."""
        channels: tuple[Channel, ...] = ("trade", "depth")
        for channel in channels:
            self.remove(channel, None)
        self.remove_klines(None, None)

    # -- limits --------------------------------------------------------------------------------

    def _check_limit(self, count: int) -> None:
        if self.limit and count > self.limit:
            raise symbols_over_limit(self.limit)

    def _take(self, channel: Channel, codes: list[str]) -> None:
        if self._budget is not None:
            self._budget.take(self._key, channel, codes)

    def _give_back(self, channel: Channel, codes: Iterable[str]) -> None:
        if self._budget is not None:
            self._budget.give_back(self._key, channel, codes)
