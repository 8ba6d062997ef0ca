"""examples/dbot_copy_trading.py against a venue whose simulator is trading."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from dbot_harness import ACCOUNTS, MARKETS

from tests.support.server import SandexServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dbot_copy_trading.py"
CONFIG = f'[server]\nhost = "127.0.0.1"\n[simulator]\nenabled = true\nseed = 11\nhistory = "0"\n{MARKETS}\n{ACCOUNTS}'


def test_copy_trading_example_copies_the_simulator_and_cleans_up(tmp_path: Path) -> None:
    with SandexServer(tmp_path, CONFIG) as server:
        result = subprocess.run(
            [
                sys.executable,
                str(EXAMPLE),
                "--apikey",
                "follower-key",
                "--url",
                server.base_url,
                "--max",
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("task ") and " follows 0x" in lines[0]
        notifications = lines[1:-1]
        assert len(notifications) == 3
        assert any("follow_order buy" in line and " USDT -> " in line for line in notifications), (
            notifications
        )
        assert lines[-1].endswith("disabled and deleted")
        request = urllib.request.Request(
            f"{server.base_url}/automation/follow_orders", headers={"X-API-KEY": "follower-key"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read()) == {"err": False, "res": []}
