"""Group commit: many commands per fsync, acknowledged only once durable.

An fsync costs about the same for one row as for five thousand, so instead of one
transaction per command the committer keeps at most one batch in flight on a
dedicated writer thread and lets every command submitted meanwhile pile up for the
next one. Under light load a command is written alone (lowest latency); under heavy
load batches grow on their own (highest throughput). No timer, no tuning.

Failure policy: a venue that keeps matching orders it cannot persist would hand out
acknowledgements that recovery later takes back. So the first failed write *halts*
the committer: the failed batch and everything queued behind it get
``JournalUnavailable``, new submissions are refused at once, and a background probe
retries a real write every ``retry_interval`` seconds until the journal takes writes
again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Final

from sandex.store.journal import Journal

__all__ = ["GroupCommitter", "JournalUnavailable"]

log = logging.getLogger(__name__)

OnCommit = Callable[[int, float], None]

_PROBE_HEADROOM: Final = 1 << 20


class JournalUnavailable(Exception):
    """The command was not journaled and therefore must not be applied or acknowledged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Pending:
    """One submitted command waiting for its batch."""

    __slots__ = ("body", "future", "ts")

    def __init__(self, ts: int, body: bytes, future: asyncio.Future[int]) -> None:
        self.ts = ts
        self.body = body
        self.future = future


