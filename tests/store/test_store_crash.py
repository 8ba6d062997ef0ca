"""SIGKILL mid-stream: every acknowledged command survives, with the right body."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandex.store.journal import Journal

CHILD = Path(__file__).with_name("_append_until_killed.py")


def test_every_acknowledged_command_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    output = bytearray()
    seen = 0
    deadline = time.monotonic() + 60
    try:
        while seen < 3000:  # let it run well past the first few batches
            line = child.stdout.readline()
            assert line, f"child exited early: {child.stderr.read().decode() if child.stderr else ''}"
            output += line
            seen += 1
            assert time.monotonic() < deadline
    finally:
        os.kill(child.pid, signal.SIGKILL)
    rest, _ = child.communicate()
    output += rest
    assert child.returncode == -signal.SIGKILL

    # Everything printed was acknowledged; the last line may be torn by the kill.
    acked: dict[int, str] = {}
    for text in output.decode().split("\n")[:-1]:
        seq_text, body = text.split(" ")
        acked[int(seq_text)] = body
    assert len(acked) >= 3000

    with Journal(path) as journal:
        stored = {seq: body.decode() for seq, _, body in journal.read_from(0)}
        last = journal.last_seq()
    assert sorted(stored) == list(range(1, last + 1))  # dense, no holes
    missing = {seq: body for seq, body in acked.items() if stored.get(seq) != body}
    assert not missing, f"{len(missing)} acknowledged commands lost or altered"
    # Per writer, bodies are journaled in the order that writer issued them.
    position: dict[str, int] = {}
    for seq in sorted(stored):
        writer, index = stored[seq].split("-")
        assert int(index) == position.get(writer, -1) + 1
        position[writer] = int(index)
