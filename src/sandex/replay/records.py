"""The record model a replay plays: book updates and trades, in exchange-time order.

A book update is one recorded message for one market: a tuple of levels, each the *new absolute*
size of one price level (0 removes the level). A reset update (a snapshot) replaces the market's
whole book by its levels. A trade is one recorded print with its aggressor side. Prices and sizes
are integers scaled by the venue market's precisions; times are the exchange's.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

from ..core.literals import Side

# Codes of the stored columns (one byte each).
#: Row side: a bid level or a buy aggressor / an ask level or a sell aggressor / not recorded.
BID: Final = 0
ASK: Final = 1
UNKNOWN_SIDE: Final = 2
#: Message kinds.
UPDATE: Final = 0
RESET: Final = 1
TRADE: Final = 2

SIDE_NAMES: Final[tuple[Side, Side, None]] = ("buy", "sell", None)
#: The same for book rows, which are always a bid or an ask.
LEVEL_SIDES: Final[tuple[Side, Side]] = ("buy", "sell")

Format = Literal["auto", "binance-stream", "tardis", "binance-trades"]
FORMATS: Final[tuple[Format, ...]] = ("auto", "binance-stream", "tardis", "binance-trades")


class Level(NamedTuple):
    side: Side  # "buy" = a bid level, "sell" = an ask level
    price: int
    size: int  # the level's new absolute size; 0 removes it


class BookUpdate(NamedTuple):
    symbol: str  # the venue market, e.g. "BTC_USDT"
    time_ms: int  # exchange time, ms since the epoch (the venue's replay clock)
    time_us: int  # the same with the recording's full precision (orders records across sources)
    levels: tuple[Level, ...]  # applied in order (a recording may repeat a price)
    #: A snapshot: the market's book is cleared, then `levels` applied.
    reset: bool


class Trade(NamedTuple):
    symbol: str
    time_ms: int
    time_us: int
    price: int
    amount: int
    side: Side | None  # the aggressor (taker) side; None when the recording does not say
    trade_id: int  # the recorded id; 0 when the recording has none (or a non-numeric one)


Record = BookUpdate | Trade
