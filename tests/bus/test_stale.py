"""A gateway never serves a book it knows to be stale (issue 13). The engine and NATS are real
processes; the gateway runs in this event loop (the same code `sandex gateway` runs,
`cli.gateway.start_gateway`) so that a stream message can be lost on the way, as in
test_follower. The engine is stopped (SIGSTOP) while the gateway refills the gap, so the gateway
knows it is behind for as long as the test needs; clients talk to it over real sockets."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandex.bus.gateway import GatewayLink
from sandex.cli.gateway import start_gateway
from tests.bus.test_cluster import cluster
from tests.bus.test_failures import _clean_depth
from tests.bus.test_follower import _caught_up_buffer
from tests.digifinex.dfx_support import BOB, arest, ws_client
from tests.infoway.iw_support import Client
from tests.support.server import free_port

pytestmark = pytest.mark.timeout(120)


async def _book(session: aiohttp.ClientSession, base: str) -> Any:
    return await arest(session, base, "GET", "/v3/order_book", {"symbol": "BTC_USDT", "limit": 150})


async def _metric(session: aiohttp.ClientSession, base: str, name: str) -> float:
    async with session.get(base + "/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on {base}/metrics")


async def test_a_gateway_refilling_a_gap_refuses_its_stale_book_and_serves_it_once_caught_up(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path, gateways=0) as (bus, eng, _):
        assert eng.process is not None
        link = GatewayLink(bus.url)
        runner = None
        stopped = False
        try:
            config, _seq, snapshot = await link.join()
            async with aiohttp.ClientSession() as session:
                for i in range(3):  # one stream message each
                    params = {"symbol": "BTC_USDT", "type": "sell", "price": str(65000 + i), "amount": "0.01"}
                    assert (await arest(session, eng.base_url, "POST", "/v3/spot/order/new", params, BOB))[
                        "code"
                    ] == 0
                truth = await _book(session, eng.base_url)
                await _caught_up_buffer(
                    link, (await (await session.get(eng.base_url + "/healthz")).json())["journal_seq"]
                )
                assert len(link._buffer) >= 2, link._buffer
                del link._buffer[0]  # lost on the way: the next message leaves a gap
                eng.process.send_signal(signal.SIGSTOP)  # the refill waits for the engine
                stopped = True
                port = free_port()
                runner = await start_gateway(link, config, snapshot, "127.0.0.1", port)
                gw = f"http://127.0.0.1:{port}"

                # Behind, and knowing it: no depth snapshot from the stale book, in any dialect.
                held = await _book(session, gw)
                assert held["code"] == 50000 and "catching up" in held["msg"], held
                async with ws_client(f"ws://127.0.0.1:{port}/ws/v1/") as ws:
                    reply = await ws.call("depth.subscribe", ["BTC_USDT"])
                    assert reply["result"] is None and reply["error"]["code"] == 3, reply
                async with session.get(
                    gw + "/crypto/batch_depth/BTCUSDT", headers={"apikey": "alice-key"}
                ) as resp:
                    infoway = await resp.json(content_type=None)
                assert infoway["ret"] == 500 and "catching up" in infoway["msg"], infoway
                assert await _metric(session, gw, "sandex_bus_stale") == 1
                async with session.get(gw + "/healthz") as resp:
                    assert "catching up" in (await resp.json())["market_data"]
                assert await _metric(session, gw, "sandex_bus_gaps_total") >= 1
                assert await _metric(session, gw, "sandex_bus_stale_refusals_total") >= 2
                assert await _metric(session, gw, "sandex_bus_refills_total") == 0

                # Infoway's WebSocket: subscribed, but no depth push from the stale book.
                infoway_ws = await Client.connect(
                    f"ws://127.0.0.1:{port}/ws?business=crypto&apikey=alice-key"
                )
                ack = await infoway_ws.request({"code": 10003, "trace": "d", "data": {"codes": "BTCUSDT"}})
                assert ack["code"] == 10004, ack
                assert [m for m in await infoway_ws.collect(1.2) if m.get("code") == 10005] == []

                # A request held while the engine comes back is answered with the caught-up book.
                waiting = asyncio.ensure_future(_book(session, gw))
                await asyncio.sleep(0.3)
                eng.process.send_signal(signal.SIGCONT)
                stopped = False
                answer = await waiting
                assert answer["code"] == 0, answer
                assert (answer["bids"], answer["asks"]) == (truth["bids"], truth["asks"])
                depth = (await infoway_ws.recv_until(lambda m: m.get("code") == 10005))["data"]
                assert depth["s"] == "BTCUSDT" and depth["a"] == [
                    ["65000", "65001", "65002"],
                    ["0.01"] * 3,
                ], depth
                await infoway_ws.close()
                clean = await _clean_depth(f"ws://127.0.0.1:{port}/ws/v1/")
                assert clean == await _clean_depth(eng.ws_url("/ws/v1/")) and len(clean["asks"]) == 3
                assert await _metric(session, gw, "sandex_bus_stale") == 0
                async with session.get(gw + "/healthz") as resp:
                    assert "market_data" not in await resp.json()
                assert await _metric(session, gw, "sandex_bus_refills_total") >= 1
                assert await _metric(session, gw, "sandex_bus_refill_rows_total") >= 1
        finally:
            if stopped:
                eng.process.send_signal(signal.SIGCONT)
            if runner is not None:
                await runner.cleanup()
            await link.close()
