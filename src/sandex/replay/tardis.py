"""Tardis.dev CSV datasets: `incremental_book_L2`, `trades` and `book_snapshot_N`.

The data type is read from the header (column names as Tardis documents them); timestamps are µs
since the epoch and `timestamp` (the exchange's) is the one used.
- incremental_book_L2: one row per level update; rows of one market sharing a `local_timestamp`
  form one message. A run of `is_snapshot=true` rows is a snapshot: it resets the book. Rows of a
  market before its first snapshot are skipped (Tardis: updates buffered before the snapshot).
- book_snapshot_N: every row is the top N levels of both sides; each is stored as a reset.
- trades: `side` is the taker's (`buy`, `sell` or `unknown`); a non-numeric `id` is stored as 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .builder import SourceBuilder
from .errors import RecordError, ReplayImportError
from .files import Progress, read_lines
from .records import ASK, BID, UNKNOWN_SIDE
from .scaling import INT64_MAX, SymbolMap, scale_price, scale_size

COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
INCREMENTAL = (*COMMON, "is_snapshot", "side", "price", "amount")
TRADES = (*COMMON, "id", "side", "price", "amount")

_Handler = Callable[[list[str]], None]

_BOOK_SIDES = {"bid": BID, "ask": ASK}
_TAKER_SIDES = {"buy": BID, "sell": ASK, "unknown": UNKNOWN_SIDE}
_BOOLEANS = {"true": True, "false": False}


def data_type(header: list[str]) -> str | None:
    """ "incremental_book_L2", "trades" or "book_snapshot_<N>" from a header row, or None."""
    if tuple(header[:4]) != COMMON:
        return None
    if set(INCREMENTAL) <= set(header):
        return "incremental_book_L2"
    if set(TRADES) <= set(header):
        return "trades"
    depth = _snapshot_depth(header)
    return f"book_snapshot_{depth}" if depth else None


def _snapshot_depth(header: list[str]) -> int:
    depth = 0
    while {
        f"asks[{depth}].price",
        f"asks[{depth}].amount",
        f"bids[{depth}].price",
        f"bids[{depth}].amount",
    } <= set(header):
        depth += 1
    return depth


def _time(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise RecordError(f"timestamp {text!r} is not µs since the epoch")
    return int(text)


@dataclass(slots=True)
class _Message:
    local_timestamp: str
    snapshot: bool
    time_us: int
    sides: list[int] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


class TardisImporter:
    def __init__(self, path: Path, symbols: SymbolMap, builder: SourceBuilder) -> None:
        self.path = path
        self.symbols = symbols
        self.builder = builder
        self.pending: dict[str, _Message] = {}  # per market, the book message being read
        self.synced: set[str] = set()  # markets whose first snapshot has been read

    def run(self, progress: Progress | None) -> dict[str, int]:
        lines = read_lines(self.path, progress)
        header: list[str] | None = None
        handle: _Handler | None = None
        width = 0
        for number, line in lines:
            if not line.strip():
                continue
            try:
                try:
                    text = line.decode("ascii")
                except UnicodeDecodeError:
                    raise RecordError("not an ASCII CSV line") from None
                fields = text.split(",")
                if header is None:
                    header, width = fields, len(fields)
                    kind = data_type(header)
                    if kind is None:
                        raise RecordError(f"not a Tardis CSV header: {text[:80]!r}")
                    index = {name: position for position, name in enumerate(header)}
                    if kind == "incremental_book_L2":
                        handle = self._incremental(index)
                    elif kind == "trades":
                        handle = self._trades(index)
                    else:
                        handle = self._snapshots(index, _snapshot_depth(header))
                    continue
                if len(fields) != width:
                    raise RecordError(f"{len(fields)} columns where the header has {width}")
                assert handle is not None
                handle(fields)
            except RecordError as error:
                raise ReplayImportError(self.path, number, str(error)) from None
        if header is None:
            raise ReplayImportError(self.path, 1, "empty file")
        self._flush_all()
        return dict(self.builder.carry_in.update_ids)  # passed on to the next file

    # -------------------------------------------------------------- incremental_book_L2
    def _incremental(self, index: dict[str, int]) -> _Handler:
        symbol_at, time_at, local_at = index["symbol"], index["timestamp"], index["local_timestamp"]
        snapshot_at, side_at, price_at, amount_at = (
            index["is_snapshot"],
            index["side"],
            index["price"],
            index["amount"],
        )
        builder = self.builder

        def handle(fields: list[str]) -> None:
            market = self.symbols.market(fields[symbol_at])
            time_us = _time(fields[time_at])
            snapshot = _BOOLEANS.get(fields[snapshot_at])
            if snapshot is None:
                raise RecordError(f"is_snapshot {fields[snapshot_at]!r} is neither true nor false")
            side = _BOOK_SIDES.get(fields[side_at])
            if side is None:
                raise RecordError(f"side {fields[side_at]!r} is neither bid nor ask")
            price = scale_price(fields[price_at], market)
            size = scale_size(fields[amount_at], market, what="amount")
            symbol = market.symbol
            builder.declare(symbol)
            if snapshot:
                self.synced.add(symbol)
            elif symbol not in self.synced:
                builder.dropped_rows += 1
                return
            local = "" if snapshot else fields[local_at]  # a snapshot's rows are one message
            message = self.pending.get(symbol)
            if message is None or message.snapshot != snapshot or message.local_timestamp != local:
                if message is not None:
                    self._flush(symbol, message)
                message = self.pending[symbol] = _Message(local, snapshot, time_us)
            message.sides.append(side)
            message.prices.append(price)
            message.sizes.append(size)

        return handle

    def _flush(self, symbol: str, message: _Message) -> None:
        self.builder.add_update(
            symbol, message.time_us, message.sides, message.prices, message.sizes, reset=message.snapshot
        )

    def _flush_all(self) -> None:
        for symbol, message in self.pending.items():
            self._flush(symbol, message)

    # -------------------------------------------------------------- trades
    def _trades(self, index: dict[str, int]) -> _Handler:
        symbol_at, time_at, id_at = index["symbol"], index["timestamp"], index["id"]
        side_at, price_at, amount_at = index["side"], index["price"], index["amount"]
        builder = self.builder

        def handle(fields: list[str]) -> None:
            market = self.symbols.market(fields[symbol_at])
            time_us = _time(fields[time_at])
            side = _TAKER_SIDES.get(fields[side_at])
            if side is None:
                raise RecordError(f"side {fields[side_at]!r} is not buy, sell or unknown")
            price = scale_price(fields[price_at], market)
            amount = scale_size(fields[amount_at], market, what="amount")
            if amount == 0:
                raise RecordError(f"amount {fields[amount_at]!r} is zero")
            text = fields[id_at]
            trade_id = int(text) if text.isdigit() and text.isascii() and int(text) <= INT64_MAX else 0
            builder.add_trade(market.symbol, time_us, side, price, amount, trade_id)

        return handle

    # -------------------------------------------------------------- book_snapshot_N
    def _snapshots(self, index: dict[str, int], depth: int) -> _Handler:
        symbol_at, time_at = index["symbol"], index["timestamp"]
        columns = [
            (side, index[f"{name}[{level}].price"], index[f"{name}[{level}].amount"])
            for name, side in (("bids", BID), ("asks", ASK))
            for level in range(depth)
        ]
        builder = self.builder

        def handle(fields: list[str]) -> None:
            market = self.symbols.market(fields[symbol_at])
            time_us = _time(fields[time_at])
            sides: list[int] = []
            prices: list[int] = []
            sizes: list[int] = []
            for side, price_at, amount_at in columns:
                price, amount = fields[price_at], fields[amount_at]
                if not price and not amount:
                    continue  # fewer levels than N
                sides.append(side)
                prices.append(scale_price(price, market))
                sizes.append(scale_size(amount, market, what="amount"))
            builder.add_update(market.symbol, time_us, sides, prices, sizes, reset=True)

        return handle
