"""Shared helpers for the DigiFinex tests: servers, a REST signer, and WebSocket clients.

Two ways to run the real server, both on a real port and reached over real sockets:
- `SandexServer` (tests/support) runs `sandex serve` in a subprocess — what a user runs;
- `in_process` serves the same `build_app` application inside the test's event loop, so a test
  can also reach the venue (stop the simulator, place a trigger order, read the true book).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.request
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import websockets
import yarl
from aiohttp import web

from sandex.config import load_config
from sandex.server.admin import CTX
from sandex.server.app import SIM_KEY, build_app
from sandex.server.context import ServerContext
from tests.support.server import BASE_CONFIG, free_port

ALICE = ("alice-key", "alice-secret")
BOB = ("bob-key", "bob-secret")


def with_sections(extra: str, *, simulator: str | None = None) -> str:
    """BASE_CONFIG plus TOML sections; `simulator` replaces the body of its [simulator] table."""
    text = BASE_CONFIG
    if simulator is not None:
        text = text.replace("[simulator]\nenabled = false", f"[simulator]\n{simulator}")
    return text + "\n" + extra


# -- frames ----------------------------------------------------------------------------------------


def decode(frame: bytes | str) -> Any:
    """A server frame: must be binary, a zlib stream (with header), holding JSON."""
    assert isinstance(frame, bytes), f"expected a binary frame, got {type(frame).__name__}: {frame!r}"
    assert frame[0] == 0x78, "not a zlib stream (missing zlib header)"
    return json.loads(zlib.decompress(frame))


def ws_auth_params(key: str, secret: str, ts_ms: int | None = None) -> list[str]:
    ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
    sign = base64.b64encode(hmac.new(secret.encode(), ts.encode(), hashlib.sha256).digest()).decode()
    return [key, ts, sign]


def dec(value: Any) -> Decimal:
    """An exact decimal from a JSON number or string (floats via their shortest repr)."""
    return Decimal(str(value))


# -- REST ------------------------------------------------------------------------------------------


def sign_rest(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_headers(key: str, secret: str, payload: str, ts: int | None = None) -> dict[str, str]:
    return {
        "ACCESS-KEY": key,
        "ACCESS-TIMESTAMP": str(ts if ts is not None else int(time.time())),
        "ACCESS-SIGN": sign_rest(secret, payload),
    }


def rest(
    base: str,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    creds: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """A blocking DigiFinex REST call (urllib), signed when `creds` is given. JSON numbers are
    read as Decimal: the server writes them as exact literals."""
    payload = urlencode(params or {}, quote_via=quote)
    url = base + path
    body = None
    if method == "GET" and payload:
        url += "?" + payload
    elif method == "POST":
        body = payload.encode()
    all_headers = dict(headers or {})
    if creds is not None:
        all_headers.update(signed_headers(creds[0], creds[1], payload))
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read(), parse_float=Decimal)


async def arest(
    session: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    creds: tuple[str, str] | None = None,
) -> Any:
    """The same call with aiohttp (URL passed pre-encoded, as ccxt does)."""
    payload = urlencode(params or {}, quote_via=quote)
    url = base + path + ("?" + payload if method == "GET" and payload else "")
    headers = signed_headers(creds[0], creds[1], payload) if creds else {}
    data = payload if method == "POST" else None
    async with session.request(method, yarl.URL(url, encoded=True), data=data, headers=headers) as resp:
        assert resp.status == 200
        return json.loads(await resp.read(), parse_float=Decimal)


def journal_seq(base: str) -> int:
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        return int(json.loads(response.read())["journal_seq"])


# -- WebSocket (async client) ----------------------------------------------------------------------


class AsyncWs:
    """A `websockets` client speaking DigiFinex: send JSON, receive decoded frames."""

    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn
        self._next_id = 0

    async def send(self, method: str, params: Any = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.conn.send(json.dumps(message))
        return self._next_id

    async def recv(self, timeout: float = 5.0) -> Any:
        return decode(await asyncio.wait_for(self.conn.recv(), timeout))

    async def call(self, method: str, params: Any = None) -> Any:
        """Send a request and return its reply (the next frame must be it)."""
        request_id = await self.send(method, params)
        reply = await self.recv()
        assert reply.get("id") == request_id and "method" not in reply, reply
        return reply

    async def auth(self, creds: tuple[str, str]) -> None:
        reply = await self.call("server.auth", ws_auth_params(*creds))
        assert reply == {"error": None, "result": {"status": "success"}, "id": reply["id"]}, reply


@asynccontextmanager
async def ws_client(url: str) -> AsyncIterator[AsyncWs]:
    async with websockets.connect(url, max_size=None, compression=None) as conn:
        yield AsyncWs(conn)


# -- in-process server -----------------------------------------------------------------------------


@dataclass
class InProcess:
    ctx: ServerContext
    app: web.Application
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/v1/"

    async def stop_simulator(self) -> None:
        sim = self.app.get(SIM_KEY)
        if sim is not None:
            await sim.stop()  # type: ignore[attr-defined]


@asynccontextmanager
async def in_process(tmp_path: Path, config_text: str) -> AsyncIterator[InProcess]:
    config_path = tmp_path / "sandex.toml"
    config_path.write_text(config_text)
    port = free_port()
    config = load_config(config_path, data_dir=tmp_path / "data", port=port)
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield InProcess(app[CTX], app, port)
    finally:
        await runner.cleanup()
