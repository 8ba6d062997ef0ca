"""Fuzzing the DBot dialect over real sockets: its WebSocket request frames and its REST routes.

Documented answers only: on the WebSocket an `rpcResponse` with `result.err` true or false (or a
`subscribeResponse`), the connection open; over REST HTTP 200/401/429/503 with `{"err", "res"}`.
Nothing logged as an error; a refused request changes nothing.

The DBot dialect is being finished separately, so this module runs only with SANDEX_FUZZ_DBOT=1
(`make fuzz` sets it). Switch it on in CI once DBot's decoder maps every input to an error reply
(see docs/reliability.md, "Fuzzing").
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import websockets
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from tests.fuzz.fuzz_inputs import WEIRD_TEXT, envelopes, fuzz_settings, json_values, messages, oversized
from tests.fuzz.fuzz_venue import FuzzVenue

MAX_FRAME = 262144
METHODS = [
    "createOrUpdateFollowOrder",
    "updateFollowOrder",
    "batchToggleFollowOrder",
    "batchUpdateFollowOrder",
    "deleteFollowOrders",
    "listFollowOrders",
    "listPnlOrdersFromFollowOrder",
    "createLimitOrder",
    "updateLimitOrder",
    "listLimitOrders",
    "subscribeTradeResults",
    "ping",
    "heartbeat",
]
PARAMS = st.one_of(
    json_values(),
    st.fixed_dictionaries(
        {},
        optional={
            "id": json_values(),
            "ids": st.lists(st.one_of(WEIRD_TEXT, json_values()), max_size=3),
            "enabled": json_values(),
            "closePnlOrder": st.one_of(st.sampled_from(["true", "false", True]), json_values()),
            "name": WEIRD_TEXT,
            "targetIds": json_values(),
            "walletId": json_values(),
            "page": json_values(),
            "size": json_values(),
            "buySettings": json_values(),
            "sellSettings": json_values(),
            "chain": WEIRD_TEXT,
            "pair": st.one_of(st.sampled_from(["BTC_USDT", "x"]), WEIRD_TEXT),
            "settings": json_values(),
        },
    ),
)
ENVELOPE = envelopes(
    {
        "id": st.one_of(st.integers(), json_values()),
        "method": st.one_of(st.sampled_from(METHODS), json_values()),
        "params": PARAMS,
        "tradeTypeFilter": json_values(),
    }
)
VALID = [
    '{"id":1,"method":"listFollowOrders","params":{"page":0,"size":20}}',
    '{"method":"subscribeTradeResults","tradeTypeFilter":[]}',
    '{"id":2,"method":"ping"}',
]
MESSAGES = messages(
    ENVELOPE, VALID, oversized(60_000, 300_000, '{"id":3,"method":"ping","params":{"x":"PAD"}}')
)


def check_ws(frame: dict[str, Any]) -> None:
    if frame.get("method") == "subscribeResponse":
        return
    assert frame.get("method") == "rpcResponse" and isinstance(frame["result"]["err"], bool), frame
    if frame["result"]["err"]:
        assert isinstance(frame["result"]["res"], str) and frame["result"]["res"]


def test_fuzz_dbot_websocket(venue: FuzzVenue) -> None:
    state: dict[str, Any] = {"ws": None}

    async def exchange(message: str | bytes) -> list[dict[str, Any]]:
        if state["ws"] is None:
            state["ws"] = await websockets.connect(
                venue.ws_url("/trade/ws"),
                max_size=None,
                ping_interval=None,
                additional_headers={"x-api-key": "alice-key"},
            )
        ws = state["ws"]
        too_big = len(message if isinstance(message, bytes) else message.encode()) > MAX_FRAME
        await ws.send(message)
        await ws.send('{"id":"fence","method":"ping"}')
        frames = []
        try:
            while True:
                frame = json.loads(
                    await asyncio.wait_for(ws.recv(), 5), parse_int=Decimal
                )  # ids may have 5,000 digits
                if frame.get("id") == "fence":
                    return frames
                if frame.get("method") != "tradeResultNotify":
                    frames.append(frame)
        except ConnectionClosed:
            state["ws"] = None
            assert too_big and ws.close_code == 1009, (ws.close_code, len(message))
            return []

    @fuzz_settings()
    @given(message=MESSAGES)
    def one(message: str | bytes) -> None:
        frames = venue.run(exchange(message))
        assert len(frames) <= 1, frames  # one answer per request at most
        for frame in frames:
            check_ws(frame)
        assert venue.escaped() == []

    one()


PATHS = [
    ("POST", "/automation/follow_order"),
    ("PATCH", "/automation/follow_order"),
    ("PATCH", "/automation/follow_orders"),
    ("DELETE", "/automation/follow_order/x1"),
    ("POST", "/automation/follow_order/delete_many"),
    ("PATCH", "/automation/follow_orders_update"),
    ("GET", "/automation/follow_orders"),
    ("GET", "/automation/pnl_orders_from_follow_order"),
    ("POST", "/automation/limit_order"),
    ("PATCH", "/automation/limit_order"),
    ("GET", "/automation/limit_orders"),
    ("POST", "/automation/swap_order"),
    ("GET", "/automation/swap_orders"),
    ("GET", "/account/wallets"),
]


def test_fuzz_dbot_rest(venue: FuzzVenue) -> None:
    async def call(
        method: str, path: str, query: dict[str, str], body: bytes, key: str | None
    ) -> tuple[int, bytes]:
        headers = {"X-API-KEY": key} if key is not None else {}
        async with venue.http.request(
            method, venue.base_url + path, params=query, data=body, headers=headers
        ) as r:
            return r.status, await r.read()

    @fuzz_settings()
    @given(
        route=st.sampled_from(PATHS),
        body=st.one_of(
            ENVELOPE.map(lambda e: json.dumps(e.get("params"), default=str).encode()),
            st.binary(max_size=100),
            MESSAGES.map(lambda m: m if isinstance(m, bytes) else m.encode()),
        ),
        query=st.dictionaries(
            st.sampled_from(["page", "size", "ids", "chain", "state", "deletePnlOrder"]),
            st.text(max_size=10),
            max_size=3,
        ),
        key=st.sampled_from(["alice-key", "alice-key", None, "nobody"]),
    )
    def one(route: tuple[str, str], body: bytes, query: dict[str, str], key: str | None) -> None:
        before = venue.state()
        status, raw = venue.run(call(route[0], route[1], query, body, key))
        venue.settle()
        too_big = len(body) > MAX_FRAME  # over limits.session.max_frame_bytes: 413, as documented
        assert status in (200, 401, 429, 503) or (too_big and status == 413), (route, status, raw[:200])
        reply = json.loads(raw, parse_int=Decimal)
        assert isinstance(reply["err"], bool), reply
        if reply["err"]:
            assert venue.state() == before
        assert venue.escaped() == []

    one()
