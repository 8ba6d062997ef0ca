"""Order-entry faults through a real `sandex serve` and the real `sandex faults` CLI, observed by
ccxt: orders rejected with a chosen DigiFinex code (per key, from the config file), and a paused
engine (order entry refused, the simulator stopped) that resumes when the profile is switched off."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import ccxt
import pytest

from tests.digifinex.dfx_support import rest
from tests.faults.fault_support import ALICE, BOB, config_with
from tests.support.server import SandexServer

REJECT_ALICE = """
[[faults]]
name = "alice-broke"
dialect = "digifinex"
api_key = "alice-key"
reject_orders_code = 20011
reject_orders_message = "Insufficient balance (sandex fault injection)"
"""

ORDER = {"symbol": "BTC_USDT", "type": "buy", "price": "60000", "amount": "0.01"}


def exchange(server: SandexServer, creds: tuple[str, str]) -> ccxt.digifinex:
    client = ccxt.digifinex({"apiKey": creds[0], "secret": creds[1], "enableRateLimit": False})
    client.urls["api"]["rest"] = server.base_url
    return client


def cli(server: SandexServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sandex.cli",
            "faults",
            *args,
            "--config",
            str(server.config_path),
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def cli_json(server: SandexServer, *args: str) -> Any:
    result = cli(server, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def health(server: SandexServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.base_url + "/healthz", timeout=5) as response:
        return json.loads(response.read())


def test_orders_rejected_with_the_chosen_code_for_one_key(tmp_path: Path) -> None:
    with SandexServer(tmp_path, config_with(REJECT_ALICE)) as server:
        alice, bob = exchange(server, ALICE), exchange(server, BOB)
        alice.load_markets()
        bob.load_markets()
        with pytest.raises(ccxt.InsufficientFunds):  # ccxt maps code 20011 to its own message
            alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)
        raw = rest(server.base_url, "POST", "/v3/spot/order/new", ORDER, ALICE)
        assert raw == {"code": 20011, "msg": "Insufficient balance (sandex fault injection)"}
        assert bob.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)["id"]
        assert alice.fetch_open_orders("BTC/USDT") == []  # nothing half-placed
        state = cli_json(server, "list")
        (profile,) = state["profiles"]
        assert profile["name"] == "alice-broke" and profile["injected"] == {"reject_order": 2}
        # Live: half of alice's orders now (a seeded draw), then none.
        cli_json(server, "set", "alice-broke", "reject_orders_probability=0.5", "seed=3")
        outcomes = []
        for _ in range(20):
            try:
                alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)
                outcomes.append("ok")
            except ccxt.InsufficientFunds:
                outcomes.append("rejected")
        assert 3 <= outcomes.count("rejected") <= 17
        cli_json(server, "disable", "alice-broke")
        assert alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)["id"]
        assert len(alice.fetch_open_orders("BTC/USDT")) == outcomes.count("ok") + 1


def test_pausing_the_engine_stops_order_entry_and_the_simulator(tmp_path: Path) -> None:
    config = config_with().replace(
        "[simulator]\nenabled = false", "[simulator]\nenabled = true\norders_per_second = 50"
    )
    with SandexServer(tmp_path, config) as server:
        alice = exchange(server, ALICE)
        alice.load_markets()
        time.sleep(0.5)
        state = cli_json(server, "set", "hold", "pause_engine=true")
        assert state["paused"] == "engine paused by fault profile 'hold'"
        assert health(server)["order_entry"] == "halted: engine paused by fault profile 'hold'"
        time.sleep(0.3)  # anything already in flight lands
        seq = health(server)["journal_seq"]
        with pytest.raises(ccxt.ExchangeError):  # code 50000
            alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)
        raw = rest(server.base_url, "POST", "/v3/spot/order/new", ORDER, ALICE)
        assert raw == {"code": 50000, "msg": "order entry halted: engine paused by fault profile 'hold'"}
        time.sleep(1.0)
        assert health(server)["journal_seq"] == seq  # the simulator stopped trading too
        listing = cli(server, "list")
        assert listing.returncode == 0 and "hold" in listing.stdout and "order entry halted" in listing.stdout
        cli_json(server, "disable", "hold")
        assert "order_entry" not in health(server)
        assert alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)["id"]
        time.sleep(1.0)
        assert health(server)["journal_seq"] > seq + 5


def test_cli_set_validates_like_the_config_and_needs_a_running_server(tmp_path: Path) -> None:
    with SandexServer(tmp_path, config_with()) as server:
        bad = cli(server, "set", "x", "delay_ms=-5")
        assert bad.returncode == 1 and "delay_ms" in bad.stderr and "must be >= 0" in bad.stderr
        bad = cli(server, "set", "x", "colour=blue")
        assert bad.returncode == 1 and "colour" in bad.stderr
        assert cli_json(server, "list")["profiles"] == []
        state = cli_json(server, "set", "x", "dialect=infoway", "api_key=alice-key", "drop_every_s=2.5")
        (profile,) = state["profiles"]
        assert (profile["dialect"], profile["api_key"], profile["drop_every_s"], profile["enabled"]) == (
            "infoway",
            "alice-key",
            2.5,
            True,
        )
        state = cli_json(server, "set", "x", "api_key=")  # unset: the whole dialect
        assert state["profiles"][0]["api_key"] is None and state["profiles"][0]["drop_every_s"] == 2.5
        assert cli_json(server, "disable", "x")["profiles"][0]["enabled"] is False
        assert cli_json(server, "enable", "x")["profiles"][0]["enabled"] is True
        missing = cli(server, "enable", "nope")
        assert missing.returncode == 1 and "no fault profile named 'nope'" in missing.stderr
        assert cli_json(server, "delete", "x")["profiles"] == []
    stopped = cli(server, "list")
    assert stopped.returncode == 1 and "no server is running" in stopped.stderr
