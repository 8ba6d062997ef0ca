"""`format = "auto"`: which importer a file needs, told by its first line (never by its name)."""

from __future__ import annotations

import re
from pathlib import Path

from . import binance_trades, tardis
from .errors import ReplayImportError
from .files import first_line

_STREAM_LINE = re.compile(rb"[0-9]+ \{")


def detect_format(path: Path) -> str:
    number, line = first_line(path)
    if not line:
        raise ReplayImportError(path, max(number, 1), "empty file: no records to tell the format by")
    if _STREAM_LINE.match(line):
        return "binance-stream"
    try:
        fields = line.decode("ascii").split(",")
    except UnicodeDecodeError:
        fields = []
    if fields and tardis.data_type(fields) is not None:
        return "tardis"
    if tuple(fields[:4]) == tardis.COMMON:
        raise ReplayImportError(
            path,
            number,
            "a Tardis CSV of a data type replay does not read (it reads incremental_book_L2, trades"
            f" and book_snapshot_N): {line[:80]!r}",
        )
    if fields and binance_trades.looks_like(fields):
        return "binance-trades"
    raise ReplayImportError(
        path,
        number,
        "cannot tell the format (not a Binance stream capture, a Tardis CSV or a Binance trades CSV):"
        f" {line[:60]!r}",
    )
