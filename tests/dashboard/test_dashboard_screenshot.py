"""The README's screenshot, taken by the test suite's browser: a venue with the simulator
trading, an account with resting orders, a DigiFinex client subscribed, a blocked key and fault
profiles. Written to the test's folder every run; to `docs/dashboard.png` with
`SANDEX_UPDATE_SCREENSHOT=1`."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import time
import urllib.request
from pathlib import Path
from typing import Any

import ccxt
import websockets.sync.client

from tests.digifinex.dfx_support import ALICE, decode, ws_auth_params
from tests.support.server import BASE_CONFIG, SandexServer

from .browser import ConsoleLog, wait_until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
CONFIG = (
    BASE_CONFIG.replace(
        '[simulator]\nenabled = false\nhistory = "0"',
        '[simulator]\nenabled = true\nhistory = "12h"\norders_per_second = 40',
    )
    + """
[[faults]]
name = "slow-digifinex"
dialect = "digifinex"
enabled = false
delay_ms = 250
jitter_ms = 100
[[faults]]
name = "reject-bob"
dialect = "*"
api_key = "bob-key"
reject_orders_code = 50000
"""
)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def follow_alice(server: SandexServer) -> None:
    """Bob copies alice's buys: a DBot copy-trading task (its REST API, as DBot's docs show it)."""
    with urllib.request.urlopen(f"{server.base_url}/admin/accounts", timeout=10) as answer:
        accounts = {a["name"]: a for a in json.loads(answer.read())}
    task = {
        "enabled": True,
        "name": "copy alice",
        "chain": "solana",
        "targetIds": [accounts["alice"]["wallets"][0]["id"]],
        "buySettings": {"enabled": True, "maxBuyAmountUI": "500", "buyAmountType": "fixed_amount"},
        "sellSettings": {"enabled": True, "mode": "mixed", "sellAmountType": "all"},
    }
    request = urllib.request.Request(
        f"{server.base_url}/automation/follow_order",
        data=json.dumps(task).encode(),
        method="POST",
        headers={"X-API-KEY": "bob-key", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["err"] is False


def test_a_screenshot_of_the_dashboard(browser: Any, tmp_path: Path) -> None:
    with SandexServer(tmp_path / "venue", CONFIG) as server:
        alice = ccxt.digifinex({"apiKey": ALICE[0], "secret": ALICE[1], "enableRateLimit": False})
        alice.urls["api"]["rest"] = server.base_url
        follow_alice(server)
        book = alice.fetch_order_book("BTC/USDT")
        while min(len(book["bids"]), len(book["asks"])) < 5:  # the simulator's maker has just begun
            time.sleep(0.2)
            book = alice.fetch_order_book("BTC/USDT")
        # Inside the ladder's rows but behind the simulator's best levels (not filled at once).
        bid, ask = float(book["bids"][4][0]), float(book["asks"][4][0])
        alice.create_order("BTC/USDT", "limit", "buy", 0.05, round(bid - 0.01, 2))
        alice.create_order("BTC/USDT", "limit", "sell", 0.04, round(ask + 0.01, 2))
        alice.create_order("BTC/USDT", "limit", "buy", 0.01, round(ask * 1.001, 2))  # takes: a fill
        with websockets.sync.client.connect(server.ws_url("/ws/v1/"), compression=None) as ws:
            ws.send(json.dumps({"id": 1, "method": "server.auth", "params": ws_auth_params(*ALICE)}))
            decode(ws.recv(timeout=5))
            for i, channel in enumerate(("depth", "trades", "order"), start=2):
                ws.send(json.dumps({"id": i, "method": f"{channel}.subscribe", "params": ["BTC_USDT"]}))
            with contextlib.suppress(ccxt.BaseError):  # more than alice has: the engine refuses it
                alice.create_order("BTC/USDT", "limit", "buy", 100, round(bid - 1, 2))
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
            log = ConsoleLog(page)
            page.goto(f"{server.base_url}/dashboard#BTC_USDT")
            wait_until(page, "window.sandexDashboard.stats.bars > 100", 15)
            wait_until(page, "document.querySelectorAll('[data-testid=ladder] .ladder-row.own').length > 0")
            # Bob's copy-trading task, following alice, with the result of copying her buy.
            tasks = "document.querySelector('[data-testid=tasks-bob]')?.textContent || ''"
            text = wait_until(page, f"(({tasks}).includes('done buy BTC_USDT')) && ({tasks})")
            assert "copy alice" in text and "alice" in text.replace("copy alice", "")
            page.wait_for_timeout(2500)  # a few rounds of trading, the rates filled in
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            page.close()
    assert log.errors == []
    width, height = png_size(shot)
    assert width == 1440 and height >= 1000
    if os.environ.get("SANDEX_UPDATE_SCREENSHOT") == "1":
        DOCS.parent.mkdir(exist_ok=True)
        DOCS.write_bytes(shot.read_bytes())
