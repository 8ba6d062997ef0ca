"""GroupCommitter: batching, ordering, acks only after commit, halting and recovery."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from sandex.store.group_commit import GroupCommitter, JournalUnavailable
from sandex.store.journal import Journal


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


@pytest.fixture
async def committer(journal: Journal) -> AsyncIterator[GroupCommitter]:
    gc = GroupCommitter(journal)
    yield gc
    await gc.close()


def journal_bodies(journal: Journal) -> dict[int, bytes]:
    return {seq: body for seq, _, body in journal.read_from(0)}


class SlowJournal(Journal):
    """A journal whose writes take a while, to observe what happens meanwhile."""

    delay = 0.2

    def append_batch(self, rows: Sequence[tuple[int, bytes]]) -> int:
        time.sleep(self.delay)
        return super().append_batch(rows)


class BrokenJournal(Journal):
    """A journal whose next writes fail the way a read-only database does."""

    error: Exception | None = None

    def append_batch(self, rows: Sequence[tuple[int, bytes]]) -> int:
        if self.error is not None:
            raise self.error
        return super().append_batch(rows)

    def probe(self, headroom: int = 1 << 20) -> None:
        if self.error is not None:
            raise self.error
        super().probe(headroom)


async def test_append_returns_dense_seqs_in_submission_order(
    committer: GroupCommitter, journal: Journal
) -> None:
    futures = [committer.submit(i, f"cmd-{i}".encode()) for i in range(10_000)]
    seqs = await asyncio.gather(*futures)
    assert seqs == list(range(1, 10_001))
    assert journal_bodies(journal) == {i + 1: f"cmd-{i}".encode() for i in range(10_000)}
    assert [ts for _, ts, _ in journal.read_from(0)] == list(range(10_000))
    assert await committer.append(0, b"one more") == 10_001


async def test_futures_resolve_in_seq_order(committer: GroupCommitter) -> None:
    resolved: list[int] = []
    futures = [committer.submit(0, b"x") for _ in range(3000)]
    for f in futures:
        f.add_done_callback(lambda done: resolved.append(done.result()))
    await asyncio.gather(*futures)
    assert resolved == list(range(1, 3001))


async def test_concurrent_appends_share_fsyncs(journal: Journal) -> None:
    commits: list[tuple[int, float]] = []
    gc = GroupCommitter(journal, on_commit=lambda rows, secs: commits.append((rows, secs)))
    writers, per_writer = 1000, 5

    async def writer(w: int) -> list[tuple[int, bytes]]:
        out = []
        for i in range(per_writer):
            body = f"{w}:{i}".encode()
            out.append((await gc.append(i, body), body))
        return out

    results = await asyncio.gather(*(writer(w) for w in range(writers)))
    await gc.close()
    total = writers * per_writer
    assert gc.rows == total == sum(rows for rows, _ in commits)
    assert gc.batches == len(commits)
    assert gc.batches <= total // 20, f"{gc.batches} batches for {total} rows"
    assert all(secs >= 0 for _, secs in commits)
    # Each writer's commands are journaled in the order that writer issued them.
    stored = journal_bodies(journal)
    for acked in results:
        assert [seq for seq, _ in acked] == sorted(seq for seq, _ in acked)
        assert all(stored[seq] == body for seq, body in acked)


async def test_max_batch_caps_rows_per_transaction(journal: Journal) -> None:
    sizes: list[int] = []
    gc = GroupCommitter(journal, max_batch=100, on_commit=lambda rows, _: sizes.append(rows))
    assert await asyncio.gather(*(gc.submit(0, b"x") for _ in range(1050))) == list(range(1, 1051))
    await gc.close()
    assert max(sizes) == 100
    assert sum(sizes) == 1050


async def test_writes_never_block_the_event_loop_and_arrivals_form_the_next_batch(
    tmp_path: Path,
) -> None:
    journal = SlowJournal(tmp_path / "journal.sqlite")
    sizes: list[int] = []
    gc = GroupCommitter(journal, on_commit=lambda rows, _: sizes.append(rows))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    first = gc.submit(0, b"first")
    await asyncio.sleep(0.05)  # the first batch (one row) is now being written, slowly
    later = [gc.submit(0, b"later") for _ in range(200)]
    assert not first.done()
    assert await first == 1
    assert await asyncio.gather(*later) == list(range(2, 202))
    ticking.cancel()
    await gc.close()
    journal.close()
    assert sizes == [1, 200]
    assert ticks >= 20  # ~0.4 s of slow writes, and the loop kept ticking throughout


async def test_nothing_is_acknowledged_before_it_is_committed(tmp_path: Path) -> None:
    journal = SlowJournal(tmp_path / "journal.sqlite")
    gc = GroupCommitter(journal)
    checks: list[bool] = []

    def on_done(done: asyncio.Future[int]) -> None:
        seq = done.result()
        # Another connection must already see the row when its ack fires.
        checks.append(any(s == seq for s, _, _ in journal.read_from(seq - 1)))

    for _ in range(20):
        gc.submit(0, b"x").add_done_callback(on_done)
        await asyncio.sleep(0.03)
    await gc.close()
    journal.close()
    assert checks == [True] * 20


async def test_close_flushes_everything_submitted_then_refuses(journal: Journal) -> None:
    gc = GroupCommitter(journal, max_batch=64)
    futures = [gc.submit(0, bytes([i % 256])) for i in range(1000)]
    await gc.close()
    assert all(f.done() for f in futures)
    assert [f.result() for f in futures] == list(range(1, 1001))
    assert journal.last_seq() == 1000
    with pytest.raises(JournalUnavailable, match="closed"):
        gc.submit(0, b"late")
    await gc.close()  # idempotent


async def test_a_cancelled_waiter_does_not_unjournal_its_command(
    committer: GroupCommitter, journal: Journal
) -> None:
    task = asyncio.create_task(committer.append(0, b"cancelled waiter"))
    await asyncio.sleep(0)  # the command is submitted...
    task.cancel()  # ...then its waiter goes away
    assert await committer.append(0, b"next") == 2
    assert journal_bodies(journal) == {1: b"cancelled waiter", 2: b"next"}


async def test_bad_values_are_refused_without_halting(committer: GroupCommitter) -> None:
    with pytest.raises(TypeError, match="bytes"):
        committer.submit(0, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ts"):
        committer.submit(1.5, b"x")  # type: ignore[arg-type]
    assert not committer.halted
    assert await committer.append(0, b"fine") == 1


async def test_disk_full_halts_then_probe_resumes(tmp_path: Path) -> None:
    # A genuine SQLITE_FULL: SQLite itself refuses to grow the file past the cap.
    journal = Journal(tmp_path / "journal.sqlite", max_page_count=64)
    gc = GroupCommitter(journal, max_batch=200, retry_interval=0.05)
    acked: dict[int, bytes] = {}
    failed: list[tuple[bytes, JournalUnavailable]] = []

    async def one(i: int) -> None:
        body = f"cmd-{i:06d}-".encode() + bytes(400)
        try:
            acked[await gc.append(i, body)] = body
        except JournalUnavailable as error:
            failed.append((body, error))

    i = 0
    while not gc.halted:
        await asyncio.gather(*(one(i + k) for k in range(300)))
        i += 300
        assert i < 30_000, "the page cap never filled up"

    assert acked and failed
    reason = gc.halt_reason
    assert reason is not None
    assert "database or disk is full" in reason and "halted" in reason
    assert all(error.reason == reason for _, error in failed)
    assert gc.failed_batches == 1

    # Nothing acknowledged is missing, nothing refused is present, seqs stay dense.
    stored = journal_bodies(journal)
    assert stored == acked
    assert sorted(stored) == list(range(1, len(stored) + 1))
    assert not {body for body, _ in failed} & set(stored.values())

    # While halted, appends fail at once instead of queueing.
    started = time.perf_counter()
    with pytest.raises(JournalUnavailable, match="disk is full"):
        await gc.append(0, b"refused")
    assert time.perf_counter() - started < 0.05

    # The probe keeps failing while the disk is still full...
    await asyncio.sleep(0.3)
    assert gc.halted

    # ...and clears the halt on its own once space is back.
    journal.set_max_page_count(None)
    deadline = time.monotonic() + 5
    while gc.halted:
        assert time.monotonic() < deadline, "probe never cleared the halt"
        await asyncio.sleep(0.02)
    assert gc.halt_reason is None
    assert await gc.append(0, b"after recovery") == len(acked) + 1
    await gc.close()
    assert journal_bodies(journal)[len(acked) + 1] == b"after recovery"
    journal.close()


async def test_failed_batch_also_fails_commands_queued_behind_it(tmp_path: Path) -> None:
    journal = BrokenJournal(tmp_path / "journal.sqlite")
    gc = GroupCommitter(journal, max_batch=10, retry_interval=0.05)
    assert await gc.append(0, b"before") == 1
    journal.error = sqlite3.OperationalError("attempt to write a readonly database")
    futures = [gc.submit(0, b"x") for _ in range(35)]  # four batches' worth
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(r, JournalUnavailable) for r in results)
    assert str(results[0]) == (
        "journal write failed: attempt to write a readonly database; order entry halted"
    )
    assert gc.failed_batches == 1  # the first failure stops the writer; the rest never ran
    assert journal.last_seq() == 1
    journal.error = None
    while gc.halted:
        await asyncio.sleep(0.02)
    assert await gc.append(0, b"after") == 2
    await gc.close()
    journal.close()


async def test_close_while_halted_stops_the_probe(tmp_path: Path) -> None:
    journal = BrokenJournal(tmp_path / "journal.sqlite")
    gc = GroupCommitter(journal, retry_interval=0.01)
    journal.error = sqlite3.OperationalError("disk I/O error")
    with pytest.raises(JournalUnavailable, match="disk I/O error"):
        await gc.append(0, b"x")
    await asyncio.sleep(0.05)
    await gc.close()
    assert gc.halted
    journal.close()
    assert not any(t.name.startswith("journal-writer") for t in threading.enumerate())
