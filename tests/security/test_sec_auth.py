"""Authentication: constant-time signature checks, stale and replayed signatures, secrets kept
out of logs, and the loopback default with its loud warning.

Decision on replays (docs/reliability.md): DigiFinex WebSocket `server.auth` signs a millisecond
timestamp, so a signed timestamp seen on another connection within the 60 s window is a captured
frame and is refused. DigiFinex REST signs the parameters only (not ACCESS-TIMESTAMP), so a
repeated request is byte-for-byte what an honest client sends when it places the same order
twice in one second; sandex accepts it, as the real venue does, and refuses stale timestamps.
"""

from __future__ import annotations

import ast
import asyncio
import hmac
import inspect
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import pytest
import websockets

from sandex.protocols.digifinex import errors, signing
from tests.digifinex.dfx_support import rest, signed_headers, ws_auth_params
from tests.support.server import BASE_CONFIG, SandexServer, free_port

ALICE = ("alice-key", "alice-secret")


# -- constant time ------------------------------------------------------------------------------


def test_signatures_are_compared_with_compare_digest_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    good = signing.rest_signature("s3cret", "symbol=BTC_USDT&amount=1")
    signing.check_rest_signature("s3cret", "symbol=BTC_USDT&amount=1", good.upper())
    assert calls == [(good.encode(), good.encode())]
    calls.clear()
    with pytest.raises(errors.RestError):
        signing.check_rest_signature("s3cret", "symbol=BTC_USDT&amount=1", "0" * 64)
    assert calls and all(given == b"0" * 64 for _, given in calls)
    calls.clear()
    now = int(time.time() * 1000)
    with pytest.raises(errors.WsError):
        signing.check_ws_auth("s3cret", str(now), "AAAA", now)
    assert calls == [(signing.ws_signature("s3cret", str(now)).encode(), b"AAAA")]


def test_the_signing_module_never_compares_a_signature_with_eq() -> None:
    """`==` on strings returns at the first differing byte: timing tells how much of a guess
    was right. No comparison in the module may involve a signature."""
    tree = ast.parse(inspect.getsource(signing))
    suspicious = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare) and "sign" in ast.unparse(node).lower()
    ]
    assert suspicious == []


# -- stale and replayed -------------------------------------------------------------------------


def dfx_ws(server: SandexServer) -> Any:
    return websockets.connect(server.ws_url("/ws/v1/"), ping_interval=None)


async def call(ws: Any, rid: int, method: str, params: list[Any]) -> dict[str, Any]:
    await ws.send(json.dumps({"id": rid, "method": method, "params": params}))
    while True:
        reply = json.loads(zlib.decompress(await asyncio.wait_for(ws.recv(), 5)))
        if reply.get("id") == rid:
            return reply


async def test_stale_and_replayed_websocket_signatures_are_refused(tmp_path: Path) -> None:
    with SandexServer(tmp_path) as server:
        now = int(time.time() * 1000)
        async with dfx_ws(server) as first, dfx_ws(server) as second:
            for stale in (now - 61_000, now + 61_000):
                reply = await call(first, 1, "server.auth", ws_auth_params(*ALICE, ts_ms=stale))
                assert reply["error"]["code"] == 6 and "window" in reply["error"]["message"]
            captured = ws_auth_params(*ALICE)
            assert (await call(first, 2, "server.auth", captured))["error"] is None
            assert (await call(first, 3, "server.auth", captured))["error"] is None  # its own again: fine
            replay = await call(second, 4, "server.auth", captured)
            assert replay["error"]["code"] == 6 and "replayed" in replay["error"]["message"]
            refused = await call(second, 5, "order.subscribe", [])
            assert refused["error"]["code"] == 6  # still not signed in
            await asyncio.sleep(0.002)
            assert (await call(second, 6, "server.auth", ws_auth_params(*ALICE)))["error"] is None
            assert (await call(first, 7, "order.subscribe", []))["error"] is None  # the first is unharmed


