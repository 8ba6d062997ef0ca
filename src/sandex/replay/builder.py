"""Collects one source's messages as an importer reads them, then sorts and packs them.

Importers add messages in the file's order. Each stream (one market's book, one market's trades)
keeps the file's order: a message stamped earlier than the one before it in the same stream gets
the previous one's time (files are written in arrival order, and exchange clocks can step back a
little; reordering a book's updates would change the book). The streams are then merged by time,
ties in file order (a stable sort), and the books are replayed once to write the checkpoints.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import pairwise

from .book import LevelBook
from .errors import RecordError
from .records import RESET, TRADE, UPDATE
from .scaling import INT64_MAX
from .stored import STORE_VERSION, BookImage, Carry, Checkpoint, Gap, StoredSource, pack

#: Default checkpoint spacing: a full book every this many rows, or this many seconds of exchange
#: time, whichever comes first (a seek then replays at most that much from the nearest one).
ROWS_PER_CHECKPOINT = 50_000
SECONDS_PER_CHECKPOINT = 60
#: The `symbol` column is uint16.
MAX_SYMBOLS = 65_535


class SourceBuilder:
    def __init__(self, carry: Carry | None = None) -> None:
        self.symbols: list[str] = []
        self._symbol_index: dict[str, int] = {}
        # Per message, in the file's order (arrays: a large file's millions of messages stay compact).
        self._time = array("q")
        self._kind = array("B")
        self._symbol = array("H")
        self._start = array("q")
        self._trade_id = array("q")  # per trade
        self._side = array("B")
        self._price = array("q")
        self._size = array("q")
        self._last_time: dict[tuple[int, bool], int] = {}
        self.carry_in = carry or Carry()
        self.gaps: list[Gap] = []
        self.dropped_rows = 0

    def declare(self, symbol: str) -> None:
        """A market the source records, even if none of its records ends up stored."""
        self._index(symbol)

    def _index(self, symbol: str) -> int:
        index = self._symbol_index.get(symbol)
        if index is None:
            if len(self.symbols) == MAX_SYMBOLS:
                raise RecordError(f"more than {MAX_SYMBOLS} markets in one file")
            index = self._symbol_index[symbol] = len(self.symbols)
            self.symbols.append(symbol)
        return index

    def _stamp(self, index: int, book: bool, time_us: int) -> int:
        if not 0 <= time_us <= INT64_MAX:
            raise RecordError(f"time {time_us} µs is out of range")
        key = (index, book)
        previous = self._last_time.get(key, time_us)
        time_us = max(time_us, previous)
        self._last_time[key] = time_us
        return time_us

    def add_update(
        self,
        symbol: str,
        time_us: int,
        sides: Sequence[int],
        prices: Sequence[int],
        sizes: Sequence[int],
        *,
        reset: bool = False,
    ) -> None:
        """One book message. A reset with no levels is stored as one empty row (it still clears)."""
        index = self._index(symbol)
        self._time.append(self._stamp(index, True, time_us))
        self._kind.append(RESET if reset else UPDATE)
        self._symbol.append(index)
        self._start.append(len(self._price))
        if not prices and reset:
            sides, prices, sizes = (0,), (0,), (0,)
        self._side.extend(sides)
        self._price.extend(prices)
        self._size.extend(sizes)

    def add_trade(self, symbol: str, time_us: int, side: int, price: int, amount: int, trade_id: int) -> None:
        if not 0 <= trade_id <= INT64_MAX:
            raise RecordError(f"trade id {trade_id} is out of range")
        index = self._index(symbol)
        self._time.append(self._stamp(index, False, time_us))
        self._kind.append(TRADE)
        self._symbol.append(index)
        self._start.append(len(self._price))
        self._trade_id.append(trade_id)  # indexed by trade number, spread out below
        self._side.append(side)
        self._price.append(price)
        self._size.append(amount)

    def build(
        self,
        *,
        key: str,
        source_name: str,
        source_sha256: str,
        format: str,
        update_ids: dict[str, int],
        rows_per_checkpoint: int = ROWS_PER_CHECKPOINT,
        seconds_per_checkpoint: int = SECONDS_PER_CHECKPOINT,
    ) -> StoredSource:
        count = len(self._time)
        times = self._time
        in_order = all(earlier <= later for earlier, later in pairwise(times))
        order: Iterable[int] = range(count) if in_order else sorted(range(count), key=times.__getitem__)
        starts = self._start
        ends = array("q", starts[1:])
        ends.append(len(self._price))
        trade_ids = iter(self._trade_id)
        trade_id_by_message = array("q", [next(trade_ids) if kind == TRADE else 0 for kind in self._kind])

        time = array("q")
        kind = array("B")
        symbol = array("H")
        end = array("q")
        trade_id = array("q")
        side = array("B")
        price = array("q")
        size = array("q")

        books: dict[int, LevelBook] = {}
        for image in self.carry_in.books:
            books[self._index(image.symbol)] = LevelBook.from_image(image)
        checkpoints = [Checkpoint(0, 0, self._images(books))]
        rows_since = 0
        since_us = min(times) if count else 0
        book_first: dict[str, int] = {}
        book_last: dict[str, int] = {}

        for position, message in enumerate(order):
            message_time = self._time[message]
            if position and (
                rows_since >= rows_per_checkpoint
                or (rows_since and message_time - since_us >= seconds_per_checkpoint * 1_000_000)
            ):
                checkpoints.append(Checkpoint(position, time[-1], self._images(books)))
                rows_since = 0
                since_us = message_time
            first, last = starts[message], ends[message]
            message_kind = self._kind[message]
            index = self._symbol[message]
            time.append(message_time)
            kind.append(message_kind)
            symbol.append(index)
            side.extend(self._side[first:last])
            price.extend(self._price[first:last])
            size.extend(self._size[first:last])
            end.append(len(price))
            trade_id.append(trade_id_by_message[message])
            if message_kind == TRADE:
                continue
            name = self.symbols[index]
            book_first.setdefault(name, message_time)
            book_last[name] = message_time
            book = books.get(index)
            if book is None:
                book = books[index] = LevelBook()
            if message_kind == RESET:
                book.clear()
            for row in range(first, last):
                book.set(self._side[row], self._price[row], self._size[row])
            rows_since += last - first

        return StoredSource(
            version=STORE_VERSION,
            key=key,
            source_name=source_name,
            source_sha256=source_sha256,
            format=format,
            symbols=list(self.symbols),
            msg_time_us=pack(time),
            msg_kind=pack(kind),
            msg_symbol=pack(symbol),
            msg_end=pack(end),
            msg_trade_id=pack(trade_id),
            row_side=pack(side),
            row_price=pack(price),
            row_size=pack(size),
            checkpoints=checkpoints,
            carry=Carry(books=self._images(books), update_ids=dict(sorted(update_ids.items()))),
            gaps=list(self.gaps),
            dropped_rows=self.dropped_rows,
            book_first_us=dict(sorted(book_first.items())),
            book_last_us=dict(sorted(book_last.items())),
        )

    def _images(self, books: dict[int, LevelBook]) -> list[BookImage]:
        return sorted(
            (book.image(self.symbols[index]) for index, book in books.items()), key=lambda i: i.symbol
        )
