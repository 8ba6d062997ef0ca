"""The seed document, verbatim: every request its Python examples send, and every push it shows.

The requests are read out of the document (`ws.send('...')` lines) and sent exactly as written,
each on a fresh `websocket-client` connection as the examples do, with only the URL changed.
The push examples are read out of it too, and live pushes must have their fields and types.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from websocket import create_connection

from tests.digifinex.dfx_support import ALICE, BOB, decode, rest, ws_auth_params
from tests.support.server import SandexServer

SEED = Path(__file__).with_name("digifinex-websocket-v1.txt").read_text()
PRIVATE = ("order.", "order_algo.", "balance.")


def seed_requests() -> list[str]:
    return re.findall(r"^ws\.send\('(.*)'\)$", SEED, flags=re.M)


def seed_pushes() -> dict[str, Any]:
    """method -> the push example that follows each "push example" heading."""
    pushes: dict[str, Any] = {}
    for match in re.finditer(r"push example\s*\n", SEED):
        text = SEED[match.end() :]
        depth = 0
        for end, char in enumerate(text):
            depth += char == "{"
            depth -= char == "}"
            if depth == 0 and char == "}":
                example = json.loads(text[: end + 1])
                pushes[example["method"]] = example
                break
    return pushes


def test_the_seed_is_fully_read() -> None:
    methods = {json.loads(r)["method"] for r in seed_requests()}
    assert len(seed_requests()) == 17
    assert methods == {
        "server.ping",
        "server.time",
        "server.auth",
        "trades.subscribe",
        "trades.unsubscribe",
        "depth.subscribe",
        "depth.unsubscribe",
        "ticker.subscribe",
        "ticker.unsubscribe",
        "all_ticker.subscribe",
        "all_ticker.unsubscribe",
        "order.subscribe",
        "order.unsubscribe",
        "order_algo.subscribe",
        "order_algo.unsubscribe",
        "balance.subscribe",
        "balance.unsubscribe",
    }
    assert set(seed_pushes()) == {
        "trades.update",
        "depth.update",
        "all_ticker.update",
        "ticker.update",
        "order.update",
        "order_algo.update",
        "balance.update",
    }


def test_every_seed_request_gets_its_documented_reply(server: SandexServer) -> None:
    for request in seed_requests():
        method = json.loads(request)["method"]
        ws = create_connection(server.ws_url("/ws/v1/"))
        try:
            ws.send(request)
            reply = decode(ws.recv())
        finally:
            ws.close()
        assert reply["id"] == 12312, (request, reply)
        if method == "server.ping":
            assert reply == {"id": 12312, "result": "pong", "error": None}
        elif method == "server.time":
            assert reply["error"] is None and isinstance(reply["result"], int)
            assert abs(reply["result"] - time.time()) < 5
        elif method == "server.auth" or method.startswith(PRIVATE):
            # The seed signs in with DigiFinex's sample key (not a sandex key); private channels
            # need a signed-in connection: both are the documented error 6.
            assert reply["result"] is None and reply["error"]["code"] == 6, (request, reply)
            assert isinstance(reply["error"]["message"], str)
        else:
            assert reply == {"error": None, "result": {"status": "success"}, "id": 12312}, (request, reply)


def test_private_seed_requests_succeed_once_signed_in(server: SandexServer) -> None:
    ws = create_connection(server.ws_url("/ws/v1/"))
    try:
        ws.send(json.dumps({"id": 1, "method": "server.auth", "params": ws_auth_params(*ALICE)}))
        assert decode(ws.recv()) == {"error": None, "result": {"status": "success"}, "id": 1}
        for request in seed_requests():
            if json.loads(request)["method"].startswith(PRIVATE):
                ws.send(request)
                assert decode(ws.recv()) == {"error": None, "result": {"status": "success"}, "id": 12312}
    finally:
        ws.close()


def _shape(value: Any) -> Any:
    """A JSON value's structure: types of scalars, key -> shape of objects, first item of lists."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _covers(ours: Any, seed: Any, where: str) -> None:
    """Every field of the seed example exists in our push with the same type."""
    if isinstance(seed, dict):
        assert isinstance(ours, dict), where
        for key, value in seed.items():
            assert key in ours, f"{where}: missing {key}"
            _covers(ours[key], value, f"{where}.{key}")
    elif isinstance(seed, list):
        assert isinstance(ours, list), where
        for i, value in enumerate(seed):
            if i < len(ours):
                _covers(ours[i], value, f"{where}[{i}]")
    else:
        assert ours == seed, f"{where}: {ours} != {seed}"


def test_live_pushes_have_the_seed_fields(server: SandexServer) -> None:
    ws = create_connection(server.ws_url("/ws/v1/"))
    try:
        ws.send(json.dumps({"id": 1, "method": "server.auth", "params": ws_auth_params(*ALICE)}))
        decode(ws.recv())
        for n, (method, params) in enumerate(
            [
                ("trades.subscribe", ["BTC_USDT"]),
                ("depth.subscribe", ["BTC_USDT"]),
                ("ticker.subscribe", ["BTC_USDT"]),
                ("all_ticker.subscribe", None),
                ("order.subscribe", ["BTC_USDT"]),
                ("balance.subscribe", ["USDT", "BTC"]),
            ],
            start=2,
        ):
            ws.send(json.dumps({"id": n, "method": method, **({"params": params} if params else {})}))
        rest(
            server.base_url,
            "POST",
            "/v3/spot/order/new",
            {"symbol": "BTC_USDT", "type": "sell", "price": "65000.5", "amount": "0.25"},
            BOB,
        )
        rest(
            server.base_url,
            "POST",
            "/v3/spot/order/new",
            {"symbol": "BTC_USDT", "type": "buy", "price": "65000.5", "amount": "0.1"},
            ALICE,
        )
        seen: dict[str, Any] = {}
        deadline = time.monotonic() + 10
        wanted = {
            "trades.update",
            "depth.update",
            "ticker.update",
            "all_ticker.update",
            "order.update",
            "balance.update",
        }
        ws.settimeout(10)
        while not wanted <= set(seen) and time.monotonic() < deadline:
            frame = decode(ws.recv())
            if "method" in frame and frame["params"] and frame["params"][0] is not True:
                seen.setdefault(frame["method"], frame)
        assert wanted <= set(seen), set(seen)
    finally:
        ws.close()
    for method, example in seed_pushes().items():
        if method == "order_algo.update":
            continue  # needs a trigger order: covered in test_dfx_private
        ours = seen[method]
        assert ours["id"] is None and ours["method"] == method
        _covers(_shape(ours), _shape(example), method)
    trade = seen["trades.update"]["params"]
    assert trade[0] is False and trade[2] == "BTC_USDT"
    assert trade[1][0]["price"] == "65000.50" and trade[1][0]["amount"] == "0.100000"
    assert trade[1][0]["type"] == "buy" and isinstance(trade[1][0]["time"], float)
    order = seen["order.update"]["params"][0]
    assert order["status"] == 2 and order["filled"] == "0.1" and order["type"] == "limit"
