"""Recorded markets for replay: importers, their compact stored form, and a reader.

Record model (`records.py`)
---------------------------
A recording is a sequence of records in exchange-time order, each for one venue market
(`symbols` maps recorded symbols to markets, e.g. `{"BTCUSDT": "BTC_USDT"}`):

- `BookUpdate(symbol, time_ms, time_us, levels, reset)`: one recorded book message. Each
  `Level(side, price, size)` gives the level's new absolute size (0 removes it); side "buy" is a
  bid level, "sell" an ask level. `reset=True` is a snapshot: the market's book is cleared, then
  its levels applied (in order, as always; an empty snapshot just clears the book).
- `Trade(symbol, time_ms, time_us, price, amount, side, trade_id)`: one print; `side` is the
  aggressor's ("buy"/"sell", None if not recorded); `trade_id` is 0 when none was recorded.

Prices and sizes are integers scaled by the venue market's precisions (`core.markets.Market`),
read exactly from the recording's decimal strings; a value off the market's precision is an
error, never a rounding. `time_ms` is the venue's replay clock (Binance depth `E`, trade `T`;
Tardis `timestamp`); `time_us` keeps the recording's precision and orders records across files.
Within one stream (one market's book, one market's trades) the file's order is kept: a record
stamped before its predecessor takes the predecessor's time.

Importers (chosen by content with `format="auto"`)
--------------------------------------------------
- "binance-stream": hftbacktest-style captures, `<local_ns> <json>` per line, with Binance's
  book synchronisation (buffer before the snapshot, straddle `lastUpdateId`, gaps reported as
  `Gap`s and resynchronised from the next snapshot; a file continuing the previous one's last
  `u` continues its book). See `binance_stream.py`.
- "tardis": Tardis.dev CSVs (plain or gzip): incremental_book_L2, trades, book_snapshot_N.
- "binance-trades": data.binance.vision trades / aggTrades CSVs (header or not, ms or µs).
Files may be plain, gzip or single-file zip (told by their bytes). A malformed record raises
`ReplayImportError` (`.path`, `.line`, message `file:line: reason`) and nothing is stored.

API
---
- `open_recording(paths, *, markets, symbols, data_dir, format="auto", progress=None)
  -> Recording`: imports each file in order (reusing its stored form in `data_dir` when the
  source, settings and predecessor are unchanged) and opens them together. Several files are
  merged by time: Tardis trades + book files of one day, or consecutive days/captures. Raises
  ReplayImportError, or RecordingError when two files hold one market's book at the same time.
  `progress` is a factory `path -> callback(done_bytes, total_bytes)`; `rich_progress()` gives
  one showing rich bars.
- `import_source(path, ...) -> Source`: the same for one file (with an explicit `carry`).
- `Recording`: `records(position=None)` yields records; `entries(position)` yields
  (source index, message index) for a driver reading `Source` columns directly; `start()`,
  `position_at(time_ms)` (just past every record with time <= T: where a seek resumes);
  `book_at(time_ms) -> {market: Book}` (every record <= T applied; `Book.bids`/`.asks` are
  (price, size) pairs best first, `Book.top(n)`, `Book.levels()` gives a reset's levels);
  `level_books_at(time_ms)` (the same as mutable `LevelBook`s: `.bids`/`.asks` dicts price ->
  size, `.set(BID|ASK, price, size)`, `.clear()`, `.snapshot() -> Book`, to go on applying
  records from `position_at(time_ms)`); `trades(after_ms=, until_ms=)` (to rebuild trade
  history, klines and tickers after a seek); `start_ms`, `end_ms`, `symbols`, `gaps`, `digest`
  (a hash of everything the records depend on, for the journal).
- `Source`: one stored file: columns `time_us`, `kind` (UPDATE/RESET/TRADE), `symbol` (index
  into `symbols`), `end`, `trade_id` per message; `side`, `price`, `size` per row (message i's
  rows are `end[i-1]:end[i]`); `record(i)`, `records()`, `index_after(time_ms)`,
  `book_at(symbol, time_ms)`, `gaps`, `dropped_rows`, `format`, `sha256`.
- `bundled("btcusdt") -> Path` (the shipped Binance BTCUSDT sample; `BUNDLED["btcusdt"]` also
  gives its format and default symbol mapping; its MIT notice is `samples/LICENSE.hftbacktest`);
  `resolve(name, base=None) -> Path`: a config's or command line's file, or a bundled name or
  alias ("btcusdt", "btcusdt_20240808.gz") when no such file exists.

What a driver should know: a market's book is empty until its first reset (a Binance capture's
snapshot is stamped with the time of the first diff applied on it; trades recorded before it are
kept); after a Binance gap the book stays as last known, diffs unapplied, until the next
snapshot resets it (`gaps` says where; the import also logs each one on "sandex.replay");
bookTicker lines are skipped (the depth is authoritative); Tardis incremental rows of a market
before its first snapshot are skipped (counted in `Source.dropped_rows`, with Binance diffs that
could not be applied).

Stored form (`stored.py`): one msgpack file per source (`<name>.<key>.replay`), columns as
packed little-endian int arrays, checkpoints (every market's full book every 50,000 rows or
60 s) for seeking, the source's SHA-256 and the import key, the carry for the next file, and the
gaps. Same input and settings give the same bytes.
"""

from __future__ import annotations

from .book import Book, LevelBook
from .bundled import BUNDLED, BundledRecording, bundled, resolve
from .errors import RecordingError, ReplayImportError
from .progress import rich_progress
from .recording import Position, Recording, open_recording
from .records import (
    ASK,
    BID,
    FORMATS,
    RESET,
    TRADE,
    UNKNOWN_SIDE,
    UPDATE,
    BookUpdate,
    Format,
    Level,
    Record,
    Trade,
)
from .source import Source
from .store import import_source
from .stored import Carry, Gap

__all__ = [
    "ASK",
    "BID",
    "BUNDLED",
    "FORMATS",
    "RESET",
    "TRADE",
    "UNKNOWN_SIDE",
    "UPDATE",
    "Book",
    "BookUpdate",
    "BundledRecording",
    "Carry",
    "Format",
    "Gap",
    "Level",
    "LevelBook",
    "Position",
    "Record",
    "Recording",
    "RecordingError",
    "ReplayImportError",
    "Source",
    "Trade",
    "bundled",
    "import_source",
    "open_recording",
    "resolve",
    "rich_progress",
]
