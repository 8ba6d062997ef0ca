"""The example client in examples/ works against sandex unchanged but for its URL."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.infoway.iw_support import Venue

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "infoway_quotes.py"


async def test_example_client_receives_trades_depth_and_klines(venue: Venue) -> None:
    await venue.place("alice-key", "BTC_USDT", "buy", "64000", "0.5")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--url",
        f"ws://127.0.0.1:{venue.port}/ws",
        "--apikey",
        "alice-key",
        "--codes",
        "BTCUSDT",
        "--seconds",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.5)  # connected and subscribed by now
    await venue.trade("BTC_USDT", "65000", "0.01")
    stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    out = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert 'reply  {"code":200,"msg":"ws connect success"}' in out
    assert '"code":10001' in out and '"code":10004' in out and '"code":10007' in out
    assert "trade  BTCUSDT buy  0.01 @ 65000  (turnover 650)" in out
    assert "depth  BTCUSDT best bid 64000" in out
    assert "kline  BTCUSDT type 1" in out and "c=65000" in out
