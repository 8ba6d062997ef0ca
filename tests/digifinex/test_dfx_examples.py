"""The examples the docs point to run against a live sandex (simulator on) and do what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.digifinex.dfx_support import with_sections
from tests.support.server import ROOT, SandexServer


def run(example: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_examples_run_against_a_live_venue(tmp_path: Path) -> None:
    config = with_sections("", simulator="enabled = true\norders_per_second = 40")
    with SandexServer(tmp_path, config) as server:
        creds = ("--key", "alice-key", "--secret", "alice-secret")
        out = run("digifinex_ccxt.py", "--url", server.base_url, *creds)
        assert "after cancel: canceled" in out and "(closed)" in out
        assert "BTC: free" in out and "USDT: free" in out
        out = run("digifinex_ws.py", "--url", server.ws_url("/ws/v1/"), "--seconds", "3", *creds)
        assert "ping -> pong" in out and "'status': 'success'" in out
        summary = out.strip().splitlines()[-1]
        updates = int(summary.split()[0])
        assert updates > 5 and "best None" not in summary, summary
