"""The trading WebSocket and REST as a client meets them: auth, replies, errors, liveness, limits."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from dbot_harness import (
    IN_MEMORY,
    LADDER,
    DbotWs,
    InProcessServer,
    config_text,
    place_makers,
    rest,
    swap,
    task_body,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "nope"}, {"X-Api-Key": ""}])
async def test_upgrade_without_a_known_key_is_refused_with_401(headers: dict[str, str]) -> None:
    async with InProcessServer() as server:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.ws_url(), additional_headers=headers)
        assert refused.value.response.status_code == 401
        assert server.ctx.registry.count("dbot") == 0


@pytest.mark.parametrize("path", ["/trade/ws", "/trade/ws/"])
async def test_both_paths_and_any_header_case(path: str) -> None:
    async with (
        InProcessServer() as server,
        websockets.connect(server.ws_url(path), additional_headers={"X-API-KEY": "follower-key"}) as ws,
    ):
        await ws.send(json.dumps({"id": "abc", "method": "listFollowOrders", "params": {}}))
        assert json.loads(await ws.recv()) == {
            "method": "rpcResponse",
            "id": "abc",
            "result": {"err": False, "res": []},
        }


async def test_every_bad_request_gets_an_error_reply_and_the_connection_stays() -> None:
    async with (
        InProcessServer() as server,
        websockets.connect(server.ws_url(), additional_headers={"x-api-key": "follower-key"}) as ws,
    ):

        async def reply(frame: str) -> dict:
            await ws.send(frame)
            return json.loads(await ws.recv())

        leader = server.wallet("leader-key")
        cases = {
            "not json": (None, "invalid JSON"),
            "[1, 2]": (None, "invalid JSON"),
            '{"id": 7}': (7, "missing method"),
            '{"id": 8, "method": "noSuchMethod", "params": {}}': (8, "unknown method"),
            '{"id": 9, "method": "batchToggleFollowOrder", "params": {}}': (9, "ids"),
            '{"id": 10, "method": "batchToggleFollowOrder", "params": {"ids": ["x"], "enabled": "no"}}': (
                10,
                "enabled",
            ),
            '{"id": 11, "method": "batchToggleFollowOrder", "params": {"ids": ["x"], "enabled": false}}': (
                11,
                "x",
            ),
            '{"id": 12, "method": "createOrUpdateFollowOrder", "params": {"name": "n"}}': (
                12,
                "targetIds",
            ),
            json.dumps(
                {
                    "id": 13,
                    "method": "createOrUpdateFollowOrder",
                    "params": task_body("n", ["0x" + "0" * 40]),
                }
            ): (13, "not a wallet"),
            json.dumps(
                {
                    "id": 14,
                    "method": "createOrUpdateFollowOrder",
                    "params": task_body("n", [leader], chain="polygon"),
                }
            ): (14, "chain"),
            json.dumps(
                {
                    "id": 15,
                    "method": "createOrUpdateFollowOrder",
                    "params": task_body("n", [leader], buy={"maxBuyAmountUI": "-1"}),
                }
            ): (15, "maxBuyAmountUI"),
            json.dumps(
                {
                    "id": 16,
                    "method": "createOrUpdateFollowOrder",
                    "params": task_body("n", [leader], buy={"buyRatio": 11}),
                }
            ): (16, "buyRatio"),
            json.dumps(
                {
                    "id": 17,
                    "method": "createOrUpdateFollowOrder",
                    "params": {**task_body("n", [leader]), "id": "m7cpk8n00043l1"},
                }
            ): (17, "m7cpk8n00043l1"),
            '{"id": 18, "method": "listFollowOrders", "params": {"size": 21}}': (18, "size"),
            '{"id": 19, "method": "createLimitOrder", "params": {"pair": "DOGE_USDT", "settings": []}}': (
                19,
                "settings",
            ),
            json.dumps(
                {
                    "id": 20,
                    "method": "createLimitOrder",
                    "params": {
                        "pair": "DOGE_USDT",
                        "settings": [
                            {
                                "tradeType": "buy",
                                "triggerPriceUsd": "1",
                                "triggerDirection": "up",
                                "currencyAmountUI": "5",
                            }
                        ],
                    },
                }
            ): (20, "unknown pair"),
            '{"method": "subscribeTradeResults", "tradeTypeFilter": ["follow_buy_sucess"]}': (
                None,
                "follow_buy_sucess",
            ),
        }
        for frame, (request_id, words) in cases.items():
            answer = await reply(frame)
            assert answer["method"] == "rpcResponse" and answer["id"] == request_id, (frame, answer)
            assert answer["result"]["err"] is True and answer["result"]["docs"] == "", (frame, answer)
            assert words in answer["result"]["res"], (frame, answer)
        # Still connected, and nothing was created by any of that.
        assert await reply('{"id": 99, "method": "listFollowOrders"}') == {
            "method": "rpcResponse",
            "id": 99,
            "result": {"err": False, "res": []},
        }


async def test_json_heartbeats_are_accepted_quietly() -> None:
    async with (
        InProcessServer() as server,
        websockets.connect(server.ws_url(), additional_headers={"x-api-key": "follower-key"}) as ws,
    ):
        await ws.send('{"method": "ping"}')
        await ws.send('{"method": "heartbeat"}')
        await ws.send('{"id": 5, "method": "ping"}')
        assert json.loads(await ws.recv()) == {"method": "rpcResponse", "id": 5, "result": {"err": False}}


async def test_trade_type_filter_picks_the_pushes() -> None:
    async with InProcessServer() as server:
        await place_makers(server.ctx, LADDER)
        everything = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=[])
        only_fails = await DbotWs.connect(server.ws_url(), "follower-key", subscribe=["follow_buy_fail"])
        unsubscribed = await DbotWs.connect(server.ws_url(), "follower-key")
        other_account = await DbotWs.connect(server.ws_url(), "poor-key", subscribe=[])
        await everything.call("createOrUpdateFollowOrder", task_body("t", [server.wallet("leader-key")]))
        await swap(server.base_url, "leader-key", "buy", "1000")
        assert (await everything.push())["state"] == "done"
        await only_fails.no_push(0.2)
        await unsubscribed.no_push(0)
        await other_account.no_push(0)
        for client in (everything, only_fails, unsubscribed, other_account):
            await client.close()


async def test_rest_envelope_auth_and_wallets() -> None:
    async with InProcessServer() as server:
        base = server.base_url
        unauthorized = {"err": True, "res": "missing or unknown X-API-KEY", "docs": ""}
        assert await rest(base, "GET", "/account/wallets", None) == (401, unauthorized)
        status, body = await rest(
            base, "GET", "/account/wallets", "follower-key", params={"page": "0", "size": "20"}
        )
        wallets = server.ctx.venue.engine.account_by_key["follower-key"].wallets
        assert status == 200 and body == {
            "err": False,
            "res": [
                {"id": wallets[0], "name": "default", "type": "evm", "address": wallets[0]},
                {"id": wallets[1], "name": "second", "type": "evm", "address": wallets[1]},
            ],
        }
        status, body = await rest(
            base,
            "POST",
            "/automation/follow_order",
            "follower-key",
            task_body("t", [server.wallet("leader-key")], walletId=wallets[1]),
        )
        task_id = body["res"]["id"]
        # Edit is a full replace: the name changes, the omitted buyAmountType is back to its default.
        edited = task_body("renamed", [server.wallet("leader-key")], id=task_id)
        del edited["buySettings"]["buyAmountType"]
        assert await rest(base, "POST", "/automation/follow_order", "follower-key", edited) == (
            200,
            {"err": False, "res": ""},
        )
        status, body = await rest(base, "GET", "/automation/follow_orders", "follower-key")
        (task,) = body["res"]
        assert (task["name"], task["buySettings"]["buyAmountType"], task["walletId"]) == (
            "renamed",
            "follow_amount",
            wallets[0],
        )
        assert (
            await rest(
                base,
                "PATCH",
                "/automation/follow_orders_update",
                "follower-key",
                {"ids": [task_id], "walletId": wallets[1]},
            )
        )[1]["err"] is False
        status, body = await rest(base, "GET", "/automation/follow_orders", "follower-key")
        assert body["res"][0]["walletId"] == wallets[1]
        assert (
            await rest(
                base,
                "DELETE",
                f"/automation/follow_order/{task_id}",
                "follower-key",
                params={"deletePnlOrder": "true"},
            )
        )[1] == {"err": False, "res": ""}
        assert (await rest(base, "GET", "/automation/follow_orders", "follower-key"))[1]["res"] == []
        status, body = await rest(base, "DELETE", f"/automation/follow_order/{task_id}", "follower-key")
        assert status == 200 and body["err"] is True


async def test_rest_rate_limit_answers_429_per_account() -> None:
    text = config_text(journal='[journal]\nsync = "off"', limits="[limits.dbot]\nrest_calls_per_minute = 3")
    async with InProcessServer(text) as server:
        codes = [
            (await rest(server.base_url, "GET", "/automation/follow_orders", "follower-key"))[0]
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        status, body = await rest(server.base_url, "GET", "/automation/follow_orders", "follower-key")
        assert status == 429 and body["err"] is True and "rate limit" in body["res"]
        assert (await rest(server.base_url, "GET", "/automation/follow_orders", "leader-key"))[0] == 200


async def test_silent_client_is_closed_and_pinging_ones_stay() -> None:
    text = config_text(journal='[journal]\nsync = "off"', limits="[limits.dbot]\nheartbeat_timeout_s = 2")
    async with InProcessServer(text) as server:
        headers = {"x-api-key": "follower-key"}
        silent = await websockets.connect(server.ws_url(), additional_headers=headers, ping_interval=None)
        pinging = await websockets.connect(server.ws_url(), additional_headers=headers, ping_interval=None)
        talking = await websockets.connect(server.ws_url(), additional_headers=headers, ping_interval=None)

        async def keep_pinging() -> None:
            while True:
                await (await pinging.ping())  # control frames only
                await talking.send('{"method": "heartbeat"}')  # data frames only
                await asyncio.sleep(0.5)

        pinger = asyncio.create_task(keep_pinging())
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(silent.recv(), 6)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        await asyncio.sleep(1.5)  # well past the timeout for the others too
        pinger.cancel()
        for ws in (pinging, talking):
            await ws.send('{"id": 1, "method": "listFollowOrders"}')
            assert json.loads(await ws.recv())["result"]["err"] is False
            await ws.close()


def test_default_heartbeat_timeout_is_60s() -> None:
    from sandex.config import parse_config

    assert parse_config(IN_MEMORY).resolved_limits().dbot.heartbeat_timeout_s == 60
