"""Account isolation across every dialect, end to end against a real `sandex serve`.

alice trades (DigiFinex REST against carol's resting orders, DBot swaps), places and cancels
orders, creates a copy-trading task and a DBot limit order. bob watches everything he can: every
private DigiFinex channel, DBot trade results, the Infoway feed, and every REST query, with
alice's order and task ids in hand. He must learn nothing of alice's: no push, no row, no
balance, and none of his requests may touch her orders or tasks. alice's own sessions get
their pushes, so the silence on bob's side means something.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from tests.digifinex.dfx_support import signed_headers, ws_auth_params
from tests.support.server import BASE_CONFIG, SandexServer

CONFIG = (
    BASE_CONFIG
    + """
[[accounts]]
name = "carol"
api_key = "carol-key"
secret = "carol-secret"
balances = { USDT = "1000000", BTC = "10", ETH = "100" }
"""
)
CREDS = {"alice-key": "alice-secret", "bob-key": "bob-secret", "carol-key": "carol-secret"}


async def dfx(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    key: str,
    params: dict[str, str] | None = None,
) -> Any:
    payload = urllib.parse.urlencode(params or {})
    headers = signed_headers(key, CREDS[key], payload)
    if method == "POST":
        response = await http.post(base + path, data=payload, headers=headers)
    else:
        response = await http.get(base + path + ("?" + payload if payload else ""), headers=headers)
    async with response:
        return json.loads(await response.read())


async def dbot(
    http: aiohttp.ClientSession, base: str, method: str, path: str, key: str, body: Any = None
) -> Any:
    async with http.request(method, base + path, json=body, headers={"X-API-KEY": key}) as response:
        return json.loads(await response.read())


class Listener:
    """Collects every frame a connection receives until stopped."""

    def __init__(self, ws: websockets.ClientConnection, decode: Any) -> None:
        self.ws = ws
        self.frames: list[Any] = []
        self._task = asyncio.create_task(self._run(decode))

    async def _run(self, decode: Any) -> None:
        async for raw in self.ws:
            self.frames.append(decode(raw))

    async def stop(self) -> list[Any]:
        await self.ws.close()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.frames


async def digifinex_watcher(server: SandexServer, key: str) -> Listener:
    ws = await websockets.connect(server.ws_url("/ws/v1/"), ping_interval=None)
    for i, (method, params) in enumerate(
        [
            ("server.auth", ws_auth_params(key, CREDS[key])),
            ("order.subscribe", []),
            ("balance.subscribe", []),
            ("order_algo.subscribe", []),
        ]
    ):
        await ws.send(json.dumps({"id": i, "method": method, "params": params}))
        reply = json.loads(zlib.decompress(await ws.recv()))
        assert reply["error"] is None, reply
    return Listener(ws, lambda raw: json.loads(zlib.decompress(raw)))


async def dbot_watcher(server: SandexServer, key: str) -> Listener:
    ws = await websockets.connect(
        server.ws_url("/trade/ws"), additional_headers={"x-api-key": key}, ping_interval=None
    )
    await ws.send(json.dumps({"method": "subscribeTradeResults", "tradeTypeFilter": []}))
    assert json.loads(await ws.recv())["method"] == "subscribeResponse"
    return Listener(ws, json.loads)


async def test_no_private_event_balance_or_task_of_one_account_reaches_another(tmp_path: Path) -> None:
    with SandexServer(tmp_path, CONFIG) as server:
        base = server.base_url
        async with aiohttp.ClientSession() as http:
            wallets = {
                key: [w["id"] for w in (await dbot(http, base, "GET", "/account/wallets", key))["res"]]
                for key in CREDS
            }
            bob_assets = await dfx(http, base, "GET", "/v3/spot/assets", "bob-key")
            for side, price in (("sell", "65000"), ("sell", "65010"), ("buy", "64000")):
                reply = await dfx(
                    http,
                    base,
                    "POST",
                    "/v3/spot/order/new",
                    "carol-key",
                    {"symbol": "BTC_USDT", "type": side, "price": price, "amount": "0.5"},
                )
                assert reply["code"] == 0, reply
            alice_dfx, alice_dbot = (
                await digifinex_watcher(server, "alice-key"),
                await dbot_watcher(server, "alice-key"),
            )
            bob_dfx, bob_dbot = (
                await digifinex_watcher(server, "bob-key"),
                await dbot_watcher(server, "bob-key"),
            )
            bob_feed = await websockets.connect(
                server.ws_url("/ws?business=crypto&apikey=bob-key"), ping_interval=None
            )
            assert json.loads(await bob_feed.recv())["code"] == 200
            await bob_feed.send(json.dumps({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT"}}))
            bob_iw = Listener(bob_feed, json.loads)

            # -- alice's business ------------------------------------------------------------------
            orders = []
            for params in (
                {"symbol": "BTC_USDT", "type": "buy", "price": "65000", "amount": "0.1"},  # fills
                {"symbol": "BTC_USDT", "type": "buy", "price": "60000", "amount": "0.1"},  # rests
                {"symbol": "BTC_USDT", "type": "buy", "price": "59000", "amount": "0.1"},
            ):  # cancelled
                reply = await dfx(http, base, "POST", "/v3/spot/order/new", "alice-key", params)
                assert reply["code"] == 0, reply
                orders.append(reply["order_id"])
            filled, resting, cancelled = orders
            assert (
                await dfx(http, base, "POST", "/v3/spot/order/cancel", "alice-key", {"order_id": cancelled})
            )["success"] == [cancelled]
            task = await dbot(
                http,
                base,
                "POST",
                "/automation/follow_order",
                "alice-key",
                {
                    # She follows bob: he still must not learn of the task (and, bob never trading,
                    # it copies nothing that would move her orders).
                    "name": "follow bob",
                    "chain": "solana",
                    "targetIds": wallets["bob-key"][:1],
                    "buySettings": {"maxBuyAmountUI": "100", "buyAmountType": "fixed_amount"},
                    "sellSettings": {"mode": "only_copy", "sellAmountType": "all"},
                },
            )
            assert task["err"] is False, task
            task_id = task["res"]["id"]
            limit = await dbot(
                http,
                base,
                "POST",
                "/automation/limit_order",
                "alice-key",
                {
                    "chain": "solana",
                    "pair": "BTC_USDT",
                    "walletId": wallets["alice-key"][0],
                    "settings": [
                        {
                            "enabled": True,
                            "tradeType": "buy",
                            "triggerPriceUsd": "70000",
                            "triggerDirection": "up",
                            "currencyAmountUI": "50",
                        }
                    ],
                },
            )
            assert limit["err"] is False, limit
            swap = await dbot(
                http,
                base,
                "POST",
                "/automation/swap_order",
                "alice-key",
                {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": "100"},
            )
            assert swap["err"] is False, swap
            await asyncio.sleep(1.0)

            # -- bob asks about all of it -----------------------------------------------------------
            ids = ",".join([filled, resting, cancelled])
            assert (await dfx(http, base, "GET", "/v3/spot/order", "bob-key", {"order_id": ids}))[
                "data"
            ] == []
            detail = await dfx(http, base, "GET", "/v3/spot/order/detail", "bob-key", {"order_id": filled})
            assert detail["code"] == 20013
            assert (await dfx(http, base, "GET", "/v3/spot/order/current", "bob-key"))["data"] == []
            assert (await dfx(http, base, "GET", "/v3/spot/order/history", "bob-key"))["data"] == []
            assert (await dfx(http, base, "GET", "/v3/spot/mytrades", "bob-key"))["list"] == []
            assert await dfx(http, base, "GET", "/v3/spot/assets", "bob-key") == bob_assets
            refused = await dfx(http, base, "POST", "/v3/spot/order/cancel", "bob-key", {"order_id": resting})
            assert refused["success"] == [] and refused["error"] == [resting]
            assert (await dbot(http, base, "GET", "/automation/follow_orders", "bob-key"))["res"] == []
            assert (await dbot(http, base, "GET", "/automation/limit_orders", "bob-key"))["res"] == []
            toggle = await dbot(
                http,
                base,
                "PATCH",
                "/automation/follow_orders",
                "bob-key",
                {"ids": [task_id], "enabled": False},
            )
            assert toggle["err"] is True
            deleted = await dbot(http, base, "DELETE", f"/automation/follow_order/{task_id}", "bob-key")
            assert deleted["err"] is True
            assert set(wallets["bob-key"]).isdisjoint(wallets["alice-key"])

            # -- alice's things are still hers, untouched -------------------------------------------
            mine = await dfx(http, base, "GET", "/v3/spot/order", "alice-key", {"order_id": resting})
            assert [row["status"] for row in mine["data"]] == [0]
            tasks = (await dbot(http, base, "GET", "/automation/follow_orders", "alice-key"))["res"]
            assert [(t["id"], t["enabled"]) for t in tasks] == [(task_id, True)]

            got = {
                name: await listener.stop()
                for name, listener in (
                    ("alice_dfx", alice_dfx),
                    ("alice_dbot", alice_dbot),
                    ("bob_dfx", bob_dfx),
                    ("bob_dbot", bob_dbot),
                    ("bob_iw", bob_iw),
                )
            }

        # alice heard about her own business (the control) ...
        alice_orders = {
            item["id"] for f in got["alice_dfx"] if f.get("method") == "order.update" for item in f["params"]
        }
        assert {filled, resting, cancelled} <= alice_orders
        assert any(f.get("method") == "balance.update" for f in got["alice_dfx"])
        assert any(f.get("method") == "tradeResultNotify" for f in got["alice_dbot"])
        # ... and bob heard nothing private at all.
        assert [f for f in got["bob_dfx"] if f.get("method") is not None] == []
        assert got["bob_dbot"] == []
        trades = [f["data"] for f in got["bob_iw"] if f.get("code") == 10002]
        assert trades, "the public feed carried the trades"
        assert all(set(t) == {"s", "p", "v", "vw", "t", "td"} for t in trades)  # no account, no order id
