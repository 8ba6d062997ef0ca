"""DataDir: layout, the single-server lock, and server.json."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sandex.store.datadir import DataDir, DataDirLocked, ServerInfo

HOLD_LOCK = """
import sys, time
from sandex.store.datadir import DataDir
d = DataDir(sys.argv[1])
d.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_layout(tmp_path: Path) -> None:
    d = DataDir(tmp_path / "a" / "b")
    assert d.path.is_dir()
    assert d.journal_path == d.path / "journal.sqlite"
    assert d.snapshots_path == d.path / "snapshots"
    assert d.lock_path == d.path / "LOCK"


def test_second_holder_in_process_is_refused(tmp_path: Path) -> None:
    first, second = DataDir(tmp_path), DataDir(tmp_path)
    assert not second.is_locked_by_other()
    first.acquire()
    assert first.locked
    assert not first.is_locked_by_other()  # we hold it ourselves
    assert second.is_locked_by_other()
    with pytest.raises(DataDirLocked, match=str(tmp_path)) as caught:
        second.acquire()
    assert f"pid {os.getpid()}" in str(caught.value)
    first.release()
    assert not second.is_locked_by_other()
    second.acquire()
    second.release()


def test_lock_held_by_another_process_and_freed_when_it_dies(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        d = DataDir(tmp_path)
        assert d.is_locked_by_other()
        with pytest.raises(DataDirLocked, match=f"pid {child.pid}"):
            d.acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # The kernel drops a flock with its process: no stale lock after a crash.
    assert not d.is_locked_by_other()
    d.acquire()
    d.release()


def test_server_info_roundtrip(tmp_path: Path) -> None:
    d = DataDir(tmp_path)
    assert d.read_server_info() is None
    d.write_server_info("127.0.0.1", 8765)
    assert d.read_server_info() == ServerInfo("127.0.0.1", 8765, os.getpid())
    d.server_info_path.write_text("{not json")
    assert d.read_server_info() is None
    d.remove_server_info()
    assert d.read_server_info() is None


def test_context_manager_holds_lock_and_cleans_up(tmp_path: Path) -> None:
    other = DataDir(tmp_path)
    with DataDir(tmp_path) as d:
        d.write_server_info("0.0.0.0", 9000)
        assert other.is_locked_by_other()
    assert not other.is_locked_by_other()
    assert not d.server_info_path.exists()
