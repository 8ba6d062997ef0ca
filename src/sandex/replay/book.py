"""A plain price-level book (absolute sizes per price), as the importers and the reader keep it."""

from __future__ import annotations

from array import array

from .records import ASK, BID, Level
from .stored import BookImage, pack, unpack


class LevelBook:
    """One market's recorded book: two dicts of price -> size (sizes always > 0)."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def set(self, side: int, price: int, size: int) -> None:
        levels = self.bids if side == BID else self.asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)

    def image(self, symbol: str) -> BookImage:
        bids = sorted(self.bids.items())
        asks = sorted(self.asks.items())
        return BookImage(
            symbol,
            pack(array("q", [price for price, _ in bids])),
            pack(array("q", [size for _, size in bids])),
            pack(array("q", [price for price, _ in asks])),
            pack(array("q", [size for _, size in asks])),
        )

    @classmethod
    def from_image(cls, image: BookImage) -> LevelBook:
        book = cls()
        book.bids = dict(zip(unpack("q", image.bid_prices), unpack("q", image.bid_sizes), strict=True))
        book.asks = dict(zip(unpack("q", image.ask_prices), unpack("q", image.ask_sizes), strict=True))
        return book

    def snapshot(self) -> Book:
        return Book(
            bids=tuple(sorted(self.bids.items(), reverse=True)),
            asks=tuple(sorted(self.asks.items())),
        )


class Book:
    """A market's book at one moment: (price, size) pairs, best first on each side."""

    __slots__ = ("asks", "bids")

    def __init__(
        self, bids: tuple[tuple[int, int], ...] = (), asks: tuple[tuple[int, int], ...] = ()
    ) -> None:
        self.bids = bids
        self.asks = asks

    def top(self, depth: int) -> Book:
        return Book(self.bids[:depth], self.asks[:depth])

    def levels(self) -> tuple[Level, ...]:
        """The book as the levels of a reset update."""
        return tuple(Level("buy", p, s) for p, s in self.bids) + tuple(
            Level("sell", p, s) for p, s in self.asks
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Book) and self.bids == other.bids and self.asks == other.asks

    def __hash__(self) -> int:
        return hash((self.bids, self.asks))

    def __repr__(self) -> str:
        return f"Book(bids={self.bids!r}, asks={self.asks!r})"


__all__ = ["ASK", "BID", "Book", "LevelBook"]
