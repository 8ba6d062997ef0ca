"""Journal: dense seqs, atomic batches, durability across reopen, fast streaming reads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from sandex.store.journal import Journal


def rows_of(journal: Journal, after: int = 0) -> list[tuple[int, int, bytes]]:
    return list(journal.read_from(after))


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal(tmp_path / "journal.sqlite")
    yield j
    j.close()


def test_seqs_are_dense_from_one_and_keep_append_order(journal: Journal) -> None:
    assert journal.last_seq() == 0
    assert journal.append_batch([(10, b"a"), (11, b"b")]) == 2
    assert journal.append_batch([(12, b"c")]) == 3
    assert journal.append_batch([(13, b"d"), (14, b"e"), (15, b"f")]) == 6
    assert rows_of(journal) == [
        (1, 10, b"a"),
        (2, 11, b"b"),
        (3, 12, b"c"),
        (4, 13, b"d"),
        (5, 14, b"e"),
        (6, 15, b"f"),
    ]
    assert journal.last_seq() == 6


def test_empty_batch_writes_nothing(journal: Journal) -> None:
    journal.append_batch([(1, b"x")])
    assert journal.append_batch([]) == 1
    assert rows_of(journal) == [(1, 1, b"x")]


def test_read_from_returns_only_the_tail(journal: Journal) -> None:
    journal.append_batch([(i, bytes([i])) for i in range(10)])
    assert [seq for seq, _, _ in journal.read_from(7)] == [8, 9, 10]
    assert rows_of(journal, 10) == []
    assert rows_of(journal, 99) == []


def test_bodies_are_opaque_bytes(journal: Journal) -> None:
    bodies = [b"", b"\x00\xff" * 1000, bytes(range(256)), b"\x93\xa3msgpack"]
    journal.append_batch([(-1, b) for b in bodies] + [(2**62, b"big ts")])
    got = rows_of(journal)
    assert [body for _, _, body in got] == [*bodies, b"big ts"]
    assert got[-1][1] == 2**62


def test_reopen_keeps_rows_meta_and_seq_counter(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as j:
        j.append_batch([(1, b"one"), (2, b"two")])
        j.set_meta("snapshot_seq", b"2")
    with Journal(path) as j:
        assert j.last_seq() == 2
        assert j.get_meta("snapshot_seq") == b"2"
        assert j.append_batch([(3, b"three")]) == 3
        assert rows_of(j) == [(1, 1, b"one"), (2, 2, b"two"), (3, 3, b"three")]


def test_meta_roundtrip_and_overwrite(journal: Journal) -> None:
    assert journal.get_meta("missing") is None
    journal.set_meta("k", b"v1")
    journal.set_meta("k", b"v2")
    assert journal.get_meta("k") == b"v2"


def test_database_is_wal_with_requested_sync(tmp_path: Path) -> None:
    full = Journal(tmp_path / "a.sqlite")
    normal = Journal(tmp_path / "b.sqlite", sync="normal")
    try:
        # synchronous is per connection, so ask the journal's own write connection.
        assert full._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert normal._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        other = sqlite3.connect(tmp_path / "a.sqlite")
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()
    finally:
        full.close()
        normal.close()
    with pytest.raises(ValueError, match="sync"):
        Journal(tmp_path / "c.sqlite", sync="off")


def test_failed_batch_leaves_no_trace_and_seqs_stay_dense(journal: Journal) -> None:
    journal.append_batch([(1, b"ok")])
    bad = [(2, b"fine"), (3, None), (4, b"never")]  # NULL body violates NOT NULL mid-batch
    with pytest.raises(sqlite3.IntegrityError):
        journal.append_batch(bad)  # type: ignore[arg-type]
    assert journal.last_seq() == 1
    assert rows_of(journal) == [(1, 1, b"ok")]
    assert journal.append_batch([(5, b"next")]) == 2
    assert rows_of(journal) == [(1, 1, b"ok"), (2, 5, b"next")]


def test_disk_full_rolls_back_the_whole_batch(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite", max_page_count=30) as j:
        j.append_batch([(1, b"small")])
        big = [(i, bytes(1000)) for i in range(500)]  # ~500 KB, far over a 30-page cap
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            j.append_batch(big)
        assert j.last_seq() == 1
        assert rows_of(j) == [(1, 1, b"small")]
        j.set_max_page_count(None)
        assert j.append_batch(big) == 501
        assert len(rows_of(j)) == 501


def test_probe_needs_real_headroom(tmp_path: Path) -> None:
    with Journal(tmp_path / "journal.sqlite", max_page_count=30) as j:
        j.probe(headroom=1024)  # fits
        with pytest.raises(sqlite3.OperationalError, match="full"):
            j.probe(headroom=1 << 20)
        j.set_max_page_count(None)
        j.probe(headroom=1 << 20)
        assert j.get_meta("_probe") is None  # the probe cleans up after itself
        assert j.last_seq() == 0


def test_reader_never_sees_part_of_a_batch(journal: Journal) -> None:
    batch_size, batches = 500, 60
    stop = threading.Event()
    seen: list[int] = []

    def read_repeatedly() -> None:
        while not stop.is_set():
            seen.append(sum(1 for _ in journal.read_from(0)))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for b in range(batches):
            journal.append_batch([(b, bytes(50))] * batch_size)
    finally:
        stop.set()
        reader.join()
    assert seen, "reader never ran"
    assert all(count % batch_size == 0 for count in seen), sorted(set(seen))


def test_a_reader_keeps_its_snapshot_while_writes_continue(journal: Journal) -> None:
    journal.append_batch([(i, b"old") for i in range(5000)])
    stream = journal.read_from(0)
    first = next(stream)
    journal.append_batch([(0, b"new")] * 100)
    rest = list(stream)
    assert first[0] == 1
    assert len(rest) == 4999
    assert all(body == b"old" for _, _, body in rest)
    assert journal.last_seq() == 5100


def test_closed_journal_refuses_writes(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.sqlite")
    j.close()
    j.close()  # idempotent
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        j.append_batch([(1, b"x")])


@pytest.mark.slow
def test_reads_a_million_rows_in_order(tmp_path: Path) -> None:
    # How fast is bench/journal.py's read-back figure (beside its append peer), not a timed test.
    with Journal(tmp_path / "journal.sqlite", sync="normal") as j:
        body = bytes(100)
        for _ in range(10):
            j.append_batch([(0, body)] * 100_000)
        count = 0
        last = 0
        for seq, _, _ in j.read_from(0):
            count += 1
            assert seq == last + 1
            last = seq
    assert count == last == 1_000_000
