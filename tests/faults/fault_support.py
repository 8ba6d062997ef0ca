"""Shared pieces of the fault-injection tests: a real server in-process, and the operator calls.

`live_venue` serves the real application (`build_app`, every dialect) on 127.0.0.1 and a free
port: clients connect over real sockets, while the test can still make trades happen directly
(`trade`), which no quote request can do. Fault profiles are switched through the operator API
(`/admin/faults`) exactly as `sandex faults` does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from sandex.config import parse_config
from sandex.core.commands import PlaceOrder
from sandex.core.events import Rejected, TradeEvent
from sandex.server.admin import CTX
from sandex.server.app import build_app
from sandex.server.context import ServerContext
from tests.support.server import BASE_CONFIG, free_port

ALICE = ("alice-key", "alice-secret")
BOB = ("bob-key", "bob-secret")


def config_with(extra: str = "", data_dir: Path | None = None) -> str:
    """BASE_CONFIG (BTC_USDT, ETH_USDT; alice and bob; simulator off) plus TOML sections."""
    text = BASE_CONFIG
    if data_dir is not None:
        text = text.replace(
            '[server]\nhost = "127.0.0.1"', f'[server]\nhost = "127.0.0.1"\ndata_dir = "{data_dir}"'
        )
    return text + "\n" + extra


class LiveVenue:
    def __init__(self, ctx: ServerContext, port: int) -> None:
        self.ctx = ctx
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def infoway_url(self, key: str = "alice-key") -> str:
        return self.ws_url(f"/ws?business=crypto&apikey={key}")

    # -- the operator API (what `sandex faults` calls) -------------------------------------------

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.base_url + path, json=body) as response,
        ):
            return response.status, json.loads(await response.read())

    async def set_fault(self, name: str, **fields: Any) -> dict[str, Any]:
        status, state = await self.admin("POST", f"/admin/faults/{name}", fields)
        assert status == 200, state
        return state

    async def disable_fault(self, name: str) -> None:
        status, state = await self.admin("POST", f"/admin/faults/{name}/disable", {})
        assert status == 200, state

    async def injected(self, name: str) -> dict[str, int]:
        status, state = await self.admin("GET", "/admin/faults")
        assert status == 200
        return next(p["injected"] for p in state["profiles"] if p["name"] == name)

    # -- making market data happen ---------------------------------------------------------------

    async def place(self, key: str, symbol: str, side: str, price: str, amount: str) -> list[Any]:
        engine = self.ctx.venue.engine
        market = engine.markets[symbol]
        events = await self.ctx.venue.execute(
            PlaceOrder(
                engine.account_by_key[key].id,
                symbol,
                side,
                price=market.parse_price(price),
                amount=market.parse_amount(amount),
            )
        )
        assert not [e for e in events if isinstance(e, Rejected)], events
        return events

    async def trade(self, price: str, amount: str = "0.01", symbol: str = "BTC_USDT") -> TradeEvent:
        """alice rests, bob takes: exactly one trade at `price`."""
        await self.place("alice-key", symbol, "sell", price, amount)
        events = await self.place("bob-key", symbol, "buy", price, amount)
        (trade,) = [e for e in events if isinstance(e, TradeEvent)]
        return trade


@asynccontextmanager
async def live_venue(tmp_path: Path, extra: str = "") -> AsyncIterator[LiveVenue]:
    config = parse_config(config_with(extra, tmp_path / "data"))
    app = build_app(config, simulator=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield LiveVenue(app[CTX], port)
    finally:
        await runner.cleanup()
