"""Import once, reuse after: one stored file per source, named by everything it depends on.

The key hashes the store version, the format asked for, the source file's SHA-256, the symbol
mapping with each market's precisions, the checkpoint spacing and what the previous file handed
over (the carry): a changed source, setting or predecessor gives another key, hence a re-import.
A stored file is written to a temporary name and renamed, so a crash never leaves half of one,
and nothing is stored for a file that fails to import.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from ..core.markets import Market
from .binance_stream import BinanceStreamImporter
from .binance_trades import BinanceTradesImporter
from .builder import ROWS_PER_CHECKPOINT, SECONDS_PER_CHECKPOINT, SourceBuilder
from .detect import detect_format
from .files import Progress, sha256_of
from .records import FORMATS
from .scaling import SymbolMap
from .source import Source
from .stored import DECODER, ENCODER, STORE_VERSION, Carry, StoredSource
from .tardis import TardisImporter

log = logging.getLogger("sandex.replay")

_IMPORTERS: dict[str, type[BinanceStreamImporter | TardisImporter | BinanceTradesImporter]] = {
    "binance-stream": BinanceStreamImporter,
    "tardis": TardisImporter,
    "binance-trades": BinanceTradesImporter,
}
#: What a stored file's name ends with.
SUFFIX = ".replay"


def source_key(
    sha256: str,
    format: str,
    symbols: SymbolMap,
    carry: Carry,
    rows_per_checkpoint: int,
    seconds_per_checkpoint: int,
) -> str:
    settings = [
        STORE_VERSION,
        format,
        sha256,
        symbols.settings(),
        rows_per_checkpoint,
        seconds_per_checkpoint,
        hashlib.sha256(ENCODER.encode(carry)).hexdigest(),
    ]
    return hashlib.sha256(msgspec.json.encode(settings)).hexdigest()


def stored_path(data_dir: Path, source: Path, key: str) -> Path:
    return data_dir / f"{source.name}.{key[:20]}{SUFFIX}"


def import_source(
    path: Path | str,
    *,
    markets: Mapping[str, Market],
    symbols: Mapping[str, str],
    data_dir: Path | str,
    format: str = "auto",
    carry: Carry | None = None,
    progress: Progress | None = None,
    rows_per_checkpoint: int = ROWS_PER_CHECKPOINT,
    seconds_per_checkpoint: int = SECONDS_PER_CHECKPOINT,
) -> Source:
    """Import one file (or reuse its stored form) and open it.

    Raises ReplayImportError (file and line) for a malformed record; nothing is stored then.
    """
    path = Path(path)
    data_dir = Path(data_dir)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    symbol_map = SymbolMap(symbols, markets)
    carry = carry or Carry()
    sha256 = sha256_of(path)
    key = source_key(sha256, format, symbol_map, carry, rows_per_checkpoint, seconds_per_checkpoint)
    target = stored_path(data_dir, path, key)
    stored = _load(target, key, sha256)
    if stored is None:
        stored = _import(
            path,
            format,
            symbol_map,
            carry,
            key,
            sha256,
            progress,
            rows_per_checkpoint,
            seconds_per_checkpoint,
        )
        _write(target, ENCODER.encode(stored))
    return Source(stored, target)


def _import(
    path: Path,
    format: str,
    symbols: SymbolMap,
    carry: Carry,
    key: str,
    sha256: str,
    progress: Progress | None,
    rows_per_checkpoint: int,
    seconds_per_checkpoint: int,
) -> StoredSource:
    used = detect_format(path) if format == "auto" else format
    builder = SourceBuilder(carry)
    update_ids = _IMPORTERS[used](path, symbols, builder).run(progress)
    for gap in builder.gaps:
        log.warning(
            "%s:%d: %s depth gap: update %d arrived where %d was due; the book waits for the next snapshot",
            path,
            gap.line,
            gap.symbol,
            gap.got,
            gap.expected,
        )
    return builder.build(
        key=key,
        source_name=path.name,
        source_sha256=sha256,
        format=used,
        update_ids=update_ids,
        rows_per_checkpoint=rows_per_checkpoint,
        seconds_per_checkpoint=seconds_per_checkpoint,
    )


def _load(target: Path, key: str, sha256: str) -> StoredSource | None:
    try:
        stored = DECODER.decode(target.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # absent, or unreadable: imported again
    if stored.version != STORE_VERSION or stored.key != key or stored.source_sha256 != sha256:
        return None
    return stored


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
