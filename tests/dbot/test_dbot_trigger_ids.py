"""One id per TP/SL trigger across dialects: DigiFinex's `order_algo.update` and DBot's
`listPnlOrdersFromFollowOrder` / `listLimitOrders` name the same trigger with the same string."""

from __future__ import annotations

import websockets
from dbot_harness import LADDER, DbotWs, InProcessServer, place_makers, rest, swap, task_body

from tests.digifinex.dfx_support import AsyncWs


async def test_a_pnl_order_and_a_limit_order_have_one_id_in_both_dialects() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        async with websockets.connect(
            f"ws://127.0.0.1:{server.port}/ws/v1/", max_size=None, compression=None
        ) as conn:
            digifinex = AsyncWs(conn)
            await digifinex.auth(("follower-key", "follower-secret"))
            await digifinex.call("order_algo.subscribe", [])
            dbot = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
            task = task_body(
                "tp-sl",
                [server.wallet("leader-key")],
                sell={"stopEarnPercent": "0.5", "stopLossPercent": "0.5"},
            )
            status, created = await rest(
                server.base_url, "POST", "/automation/follow_order", "follower-key", task
            )
            assert status == 200 and created["err"] is False, created
            await swap(server.base_url, "leader-key", "buy", "1000")
            assert (await dbot.push())["state"] == "done"  # the copied buy, which left a TP and an SL
            limit = await dbot.call(
                "createLimitOrder",
                {
                    "chain": "solana",
                    "pair": "BTC_USDT",
                    "settings": [
                        {
                            "tradeType": "buy",
                            "triggerPriceUsd": "1000",
                            "triggerDirection": "down",
                            "currencyAmountUI": "100",
                        }
                    ],
                },
            )
            waiting: dict[str, dict] = {}
            while len(waiting) < 3:
                frame = await digifinex.recv()
                assert frame["method"] == "order_algo.update", frame
                for item in frame["params"]:
                    waiting[item["id"]] = item
            pnl_orders = await dbot.call("listPnlOrdersFromFollowOrder", {"sourceId": created["res"]["id"]})
            assert len(pnl_orders) == 2
            by_id = {o["id"]: o for o in pnl_orders}
            assert set(waiting) == {*by_id, *limit["ids"]}
            for pnl_id, pnl in by_id.items():  # the same trigger, seen twice
                assert waiting[pnl_id]["trigger_price"] == str(pnl["triggerPriceUsd"])
                assert waiting[pnl_id]["status"] == 0 and waiting[pnl_id]["side"] == "sell"
            (limit_id,) = limit["ids"]
            assert waiting[limit_id]["trigger_price"] == "1000" and waiting[limit_id]["side"] == "buy"
            await dbot.close()
