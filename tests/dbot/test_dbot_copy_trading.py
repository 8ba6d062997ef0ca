"""Copy trading end to end over real sockets: a follower's task copies a leader's fills.

The leader trades through DBot's own fast buy/sell REST endpoint; a market maker's ladder is on
the book (asks 65,000 + 100 a level, bids 64,900 - 100 a level, 0.2 BTC each). The follower
watches everything through `subscribeTradeResults` on `/trade/ws`.
"""

from __future__ import annotations

from decimal import Decimal

from dbot_harness import IN_MEMORY, LADDER, DbotWs, InProcessServer, place_makers, rest, swap, task_body

from sandex.core.numbers import LEDGER_ONE

BASE_UNIT = 10**12  # one micro-BTC (amount precision 6) in ledger scale (18)


async def test_copied_buy_take_profit_then_copied_sell_follows_the_target_ratio() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        follower = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
        leader = await DbotWs.connect(
            server.ws_url(), "leader-key", subscribe=["swap_buy_success", "swap_sell_success"]
        )
        leader_wallet, follower_wallet = server.wallet("leader-key"), server.wallet("follower-key")
        created = await follower.call(
            "createOrUpdateFollowOrder",
            task_body(
                "follow the leader",
                [leader_wallet],
                sell={"sellAmountType": "follow_ratio", "stopEarnPercent": 0.005, "stopLossPercent": 0.5},
            ),
        )
        task_id = created["id"]
        assert len(task_id) == 14 and task_id.isalnum() and task_id.islower()

        usdt_before, btc_before = server.free("follower-key", "USDT"), server.free("follower-key", "BTC")
        await swap(server.base_url, "leader-key", "buy", "10000")  # 0.153846 BTC at 65,000
        leader_buy = await leader.push()
        copied = await follower.push()

        # The copy: 1,000 USDT at the same 65,000 level (what the leader left of it).
        assert copied["id"] == f"{task_id}_{leader_buy['hash']}"
        assert (copied["state"], copied["source"], copied["subSource"]) == ("done", "follow_order", None)
        assert copied["type"] == "buy"
        assert (copied["pair"], copied["token"], copied["symbol"]) == ("BTC_USDT", "BTC", "BTC")
        assert (copied["wallet"], copied["chain"]) == (follower_wallet, "solana")
        assert copied["priceUsd"] == Decimal("65000")
        assert copied["send"]["info"]["symbol"] == "USDT" and copied["receive"]["info"]["symbol"] == "BTC"
        bought = 1000 * 100 * 10**6 // 6_500_000  # micro-BTC that 1,000 USDT buys at 65,000: 15,384
        assert copied["send"]["amount"] == str(bought * 6_500_000 * 10**10)  # value scale 8 -> ledger 18
        received = bought * BASE_UNIT - bought * BASE_UNIT // 1000  # 0.1 % taker fee, paid in BTC
        assert copied["receive"]["amount"] == str(received)
        assert (
            isinstance(copied["block"], int)
            and copied["hash"].isdigit()
            and int(copied["hash"]) > int(leader_buy["hash"])
        )
        # Balances moved by exactly that fill.
        assert usdt_before - server.free("follower-key", "USDT") == int(copied["send"]["amount"])
        assert server.free("follower-key", "BTC") - btc_before == int(copied["receive"]["amount"])

        # Its take-profit (0.5 % above 65,000) and stop-loss (50 % below) exist as pnl orders.
        pnl = await follower.call(
            "listPnlOrdersFromFollowOrder", {"page": 0, "size": 20, "sourceId": task_id}
        )
        kinds = {o["type"]: o for o in pnl}
        assert set(kinds) == {"take_profit", "stop_loss"}
        take_profit = kinds["take_profit"]
        assert (take_profit["state"], take_profit["enabled"], take_profit["sourceTradeId"]) == (
            "init",
            True,
            copied["id"],
        )
        assert take_profit["triggerPriceUsd"] == Decimal("65325") and take_profit["expireDelta"] == 43_200_000
        assert take_profit["amount"] == "0.015368" and kinds["stop_loss"]["triggerPriceUsd"] == Decimal(
            "32500"
        )

        # The leader lifts the price past 65,325: the take-profit sells at the best bid.
        await swap(server.base_url, "leader-key", "buy", "45000")
        assert (await leader.push())["type"] == "buy"
        pushes = {p["subSource"] or p["type"]: p for p in [await follower.push(), await follower.push()]}
        sold = pushes["follow_take_profit"]
        assert (sold["id"], sold["state"], sold["source"], sold["type"]) == (
            take_profit["id"],
            "done",
            "limit_order",
            "sell",
        )
        assert sold["send"]["amount"] == str(15_368 * BASE_UNIT) and sold["priceUsd"] == Decimal("64900")
        assert pushes["buy"]["state"] == "done"  # the leader's second buy was copied too
        pnl = {o["id"]: o for o in await follower.call("listPnlOrdersFromFollowOrder", {"sourceId": task_id})}
        assert pnl[take_profit["id"]]["state"] == "done"
        # Its stop-loss had nothing left to sell: the position is closed.
        assert pnl[kinds["stop_loss"]["id"]]["state"] == "cancelled"

        # The leader sells half its BTC; the copy sells the same share of the follower's BTC.
        leader_btc = server.ctx.venue.engine.ledger.free(leader_wallet, "BTC")
        follower_btc = server.free("follower-key", "BTC")
        await swap(server.base_url, "leader-key", "sell", "0.5")
        leader_sell = await leader.push()
        copied_sell = await follower.push()
        leader_sold = int(leader_sell["send"]["amount"])
        assert leader_sold == (leader_btc // BASE_UNIT // 2) * BASE_UNIT
        expected = (follower_btc // BASE_UNIT) * leader_sold // leader_btc
        assert (copied_sell["type"], copied_sell["state"], copied_sell["source"]) == (
            "sell",
            "done",
            "follow_order",
        )
        assert copied_sell["id"] == f"{task_id}_{leader_sell['hash']}"
        assert copied_sell["send"]["amount"] == str(expected * BASE_UNIT)
        assert follower_btc - server.free("follower-key", "BTC") == expected * BASE_UNIT
        await follower.close()
        await leader.close()


async def _failure(server: InProcessServer, key: str, body: dict, leader_buy: str = "1000") -> dict:
    client = await DbotWs.connect(server.ws_url(), key, subscribe=["follow_buy_fail", "follow_buy_success"])
    await client.call("createOrUpdateFollowOrder", body)
    await swap(server.base_url, "leader-key", "buy", leader_buy)
    push = await client.push()
    await client.close()
    return push


async def test_insufficient_balance_fails_with_its_code() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        usdt = server.free("poor-key", "USDT")
        push = await _failure(server, "poor-key", task_body("poor", [server.wallet("leader-key")]))
        assert (push["state"], push["type"], push["errorCode"]) == ("fail", "buy", "E_INSUFFICIENT_BALANCE")
        assert "insufficient USDT" in push["errorMessage"]
        assert (
            push["hash"] is None
            and push["block"] is None
            and push["timestamp"] is None
            and "send" not in push
        )
        assert server.free("poor-key", "USDT") == usdt  # nothing was spent


async def test_cap_reached_fails_the_second_copy() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        body = task_body("once", [server.wallet("leader-key")], buy={"maxBuyTimesPerToken": 1})
        first = await _failure(server, "follower-key", body)
        assert first["state"] == "done"
        client = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
        await swap(server.base_url, "leader-key", "buy", "1000")
        second = await client.push()
        assert (second["state"], second["errorCode"]) == ("fail", "E_MAX_BUY_TIMES_REACHED")
        await client.close()


async def test_per_token_amount_cap_shrinks_then_stops_buys() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        client = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
        await client.call(
            "createOrUpdateFollowOrder",
            task_body("capped", [server.wallet("leader-key")], buy={"maxBuyAmountPerToken": 1500}),
        )
        await swap(server.base_url, "leader-key", "buy", "1000")
        await swap(server.base_url, "leader-key", "buy", "1000")
        await swap(server.base_url, "leader-key", "buy", "1000")
        first, second, third = await client.push(), await client.push(), await client.push()
        assert int(first["send"]["amount"]) <= 1000 * LEDGER_ONE
        assert int(first["send"]["amount"]) + int(second["send"]["amount"]) <= 1500 * LEDGER_ONE
        assert int(second["send"]["amount"]) <= 500 * LEDGER_ONE + 1  # only what the cap had left
        assert (third["state"], third["errorCode"]) == ("fail", "E_MAX_BUY_AMOUNT_REACHED")
        await client.close()


async def test_blacklisted_token_fails() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        push = await _failure(
            server, "follower-key", task_body("no btc", [server.wallet("leader-key")], tokenBlacklist=["btc"])
        )
        assert (push["state"], push["errorCode"], push["token"]) == ("fail", "E_TOKEN_BLACKLISTED", "BTC")
        assert "blacklist" in push["errorMessage"]


async def test_slippage_exceeded_fails_and_places_nothing() -> None:
    async with InProcessServer() as server:
        # The leader takes the only ask at 65,000; the next one is 23 % higher.
        await place_makers(server.ctx, [("sell", 6_500_000, 100_000), ("sell", 8_000_000, 10_000_000)])
        usdt = server.free("follower-key", "USDT")
        push = await _failure(
            server,
            "follower-key",
            task_body("tight", [server.wallet("leader-key")], buy={"maxSlippage": 0.1}),
            leader_buy="6500",
        )
        assert (push["state"], push["errorCode"]) == ("fail", "E_SLIPPAGE_EXCEEDED")
        assert "80000.00" in push["errorMessage"] and "65000.00" in push["errorMessage"]
        assert server.free("follower-key", "USDT") == usdt
        assert server.ctx.venue.engine.books["BTC_USDT"].asks.best_price() == 8_000_000  # untouched


async def test_limit_order_fires_as_a_trigger_and_reports() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        client = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=["limit_buy_success"])
        created = await client.call(
            "createLimitOrder",
            {
                "chain": "solana",
                "pair": "BTC_USDT",
                "walletId": server.wallet("follower-key"),
                "settings": [
                    {
                        "enabled": True,
                        "tradeType": "buy",
                        "triggerPriceUsd": "65150.004",
                        "triggerDirection": "up",
                        "currencyAmountUI": "500",
                        "expireDelta": 3_600_000,
                    }
                ],
            },
        )
        (order_id,) = created["ids"]
        listed = await client.call("listLimitOrders", {"page": 0, "size": 20})
        assert listed[0]["id"] == order_id and listed[0]["state"] == "init"
        assert listed[0]["triggerPriceUsd"] == Decimal("65150.01")  # an up-trigger rounds up
        trigger = server.ctx.venue.engine.triggers[
            server.ctx.venue.engine.plugins[0].state.limit_orders[order_id].trigger_id
        ]
        assert (trigger.direction, trigger.source, trigger.source_id) == ("up", "limit_order", order_id)
        await swap(server.base_url, "leader-key", "buy", "30000")  # sweeps up to 65,200
        push = await client.push()
        assert (push["id"], push["source"], push["type"], push["state"]) == (
            order_id,
            "limit_order",
            "buy",
            "done",
        )
        assert int(push["send"]["amount"]) <= 500 * LEDGER_ONE
        listed = await client.call("listLimitOrders", {"state": "done"})
        assert [o["id"] for o in listed] == [order_id] and listed[0]["txPriceUsd"] is not None
        await client.close()


async def test_trailing_stop_follows_the_peak_then_fires() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        client = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
        task = await client.call(
            "createOrUpdateFollowOrder",
            task_body(
                "trail",
                [server.wallet("leader-key")],
                sell={"trailingStopGroup": [{"pricePercent": 0.01, "amountPercent": 1}]},
            ),
        )
        await swap(server.base_url, "leader-key", "buy", "1000")
        await client.push()
        (trail,) = await client.call("listPnlOrdersFromFollowOrder", {"sourceId": task["id"]})
        assert trail["type"] == "trailing_stop" and trail["triggerPriceUsd"] == Decimal(
            "64350"
        )  # 1 % under 65,000
        await rest(
            server.base_url,
            "PATCH",
            "/automation/follow_order",
            "follower-key",
            {"id": task["id"], "enabled": False, "closePnlOrder": False},
        )  # stop copying, keep the stop
        await swap(server.base_url, "leader-key", "buy", "40000")  # the price climbs to 65,300
        (trail,) = [o for o in await client.call("listPnlOrdersFromFollowOrder", {"sourceId": task["id"]})]
        assert trail["peakPriceUsd"] == Decimal("65300") and trail["triggerPriceUsd"] == Decimal("64647")
        assert trail["state"] == "init"
        # A sell down to 64,600 crosses the raised trigger: the trailing stop sells.
        await swap(server.base_url, "leader-key", "sell", "1")
        push = await client.push()
        assert (push["id"], push["source"], push["subSource"], push["state"]) == (
            trail["id"],
            "trailing_stop_order",
            "follow_trailing_stop",
            "done",
        )
        await client.close()


THIRD = """
[[accounts]]
name = "third"
api_key = "third-key"
secret = "third-secret"
balances = { USDT = "100000" }
"""


async def test_a_copy_is_copied_by_a_task_following_the_copier_and_never_back() -> None:
    """leader -> follower -> third, and the leader follows third: one leader buy is copied by the
    follower, that copy by third, and the loop back to the leader fails with E_COPY_LOOP."""
    async with InProcessServer(IN_MEMORY + THIRD) as server:
        await place_makers(server.ctx, LADDER)
        base = server.base_url
        tasks = [
            ("follower-key", "leader-key"),
            ("third-key", "follower-key"),
            ("leader-key", "third-key"),
        ]
        for key, target in tasks:
            body = task_body(key, [server.wallet(target)], buy={"maxBuyAmountUI": "100"})
            status, created = await rest(base, "POST", "/automation/follow_order", key, body)
            assert status == 200 and created["err"] is False, created
        clients = {key: await DbotWs.connect(server.ws_url(), key, subscribe=[]) for key, _ in tasks}
        await swap(base, "leader-key", "buy", "1000")
        follower = await clients["follower-key"].push()
        third = await clients["third-key"].push()
        own = {}
        for _ in range(2):  # the leader's own swap, and its task's refusal to copy it back
            push = await clients["leader-key"].push()
            own[push["source"]] = push
        assert (follower["state"], follower["source"], follower["type"]) == ("done", "follow_order", "buy")
        assert follower["wallet"] == server.wallet("follower-key")
        assert (third["state"], third["source"], third["type"]) == ("done", "follow_order", "buy")
        assert third["wallet"] == server.wallet("third-key")
        assert own["swap_order"]["state"] == "done"
        loop = own["follow_order"]
        assert (loop["state"], loop["type"], loop["errorCode"]) == ("fail", "buy", "E_COPY_LOOP")
        for client in clients.values():
            await client.no_push(0.2)
            await client.close()
