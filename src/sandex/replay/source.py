"""One imported source, opened: its records in time order, and its books at any time."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

import msgspec

from .book import Book, LevelBook
from .records import LEVEL_SIDES, RESET, SIDE_NAMES, TRADE, BookUpdate, Level, Record, Trade
from .stored import Carry, Gap, StoredSource, unpack


def time_bound_us(time_ms: int) -> int:
    """The last µs of a ms: records with time_ms <= T are those with time_us <= this."""
    return time_ms * 1000 + 999


class Source:
    """The stored form of one file as columns (`array`s, for a fast driver) and as records.

    Message i has time `time_us[i]`, kind `kind[i]` (UPDATE, RESET, TRADE), market
    `symbols[symbol[i]]`, trade id `trade_id[i]`, and rows `end[i-1]:end[i]` (from 0 for the
    first) of `side`, `price`, `size` (BID/ASK/UNKNOWN_SIDE; for a trade: price, amount, aggressor).
    """

    def __init__(self, stored: StoredSource, path: Path) -> None:
        #: Where the stored form lives.
        self.path = path
        self.symbols: list[str] = list(stored.symbols)
        self.time_us = unpack("q", stored.msg_time_us)
        self.kind = unpack("B", stored.msg_kind)
        self.symbol = unpack("H", stored.msg_symbol)
        self.end = unpack("q", stored.msg_end)
        self.trade_id = unpack("q", stored.msg_trade_id)
        self.side = unpack("B", stored.row_side)
        self.price = unpack("q", stored.row_price)
        self.size = unpack("q", stored.row_size)
        self._checkpoint_messages = [checkpoint.message for checkpoint in stored.checkpoints]
        # The columns now live in the arrays above: the packed copies are let go.
        self.stored = msgspec.structs.replace(
            stored,
            msg_time_us=b"",
            msg_kind=b"",
            msg_symbol=b"",
            msg_end=b"",
            msg_trade_id=b"",
            row_side=b"",
            row_price=b"",
            row_size=b"",
        )

    # ------------------------------------------------------------------ facts
    @property
    def name(self) -> str:
        return self.stored.source_name

    @property
    def sha256(self) -> str:
        return self.stored.source_sha256

    @property
    def format(self) -> str:
        return self.stored.format

    @property
    def gaps(self) -> list[Gap]:
        return self.stored.gaps

    @property
    def dropped_rows(self) -> int:
        return self.stored.dropped_rows

    @property
    def carry(self) -> Carry:
        return self.stored.carry

    @property
    def rows(self) -> int:
        return len(self.price)

    def __len__(self) -> int:
        return len(self.time_us)

    def book_range_us(self, symbol: str) -> tuple[int, int] | None:
        """The times of the first and last book message of a market, or None if it has none."""
        first = self.stored.book_first_us.get(symbol)
        return None if first is None else (first, self.stored.book_last_us[symbol])

    # ------------------------------------------------------------------ records
    def index_after(self, time_ms: int) -> int:
        """The index of the first message later than time_ms (all before it are <= time_ms)."""
        return bisect_right(self.time_us, time_bound_us(time_ms))

    def record(self, index: int) -> Record:
        time_us = self.time_us[index]
        symbol = self.symbols[self.symbol[index]]
        first = self.end[index - 1] if index else 0
        kind = self.kind[index]
        if kind == TRADE:
            return Trade(
                symbol,
                time_us // 1000,
                time_us,
                self.price[first],
                self.size[first],
                SIDE_NAMES[self.side[first]],
                self.trade_id[index],
            )
        last = self.end[index]
        levels = tuple(
            map(
                Level,
                map(LEVEL_SIDES.__getitem__, self.side[first:last]),
                self.price[first:last],
                self.size[first:last],
            )
        )
        if kind == RESET and last - first == 1 and not self.price[first]:
            levels = ()  # an empty snapshot is stored as one placeholder row at price 0
        return BookUpdate(symbol, time_us // 1000, time_us, levels, kind == RESET)

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[Record]:
        """Messages start..stop (all by default), in the stored (time) order."""
        record = self.record
        for index in range(start, len(self) if stop is None else stop):
            yield record(index)

    # ------------------------------------------------------------------ books
    def level_book(self, symbol: str, stop: int) -> LevelBook:
        """A market's book after the first `stop` messages: the nearest checkpoint, then replay."""
        at = bisect_right(self._checkpoint_messages, stop) - 1
        checkpoint = self.stored.checkpoints[at]
        image = next((image for image in checkpoint.books if image.symbol == symbol), None)
        book = LevelBook() if image is None else LevelBook.from_image(image)
        if symbol not in self.symbols:
            return book
        wanted = self.symbols.index(symbol)
        kinds, symbols, ends = self.kind, self.symbol, self.end
        sides, prices, sizes = self.side, self.price, self.size
        for index in range(checkpoint.message, stop):
            kind = kinds[index]
            if kind == TRADE or symbols[index] != wanted:
                continue
            if kind == RESET:
                book.clear()
            for row in range(ends[index - 1] if index else 0, ends[index]):
                book.set(sides[row], prices[row], sizes[row])
        return book

    def book_at(self, symbol: str, time_ms: int) -> Book:
        """A market's book with every message of this source up to time_ms applied."""
        return self.level_book(symbol, self.index_after(time_ms)).snapshot()
