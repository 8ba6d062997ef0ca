"""The crash-consistency harness (tests/chaos/chaos_harness.py) as part of the test suite.

CI runs a few kill/restart cycles; the long mode is the same harness with more:
    SANDEX_CHAOS_CYCLES=50 .venv/bin/pytest tests/chaos/test_chaos_crash.py
    .venv/bin/python -m tests.chaos.chaos_harness --cycles 50        (prints each cycle)
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.chaos.chaos_harness import run

CYCLES = int(os.environ.get("SANDEX_CHAOS_CYCLES", "4"))
SEED = int(os.environ.get("SANDEX_CHAOS_SEED", "20240607"))


async def test_sigkill_under_mixed_load_loses_nothing_and_half_applies_nothing(tmp_path: Path) -> None:
    history = await run(CYCLES, SEED, tmp_path, log=lambda line: None)
    assert len(history) == CYCLES + 1  # a check after every restart, and one at the end
    final = history[-1]
    # The load really happened, on every dialect, and the checks had something to check.
    assert final["orders"] >= 20 * CYCLES and final["trades_seen"] > 0 and final["iw_trades_seen"] > 0
    assert final["tasks"] > 0 and final["task_changes"] > final["tasks"]  # created, and toggled
    assert [h["seq"] for h in history] == sorted(h["seq"] for h in history)
