"""The venue the fuzz tests attack: the real application, in-process, on a real port.

Hypothesis drives plain (synchronous) test functions, so the server lives on an event loop owned
by the fixture, and each example runs its coroutine with `FuzzVenue.run`. The journal is on
(fuzzed orders that are valid go through the real command path); the simulator is off, so the
only state changes are the ones the fuzz inputs cause.

`FuzzVenue.errors` collects every ERROR record logged by sandex: a handler that "answered" an
exception with a generic internal error still logged it, and that counts as an escape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from sandex.config import parse_config
from sandex.server.admin import CTX
from sandex.server.app import build_app
from sandex.server.context import ServerContext
from tests.support.server import BASE_CONFIG, free_port

T = TypeVar("T")

CONFIG = (
    BASE_CONFIG
    + """
[limits.infoway]
profile = "relaxed"
[limits.dbot]
profile = "relaxed"
[limits.session]
max_frame_bytes = 262144
"""
)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class FuzzVenue:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        ctx: ServerContext,
        port: int,
        app: web.Application,
        http: aiohttp.ClientSession,
        errors: _Errors,
    ) -> None:
        self.loop = loop
        self.ctx = ctx
        self.port = port
        self.app = app
        self.http = http
        self._errors = errors

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def settle(self) -> None:
        """Let scheduled callbacks (journal commits, publishers) run."""
        self.run(asyncio.sleep(0))

    def state(self) -> tuple[Any, ...]:
        """What a request could change for anyone: every balance (free and held), the open
        orders, the books, the waiting triggers. (The engine's event counter is not in it: a
        command the engine itself refuses is journaled and advances it, changing nothing else.)"""
        engine = self.ctx.venue.engine
        return (
            {wallet: engine.balances_of(wallet) for wallet in engine.wallets},
            sorted(engine.orders),
            {symbol: engine.book_levels(symbol, 10_000) for symbol in engine.markets},
            sorted(engine.triggers),
        )

    @property
    def journal_seq(self) -> int:
        return self.ctx.venue.applied_seq

    def escaped(self) -> list[str]:
        """ERROR records logged since the last call (each one is an exception that escaped)."""
        records, self._errors.records = self._errors.records, []
        return [
            f"{r.name}: {r.getMessage()}" + (f"\n{r.exc_info[1]!r}" if r.exc_info else "") for r in records
        ]


def fuzz_venue(tmp_path: Path) -> Iterator[FuzzVenue]:
    loop = asyncio.new_event_loop()
    errors = _Errors()
    sandex_log = logging.getLogger("sandex")
    sandex_log.addHandler(errors)
    text = (
        BASE_CONFIG.replace(
            '[server]\nhost = "127.0.0.1"', f'[server]\nhost = "127.0.0.1"\ndata_dir = "{tmp_path / "data"}"'
        )
        + CONFIG[len(BASE_CONFIG) :]
    )
    app = build_app(parse_config(text), simulator=False)
    runner = web.AppRunner(app, access_log=None)
    port = free_port()

    async def start() -> aiohttp.ClientSession:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return aiohttp.ClientSession()

    http = loop.run_until_complete(start())
    try:
        yield FuzzVenue(loop, app[CTX], port, app, http, errors)
    finally:
        loop.run_until_complete(http.close())
        loop.run_until_complete(runner.cleanup())
        loop.close()
        sandex_log.removeHandler(errors)
