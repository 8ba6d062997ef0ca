"""DBot's error shape everywhere: REST paths and methods that do not exist, bodies that are too
large, numbers that are too large, and decimals written with anything but ASCII digits."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from dbot_harness import DbotWs, InProcessServer, loads, rest, task_body


async def raw_rest(base: str, method: str, path: str, data: bytes = b"") -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base + path, data=data, headers={"X-API-KEY": "follower-key"}) as response,
    ):
        text = await response.text()
        return response.status, response.content_type, loads(text)


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("GET", "/automation/no_such_thing", 404, "no DBot endpoint"),
        ("GET", "/account/balances", 404, "no DBot endpoint"),
        ("PUT", "/automation/follow_order", 405, "PATCH, POST"),
        ("DELETE", "/automation/follow_orders", 405, "GET"),
    ],
)
async def test_unknown_endpoints_and_methods_answer_dbots_json_error(
    method: str, path: str, status: int, words: str
) -> None:
    async with InProcessServer() as server:
        got_status, content_type, body = await raw_rest(server.base_url, method, path, b"{}")
    assert (got_status, content_type) == (status, "application/json")
    assert body["err"] is True and body["docs"] == "" and words in body["res"], body


async def test_an_oversized_body_answers_dbots_json_error() -> None:
    async with InProcessServer() as server:
        limit = server.ctx.limits.session.max_frame_bytes
        status, content_type, body = await raw_rest(
            server.base_url, "POST", "/automation/follow_order", b" " * (limit + 1)
        )
    assert (status, content_type) == (413, "application/json")
    assert body["err"] is True and str(limit) in body["res"], body


HUGE = "9" * 400


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/automation/follow_order", {"buy": {"maxBuyAmountUI": HUGE}}, "maxBuyAmountUI"),
        (
            "/automation/follow_order",
            {"buy": {"reservedAmountUI": "0." + "0" * 400 + "1"}},
            "reservedAmountUI",
        ),
        ("/automation/follow_order", {"buy": {"buyRatio": HUGE}}, "buyRatio"),
        ("/automation/swap_order", {"amountOrPercent": HUGE}, "amountOrPercent"),
    ],
)
async def test_a_number_too_large_is_named_not_echoed(path: str, body: dict[str, Any], field: str) -> None:
    async with InProcessServer() as server:
        if path == "/automation/swap_order":
            params: dict[str, Any] = {"pair": "BTC_USDT", "type": "buy", **body}
        else:
            params = task_body("t", [server.wallet("leader-key")], buy=body["buy"])
        for text in (json.dumps(params), json.dumps(params).replace(f'"{HUGE}"', HUGE)):  # string, number
            status, _, answer = await raw_rest(server.base_url, "POST", path, text.encode())
            assert status == 200 and answer["err"] is True, answer
            assert field in answer["res"] and len(answer["res"]) < 120, answer


NOT_ASCII = ["１", "0.00١", "５0000", " 1000", "1000 ", "1000\n", "1_000", "١٠٠٠"]


async def test_decimals_accept_only_ascii_digits_over_rest_and_websocket() -> None:
    async with InProcessServer() as server:
        leader = server.wallet("leader-key")
        usdt = server.free("follower-key", "USDT")
        ws = await DbotWs.connect(server.ws_url(), "follower-key")
        try:
            for text in NOT_ASCII:
                task = task_body("t", [leader], buy={"maxBuyAmountUI": text})
                status, body = await rest(
                    server.base_url, "POST", "/automation/follow_order", "follower-key", task
                )
                assert status == 200 and body["err"] is True, (text, body)
                assert "maxBuyAmountUI" in body["res"] and "ASCII" in body["res"], (text, body)
                swap = {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": text}
                answer = await ws.request("createSwapOrder", swap)
                assert answer["result"]["err"] is True, (text, answer)
                assert "amountOrPercent" in answer["result"]["res"], (text, answer)
            # Nothing was created and nothing was spent; the ASCII spellings still work.
            assert await ws.call("listFollowOrders") == []
            assert server.free("follower-key", "USDT") == usdt
            for text in ("1000", "1000.50", ".5", "5."):
                task = task_body("t", [leader], buy={"maxBuyAmountUI": text})
                status, body = await rest(
                    server.base_url, "POST", "/automation/follow_order", "follower-key", task
                )
                assert status == 200 and body["err"] is False, (text, body)
        finally:
            await ws.close()


async def test_query_integers_accept_only_ascii_digits() -> None:
    async with InProcessServer() as server:
        for page in ("１", " 1", "1_0", "٣", "9" * 400):
            status, _, body = await raw_rest(server.base_url, "GET", f"/automation/follow_orders?page={page}")
            assert status == 200 and body["err"] is True and "page" in body["res"], (page, body)
            assert len(body["res"]) < 120, body
        status, _, body = await raw_rest(server.base_url, "GET", "/automation/follow_orders?page=0&size=5")
        assert status == 200 and body == {"err": False, "res": []}
