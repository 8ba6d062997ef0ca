"""Public market data goes out in rounds (`server.broadcast`): what a client can rely on.

- an account's own `order.update` is written before the public pushes of the same batch;
- conflating batches into rounds loses nothing and repeats nothing: every trade reaches a
  subscriber exactly once, including one that subscribes while trades are flowing (its clean
  push and the updates after it meet without a gap or an overlap).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.digifinex.dfx_support import ALICE, BOB, AsyncWs, arest, in_process, with_sections, ws_client


async def test_own_order_update_comes_before_the_public_trade_push(tmp_path: Path) -> None:
    async with in_process(tmp_path, with_sections("")) as venue, ws_client(venue.ws_url) as ws:
        await ws.auth(ALICE)
        for channel in ("order", "trades", "depth"):
            assert (await ws.call(f"{channel}.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
            if channel != "order":  # public channels start with a clean push
                assert (await ws.recv())["params"][0] is True
        async with aiohttp.ClientSession() as http:
            sell = await arest(
                http,
                venue.base_url,
                "POST",
                "/v3/spot/order/new",
                {"symbol": "BTC_USDT", "type": "sell", "price": "65000", "amount": "0.01"},
                BOB,
            )
            assert sell["code"] == 0
            buy = await arest(
                http,
                venue.base_url,
                "POST",
                "/v3/spot/order/new",
                {"symbol": "BTC_USDT", "type": "buy", "price": "65000", "amount": "0.01"},
                ALICE,
            )
            assert buy["code"] == 0
        seen: list[str] = []
        while "order.update" not in seen or "trades.update" not in seen:
            push = await ws.recv()
            if push["method"] == "order.update":
                assert any(item["id"] == buy["order_id"] for item in push["params"])
            seen.append(push["method"])
        assert seen.index("order.update") < seen.index("trades.update"), seen


async def _collect_trades(ws: AsyncWs, seconds: float) -> tuple[list[int], list[int]]:
    """(trade ids of the clean push, trade ids of the updates after it), each in arrival order."""
    clean: list[int] = []
    updates: list[int] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        try:
            push = await ws.recv(max(0.01, deadline - loop.time()))
        except TimeoutError:
            break
        if push.get("method") != "trades.update":
            continue
        is_clean, items, _symbol = push["params"]
        ids = [item["id"] for item in reversed(items)]  # oldest first
        (clean if is_clean else updates).extend(ids)
    return clean, updates


async def test_every_trade_exactly_once_even_for_a_subscriber_joining_mid_stream(tmp_path: Path) -> None:
    busy = with_sections("", simulator="enabled = true\norders_per_second = 400\ntaker_ratio = 0.5")
    # Rounds 200 ms apart: trades pile up between them, so the subscribe below almost surely
    # lands while some are pending (the case where a clean push could repeat them).
    busy = busy.replace("[server]\n", "[server]\nmarket_data_interval_ms = 200\n", 1)
    async with (
        in_process(tmp_path, busy) as venue,
        ws_client(venue.ws_url) as early,
        ws_client(venue.ws_url) as late,
    ):
        assert (await early.call("trades.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
        early_task = asyncio.create_task(_collect_trades(early, 2.5))
        await asyncio.sleep(1.0)  # trades are flowing now
        assert (await late.call("trades.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
        late_clean, late_updates = await _collect_trades(late, 1.0)
        early_clean, early_updates = await early_task
    assert len(early_updates) > 20, "the simulator should have traded"
    for ids in (early_clean + early_updates, late_clean + late_updates):
        assert len(ids) == len(set(ids)), "a trade was pushed twice"
    assert late_clean and late_updates
    # The late subscriber's updates are exactly the trades after its clean push, as the early
    # subscriber saw them (within the window both were listening).
    newest_clean = max(late_clean)
    last_late = max(late_updates)
    expected = [t for t in early_updates if newest_clean < t <= last_late]
    assert late_updates == expected
