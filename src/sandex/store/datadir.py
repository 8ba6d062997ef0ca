"""The data directory: where a venue's journal and snapshots live, and who owns them.

Two servers appending to one journal would interleave two histories into one, so
a running server holds an exclusive ``flock`` on ``LOCK`` for its whole life. The
kernel drops the lock when the process dies, however it dies, so a crash never
leaves a stale lock behind. ``server.json`` tells the CLI where the running server
listens.

Layout::

    <dir>/LOCK             flock target; contains the holder's pid (informational)
    <dir>/journal.sqlite   the command journal (plus SQLite's -wal and -shm files)
    <dir>/snapshots/       snapshot-<seq>.bin files
    <dir>/server.json      {"host", "port", "pid"} of the running server
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

__all__ = ["DataDir", "DataDirLocked", "ServerInfo"]

# A CLI asking "is a server running?" briefly takes a shared lock; a server starting
# at that instant would see it as held. Retrying for a moment absorbs that race.
_ACQUIRE_ATTEMPTS: Final = 5
_ACQUIRE_PAUSE: Final = 0.02


class DataDirLocked(RuntimeError):
    """Another process is running a server on this data directory."""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    host: str
    port: int
    pid: int


class DataDir:
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path).expanduser().absolute()
        self._path.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------ paths

    @property
    def path(self) -> Path:
        return self._path

    @property
    def journal_path(self) -> Path:
        return self._path / "journal.sqlite"

    @property
    def snapshots_path(self) -> Path:
        return self._path / "snapshots"

    @property
    def lock_path(self) -> Path:
        return self._path / "LOCK"

    @property
    def server_info_path(self) -> Path:
        return self._path / "server.json"

    # ------------------------------------------------------------------- lock

    def acquire(self) -> None:
        """Take the exclusive lock for this process, or raise ``DataDirLocked``."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            for attempt in range(_ACQUIRE_ATTEMPTS):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if attempt == _ACQUIRE_ATTEMPTS - 1:
                        raise
                    time.sleep(_ACQUIRE_PAUSE)
        except BlockingIOError:
            os.close(fd)
            holder = self.holder_pid()
            who = f" (pid {holder})" if holder is not None else ""
            raise DataDirLocked(
                f"data directory {self._path} is in use by another sandex server{who}; "
                f"stop it or choose another --data-dir"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # Record who holds it, purely so the message above can name the process.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def release(self) -> None:
        """Drop the lock (also dropped by the kernel if the process dies)."""
        if self._lock_fd is None:
            return
        fd, self._lock_fd = self._lock_fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    @property
    def locked(self) -> bool:
        """True while this DataDir object holds the lock."""
        return self._lock_fd is not None

    def is_locked_by_other(self) -> bool:
        """True if some other process (or DataDir object) holds the lock right now."""
        if self._lock_fd is not None:
            return False
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            # flock locks belong to open file descriptions, so this conflicts with a
            # holder in another process and with another DataDir in this one alike.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def holder_pid(self) -> int | None:
        """The pid written by the lock holder, if any (informational only)."""
        try:
            text = self.lock_path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self) -> DataDir:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove_server_info()
        self.release()

    # ----------------------------------------------------------- server.json

    def write_server_info(self, host: str, port: int) -> None:
        """Publish where this server listens (atomically, so readers never see half)."""
        data = json.dumps({"host": host, "port": port, "pid": os.getpid()}).encode()
        temp = self.server_info_path.with_name(f".server.json.{os.getpid()}.tmp")
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, self.server_info_path)

    def read_server_info(self) -> ServerInfo | None:
        """Where the server said it listens; None if nothing (valid) was published.

        The file may outlive a crashed server; pair this with ``is_locked_by_other()``
        to know whether anybody is actually there.
        """
        try:
            raw = json.loads(self.server_info_path.read_bytes())
            return ServerInfo(host=str(raw["host"]), port=int(raw["port"]), pid=int(raw["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remove_server_info(self) -> None:
        self.server_info_path.unlink(missing_ok=True)
