"""examples/dbot_copy_trading.py against a venue whose simulator is trading."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from decimal import Decimal
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


def _demo_holdings(server: SandexServer) -> dict[str, Decimal]:
    with urllib.request.urlopen(f"{server.base_url}/admin/accounts", timeout=5) as response:
        (demo,) = [a for a in json.loads(response.read()) if a["name"] == "demo"]
    totals: dict[str, Decimal] = {}
    for wallet in demo["wallets"]:
        for currency, balance in wallet["balances"].items():
            held = Decimal(balance["free"]) + Decimal(balance["held"])
            totals[currency] = totals.get(currency, Decimal(0)) + held
    return totals


def test_copy_trading_example_run_as_the_readme_says_leaves_the_demo_account_its_holdings(
    tmp_path: Path,
) -> None:
    """`sandex serve` (the demo venue, simulator trading) and the example with the demo key: the
    copies are small and the example cleans up, so no holding of the demo account is sold off."""
    server = SandexServer(tmp_path, "")  # an empty config file is the demo venue
    with server:
        match = re.search(r"api_key=(\w+)", server.log())
        assert match, server.log()
        before = _demo_holdings(server)
        result = subprocess.run(
            [
                sys.executable,
                str(EXAMPLE),
                "--apikey",
                match.group(1),
                "--url",
                server.base_url,
                "--max",
                "12",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1].endswith("disabled and deleted"), result.stdout
        after = _demo_holdings(server)
    assert set(after) >= set(before)
    for currency, amount in before.items():
        # Each copy spends or sells a few USDT's worth: nothing the demo holds moves by 1 %.
        assert after[currency] >= amount * Decimal("0.99"), (currency, amount, after[currency], result.stdout)
