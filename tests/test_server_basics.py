"""The process as a user meets it: health, metrics, operator API and CLI, config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from importlib.metadata import version
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


def test_ctrl_c_and_sigterm_end_serve_cleanly_with_status_0(tmp_path: Path) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = SandexServer(tmp_path / sig.name).start()
        assert server.process is not None
        server.process.send_signal(sig)
        assert server.process.wait(30) == 0, server.log()
        log = server.log()
        assert "Traceback" not in log and "stopping" in log, log
        assert not (server.data_dir / "server.json").exists()  # the CLI will not look for it
        # The data dir is free again: the next start recovers and serves.
        with SandexServer(tmp_path / sig.name) as again:
            assert get(f"{again.base_url}/healthz")[0] == 200


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"sandex {version('sandex')}"


def test_accounts_list_shows_whole_keys_and_wallet_ids(tmp_path: Path) -> None:
    long_key = "k" * 40 + "-the-end"
    config = BASE_CONFIG + f'[[accounts]]\nname = "dave"\napi_key = "{long_key}"\nsecret = "s"\n'
    with SandexServer(tmp_path, config) as server:
        common = ["--config", str(server.config_path), "--data-dir", str(server.data_dir)]
        accounts = json.loads(cli("accounts", "list", "--json", *common).stdout)
        listed = subprocess.run(
            [sys.executable, "-m", "sandex.cli", "accounts", "list", *common],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "80"},
        )
        assert listed.returncode == 0, listed.stderr
        for account in accounts:
            assert account["api_key"] in listed.stdout
            for wallet in account["wallets"]:
                assert wallet["id"] in listed.stdout and len(wallet["id"]) == 42
        assert long_key in listed.stdout and "--json" in listed.stdout