def test_stale_rest_timestamps_are_refused_and_repeats_are_orders(tmp_path: Path) -> None:
    with SandexServer(tmp_path) as server:
        order = "symbol=BTC_USDT&type=buy&price=60000&amount=0.01"
        for skew in (-61, 61):
            headers = signed_headers(*ALICE, order, ts=int(time.time()) + skew)
            request = urllib.request.Request(
                server.base_url + "/v3/spot/order/new", data=order.encode(), method="POST", headers=headers
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert json.loads(response.read())["code"] == errors.BAD_TIMESTAMP
        headers = signed_headers(*ALICE, order)
        ids = []
        for _ in range(2):  # the same signed bytes twice: two orders, as on the real venue
            request = urllib.request.Request(
                server.base_url + "/v3/spot/order/new", data=order.encode(), method="POST", headers=headers
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                ids.append(json.loads(response.read())["order_id"])
        assert len(set(ids)) == 2
        current = rest(server.base_url, "GET", "/v3/spot/order/current", {}, ALICE)
        assert sorted(row["order_id"] for row in current["data"]) == sorted(ids)


# -- secrets in logs ----------------------------------------------------------------------------


def test_secrets_never_reach_the_log_metrics_or_operator_listings(tmp_path: Path) -> None:
    config = BASE_CONFIG.replace(
        '[server]\nhost = "127.0.0.1"', '[server]\nhost = "127.0.0.1"\nlog_level = "debug"'
    )
    with SandexServer(tmp_path, config) as server:
        base = server.base_url
        rest(base, "GET", "/v3/spot/assets", {}, ALICE)
        rest(base, "GET", "/v3/spot/assets", {}, ("alice-key", "wrong-secret"))
        rest(
            base,
            "POST",
            "/v3/spot/order/new",
            {"symbol": "BTC_USDT", "type": "buy", "price": "1", "amount": "5"},
            ("bob-key", "bob-secret"),
        )

        async def websockets_traffic() -> None:
            async with dfx_ws(server) as ws:
                await call(ws, 1, "server.auth", ws_auth_params(*ALICE))
                await call(ws, 2, "server.auth", ws_auth_params("alice-key", "not-it"))
            for key in ("alice-key", "nobody"):
                try:
                    async with websockets.connect(server.ws_url(f"/ws?business=crypto&apikey={key}")) as ws:
                        await ws.recv()
                except websockets.exceptions.InvalidStatus:
                    pass
            async with websockets.connect(
                server.ws_url("/trade/ws"), additional_headers={"x-api-key": "bob-key"}
            ) as ws:
                await ws.send('{"id": 1, "method": "listFollowOrders", "params": {}}')
                await ws.recv()

        asyncio.run(websockets_traffic())
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandex.cli",
                "accounts",
                "create",
                "dave",
                "--secret",
                "dave-very-secret",
                "--config",
                str(server.config_path),
                "--data-dir",
                str(server.data_dir),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert created.returncode == 0 and json.loads(created.stdout)["secret"] == "dave-very-secret"
        listed = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandex.cli",
                "accounts",
                "list",
                "--config",
                str(server.config_path),
                "--data-dir",
                str(server.data_dir),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
        time.sleep(0.2)
        log = server.log()
    assert "dave" in listed.stdout and "api_key" in listed.stdout
    # The log did record the authentication traffic (keys are identifiers and are logged) ...
    assert "refused (unknown key 'nobody')" in log
    # ... and never a secret.
    for secret in ("alice-secret", "bob-secret", "dave-very-secret"):
        assert secret not in log, f"{secret} is in the server log"
        assert secret not in metrics and secret not in listed.stdout


# -- binding ------------------------------------------------------------------------------------


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=5).stdout
    except OSError:
        return None
    for line in out.splitlines():
        address = line.split()[3].split("/")[0]
        if not address.startswith("127."):
            return address
    return None


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def admin_status(host: str, port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_loopback_by_default_and_a_loud_warning_otherwise(tmp_path: Path) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to test from")
    no_host = BASE_CONFIG.replace('[server]\nhost = "127.0.0.1"\n', "")
    with SandexServer(tmp_path / "default", no_host) as server:
        assert reachable("127.0.0.1", server.port)
        assert not reachable(address, server.port), "the default bind must be loopback only"
        assert "WARNING" not in server.log()
    with SandexServer(
        tmp_path / "open", no_host, port=free_port(), extra_args=("--host", "0.0.0.0")
    ) as server:
        log = server.log()
        assert f"WARNING: binding 0.0.0.0:{server.port}" in log and "reachable from other machines" in log
        assert reachable(address, server.port)
        # The operator API still answers loopback only, whatever the bind.
        for path in ("/admin/accounts", "/admin/faults", "/admin/keys/blocked"):
            assert admin_status(address, server.port, path) == 403, path
            assert admin_status("127.0.0.1", server.port, path) == 200, path
        with urllib.request.urlopen(f"http://{address}:{server.port}/healthz", timeout=5) as response:
            assert response.status == 200
