"""Fuzzing the Infoway dialect: its frame decoder and connection state machine, then the same
inputs over a real socket.

Every frame gets exactly what the docs promise: an ack echoing its trace (10001, 10004, 10007,
11010; 10011 for a heartbeat that asks), nothing (a heartbeat that does not ask), or an error
`{"traceId", "code", "msg"}` with code 505, 506, 507 or 515 and the trace echoed when the frame
had a string trace. No exception escapes, nothing is logged as an error, the connection stays
open (only a frame over `max_frame_bytes` closes it, with 1009), and the engine is untouched.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import websockets
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from sandex.protocols.infoway.connection import InfowayConnection
from sandex.protocols.infoway.symbols import SymbolMap
from tests.fuzz.fuzz_inputs import (
    EXAMPLES,
    NUMBER_TEXT,
    WEIRD_TEXT,
    envelopes,
    fuzz_settings,
    json_values,
    messages,
    oversized,
)
from tests.fuzz.fuzz_venue import FuzzVenue

MAX_FRAME = 262144
REQUEST_CODES = [10000, 10003, 10006, 10010, 11000, 11001, 11002]
ACKS = {10000: 10001, 10003: 10004, 10006: 10007, 11000: 11010, 11001: 11010, 11002: 11010}
ERRORS = {505, 506, 507, 515}
CODES = st.one_of(
    st.sampled_from(["BTCUSDT", "ETHUSDT", "BTCUSDT,ETHUSDT", "btcusdt", ",,", "", " BTCUSDT "]), WEIRD_TEXT
)
DATA = st.one_of(
    json_values(),
    st.fixed_dictionaries(
        {},
        optional={
            "codes": st.one_of(CODES, json_values()),
            "includeTy": json_values(),
            "klineTypes": st.one_of(
                st.sampled_from(["1", "1,2", "0", "13", "1,x"]), NUMBER_TEXT, json_values()
            ),
        },
    ),
    st.fixed_dictionaries(
        {
            "arr": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "type": st.one_of(st.integers(-5, 20), json_values()),
                        "codes": st.one_of(CODES, json_values()),
                    },
                ),
                max_size=4,
            )
        }
    ),
    st.fixed_dictionaries({"ack": st.one_of(st.sampled_from([1, "1", True, "true", 0]), json_values())}),
)
ENVELOPE = envelopes(
    {
        "code": st.one_of(st.sampled_from(REQUEST_CODES), st.integers(-(2**70), 2**70), json_values()),
        "trace": st.one_of(WEIRD_TEXT, json_values()),
        "data": DATA,
        "ack": st.one_of(st.sampled_from([1, "1", True]), json_values()),
    }
)
VALID = [
    '{"code":10000,"trace":"a","data":{"codes":"BTCUSDT"}}',
    '{"code":10010,"trace":"h","ack":1}',
    '{"code":10006,"trace":"k","data":{"arr":[{"type":1,"codes":"BTCUSDT"}]}}',
    '{"code":11002,"trace":"u","data":{"codes":"BTCUSDT","klineTypes":"1,2"}}',
]
MESSAGES = messages(
    ENVELOPE, VALID, oversized(60_000, 300_000, '{"code":10000,"trace":"t","data":{"codes":"PAD"}}')
)
_STRING_TRACE = re.compile(r'"trace"\s*:\s*"')


def check(frame: dict[str, Any], message: str | bytes) -> None:
    if "traceId" in frame:
        assert set(frame) == {"traceId", "code", "msg"}, frame
        assert frame["code"] in ERRORS, frame
        assert isinstance(frame["msg"], str) and frame["msg"]
        trace = plain_trace(message)
        if trace is not None:
            assert frame["traceId"] == trace, (message, frame)
    else:
        assert set(frame) == {"code", "trace", "msg"} and frame["msg"] == "ok", frame
        assert frame["code"] in set(ACKS.values()) | {10011}, frame


def plain_trace(message: str | bytes) -> str | None:
    """The trace a correct server echoes, when the message is a plain JSON object with a string
    trace (None when that cannot be known independently)."""
    try:
        text = message if isinstance(message, str) else message.decode("utf-8")  # strict: JSON is UTF-8
        parsed = json.loads(text, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("trace"), str) or "\\ud" in text.lower():
        return None
    if len(_STRING_TRACE.findall(text)) != 1:
        return None  # a repeated key: which one wins is the parser's business
    return parsed["trace"]


def _refuse(token: str) -> Any:
    raise ValueError(token)


def test_fuzz_infoway_frames(venue: FuzzVenue) -> None:
    symbols = SymbolMap(market.symbol for market in venue.ctx.venue.markets)
    before = venue.state()

    @fuzz_settings()
    @given(message=MESSAGES)
    def one(message: str | bytes) -> None:
        connection = InfowayConnection(symbols, max_symbols_per_type=600)
        outcome = connection.receive(message, 0.0)
        if outcome.reply is None:
            assert outcome.heartbeat and outcome.error is None
        else:
            check(json.loads(outcome.reply), message)
        if outcome.error is not None:
            assert outcome.error.code in ERRORS and not outcome.subscribe

    one()
    assert venue.state() == before


def test_fuzz_infoway_over_a_real_socket(venue: FuzzVenue) -> None:
    state: dict[str, Any] = {"ws": None}
    url = venue.ws_url("/ws?business=crypto&apikey=alice-key")

    async def connection() -> websockets.ClientConnection:
        if state["ws"] is None:
            ws = await websockets.connect(url, max_size=None, ping_interval=None, compression=None)
            assert json.loads(await ws.recv())["code"] == 200
            state["ws"] = ws
        return state["ws"]

    async def exchange(message: str | bytes) -> list[dict[str, Any]]:
        ws = await connection()
        too_big = len(message if isinstance(message, bytes) else message.encode()) > MAX_FRAME
        await ws.send(message)
        await ws.send('{"code":10010,"trace":"fence","ack":1}')
        frames = []
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame.get("trace") == "fence" and frame.get("code") == 10011:
                    return frames
                if frame.get("code") not in (10002, 10005, 10008):  # pushes of what got subscribed
                    frames.append(frame)
        except ConnectionClosed:
            state["ws"] = None
            assert too_big and ws.close_code == 1009, (ws.close_code, len(message))
            return []

    before = venue.state()

    @fuzz_settings(max(50, EXAMPLES // 5))
    @given(message=MESSAGES)
    def one(message: str | bytes) -> None:
        frames = venue.run(exchange(message))
        assert len(frames) <= 1, frames  # one answer at most per frame
        for frame in frames:
            check(frame, message)
        assert venue.escaped() == []

    one()
    if state["ws"] is not None:
        venue.run(state["ws"].close())
    assert venue.state() == before
