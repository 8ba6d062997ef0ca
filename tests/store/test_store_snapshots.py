"""SnapshotStore: atomic saves, newest-two retention, corrupt files skipped."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sandex.store import snapshots as snapshots_module
from sandex.store.snapshots import SnapshotStore


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


def test_empty_store_has_no_latest(store: SnapshotStore) -> None:
    assert store.directory.is_dir()
    assert store.latest() is None


def test_save_then_latest_roundtrip(store: SnapshotStore) -> None:
    path = store.save(42, b"engine state")
    assert path.name == "snapshot-000000000042.bin"
    assert store.latest() == (42, b"engine state")
    store.save(43, b"")
    assert store.latest() == (43, b"")


def test_keeps_only_the_newest_two(store: SnapshotStore) -> None:
    for seq in (10, 20, 30, 40):
        store.save(seq, f"state@{seq}".encode())
    assert store.seqs() == [40, 30]
    assert sorted(p.name for p in store.directory.iterdir()) == [
        "snapshot-000000000030.bin",
        "snapshot-000000000040.bin",
    ]
    assert store.latest() == (40, b"state@40")


def test_flipped_bit_is_detected_and_the_older_snapshot_used(store: SnapshotStore) -> None:
    store.save(1, b"good old state")
    newest = store.save(2, b"newer state!!")
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0x01
    newest.write_bytes(bytes(data))
    assert store.latest() == (1, b"good old state")


@pytest.mark.parametrize("keep_bytes", [0, 10, 40, 45])
def test_torn_file_is_skipped(store: SnapshotStore, keep_bytes: int) -> None:
    store.save(1, b"complete")
    newest = store.save(2, b"x" * 100)
    newest.write_bytes(newest.read_bytes()[:keep_bytes])
    assert store.latest() == (1, b"complete")


def test_trailing_garbage_is_skipped(store: SnapshotStore) -> None:
    store.save(1, b"complete")
    newest = store.save(2, b"body")
    newest.write_bytes(newest.read_bytes() + b"junk")
    assert store.latest() == (1, b"complete")


def test_renamed_file_is_skipped(store: SnapshotStore) -> None:
    store.save(5, b"five")
    store.path_for(5).rename(store.path_for(9))  # header still says 5
    assert store.latest() is None


def test_nothing_valid_means_none(store: SnapshotStore) -> None:
    store.path_for(7).write_bytes(b"not a snapshot at all, just some bytes lying here")
    (store.directory / "notes.txt").write_text("ignored")
    assert store.latest() is None


def test_crash_before_rename_leaves_previous_snapshot(
    store: SnapshotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(1, b"before")

    def power_cut(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(snapshots_module.os, "replace", power_cut)
    with pytest.raises(OSError, match="simulated"):
        store.save(2, b"after")
    monkeypatch.undo()
    assert store.seqs() == [1]
    assert sorted(p.name for p in store.directory.iterdir()) == ["snapshot-000000000001.bin"]
    assert store.latest() == (1, b"before")


def test_temp_file_left_by_a_dead_process_is_ignored_then_cleaned(store: SnapshotStore) -> None:
    store.save(1, b"real")
    leftover = store.directory / ".snapshot-000000000002-99999.tmp"
    leftover.write_bytes(b"half written")
    assert store.latest() == (1, b"real")
    store.save(3, b"next")
    assert not leftover.exists()
    assert store.latest() == (3, b"next")


def test_save_writes_the_documented_layout(store: SnapshotStore) -> None:
    data = store.save(258, b"payload").read_bytes()
    assert data[:8] == b"SDXSNAP\x01"
    assert int.from_bytes(data[8:16], "big") == 258
    assert int.from_bytes(data[16:24], "big") == len(b"payload")
    assert data[40:] == b"payload"


def test_seq_must_fit_the_file_name(store: SnapshotStore) -> None:
    with pytest.raises(ValueError):
        store.save(-1, b"")
    with pytest.raises(ValueError):
        store.save(10**12, b"")


async def test_big_snapshot_is_saved_off_the_event_loop(store: SnapshotStore) -> None:
    body = os.urandom(64 << 20)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.to_thread(store.save, 100, body)
    ticking.cancel()
    assert ticks > 0
    assert await asyncio.to_thread(store.latest) == (100, body)
