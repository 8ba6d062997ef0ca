"""batchToggleFollowOrder (the seed's method): stopping copies at once, and closePnlOrder."""

from __future__ import annotations

from dbot_harness import LADDER, DbotWs, InProcessServer, place_makers, rest, swap, task_body


async def test_disabled_tasks_stop_copying_and_close_pnl_orders_only_when_asked() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        client = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
        leader = server.wallet("leader-key")
        sell = {"stopEarnPercent": 0.004}  # take profit at 65,260
        ids = []
        for name in ("closes", "keeps", "stays"):
            body = task_body(name, [leader], buy={"maxBuyAmountUI": "500"}, sell=sell)
            ids.append((await client.call("createOrUpdateFollowOrder", body))["id"])
        closes, keeps, stays = ids

        await swap(server.base_url, "leader-key", "buy", "1000")
        first = [await client.push() for _ in ids]
        assert sorted(p["id"].split("_")[0] for p in first) == sorted(ids)
        assert all(p["state"] == "done" for p in first)

        frame = await client.request(
            "batchToggleFollowOrder", {"ids": [closes], "enabled": False, "closePnlOrder": "true"}
        )
        assert frame == {"method": "rpcResponse", "id": frame["id"], "result": {"err": False}}
        frame = await client.request(
            "batchToggleFollowOrder", {"ids": [keeps], "enabled": False, "closePnlOrder": "false"}
        )
        assert frame["result"] == {"err": False}
        # An unknown id fails the whole request: `stays` is not disabled.
        frame = await client.request(
            "batchToggleFollowOrder",
            {"ids": [stays, "m8zl720z0043pp"], "enabled": False, "closePnlOrder": "true"},
        )
        assert frame["result"]["err"] is True and "m8zl720z0043pp" in frame["result"]["res"]
        tasks = {t["id"]: t for t in await client.call("listFollowOrders", {"page": 0, "size": 20})}
        assert [tasks[i]["enabled"] for i in ids] == [False, False, True]
        pnl = {o["sourceId"]: o for o in await client.call("listPnlOrdersFromFollowOrder", {})}
        assert (pnl[closes]["state"], pnl[closes]["enabled"]) == ("init", False)
        assert (pnl[keeps]["state"], pnl[keeps]["enabled"]) == ("init", True)

        # The leader buys again and lifts the price past every take-profit.
        await swap(server.base_url, "leader-key", "buy", "40000")
        pushes = [await client.push() for _ in range(3)]
        await client.no_push()
        copies = [p for p in pushes if p["source"] == "follow_order"]
        take_profits = [p for p in pushes if p["subSource"] == "follow_take_profit"]
        assert [p["id"].split("_")[0] for p in copies] == [stays]  # disabled tasks copied nothing
        assert sorted(p["id"] for p in take_profits) == sorted([pnl[keeps]["id"], pnl[stays]["id"]])
        states = {o["id"]: o for o in await client.call("listPnlOrdersFromFollowOrder", {"size": 20})}
        assert states[pnl[closes]["id"]]["state"] == "init"  # closed with its task: never fired
        assert states[pnl[keeps]["id"]]["state"] == "done"

        # Enabling the task again resumes the pnl orders it closed (they now fire on the next trade).
        status, body = await rest(
            server.base_url,
            "PATCH",
            "/automation/follow_orders",
            "follower-key",
            {"ids": [closes], "enabled": True, "closePnlOrder": False},
        )
        assert (status, body) == (200, {"err": False, "res": ""})
        states = {o["id"]: o for o in await client.call("listPnlOrdersFromFollowOrder", {"sourceId": closes})}
        assert states[pnl[closes]["id"]]["enabled"] is True
        await swap(server.base_url, "leader-key", "buy", "100")
        pushes = [await client.push() for _ in range(2)]
        assert {p["id"] for p in pushes if p["subSource"] == "follow_take_profit"} == {pnl[closes]["id"]}
        await client.close()


async def test_unknown_ids_change_nothing_over_rest_too() -> None:
    async with InProcessServer() as server:
        leader = server.wallet("leader-key")
        status, body = await rest(
            server.base_url, "POST", "/automation/follow_order", "follower-key", task_body("t", [leader])
        )
        task_id = body["res"]["id"]
        status, body = await rest(
            server.base_url,
            "PATCH",
            "/automation/follow_orders",
            "follower-key",
            {"ids": [task_id, "m81lt5qn043csv"], "enabled": False, "closePnlOrder": "true"},
        )
        assert status == 200 and body["err"] is True and "m81lt5qn043csv" in body["res"]
        # Another account's task id is unknown to this account.
        status, body = await rest(
            server.base_url,
            "PATCH",
            "/automation/follow_orders",
            "leader-key",
            {"ids": [task_id], "enabled": False},
        )
        assert body["err"] is True
        status, body = await rest(server.base_url, "GET", "/automation/follow_orders", "follower-key")
        assert [t["enabled"] for t in body["res"]] == [True]
