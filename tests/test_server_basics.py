"""The process as a user meets it: health, metrics, operator API and CLI, config errors."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.server import BASE_CONFIG, SandexServer


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandex.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_health_metrics_and_accounts_cli_against_running_server(tmp_path: Path) -> None:
    with SandexServer(tmp_path) as server:
        status, body = get(f"{server.base_url}/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = get(f"{server.base_url}/metrics")
        text = body.decode()
        assert "sandex_engine_events_total" in text and "sandex_journal_commit_seconds" in text
        common = ["--config", str(server.config_path), "--data-dir", str(server.data_dir)]
        listed = cli("accounts", "list", "--json", *common)
        assert listed.returncode == 0, listed.stderr
        names = {a["name"] for a in json.loads(listed.stdout)}
        assert {"alice", "bob"} <= names
        created = cli("accounts", "create", "carol", "--balance", "USDT=250.5", "--json", *common)
        assert created.returncode == 0, created.stderr
        carol = json.loads(created.stdout)
        assert carol["wallets"][0]["balances"]["USDT"]["free"] == "250.5" and carol["secret"]
        credited = cli("accounts", "credit", "--json", *common, "--", "carol", "USDT", "-50.5")
        assert json.loads(credited.stdout)[0]["wallets"][0]["balances"]["USDT"]["free"] == "200"
        # Those commands came from a client (the CLI, through the operator API): their
        # acknowledgement times are in the ack histogram.
        _, body = get(f"{server.base_url}/metrics")
        acks = [
            line for line in body.decode().splitlines() if line.startswith("sandex_command_ack_seconds_count")
        ]
        assert acks and float(acks[0].split()[-1]) >= 2, acks
    # With the server gone, the CLI opens the data dir itself and sees the same state.
    listed = cli(
        "accounts", "list", "--json", "--config", str(server.config_path), "--data-dir", str(server.data_dir)
    )
    carol = next(a for a in json.loads(listed.stdout) if a["name"] == "carol")
    assert carol["wallets"][0]["balances"]["USDT"]["free"] == "200"


def test_bad_config_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        BASE_CONFIG.replace(
            "price_precision = 2\namount_precision = 6", "prize_precision = 2\namount_precision = 6"
        )
    )
    result = cli("serve", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "prize_precision" in result.stderr


def test_demo_venue_prints_its_credentials(tmp_path: Path) -> None:
    server = SandexServer(tmp_path, "")
    server.config_path.unlink()
    server.config_path.write_text("")  # an empty file is the demo venue
    with server:
        log = server.log()
        assert "demo account" in log and "api_key=" in log and "secret=" in log
        _status, body = get(f"{server.base_url}/admin/accounts")
        assert any(a["name"] == "demo" for a in json.loads(body))
