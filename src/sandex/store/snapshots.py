"""Engine snapshots on disk: written atomically, verified on read.

A snapshot lets recovery skip replaying the journal from seq 1. It is only an
optimisation, so the rules favour safety over cleverness: a snapshot file either
appears complete (temp file + fsync + rename + directory fsync) or not at all, and
anything that fails its checksum is ignored in favour of an older snapshot (the
journal still holds everything after it).

File layout (big-endian)::

    magic    8 bytes  b"SDXSNAP\\x01"
    seq      u64      journal seq the snapshot reflects (also in the file name)
    length   u64      body length in bytes
    digest   16 bytes blake2b-128 over magic, seq, length and body
    body     length bytes, opaque to this module
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
import threading
from pathlib import Path
from typing import Final

__all__ = ["SnapshotStore"]

log = logging.getLogger(__name__)

_MAGIC: Final = b"SDXSNAP\x01"
_PREFIX: Final = struct.Struct(">8sQQ")
_DIGEST_SIZE: Final = 16
_HEADER_SIZE: Final = _PREFIX.size + _DIGEST_SIZE
_NAME: Final = re.compile(r"snapshot-(\d{12})\.bin")
_TEMP_PREFIX: Final = ".snapshot-"
_TEMP_SUFFIX: Final = ".tmp"


def _digest(prefix: bytes, body: bytes) -> bytes:
    h = hashlib.blake2b(prefix, digest_size=_DIGEST_SIZE)
    h.update(body)
    return h.digest()


class SnapshotStore:
    """Snapshots in one directory, ``snapshot-<seq:012d>.bin``, newest ``keep`` retained.

    ``save`` and ``latest`` are plain blocking calls; a large snapshot should be
    written from a worker thread (``asyncio.to_thread``) so the event loop never
    waits on the disk. Only one process may write here, which the data-dir lock
    guarantees; within the process, saves are serialised by a lock.
    """

    def __init__(self, directory: str | Path, *, keep: int = 2) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._keep = keep
        self._lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._dir

    def path_for(self, seq: int) -> Path:
        return self._dir / f"snapshot-{seq:012d}.bin"

    def save(self, seq: int, body: bytes) -> Path:
        """Durably write the snapshot for ``seq``, then prune all but the newest ``keep``."""
        if not 0 <= seq < 10**12:
            raise ValueError(f"snapshot seq out of range: {seq}")
        prefix = _PREFIX.pack(_MAGIC, seq, len(body))
        header = prefix + _digest(prefix, body)
        final = self.path_for(seq)
        with self._lock:
            temp = self._dir / f"{_TEMP_PREFIX}{seq:012d}-{os.getpid()}{_TEMP_SUFFIX}"
            try:
                with open(temp, "wb") as f:
                    f.write(header)
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
                # The rename is the commit point: readers see the old set of files or
                # the new complete one, never a partial file under a snapshot name.
                os.replace(temp, final)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            # Without this the rename itself may not survive a power cut.
            _fsync_directory(self._dir)
            self._prune()
        return final

    def latest(self) -> tuple[int, bytes] | None:
        """The newest snapshot that passes its checks, as ``(seq, body)``; None if none does."""
        for seq, path in self._listing():
            body = self._load(seq, path)
            if body is not None:
                return seq, body
        return None

    def seqs(self) -> list[int]:
        """Seqs of the snapshot files present, newest first (unverified)."""
        return [seq for seq, _ in self._listing()]

    # ---------------------------------------------------------------- internal

    def _listing(self) -> list[tuple[int, Path]]:
        found: list[tuple[int, Path]] = []
        for path in self._dir.iterdir():
            match = _NAME.fullmatch(path.name)
            if match is not None:
                found.append((int(match.group(1)), path))
        found.sort(reverse=True)
        return found

    def _load(self, seq: int, path: Path) -> bytes | None:
        try:
            with open(path, "rb") as f:
                header = f.read(_HEADER_SIZE)
                problem = _check_header(seq, header)
                if problem is None:
                    length = _PREFIX.unpack_from(header)[2]
                    # Read one byte more than declared so trailing garbage is caught too;
                    # reading the body on its own avoids copying a large snapshot twice.
                    body = f.read(length + 1)
                    problem = _check_body(header, length, body)
        except OSError as error:
            log.warning("skipping unreadable snapshot %s: %s", path, error)
            return None
        if problem is not None:
            log.warning("skipping corrupt snapshot %s: %s", path, problem)
            return None
        return body

    def _prune(self) -> None:
        for _, path in self._listing()[self._keep :]:
            path.unlink(missing_ok=True)
        # Temp files only outlive a save when the process died mid-write; we hold the
        # store's lock (and the data-dir lock), so none of them is being written now.
        for path in self._dir.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            path.unlink(missing_ok=True)


def _check_header(seq: int, header: bytes) -> str | None:
    """Why ``header`` cannot start a valid snapshot for ``seq``, or None if it can."""
    if len(header) < _HEADER_SIZE:
        return f"{len(header)} bytes is shorter than the header"
    magic, header_seq, _ = _PREFIX.unpack_from(header)
    if magic != _MAGIC:
        return "bad magic"
    if header_seq != seq:
        return f"header says seq {header_seq}, file name says {seq}"
    return None


def _check_body(header: bytes, length: int, body: bytes) -> str | None:
    if len(body) != length:
        return f"expected {length} body bytes, found {len(body)}{'+' if len(body) > length else ''}"
    if _digest(header[: _PREFIX.size], body) != header[_PREFIX.size :]:
        return "checksum mismatch"
    return None


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
