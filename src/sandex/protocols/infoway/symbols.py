"""Infoway symbol codes (`BTCUSDT`) <-> sandex market symbols (`BTC_USDT`).

Infoway writes crypto pairs without a separator. Dropping the underscore can make two markets
collide (`AB_CD` and `ABC_D` both read `ABCD`); the first configured market keeps the code and the
collision is reported once at start-up rather than silently routing one market's data to the
other's subscribers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger("sandex.infoway")


def wire_code(symbol: str) -> str:
    """`BTC_USDT` -> `BTCUSDT`."""
    return symbol.replace("_", "")


class SymbolMap:
    """The markets one Infoway `business` serves, by their Infoway code."""

    __slots__ = ("_to_venue", "_to_wire")

    def __init__(self, symbols: Iterable[str]) -> None:
        self._to_venue: dict[str, str] = {}
        self._to_wire: dict[str, str] = {}
        for symbol in symbols:
            code = wire_code(symbol)
            taken = self._to_venue.get(code)
            if taken is not None:
                log.warning(
                    "infoway: markets %s and %s both read %s; %s is not served", taken, symbol, code, symbol
                )
                continue
            self._to_venue[code] = symbol
            self._to_wire[symbol] = code

    def venue_symbol(self, code: str) -> str | None:
        """The sandex market for an Infoway code, or None for a symbol sandex does not list."""
        return self._to_venue.get(code)

    def code(self, symbol: str) -> str | None:
        """The Infoway code for a sandex market, or None if this map does not serve it."""
        return self._to_wire.get(symbol)

    def symbols(self) -> list[str]:
        """The sandex markets served, in configuration order."""
        return list(self._to_wire)

    def __len__(self) -> int:
        return len(self._to_venue)


#: What a `business` other than crypto serves: nothing (every symbol is acked, then silent).
EMPTY = SymbolMap(())
