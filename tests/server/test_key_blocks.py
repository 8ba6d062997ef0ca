"""Issue 16 item 4: blocking a key ends its sessions. An operator blocks a key by hand
(`sandex keys block KEY [--for DURATION]`), or a dialect's limits block it; either way every
dialect closes that key's open connections with its own close code (its registration's), and
new ones are refused. Real `sandex serve`, real `websockets` clients for DBot and Infoway."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from sandex.protocols import registrations
from tests.support.server import BASE_CONFIG, SandexServer

# The sync client's warning about using connect() outside a `with` block: these tests hold several
# connections open across steps on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager")

CLOSE_CODES = {dialect.name: dialect.blocked_close_code for dialect in registrations()}


def cli(server: SandexServer, *args: str) -> subprocess.CompletedProcess[str]:
    common = ["--config", str(server.config_path), "--data-dir", str(server.data_dir)]
    return subprocess.run(
        [sys.executable, "-m", "sandex.cli", *args, *common], capture_output=True, text=True, timeout=60
    )


def dbot(server: SandexServer, key: str) -> ClientConnection:
    return connect(server.ws_url("/trade/ws"), additional_headers={"x-api-key": key}, open_timeout=5)


def infoway(server: SandexServer, key: str) -> ClientConnection:
    ws = connect(server.ws_url(f"/ws?business=crypto&apikey={key}"), open_timeout=5)
    assert json.loads(ws.recv(timeout=5))["code"] == 200  # the welcome frame
    return ws


def closed_with(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """The close code the server sent, waiting up to `timeout` (None: still open)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else -1
    except TimeoutError:
        return None
    return None


def still_open(ws: ClientConnection) -> bool:
    ws.ping().wait(5)
    return True


def blocked(server: SandexServer) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server.base_url}/admin/keys/blocked", timeout=5) as response:
        return list(json.loads(response.read()))


def test_an_operator_block_closes_the_keys_connections_on_every_dialect(tmp_path: Path) -> None:
    with SandexServer(tmp_path) as server:
        alice = [dbot(server, "alice-key"), infoway(server, "alice-key")]
        bob = [dbot(server, "bob-key"), infoway(server, "bob-key")]
        result = cli(server, "keys", "block", "alice-key", "--for", "1h")
        assert result.returncode == 0, result.stderr
        assert "blocked alice-key for 1h" in result.stdout
        assert [closed_with(ws) for ws in alice] == [CLOSE_CODES["dbot"], CLOSE_CODES["infoway"]]
        assert all(still_open(ws) for ws in bob)  # another key is not affected
        # New connections of the key are refused, on both dialects.
        for open_ in (dbot, infoway):
            with pytest.raises(InvalidStatus) as refused:
                open_(server, "alice-key")
            assert refused.value.response.status_code == 401
        listed = {(b["dialect"], b["key"]) for b in blocked(server)}
        assert listed == {(name, "alice-key") for name in CLOSE_CODES}
        assert all(3500 < b["expires_in_s"] <= 3600 for b in blocked(server))
        accounts = json.loads(cli(server, "accounts", "list", "--json").stdout)
        assert set(next(a for a in accounts if a["name"] == "alice")["blocked"]) == set(CLOSE_CODES)
        # Unblocked: access is back.
        assert cli(server, "keys", "unblock", "alice-key").returncode == 0
        for ws in (dbot(server, "alice-key"), infoway(server, "alice-key")):
            assert still_open(ws)
            ws.close()
        # One dialect only, until unblocked.
        ws_dbot, ws_infoway = dbot(server, "alice-key"), infoway(server, "alice-key")
        result = cli(server, "keys", "block", "alice-key", "--dialect", "infoway")
        assert result.returncode == 0 and "until unblocked on: infoway" in result.stdout, result.stdout
        assert closed_with(ws_infoway) == CLOSE_CODES["infoway"]
        assert still_open(ws_dbot)
        assert [(b["dialect"], b["expires_in_s"]) for b in blocked(server)] == [("infoway", None)]
        for ws in (ws_dbot, *bob):
            ws.close()


