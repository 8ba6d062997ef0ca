from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest
import uvloop

from .echo import EchoServer, EchoSettings


def pytest_asyncio_loop_factories(config: Any, item: Any) -> Mapping[str, Callable[[], Any]]:
    # Production runs on uvloop, whose transports buffer and abort differently from asyncio's:
    # every async test in this folder runs on both.
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
async def echo_server() -> AsyncIterator[Callable[..., Awaitable[EchoServer]]]:
    """Factory: `server = await echo_server(limit=60, window_s=1.0, ...)`."""
    servers: list[EchoServer] = []

    async def start(**settings: Any) -> EchoServer:
        server = EchoServer(EchoSettings(**settings))
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()
