"""Fan-out: a push is compressed once, and every subscriber of the topic gets the same bytes."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from tests.digifinex.dfx_support import ALICE, BOB, arest, decode, in_process, with_sections, ws_client


async def test_every_subscriber_gets_identical_push_bytes(tmp_path: Path) -> None:
    async with in_process(tmp_path, with_sections("")) as venue, AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(ws_client(venue.ws_url)) for _ in range(20)]
        for ws in clients:
            assert (await ws.call("trades.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
            assert decode(await ws.conn.recv())["params"][0] is True  # the clean push
            assert (await ws.call("depth.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
            assert decode(await ws.conn.recv())["params"][0] is True
        async with aiohttp.ClientSession() as session:
            for creds, side in ((BOB, "sell"), (ALICE, "buy")):
                reply = await arest(
                    session,
                    venue.base_url,
                    "POST",
                    "/v3/spot/order/new",
                    {"symbol": "BTC_USDT", "type": side, "price": "65000", "amount": "0.3"},
                    creds,
                )
                assert reply["code"] == 0
        # Bob's offer (a depth diff), then the trade and the emptied level, in one batch each.
        raw = [[await asyncio.wait_for(ws.conn.recv(), 5) for _ in range(3)] for ws in clients]
        assert all(frames == raw[0] for frames in raw[1:])
        methods = sorted(decode(frame)["method"] for frame in raw[0])
        assert methods == ["depth.update", "depth.update", "trades.update"]