def test_a_block_by_the_limits_closes_the_keys_other_open_connections(tmp_path: Path) -> None:
    config = BASE_CONFIG + "\n[limits.infoway]\nblock_after_disconnects = 1\nframes_per_minute = 3\n"
    with SandexServer(tmp_path, config) as server:
        quiet = infoway(server, "alice-key")  # behaves; shares the key with the flooder
        flooder = infoway(server, "alice-key")
        for i in range(5):
            flooder.send(json.dumps({"code": 10010, "trace": f"h{i}"}))
        assert closed_with(flooder) == 1008  # 501, then closed: the violation that blocks the key
        assert closed_with(quiet) == CLOSE_CODES["infoway"]  # the block ends the key's other session
        assert [(b["dialect"], b["key"]) for b in blocked(server)] == [("infoway", "alice-key")]


def test_block_refusals_and_a_bad_duration(tmp_path: Path) -> None:
    with SandexServer(tmp_path) as server:
        bad = cli(server, "keys", "block", "alice-key", "--for", "soon")
        assert bad.returncode == 2 and "90s" in bad.stderr
        unknown = cli(server, "keys", "block", "nobody-key")
        assert unknown.returncode == 1 and "no account has the API key" in unknown.stderr
        wrong = cli(server, "keys", "block", "alice-key", "--dialect", "fix")
        assert wrong.returncode == 1 and "unknown dialect 'fix'" in wrong.stderr
        assert blocked(server) == []
    stopped = cli(server, "keys", "block", "alice-key")
    assert stopped.returncode == 1 and "no server is running" in stopped.stderr


async def test_a_key_recorded_after_the_upgrade_is_reached_and_a_blocked_one_is_closed(
    echo_server: Any,
) -> None:
    """DigiFinex learns a session's key only at `server.auth`: `SessionRegistry.assign_key` indexes
    it then (so a later block reaches the session), and closes it at once if it is blocked."""
    from websockets.asyncio.client import connect as connect_async

    from tests.server.echo import DIALECT, wait_for

    server = await echo_server()
    registry = server.registry
    registry.blocked_close[DIALECT] = (4003, "key blocked")
    registry.is_blocked = lambda dialect, key: dialect == DIALECT and server.guard.is_blocked(key)
    server.guard.on_block.append(lambda key: registry.close_blocked_key(DIALECT, key))
    async with connect_async(server.url) as first, connect_async(server.url) as second:
        await wait_for(lambda: registry.count() == 2)
        one, two = registry.sessions(DIALECT)
        assert registry.assign_key(one, "good-key") and registry.for_key(DIALECT, "good-key") == [one]
        server.guard.block("bad-key")
        assert not registry.assign_key(two, "bad-key")  # blocked already: closed with the code
        with pytest.raises(ConnectionClosed) as closed:
            await second.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
        server.guard.block("good-key", 60)  # blocked later: the recorded key reaches the session
        with pytest.raises(ConnectionClosed) as closed:
            await first.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
    await wait_for(lambda: registry.count() == 0)


def test_a_blocked_keys_rest_calls_are_refused_until_it_is_unblocked(tmp_path: Path) -> None:
    """REST has no connection to close: a blocked key's calls are refused instead — DigiFinex
    with 10006 (ccxt: PermissionDenied), DBot with its JSON 401 — and work again once unblocked."""
    import ccxt

    with SandexServer(tmp_path) as server:
        exchange = ccxt.digifinex({"apiKey": "alice-key", "secret": "alice-secret", "enableRateLimit": False})
        exchange.urls["api"]["rest"] = server.base_url

        def dbot_wallets() -> tuple[int, Any]:
            request = urllib.request.Request(
                server.base_url + "/account/wallets", headers={"x-api-key": "alice-key"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert exchange.fetch_balance()["BTC"]["free"] == 10
        assert dbot_wallets()[0] == 200
        assert cli(server, "keys", "block", "alice-key").returncode == 0
        with pytest.raises(ccxt.PermissionDenied):
            exchange.fetch_balance()
        with pytest.raises(ccxt.PermissionDenied):
            exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 60000)
        status, body = dbot_wallets()
        assert (status, body["err"]) == (401, True) and "blocked" in body["res"]
        assert cli(server, "keys", "unblock", "alice-key").returncode == 0
        assert exchange.fetch_balance()["BTC"]["free"] == 10
        assert exchange.fetch_open_orders("BTC/USDT") == []  # the refused order placed nothing
        assert dbot_wallets()[0] == 200
