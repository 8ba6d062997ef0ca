"""Shared helpers for the Infoway tests: an in-process venue on a real port, and a client.

`running_venue` serves the real aiohttp application (`build_app`) on 127.0.0.1 and a free port,
so tests connect with real WebSocket clients over real sockets, while still reaching the venue
to make trades deterministically (`place`), which no Infoway request can do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import websockets
from aiohttp import web

from sandex.config import parse_config
from sandex.core.commands import PlaceOrder
from sandex.core.events import Event, Rejected, TradeEvent
from sandex.server.admin import CTX
from sandex.server.app import build_app, build_context
from sandex.server.context import ServerContext
from sandex.venue import Venue as SandexVenue
from tests.support.server import BASE_CONFIG, free_port


def config_text(data_dir: Path, extra: str = "") -> str:
    """BASE_CONFIG (BTC_USDT 2/6, ETH_USDT 2/4, alice and bob, simulator off) with a data dir."""
    return (
        BASE_CONFIG.replace(
            '[server]\nhost = "127.0.0.1"', f'[server]\nhost = "127.0.0.1"\ndata_dir = "{data_dir}"'
        )
        + extra
    )


class Venue:
    """A running in-process server: its context, its port, and order entry for tests."""

    def __init__(self, ctx: ServerContext, port: int) -> None:
        self.ctx = ctx
        self.port = port

    def url(self, key: str | None = "alice-key", business: str | None = "crypto") -> str:
        query = "&".join(f"{k}={v}" for k, v in (("business", business), ("apikey", key)) if v is not None)
        return f"ws://127.0.0.1:{self.port}/ws?{query}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def place(self, key: str, symbol: str, side: str, price: str, amount: str) -> list[Event]:
        """A GTC limit order from the account of `key`; returns the engine's events."""
        market = self.ctx.venue.engine.markets[symbol]
        account = self.ctx.venue.engine.account_by_key[key]
        events = await self.ctx.venue.execute(
            PlaceOrder(
                account.id, symbol, side, price=market.parse_price(price), amount=market.parse_amount(amount)
            )
        )
        rejected = [e for e in events if isinstance(e, Rejected)]
        assert not rejected, rejected
        return events

    async def trade(self, symbol: str, price: str, amount: str, taker_side: str = "buy") -> list[TradeEvent]:
        """Cross alice (maker) with bob (taker) at `price`; returns the trades made."""
        maker_side = "sell" if taker_side == "buy" else "buy"
        await self.place("alice-key", symbol, maker_side, price, amount)
        events = await self.place("bob-key", symbol, taker_side, price, amount)
        trades = [e for e in events if isinstance(e, TradeEvent)]
        assert trades, events
        return trades


@asynccontextmanager
async def running_venue(
    tmp_path: Path, extra: str = "", *, clock: Callable[[], float] | None = None
) -> AsyncIterator[Venue]:
    """Serve the app; `clock` (seconds) replaces the venue's wall clock, which stamps trades."""
    config = parse_config(config_text(tmp_path / "data", extra))
    ctx = build_context(config, SandexVenue(config, clock=clock) if clock is not None else None)
    app = build_app(config, ctx=ctx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield Venue(app[CTX], port)
    finally:
        await runner.cleanup()


class Client:
    """A `websockets` client speaking Infoway JSON, with receive helpers that time out."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def connect(cls, url: str, *, welcome: bool = True) -> Client:
        ws = await websockets.connect(url, ping_interval=None, compression=None)
        client = cls(ws)
        if welcome:
            assert await client.recv() == {"code": 200, "msg": "ws connect success"}
        return client

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def request(self, message: dict[str, Any] | str, timeout: float = 5.0) -> dict[str, Any]:
        """Send, then return the first frame that is not a push (the ack or error)."""
        await self.send(message)
        return await self.recv_until(lambda m: "data" not in m, timeout)

    async def request_raw(self, message: str, timeout: float = 5.0) -> str:
        """Send text, return the exact text of the first frame that is not a push."""
        await self.send(message)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), deadline - asyncio.get_running_loop().time())
            assert isinstance(raw, str), "Infoway frames are text"
            if "data" not in json.loads(raw):
                return raw

    async def recv_until(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            message = await self.recv(remaining)
            if match(message):
                return message

    async def collect(self, seconds: float) -> list[dict[str, Any]]:
        """Every frame that arrives within `seconds`."""
        out: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                out.append(await self.recv(remaining))
            except TimeoutError:
                break
        return out

    async def close(self) -> None:
        await self.ws.close()
