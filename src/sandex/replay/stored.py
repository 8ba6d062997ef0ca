"""The compact stored form of one imported source file (msgpack, columns as packed int arrays).

Columns are `array` bytes in little-endian order: per message `time_us` (int64), `kind` (uint8:
UPDATE, RESET, TRADE), `symbol` (uint16, an index into `symbols`), `end` (int64, the end of its
rows; a message's rows start where the previous one's end) and `trade_id` (int64, 0 for book
messages); per row `side` (uint8), `price` and `size` (int64; for a trade, its price and amount).
Messages are sorted by time (ties keep the file's order), so a reader streams them as they are.
"""

from __future__ import annotations

import sys
from array import array

import msgspec

#: Bumped whenever the stored form or an importer's output changes: older stored files are
#: then re-imported instead of misread.
STORE_VERSION = 1


class BookImage(msgspec.Struct, array_like=True, frozen=True):
    """One market's whole book: int64 columns, each side sorted by price ascending."""

    symbol: str
    bid_prices: bytes
    bid_sizes: bytes
    ask_prices: bytes
    ask_sizes: bytes


class Checkpoint(msgspec.Struct, array_like=True, frozen=True):
    """The books after the source's first `message` messages (index 0: what it started with)."""

    message: int
    time_us: int
    books: list[BookImage]


class Gap(msgspec.Struct, frozen=True):
    """A break in a Binance diff stream: `got` arrived where `expected` (the last `u` + 1) was due."""

    symbol: str  # the venue market
    line: int
    time_ms: int
    expected: int
    got: int


class Carry(msgspec.Struct, frozen=True):
    """What a source hands to the next file of the same recording: the books it ended with and,
    per recorded Binance symbol still in sync, the last applied update id (`u`)."""

    books: list[BookImage] = []
    update_ids: dict[str, int] = {}


class StoredSource(msgspec.Struct, frozen=True):
    version: int
    key: str  # what the import depended on (source hash, settings, carry); see store.source_key
    source_name: str
    source_sha256: str
    format: str  # the importer actually used (never "auto")
    symbols: list[str]  # venue markets, by the index the `symbol` column holds
    msg_time_us: bytes
    msg_kind: bytes
    msg_symbol: bytes
    msg_end: bytes
    msg_trade_id: bytes
    row_side: bytes
    row_price: bytes
    row_size: bytes
    checkpoints: list[Checkpoint]
    carry: Carry
    gaps: list[Gap]
    #: Book rows the importer could not apply (before the first snapshot, or while out of sync).
    dropped_rows: int
    #: Per venue market with book messages: the times of its first and last book message.
    book_first_us: dict[str, int]
    book_last_us: dict[str, int]


def pack(values: array[int]) -> bytes:
    if sys.byteorder == "big":  # the stored form is little-endian everywhere
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def unpack(typecode: str, data: bytes) -> array[int]:
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


ENCODER = msgspec.msgpack.Encoder()
DECODER = msgspec.msgpack.Decoder(StoredSource)
