"""Reading a recording file: plain, gzip or single-member zip (told by content), line by line."""

from __future__ import annotations

import gzip
import hashlib
import zipfile
import zlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import IO, cast

from .errors import ReplayImportError

#: progress(done, total): bytes of the (compressed) file read so far, and its size.
Progress = Callable[[int, int], None]

_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
#: Lines between two progress calls.
_PROGRESS_EVERY = 8192


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _open(path: Path, raw: IO[bytes]) -> IO[bytes]:
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == _GZIP:
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if magic == _ZIP:
        try:
            archive = zipfile.ZipFile(raw)
            members = [info for info in archive.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, OSError) as error:
            raise ReplayImportError(path, 1, f"corrupt zip archive ({error})") from None
        if len(members) != 1:
            raise ReplayImportError(
                path, 1, f"a zip archive must hold one file, this one holds {len(members)}"
            )
        return archive.open(members[0])
    return raw


def read_lines(path: Path, progress: Progress | None = None) -> Generator[tuple[int, bytes]]:
    """(line number, line without its end) for every line; a corrupt or truncated compressed
    file raises ReplayImportError naming the line where the data stops."""
    total = path.stat().st_size
    number = 0
    with path.open("rb") as raw:
        stream = _open(path, raw)
        try:
            for line in stream:
                number += 1
                if progress is not None and number % _PROGRESS_EVERY == 0:
                    progress(raw.tell(), total)
                yield number, line.rstrip(b"\r\n")
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as error:
            raise ReplayImportError(
                path, number + 1, f"truncated or corrupt compressed data ({error})"
            ) from None
        finally:
            if stream is not raw:
                stream.close()
    if progress is not None:
        progress(total, total)


def first_line(path: Path) -> tuple[int, bytes]:
    """The first non-empty line (and its number), for telling the format; (0, b"") if none."""
    lines = read_lines(path)
    try:
        for number, line in lines:
            if line.strip():
                return number, line
    finally:
        lines.close()
    return 0, b""
