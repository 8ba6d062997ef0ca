"""A recording: the imported sources played together, merged by exchange time."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import pairwise, repeat
from pathlib import Path

from ..core.markets import Market
from .book import Book, LevelBook
from .builder import ROWS_PER_CHECKPOINT, SECONDS_PER_CHECKPOINT
from .errors import RecordingError
from .files import Progress
from .records import TRADE, Record, Trade
from .source import Source, time_bound_us
from .store import import_source
from .stored import Carry, Gap

#: A position in a recording: per source, the index of its next message.
Position = tuple[int, ...]


class Recording:
    """Sources merged by time (ties: the earlier source in the list first, then file order).

    Each market's book comes from one source at a time: the one holding book messages whose
    first book message is the latest at or before the time asked (so day files follow each
    other, and a continuation file follows its predecessor). Two sources holding the same
    market's book over overlapping times are refused.
    """

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self.symbols: list[str] = sorted({symbol for source in self.sources for symbol in source.symbols})
        self._books: dict[str, list[tuple[int, int, Source]]] = {}
        for order, source in enumerate(self.sources):
            for symbol in source.symbols:
                span = source.book_range_us(symbol)
                if span is not None:
                    self._books.setdefault(symbol, []).append((span[0], order, source))
        for symbol, holders in self._books.items():
            holders.sort(key=lambda holder: holder[:2])
            for (_, _, before), (first, _, after) in pairwise(holders):
                span = before.book_range_us(symbol)
                assert span is not None
                if first < span[1]:
                    raise RecordingError(
                        f"{before.name} and {after.name} both hold {symbol}'s book at once"
                        f" (from {first // 1000} ms to {span[1] // 1000} ms): play one book source per market"
                    )

    # ------------------------------------------------------------------ facts
    @property
    def digest(self) -> str:
        """A hash of everything the records depend on (the sources' keys), for the journal."""
        return hashlib.sha256("".join(source.stored.key for source in self.sources).encode()).hexdigest()

    @property
    def start_ms(self) -> int | None:
        times = [source.time_us[0] for source in self.sources if len(source)]
        return min(times) // 1000 if times else None

    @property
    def end_ms(self) -> int | None:
        times = [source.time_us[-1] for source in self.sources if len(source)]
        return max(times) // 1000 if times else None

    @property
    def gaps(self) -> list[Gap]:
        return [gap for source in self.sources for gap in source.gaps]

    def __len__(self) -> int:
        """Messages: book messages plus trades."""
        return sum(len(source) for source in self.sources)

    @property
    def rows(self) -> int:
        """Level updates plus trades (a diff of 20 levels counts 20): a replay's unit of work."""
        return sum(source.rows for source in self.sources)

    # ------------------------------------------------------------------ records
    def start(self) -> Position:
        return tuple(0 for _ in self.sources)

    def position_at(self, time_ms: int) -> Position:
        """Where playing resumes after a seek to time_ms: past every record with time_ms <= T."""
        return tuple(source.index_after(time_ms) for source in self.sources)

    def entries(self, position: Position | None = None) -> Iterator[tuple[int, int]]:
        """(source index, message index) in play order from a position: for drivers that read the
        sources' columns directly instead of building records."""
        position = position or self.start()
        if len(self.sources) == 1:
            # Built in C (zip of repeat and range): the plugin walks this once per message.
            return zip(repeat(0), range(position[0], len(self.sources[0])))
        return self._merged(position)

    def _merged(self, position: Position) -> Iterator[tuple[int, int]]:
        streams = [_keys(source, order, position[order]) for order, source in enumerate(self.sources)]
        for _, order, index in heapq.merge(*streams):
            yield order, index

    def records(self, position: Position | None = None) -> Iterator[Record]:
        """Every record from a position (the start by default), in play order."""
        if len(self.sources) == 1:
            yield from self.sources[0].records(position[0] if position else 0)
            return
        sources = self.sources
        for order, index in self.entries(position):
            yield sources[order].record(index)

    def trades(self, *, after_ms: int | None = None, until_ms: int | None = None) -> Iterator[Trade]:
        """The trades with after_ms < time_ms <= until_ms (either bound optional), in play order:
        what a seek needs to rebuild trade history, klines and tickers."""
        start = self.start() if after_ms is None else self.position_at(after_ms)
        bound = None if until_ms is None else time_bound_us(until_ms)
        sources = self.sources
        for order, index in self.entries(start):
            source = sources[order]
            if bound is not None and source.time_us[index] > bound:
                break
            if source.kind[index] == TRADE:
                record = source.record(index)
                assert isinstance(record, Trade)
                yield record

    # ------------------------------------------------------------------ books
    def book_at(self, time_ms: int) -> dict[str, Book]:
        """Every market's recorded book with every record with time_ms <= T applied."""
        return {symbol: book.snapshot() for symbol, book in self.level_books_at(time_ms).items()}

    def level_books_at(self, time_ms: int) -> dict[str, LevelBook]:
        """The same as mutable price -> size dicts, for a driver that goes on applying records
        from `position_at(time_ms)`."""
        bound = time_bound_us(time_ms)
        books: dict[str, LevelBook] = {}
        for symbol in self.symbols:
            holder = None
            for first, _, source in self._books.get(symbol, ()):
                if first <= bound:
                    holder = source
            books[symbol] = (
                LevelBook() if holder is None else holder.level_book(symbol, holder.index_after(time_ms))
            )
        return books


def _keys(source: Source, order: int, start: int) -> Iterator[tuple[int, int, int]]:
    """A source's merge keys from a message on: (time, source order, message index)."""
    times = source.time_us
    for index in range(start, len(times)):
        yield times[index], order, index


def open_recording(
    paths: Sequence[Path | str],
    *,
    markets: Mapping[str, Market],
    symbols: Mapping[str, str],
    data_dir: Path | str,
    format: str = "auto",
    progress: Callable[[Path], Progress | None] | None = None,
    rows_per_checkpoint: int = ROWS_PER_CHECKPOINT,
    seconds_per_checkpoint: int = SECONDS_PER_CHECKPOINT,
) -> Recording:
    """Import (or reuse) each file in order, each continuing from what the previous one left."""
    sources: list[Source] = []
    carry = Carry()
    for path in map(Path, paths):
        source = import_source(
            path,
            markets=markets,
            symbols=symbols,
            data_dir=data_dir,
            format=format,
            carry=carry,
            progress=progress(path) if progress else None,
            rows_per_checkpoint=rows_per_checkpoint,
            seconds_per_checkpoint=seconds_per_checkpoint,
        )
        sources.append(source)
        carry = source.carry
    return Recording(sources)
