"""The durable command journal: an append-only SQLite table of opaque command bytes.

sandex is command-sourced, so this table *is* the venue's history: recovery is the
latest snapshot plus a replay of every row after it. Three properties matter and
each is enforced here rather than trusted to callers:

* seqs are dense and start at 1 — the journal assigns them, nobody else;
* a batch is one transaction — it is entirely present or entirely absent, even
  after a failed write or a crash;
* a batch is durable when ``append_batch`` returns (WAL + ``synchronous=FULL``
  fsyncs the WAL on every commit).

The journal knows nothing about what the bytes mean.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

__all__ = ["Journal"]

_SYNC_MODES: Final = {"full": "FULL", "normal": "NORMAL"}

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS commands ( seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB)",
)

# Rows fetched per step by readers; large enough that the per-fetch overhead
# vanishes, small enough that memory stays flat while replaying millions of rows.
_READ_CHUNK: Final = 4096

_PROBE_KEY: Final = "_probe"


class Journal:
    """Append-only command journal in one SQLite file (WAL mode).

    One write connection, guarded by a lock so the group committer's worker thread
    and occasional callers on other threads (``set_meta``, the page cap) never
    interleave statements inside a transaction. Every ``read_from`` opens its own
    read connection, so replay never contends with, or sees half of, a write.
    """

    def __init__(
        self,
        path: str | Path,
        sync: str = "full",
        *,
        max_page_count: int | None = None,
    ) -> None:
        if sync not in _SYNC_MODES:
            raise ValueError(f"journal sync must be one of {sorted(_SYNC_MODES)}, got {sync!r}")
        self._path = Path(path)
        self._sync = sync
        self._lock = threading.Lock()
        self._closed = False
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the Python module
        # never opens an implicit transaction we did not ask for.
        # check_same_thread=False: the group committer writes from its worker thread;
        # self._lock provides the serialisation sqlite3's check would otherwise demand.
        self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"could not switch {self._path} to WAL mode (got {mode})")
            self._conn.execute(f"PRAGMA synchronous={_SYNC_MODES[sync]}")
            for statement in _SCHEMA:
                self._conn.execute(statement)
            # Remember SQLite's own ceiling so a test-imposed cap can be lifted again.
            self._default_max_pages: int = self._conn.execute("PRAGMA max_page_count").fetchone()[0]
            if max_page_count is not None:
                self._apply_max_page_count(max_page_count)
            self._last_seq = self._query_last_seq()
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ writes

    def append_batch(self, rows: Sequence[tuple[int, bytes]]) -> int:
        """Durably append ``(ts, body)`` rows in one transaction; return the last seq.

        Row *i* gets seq ``last_seq() + 1 + i``. On any error the transaction is
        rolled back and the error re-raised, so no part of the batch exists.
        An empty batch writes nothing and returns ``last_seq()``.
        """
        if not rows:
            return self._last_seq
        with self._lock:
            self._check_open()
            first = self._last_seq + 1
            try:
                # IMMEDIATE takes the write lock up front: a conflict surfaces here,
                # not halfway through the inserts.
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "INSERT INTO commands (seq, ts, body) VALUES (?, ?, ?)",
                    ((first + i, ts, body) for i, (ts, body) in enumerate(rows)),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_after_failure()
                raise
            self._last_seq = first + len(rows) - 1
            return self._last_seq

    def set_meta(self, key: str, value: bytes) -> None:
        """Durably store one small metadata value (committed like a batch)."""
        with self._lock:
            self._check_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_after_failure()
                raise

    def probe(self, headroom: int = 1 << 20) -> None:
        """Prove the journal can take writes again; raise the write error if not.

        A tiny write can succeed on a full disk (it fits in a page that already
        exists), so the probe commits ``headroom`` bytes, which needs fresh pages, and
        then deletes them in a second commit. Both commits are fsynced like real
        batches. The freed pages stay in SQLite's freelist, so the next batches reuse
        exactly the space the probe proved was there.
        """
        self.set_meta(_PROBE_KEY, bytes(headroom))
        with self._lock:
            self._check_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute("DELETE FROM meta WHERE key = ?", (_PROBE_KEY,))
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_after_failure()
                raise

    def set_max_page_count(self, pages: int | None) -> int:
        """Cap the database size in pages (``None`` lifts the cap); return the cap in force.

        Exists so tests can produce a genuine SQLITE_FULL ("database or disk is
        full") without filling a real disk. SQLite never sets the cap below the
        current size, so the returned value may be larger than asked.
        """
        with self._lock:
            self._check_open()
            return self._apply_max_page_count(self._default_max_pages if pages is None else pages)

    # ------------------------------------------------------------------- reads

    def read_from(self, after_seq: int) -> Iterator[tuple[int, int, bytes]]:
        """Stream ``(seq, ts, body)`` for every row with seq > ``after_seq``, in seq order.

        Uses a private read-only connection whose snapshot is fixed when reading
        starts: rows committed meanwhile are not seen, and a batch is never seen in
        part. The connection closes when the iterator is exhausted or closed.
        """
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only=ON")
            # One explicit read transaction pins one WAL snapshot for the whole stream.
            conn.execute("BEGIN")
            cursor = conn.execute(
                "SELECT seq, ts, body FROM commands WHERE seq > ? ORDER BY seq", (after_seq,)
            )
            while chunk := cursor.fetchmany(_READ_CHUNK):
                yield from chunk
        finally:
            conn.close()

    def last_seq(self) -> int:
        """Seq of the newest committed row (0 when the journal is empty)."""
        return self._last_seq

    def get_meta(self, key: str) -> bytes | None:
        with self._lock:
            self._check_open()
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    @property
    def path(self) -> Path:
        return self._path

    @property
    def sync(self) -> str:
        return self._sync

    # --------------------------------------------------------------- lifecycle

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- internal

    def _check_open(self) -> None:
        if self._closed:
            raise sqlite3.ProgrammingError(f"journal {self._path} is closed")

    def _query_last_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq) FROM commands").fetchone()
        return 0 if row[0] is None else int(row[0])

    def _apply_max_page_count(self, pages: int) -> int:
        if pages < 1:
            raise ValueError(f"max_page_count must be positive, got {pages}")
        return int(self._conn.execute(f"PRAGMA max_page_count={int(pages)}").fetchone()[0])

    def _rollback_after_failure(self) -> None:
        # SQLite rolls back by itself after some errors (SQLITE_FULL, IOERR) and not
        # after others (constraint violations, interrupts); cover both.
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the original error is the one worth reporting
        # Re-read the committed tail instead of trusting the in-memory counter, so the
        # next batch continues densely from whatever the database actually holds.
        with contextlib.suppress(sqlite3.Error):
            self._last_seq = self._query_last_seq()
