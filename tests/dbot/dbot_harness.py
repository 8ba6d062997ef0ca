"""Shared pieces of the DBot tests: venue configs, a real in-process server, a DBot client.

Everything talks over real sockets: `InProcessServer` is the real aiohttp app on 127.0.0.1 (so
the test can also place maker orders straight into its venue), `DbotWs` is a `websockets` client
speaking DBot's frames, REST goes through aiohttp's client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import websockets
from aiohttp import web

from sandex.config import Config, load_config, parse_config
from sandex.core.commands import PlaceOrder
from sandex.core.events import Rejected
from sandex.server.admin import CTX
from sandex.server.app import build_app, build_context
from sandex.server.context import ServerContext
from tests.support.server import MARKETS_TOML, free_port

# BTC_USDT: prices in cents (2 places), amounts in micro-BTC (6 places).
MARKETS = MARKETS_TOML

ACCOUNTS = """
[[accounts]]
name = "leader"
api_key = "leader-key"
secret = "leader-secret"
balances = { USDT = "1000000" }
[[accounts]]
name = "follower"
api_key = "follower-key"
secret = "follower-secret"
balances = { USDT = "100000" }
wallets = ["second"]
[[accounts]]
name = "poor"
api_key = "poor-key"
secret = "poor-secret"
balances = { USDT = "100" }
[[accounts]]
name = "mm"
api_key = "mm-key"
secret = "mm-secret"
balances = { USDT = "100000000", BTC = "1000", ETH = "10000" }
"""


def config_text(*, journal: str = "", limits: str = "") -> str:
    return f'[server]\nhost = "127.0.0.1"\n[simulator]\nenabled = false\n{journal}\n{limits}\n{MARKETS}\n{ACCOUNTS}'


IN_MEMORY = config_text(journal='[journal]\nsync = "off"')


def loads(text: str | bytes) -> Any:
    """JSON with exact numbers: prices come back as Decimal, as sandex wrote them."""
    return json.loads(text, parse_float=Decimal)


# -- liquidity ---------------------------------------------------------------------------------

#: A maker book around 65,000: asks 65,000 .. 65,900 and bids 64,900 .. 64,000, 0.2 BTC a level.
LADDER = [("sell", 6_500_000 + 10_000 * i, 200_000) for i in range(10)] + [
    ("buy", 6_490_000 - 10_000 * i, 200_000) for i in range(10)
]


async def place_makers(
    ctx: ServerContext, orders: list[tuple[str, int, int]], account: str = "mm-key", symbol: str = "BTC_USDT"
) -> None:
    acct = ctx.venue.engine.account_by_key[account].id
    for side, price, amount in orders:
        events = await ctx.venue.execute(PlaceOrder(acct, symbol, side, price=price, amount=amount))
        assert not any(isinstance(e, Rejected) for e in events), events


async def seed_data_dir(config_path: Path, data_dir: Path, orders: list[tuple[str, int, int]]) -> None:
    """Put maker orders into a data dir before `sandex serve` opens it: a venue in this process
    journals them (the same command path as any client), then releases the dir."""
    config = load_config(config_path, data_dir=data_dir, simulator=False)
    ctx = build_context(config)
    await ctx.venue.open()
    try:
        await place_makers(ctx, orders)
    finally:
        await ctx.venue.close()


# -- servers -----------------------------------------------------------------------------------


class InProcessServer:
    """The real sandex app on a real port, in this process."""

    def __init__(self, text: str = IN_MEMORY) -> None:
        self.config: Config = parse_config(text)
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def __aenter__(self) -> InProcessServer:
        app = build_app(self.config, simulator=False)
        self.ctx: ServerContext = app[CTX]
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str = "/trade/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def wallet(self, key: str, index: int = 0) -> str:
        return self.ctx.venue.engine.account_by_key[key].wallets[index]

    def free(self, key: str, currency: str, index: int = 0) -> int:
        """Free balance in ledger scale (18 decimals)."""
        return self.ctx.venue.engine.ledger.free(self.wallet(key, index), currency)


# -- clients -----------------------------------------------------------------------------------


class DbotWs:
    """A DBot trading-WebSocket client: `call` matches replies by id, pushes queue up."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.other: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, key: str, subscribe: list[str] | None = None) -> DbotWs:
        ws = await websockets.connect(url, additional_headers={"x-api-key": key}, ping_interval=None)
        client = cls(ws)
        if subscribe is not None:
            await ws.send(json.dumps({"method": "subscribeTradeResults", "tradeTypeFilter": subscribe}))
            ack = await asyncio.wait_for(client.other.get(), 5)
            assert ack == {"method": "subscribeResponse", "result": {"message": "Connected and subscribed"}}
        return client

    async def _read(self) -> None:
        async for message in self.ws:
            frame = loads(message)
            if frame.get("method") == "tradeResultNotify":
                await self.pushes.put(frame["result"])
            elif frame.get("method") == "rpcResponse" and frame.get("id") in self.waiting:
                self.waiting.pop(frame["id"]).set_result(frame)
            else:
                await self.other.put(frame)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request; returns the whole rpcResponse frame."""
        request_id = next(self.ids)
        future = self.waiting[request_id] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"id": request_id, "method": method, "params": params or {}}))
        return await asyncio.wait_for(future, 10)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """`res` of a successful call (fails the test on err:true)."""
        frame = await self.request(method, params)
        assert frame["result"]["err"] is False, frame
        return frame["result"].get("res")

    async def push(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.pushes.get(), timeout)

    async def no_push(self, wait: float = 0.5) -> None:
        await asyncio.sleep(wait)
        assert self.pushes.empty(), f"unexpected notification: {self.pushes.get_nowait()}"

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


async def rest(
    base_url: str,
    method: str,
    path: str,
    key: str | None,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    headers = {"X-API-KEY": key} if key else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base_url + path, json=body, params=params, headers=headers) as response,
    ):
        return response.status, loads(await response.text())


def task_body(
    name: str,
    targets: list[str],
    *,
    buy: dict[str, Any] | None = None,
    sell: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A copy-trading task as DBot's docs write one (fixed 1,000 USDT buys unless told)."""
    return {
        "enabled": True,
        "name": name,
        "chain": "solana",
        "targetIds": targets,
        "buySettings": {
            "enabled": True,
            "maxBuyAmountUI": "1000",
            "buyAmountType": "fixed_amount",
            **(buy or {}),
        },
        "sellSettings": {"enabled": True, "mode": "mixed", "sellAmountType": "all", **(sell or {})},
        **extra,
    }


async def swap(base_url: str, key: str, side: str, amount: str, pair: str = "BTC_USDT") -> str:
    """A DBot fast buy/sell through REST; returns its id."""
    status, body = await rest(
        base_url,
        "POST",
        "/automation/swap_order",
        key,
        {"chain": "solana", "pair": pair, "type": side, "amountOrPercent": amount},
    )
    assert status == 200 and body["err"] is False, body
    return body["res"]["id"]
