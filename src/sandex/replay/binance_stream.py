"""Binance stream captures (hftbacktest's collector): `<local_ns> <json>` per line.

The JSON is a combined-stream message (`{"stream": "btcusdt@depth@100ms", "data": {...}}`: depth
diffs, trades; bookTicker and other streams are skipped) or a REST depth snapshot
(`{"lastUpdateId": ..., "bids": [...], "asks": [...]}`, which names no symbol: a file holding
snapshots may hold the depth of one market only, as the collector writes them).

The book follows Binance's documented synchronisation ("How to manage a local order book"):
diffs are buffered until a snapshot; diffs with `u <= lastUpdateId` are dropped; the first one
applied must straddle it (`U <= lastUpdateId + 1 <= u`); after that each diff's `U` is the
previous `u` + 1. A break is recorded as a Gap and the book waits (frozen, as last known) for the
next snapshot. A file without a snapshot whose first diff continues the previous file's last `u`
(the carry) continues that book. The snapshot itself is stamped with the exchange time of the
first diff applied on top of it (a REST snapshot carries no time of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from ..core.markets import Market
from .builder import SourceBuilder
from .errors import RecordError, ReplayImportError
from .files import Progress, read_lines
from .records import ASK, BID
from .scaling import SymbolMap, scale_price, scale_size
from .stored import Gap

PriceLevels = list[tuple[str, str]]


class _Envelope(msgspec.Struct):
    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw()  # a Raw cannot be Optional; empty when absent
    lastUpdateId: int | None = None
    bids: PriceLevels | None = None
    asks: PriceLevels | None = None


class _DepthDiff(msgspec.Struct):
    E: int
    s: str
    U: int
    u: int
    b: PriceLevels
    a: PriceLevels


class _Trade(msgspec.Struct):
    s: str
    t: int
    p: str
    q: str
    T: int
    m: bool  # the buyer is the maker: the aggressor sold


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_DIFF = msgspec.json.Decoder(_DepthDiff)
_TRADE = msgspec.json.Decoder(_Trade)


@dataclass(slots=True)
class _Diff:
    line: int
    time_us: int
    first: int  # U
    last: int  # u
    sides: list[int]
    prices: list[int]
    sizes: list[int]


@dataclass(slots=True)
class _RawSnapshot:
    line: int
    last_update_id: int
    bids: PriceLevels
    asks: PriceLevels


@dataclass(slots=True)
class _Snapshot:
    line: int
    last_update_id: int
    sides: list[int]
    prices: list[int]
    sizes: list[int]


@dataclass(slots=True)
class _Sync:
    """One market's synchronisation: in sync at `last` (the last applied `u`), or waiting."""

    symbol: str  # venue market
    last: int | None = None
    snapshot: _Snapshot | None = None
    buffer: list[_Diff] = field(default_factory=list)


def _levels(market: Market, bids: PriceLevels, asks: PriceLevels) -> tuple[list[int], list[int], list[int]]:
    sides = [BID] * len(bids) + [ASK] * len(asks)
    prices = [scale_price(price, market) for price, _ in bids] + [
        scale_price(price, market) for price, _ in asks
    ]
    sizes = [scale_size(size, market) for _, size in bids] + [scale_size(size, market) for _, size in asks]
    return sides, prices, sizes


