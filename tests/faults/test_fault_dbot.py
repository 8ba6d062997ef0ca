"""DBot's own fault hooks through a real `sandex serve`, observed by real DBot clients: JSON pings
left unanswered (`ignore_pings`) and new orders refused with a chosen code (`reject_orders_code`),
per API key, from the config file and switched live through the operator API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.dbot.dbot_harness import DbotWs, rest, task_body
from tests.digifinex.dfx_support import arest, journal_seq
from tests.faults.fault_support import ALICE, config_with
from tests.support.server import SandexServer

DEAF_ALICE = """
[limits.dbot]
heartbeat_timeout_s = 1

[[faults]]
name = "deaf"
dialect = "dbot"
api_key = "alice-key"
ignore_pings = true
"""

REJECT_ALICE = """
[[faults]]
name = "alice-broke"
dialect = "dbot"
api_key = "alice-key"
reject_orders_code = 20011
reject_orders_message = "Insufficient balance (sandex fault injection)"
"""

REJECTED = "Insufficient balance (sandex fault injection) (code 20011)"


def limit_order(price: str = "70000") -> dict[str, Any]:
    return {
        "chain": "solana",
        "pair": "BTC_USDT",
        "settings": [
            {
                "enabled": True,
                "tradeType": "buy",
                "triggerPriceUsd": price,
                "triggerDirection": "up",
                "currencyAmountUI": "500",
            }
        ],
    }


SWAP = {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": "100"}


async def admin(server: SandexServer, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, server.base_url + path, json=body) as response,
    ):
        assert response.status == 200, await response.text()
        return json.loads(await response.read())


async def injected(server: SandexServer, name: str) -> dict[str, int]:
    state = await admin(server, "GET", "/admin/faults")
    return next(p["injected"] for p in state["profiles"] if p["name"] == name)


async def raw_dbot(server: SandexServer, key: str) -> websockets.ClientConnection:
    return await websockets.connect(
        server.ws_url("/trade/ws"), additional_headers={"x-api-key": key}, ping_interval=None
    )


async def nothing_within(ws: websockets.ClientConnection, seconds: float) -> None:
    with pytest.raises(asyncio.TimeoutError):
        frame = await asyncio.wait_for(ws.recv(), seconds)
        pytest.fail(f"unexpected frame: {frame!r}")


async def usdt(server: SandexServer, creds: tuple[str, str]) -> dict[str, Any]:
    """The account's USDT balance, as DigiFinex REST shows its default wallet (the DBot one too)."""
    async with aiohttp.ClientSession() as http:
        body = await arest(http, server.base_url, "GET", "/v3/spot/assets", creds=creds)
    return next(row for row in body["list"] if row["currency"] == "USDT")


# -- ignore_pings -------------------------------------------------------------------------------


async def test_json_pings_go_unanswered_for_the_chosen_key_yet_keep_the_connection_alive(
    tmp_path: Path,
) -> None:
    with SandexServer(tmp_path, config_with(DEAF_ALICE)) as server:
        deaf, fine = await raw_dbot(server, "alice-key"), await raw_dbot(server, "bob-key")
        # Control: bob's pings are answered, with his id.
        await fine.send(json.dumps({"id": 7, "method": "ping"}))
        assert json.loads(await asyncio.wait_for(fine.recv(), 2)) == {
            "method": "rpcResponse",
            "id": 7,
            "result": {"err": False},
        }
        await fine.close()
        # alice's ping and heartbeat get nothing: the next frame is the reply to the request after them.
        await deaf.send(json.dumps({"id": 1, "method": "ping"}))
        await deaf.send(json.dumps({"id": 2, "method": "heartbeat"}))
        await deaf.send(json.dumps({"id": 3, "method": "listWallets", "params": {}}))
        reply = json.loads(await asyncio.wait_for(deaf.recv(), 2))
        assert reply["id"] == 3 and reply["result"]["err"] is False
        await nothing_within(deaf, 0.5)
        assert (await injected(server, "deaf"))["ignore_pings"] == 2

        # Unanswered, the pings still count as liveness (heartbeat_timeout_s = 1): alice pinging
        # outlives a silent connection of hers.
        silent = await raw_dbot(server, "alice-key")
        for _ in range(10):
            await deaf.send(json.dumps({"id": 9, "method": "ping"}))
            await asyncio.sleep(0.3)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(silent.recv(), 0.1)
        await nothing_within(deaf, 0.1)  # still open, still silent
        await deaf.send(json.dumps({"id": 4, "method": "listWallets", "params": {}}))
        assert json.loads(await asyncio.wait_for(deaf.recv(), 2))["id"] == 4

        # Live: switched off, the same connection's pings are answered again.
        await admin(server, "POST", "/admin/faults/deaf/disable", {})
        await deaf.send(json.dumps({"id": 5, "method": "ping"}))
        assert json.loads(await asyncio.wait_for(deaf.recv(), 2)) == {
            "method": "rpcResponse",
            "id": 5,
            "result": {"err": False},
        }
        await deaf.close()


