"""Binance public-data trade files (data.binance.vision): `trades` and `aggTrades` CSVs.

With or without a header; the layout is told by where the `is_buyer_maker` boolean sits:
- trades:    id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]
- aggTrades: agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time,
             is_buyer_maker[, is_best_match]
Times are ms since the epoch, or µs (spot files since 2025): a value of 10**14 or more is µs.
The files name no symbol: it is the only mapped one, or else the file name's part before its
first "-" (`BTCUSDT-trades-2024-08-08.csv`).
"""

from __future__ import annotations

from pathlib import Path

from .builder import SourceBuilder
from .errors import RecordError, ReplayImportError
from .files import Progress, read_lines
from .records import ASK, BID
from .scaling import SymbolMap, scale_price, scale_size

_BOOLEANS = {"true": True, "false": False, "True": True, "False": False}
#: Below this a timestamp is ms (10**14 ms is the year 5138), above it µs.
_MICROSECONDS = 10**14
_HEADER_FIRST = {"id", "agg_trade_id"}


def looks_like(fields: list[str]) -> bool:
    """A header row, or a data row, of either layout."""
    if fields and fields[0] in _HEADER_FIRST:
        return True
    return fields[0].isdigit() and _layout(fields) is not None if fields else False


def _layout(fields: list[str]) -> int | None:
    """The index of the time column (4: trades, 5: aggTrades), by where the boolean is."""
    if len(fields) >= 6 and fields[5] in _BOOLEANS and fields[4].isdigit():
        return 4
    if len(fields) >= 7 and fields[6] in _BOOLEANS and fields[5].isdigit():
        return 5
    return None


def _symbol(path: Path, symbols: SymbolMap) -> str:
    recorded = symbols.recorded()
    if len(recorded) == 1:
        return recorded[0]
    name = path.name.partition("-")[0]
    try:
        symbols.market(name)
    except RecordError:
        raise ReplayImportError(
            path,
            1,
            f"a Binance trades file names no symbol and its name starts with {name!r}, not one of {symbols.known()}",
        ) from None
    return name


class BinanceTradesImporter:
    def __init__(self, path: Path, symbols: SymbolMap, builder: SourceBuilder) -> None:
        self.path = path
        self.symbols = symbols
        self.builder = builder

    def run(self, progress: Progress | None) -> dict[str, int]:
        market = self.symbols.market(_symbol(self.path, self.symbols))
        builder = self.builder
        time_at: int | None = None
        for number, line in read_lines(self.path, progress):
            if not line.strip():
                continue
            try:
                try:
                    fields = line.decode("ascii").split(",")
                except UnicodeDecodeError:
                    raise RecordError("not an ASCII CSV line") from None
                if time_at is None and fields[0] in _HEADER_FIRST:
                    time_at = 5 if fields[0] == "agg_trade_id" else 4
                    continue
                layout = _layout(fields)
                if layout is None or (time_at is not None and layout != time_at):
                    raise RecordError(f"not a Binance trades or aggTrades row: {line[:80]!r}")
                time_at = layout
                if not fields[0].isdigit():
                    raise RecordError(f"trade id {fields[0]!r} is not a number")
                price = scale_price(fields[1], market)
                amount = scale_size(fields[2], market, what="amount")
                if amount == 0:
                    raise RecordError(f"amount {fields[2]!r} is zero")
                stamp = int(fields[time_at])
                time_us = stamp if stamp >= _MICROSECONDS else stamp * 1000
                side = ASK if _BOOLEANS[fields[time_at + 1]] else BID  # buyer is maker: a sell took
                builder.add_trade(market.symbol, time_us, side, price, amount, int(fields[0]))
            except RecordError as error:
                raise ReplayImportError(self.path, number, str(error)) from None
        return dict(self.builder.carry_in.update_ids)  # passed on to the next file
