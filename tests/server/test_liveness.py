from __future__ import annotations

import asyncio

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from sandex.server.liveness import IdleTimeout

from .echo import wait_for


class _S:
    def __init__(self, last_recv: float, opened_at: float) -> None:
        self.last_recv = last_recv
        self.opened_at = opened_at


def test_idle_timeout_policy() -> None:
    policy = IdleTimeout(60.0)
    assert not policy.is_idle(_S(last_recv=100.0, opened_at=0.0), 160.0)  # type: ignore[arg-type]
    assert policy.is_idle(_S(last_recv=100.0, opened_at=0.0), 160.1)  # type: ignore[arg-type]
    aged = IdleTimeout(None, max_age_s=7200.0)
    assert not aged.is_idle(_S(last_recv=0.0, opened_at=0.0), 7200.0)  # type: ignore[arg-type]
    assert aged.is_idle(_S(last_recv=7200.0, opened_at=0.0), 7200.5)  # type: ignore[arg-type]


async def test_sweeper_closes_idle_client_but_not_a_pinging_one(echo_server) -> None:
    server = await echo_server(idle_timeout_s=0.5, sweep_interval=0.05)
    idle = await websockets.connect(server.url, ping_interval=None)  # sends nothing at all
    http = aiohttp.ClientSession()
    pinging = await http.ws_connect(server.url, autoping=True)

    async def keep_pinging() -> None:
        while not pinging.closed:
            await pinging.ping()  # control frames only: no data frame is ever sent
            await asyncio.sleep(0.1)

    pinger = asyncio.create_task(keep_pinging())
    assert await idle.recv() == "error:idle"  # the dialect's timeout error, then the close
    with pytest.raises(ConnectionClosed) as closed:
        await idle.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    await asyncio.sleep(1.5)  # > 3 timeouts
    assert len(server.timeouts) == 1  # on_timeout ran once, for the idle client only
    assert not pinging.closed
    await pinging.send_str("alive")
    assert await pinging.receive_str() == "alive"

    pinger.cancel()
    await pinging.close()
    await http.close()
    await wait_for(lambda: server.registry.count() == 0)


async def test_data_frames_also_count_as_liveness(echo_server) -> None:
    server = await echo_server(idle_timeout_s=0.5, sweep_interval=0.05)
    async with websockets.connect(server.url, ping_interval=None) as ws:
        for i in range(8):
            await ws.send(f"hb{i}")
            assert await ws.recv() == f"hb{i}"
            await asyncio.sleep(0.1)
    assert server.timeouts == []