# -- reject_orders ------------------------------------------------------------------------------


async def test_new_orders_rejected_with_the_chosen_code_for_one_key(tmp_path: Path) -> None:
    with SandexServer(tmp_path, config_with(REJECT_ALICE)) as server:
        base = server.base_url
        before, seq = await usdt(server, ALICE), journal_seq(base)
        # REST: in-band error (HTTP 200), DBot's envelope, the code in the message.
        status, body = await rest(base, "POST", "/automation/limit_order", "alice-key", limit_order())
        assert (status, body) == (200, {"err": True, "res": REJECTED, "docs": ""})
        status, body = await rest(base, "POST", "/automation/swap_order", "alice-key", SWAP)
        assert (status, body) == (200, {"err": True, "res": REJECTED, "docs": ""})
        # WebSocket: the same refusal, echoing the request id.
        alice = await DbotWs.connect(server.ws_url("/trade/ws"), "alice-key")
        for method, params in (("createLimitOrder", limit_order()), ("createSwapOrder", SWAP)):
            frame = await alice.request(method, params)
            assert frame["result"] == {"err": True, "res": REJECTED, "docs": ""}, frame
        # A malformed order is answered by validation, as on DigiFinex: the fault hits orders that
        # would have gone through.
        frame = await alice.request("createLimitOrder", {**limit_order(), "pair": "DOGE_USDT"})
        assert frame["result"]["err"] is True and "code 20011" not in frame["result"]["res"]
        # Nothing reached the journal or the engine.
        assert journal_seq(base) == seq
        assert await alice.call("listLimitOrders", {"page": 0, "size": 20}) == []
        assert await usdt(server, ALICE) == before
        # Not order entry: copy-trading tasks are still created.
        _, wallets = await rest(base, "GET", "/account/wallets", "bob-key")
        target = wallets["res"][0]["id"]
        assert (await alice.call("createOrUpdateFollowOrder", task_body("copy", [target])))["id"]
        assert (await injected(server, "alice-broke")) == {"reject_order": 4}

        # Another key is untouched.
        bob = await DbotWs.connect(server.ws_url("/trade/ws"), "bob-key")
        (order_id,) = (await bob.call("createLimitOrder", limit_order()))["ids"]
        assert [o["id"] for o in await bob.call("listLimitOrders", {})] == [order_id]
        status, body = await rest(base, "POST", "/automation/swap_order", "bob-key", SWAP)
        assert status == 200 and body["err"] is False and body["res"]["id"]
        for client in (alice, bob):
            await client.close()


async def test_rejection_switched_live_through_the_operator_api(tmp_path: Path) -> None:
    with SandexServer(tmp_path, config_with()) as server:
        alice = await DbotWs.connect(server.ws_url("/trade/ws"), "alice-key")
        (kept,) = (await alice.call("createLimitOrder", limit_order()))["ids"]
        await admin(
            server,
            "POST",
            "/admin/faults/refuse",
            {
                "dialect": "dbot",
                "api_key": "alice-key",
                "reject_orders_code": 30001,
                "reject_orders_message": "venue busy",
            },
        )
        for method, params in (("createLimitOrder", limit_order("71000")), ("createSwapOrder", SWAP)):
            frame = await alice.request(method, params)
            assert frame["result"] == {"err": True, "res": "venue busy (code 30001)", "docs": ""}, frame
        # Only new orders are refused: the order already placed can still be changed and deleted.
        await alice.call("updateLimitOrder", {"id": kept, "triggerPriceUsd": "72000"})
        await alice.call("deleteLimitOrders", {"ids": [kept]})
        # Another dialect of the same key is not hit by a dbot profile.
        order = {"symbol": "BTC_USDT", "type": "buy", "price": "60000", "amount": "0.01"}
        async with aiohttp.ClientSession() as http:
            placed = await arest(http, server.base_url, "POST", "/v3/spot/order/new", order, creds=ALICE)
        assert placed["code"] == 0, placed
        assert (await injected(server, "refuse")) == {"reject_order": 2}
        # Deleted: orders go through again.
        assert (await admin(server, "DELETE", "/admin/faults/refuse"))["profiles"] == []
        (again,) = (await alice.call("createLimitOrder", limit_order("71000")))["ids"]
        assert [o["id"] for o in await alice.call("listLimitOrders", {}) if o["state"] == "init"] == [again]
        await alice.close()