class GroupCommitter:
    """Batches ``(ts, body)`` appends onto a :class:`Journal` from an asyncio loop.

    ``submit``/``append`` must be called from the event loop thread. Futures resolve
    in seq order (their done-callbacks run in seq order too), and seq order is
    submission order. ``on_settled``, if given, is called on the loop right after each
    batch's futures are settled (resolved or failed): the venue applies the batch there,
    a loop pass sooner than a done-callback would run. A submitted command is always written unless the committer
    halts; cancelling its future only stops *you* from hearing the seq — the command
    is still journaled and recovery will replay it.

    The committer does not own the journal: ``close()`` flushes and stops the writer
    thread, and the caller closes the journal afterwards.
    """

    def __init__(
        self,
        journal: Journal,
        *,
        max_batch: int = 5000,
        on_commit: OnCommit | None = None,
        on_settled: Callable[[], None] | None = None,
        retry_interval: float = 1.0,
        probe_headroom: int = _PROBE_HEADROOM,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if retry_interval <= 0:
            raise ValueError(f"retry_interval must be positive, got {retry_interval}")
        self._journal = journal
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._on_settled = on_settled
        self._retry_interval = retry_interval
        self._probe_headroom = probe_headroom
        # One thread: SQLite has one writer anyway, and a single thread keeps batches
        # (and the probe) strictly ordered without any extra locking.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="journal-writer"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Pending] = []
        self._flush_scheduled = False
        self._in_flight: concurrent.futures.Future[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._halt_reason: str | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._batches = 0
        self._rows = 0
        self._failed_batches = 0

    # ------------------------------------------------------------------ public

    def submit(self, ts: int, body: bytes) -> asyncio.Future[int]:
        """Queue one command; the returned future resolves to its seq once durable.

        Raises ``JournalUnavailable`` right away while halted or after ``close()``.
        The future fails with ``JournalUnavailable`` if its batch cannot be written.
        """
        if self._halt_reason is not None:
            raise JournalUnavailable(self._halt_reason)
        if self._closing:
            raise JournalUnavailable("journal is closed; order entry halted")
        # Reject bad values here: inside a batch one bad row would fail (and halt)
        # everybody else's commands with it.
        if type(body) is not bytes:
            raise TypeError(f"journal body must be bytes, got {type(body).__name__}")
        if type(ts) is not int:
            raise TypeError(f"journal ts must be int, got {type(ts).__name__}")
        loop = self._bind_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.append(_Pending(ts, body, future))
        if self._in_flight is None and not self._flush_scheduled:
            # Defer to the next loop iteration so commands submitted in the same tick
            # (a burst from one frame, a pipeline stage) share the first batch too.
            self._flush_scheduled = True
            self._idle.clear()
            loop.call_soon(self._start_batch)
        return future

    async def append(self, ts: int, body: bytes) -> int:
        """Journal one command and return its seq once it is durable."""
        return await self.submit(ts, body)

    async def close(self) -> None:
        """Flush everything already submitted, then stop the writer thread.

        Submissions made after ``close()`` starts are refused. Idempotent.
        """
        if self._closed:
            return
        self._closing = True
        await self._idle.wait()
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        # Joining the thread is quick (nothing is queued), but do it off the loop anyway:
        # a probe write cancelled above may still be finishing on the writer thread.
        await asyncio.to_thread(self._executor.shutdown, True)
        self._closed = True

    @property
    def halted(self) -> bool:
        return self._halt_reason is not None

    @property
    def halt_reason(self) -> str | None:
        return self._halt_reason

    @property
    def journal(self) -> Journal:
        return self._journal

    @property
    def batches(self) -> int:
        """Batches committed so far."""
        return self._batches

    @property
    def rows(self) -> int:
        """Rows committed so far."""
        return self._rows

    @property
    def failed_batches(self) -> int:
        return self._failed_batches

    @property
    def queued(self) -> int:
        """Commands waiting for the next batch (not counting the one in flight)."""
        return len(self._queue)

    # ---------------------------------------------------------------- internal

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()  # raises outside a loop: submit is loop-only
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("GroupCommitter used from two different event loops")
        return loop

    def _start_batch(self) -> None:
        self._flush_scheduled = False
        if self._in_flight is not None:
            return
        if not self._queue:
            self._idle.set()
            return
        batch = self._queue[: self._max_batch]
        del self._queue[: self._max_batch]
        rows = [(p.ts, p.body) for p in batch]
        self._in_flight = self._executor.submit(self._write, batch, rows)

    def _write(self, batch: list[_Pending], rows: list[tuple[int, bytes]]) -> None:
        # Runs on the writer thread: the only place the event loop would otherwise block.
        # It reports straight back to the loop with one call_soon_threadsafe: no executor
        # future in between, whose done-callbacks would each cost the ack another loop pass.
        started = time.perf_counter()
        outcome: tuple[int, float] | BaseException
        try:
            outcome = (self._journal.append_batch(rows), time.perf_counter() - started)
        except BaseException as error:  # reported to the loop, which halts order entry
            outcome = error
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone (shutdown mid-write): nobody left to tell
            self._loop.call_soon_threadsafe(self._finish_batch, batch, outcome)

    def _finish_batch(self, batch: list[_Pending], outcome: tuple[int, float] | BaseException) -> None:
        self._in_flight = None
        if isinstance(outcome, BaseException):
            self._halt(batch, outcome)
            self._idle.set()
            self._settled()
            return
        last_seq, seconds = outcome
        self._batches += 1
        self._rows += len(batch)
        seq = last_seq - len(batch) + 1
        for pending in batch:
            if not pending.future.done():  # a cancelled waiter just misses the news
                pending.future.set_result(seq)
            seq += 1
        if self._on_commit is not None:
            try:
                self._on_commit(len(batch), seconds)
            except Exception:  # a metrics hook must never stall the journal
                log.exception("journal on_commit hook failed")
        # The next fsync starts before the caller applies this batch, so they overlap.
        if self._queue:
            self._start_batch()
        else:
            self._idle.set()
        self._settled()

    def _settled(self) -> None:
        if self._on_settled is not None:
            try:
                self._on_settled()
            except Exception:
                log.exception("journal on_settled hook failed")

    def _halt(self, batch: list[_Pending], error: BaseException) -> None:
        self._failed_batches += 1
        reason = f"journal write failed: {_describe(error)}; order entry halted"
        self._halt_reason = reason
        log.error("%s (%d commands in the batch, %d queued behind it)", reason, len(batch), len(self._queue))
        # The queue goes too: those commands were accepted before the halt was known,
        # but writing them now would only produce more failures, and refusing them
        # keeps "halted" meaning "nothing is being journaled".
        failed = batch + self._queue
        self._queue = []
        for pending in failed:
            if not pending.future.done():
                pending.future.set_exception(JournalUnavailable(reason))
        if not self._closing:
            assert self._loop is not None
            self._probe_task = self._loop.create_task(self._probe_until_writable())

    async def _probe_until_writable(self) -> None:
        assert self._loop is not None
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                await self._loop.run_in_executor(self._executor, self._journal.probe, self._probe_headroom)
            except Exception as error:
                log.debug("journal probe failed: %s", _describe(error))
                continue
            log.warning("journal writable again after: %s; order entry resumed", self._halt_reason)
            self._halt_reason = None
            self._probe_task = None
            return


def _describe(error: BaseException) -> str:
    """A short operator-facing description of a write error."""
    if isinstance(error, sqlite3.Error | OSError):
        text = str(error) or type(error).__name__
    else:
        # Not an I/O condition we expect; name the type so it is recognisable as a bug.
        text = f"{type(error).__name__}: {error}"
    return text