class BinanceStreamImporter:
    def __init__(self, path: Path, symbols: SymbolMap, builder: SourceBuilder) -> None:
        self.path = path
        self.symbols = symbols
        self.builder = builder
        self.syncs: dict[str, _Sync] = {}
        for recorded, last in builder.carry_in.update_ids.items():
            self.syncs[recorded] = _Sync(symbol=symbols.market(recorded).symbol, last=last)
        self.depth_symbols: list[str] = []  # recorded symbols with depth diffs, in order seen
        self.orphan: _RawSnapshot | None = None  # a snapshot seen before any diff names its market
        self.saw_snapshot = False

    def run(self, progress: Progress | None) -> dict[str, int]:
        for number, line in read_lines(self.path, progress):
            if not line.strip():
                continue
            try:
                self._line(number, line)
            except RecordError as error:
                raise ReplayImportError(self.path, number, str(error)) from None
            except msgspec.ValidationError as error:
                raise ReplayImportError(self.path, number, f"bad message: {error}") from None
            except msgspec.DecodeError as error:
                raise ReplayImportError(self.path, number, f"bad JSON: {error}") from None
        if self.orphan is not None and len(self.symbols.recorded()) == 1:  # still check its numbers
            self._scaled(self.orphan, self.symbols.market(self.symbols.recorded()[0]))
        for sync in self.syncs.values():
            self.builder.dropped_rows += sum(len(diff.prices) for diff in sync.buffer)
        return {recorded: sync.last for recorded, sync in sorted(self.syncs.items()) if sync.last is not None}

    def _line(self, number: int, line: bytes) -> None:
        local_ns, _, body = line.partition(b" ")
        if not local_ns.isdigit() or not body:
            raise RecordError("expected '<local_ns> <json>'")
        envelope = _ENVELOPE.decode(body)
        if envelope.lastUpdateId is not None:
            self._snapshot(number, envelope)
            return
        if envelope.stream is None or not len(envelope.data):
            raise RecordError("neither a stream message nor a depth snapshot")
        kind = envelope.stream.partition("@")[2]
        if kind.startswith("depth"):
            self._diff(number, _DIFF.decode(envelope.data))
        elif kind == "trade":
            self._trade(_TRADE.decode(envelope.data))
        # bookTicker (no exchange time; the depth is authoritative) and other streams: skipped.

    def _trade(self, trade: _Trade) -> None:
        market = self.symbols.market(trade.s)
        price = scale_price(trade.p, market)
        amount = scale_size(trade.q, market, what="amount")
        if amount == 0:
            raise RecordError(f"amount {trade.q!r} is zero")
        self.builder.add_trade(market.symbol, trade.T * 1000, ASK if trade.m else BID, price, amount, trade.t)

    def _snapshot(self, number: int, envelope: _Envelope) -> None:
        if envelope.bids is None or envelope.asks is None:
            raise RecordError("depth snapshot without bids or asks")
        assert envelope.lastUpdateId is not None
        self.saw_snapshot = True
        if len(self.depth_symbols) > 1:
            raise self._ambiguous()
        raw = _RawSnapshot(number, envelope.lastUpdateId, envelope.bids, envelope.asks)
        if not self.depth_symbols:  # the usual case: fetched after subscribing, before any diff
            self.orphan = raw
            return
        recorded = self.depth_symbols[0]
        market = self.symbols.market(recorded)
        self._deliver(self._sync(recorded, market), self._scaled(raw, market))

    def _scaled(self, raw: _RawSnapshot, market: Market) -> _Snapshot:
        try:
            sides, prices, sizes = _levels(market, raw.bids, raw.asks)
        except RecordError as error:
            raise ReplayImportError(self.path, raw.line, str(error)) from None
        return _Snapshot(raw.line, raw.last_update_id, sides, prices, sizes)

    def _ambiguous(self) -> RecordError:
        return RecordError(
            "a depth snapshot names no symbol, so a file with snapshots may hold one market's depth;"
            f" this one has {', '.join(self.depth_symbols)}"
        )

    def _sync(self, recorded: str, market: Market) -> _Sync:
        sync = self.syncs.get(recorded)
        if sync is None:
            sync = self.syncs[recorded] = _Sync(symbol=market.symbol)
            self.builder.declare(market.symbol)
        return sync

    def _diff(self, number: int, message: _DepthDiff) -> None:
        market = self.symbols.market(message.s)
        if message.u < message.U:
            raise RecordError(f"U {message.U} is after u {message.u}")
        if message.s not in self.depth_symbols:
            self.depth_symbols.append(message.s)
            if self.saw_snapshot and len(self.depth_symbols) > 1:
                raise self._ambiguous()
        sides, prices, sizes = _levels(market, message.b, message.a)
        diff = _Diff(number, message.E * 1000, message.U, message.u, sides, prices, sizes)
        sync = self._sync(message.s, market)
        if self.orphan is not None:
            orphan, self.orphan = self.orphan, None
            self._deliver(sync, self._scaled(orphan, market))
        self._apply(sync, diff)

    def _deliver(self, sync: _Sync, snapshot: _Snapshot) -> None:
        if sync.last is not None:
            return  # in sync already: the diffs carry the book; a later snapshot adds nothing
        sync.snapshot = snapshot
        buffered, sync.buffer = sync.buffer, []
        for diff in buffered:
            self._apply(sync, diff)

    def _apply(self, sync: _Sync, diff: _Diff) -> None:
        builder = self.builder
        if sync.last is None:
            snapshot = sync.snapshot
            if snapshot is None:
                sync.buffer.append(diff)
                return
            if diff.last <= snapshot.last_update_id:
                builder.dropped_rows += len(diff.prices)
                return
            if diff.first > snapshot.last_update_id + 1:  # the snapshot is older than the diffs
                self._gap(sync, diff, snapshot.last_update_id + 1)
                sync.snapshot = None
                sync.buffer.append(diff)
                return
            builder.add_update(
                sync.symbol, diff.time_us, snapshot.sides, snapshot.prices, snapshot.sizes, reset=True
            )
            sync.snapshot = None
            sync.last = snapshot.last_update_id
        if diff.last <= sync.last:
            builder.dropped_rows += len(diff.prices)
            return
        if diff.first > sync.last + 1:
            self._gap(sync, diff, sync.last + 1)
            sync.last = None
            sync.buffer.append(diff)
            return
        builder.add_update(sync.symbol, diff.time_us, diff.sides, diff.prices, diff.sizes)
        sync.last = diff.last

    def _gap(self, sync: _Sync, diff: _Diff, expected: int) -> None:
        self.builder.gaps.append(Gap(sync.symbol, diff.line, diff.time_us // 1000, expected, diff.first))
