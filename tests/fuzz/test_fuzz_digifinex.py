"""Fuzzing the DigiFinex dialect: its WebSocket request decoder and handler, and every REST route.

WebSocket: every message gets a reply in the documented shape — a zlib-compressed binary frame
`{"error": {code, message} | null, "result": ..., "id": <the request's id>}` with an error code
of 1, 3, 4, 5 or 6 (2 is "internal error": a bug) — nothing is logged as an error, and the engine
is untouched (no WebSocket request trades). A smaller run goes over a real socket and checks the
connection survives every message, and that a frame over `max_frame_bytes` closes with 1009.

REST: every answer is HTTP 200 with a JSON object whose `code` is one of the documented codes,
never 50000 (internal error); a refused request changes nothing. Signed requests with fuzzed
parameters get past authentication and reach the order checks; the ones that are valid orders
are placed, as they would be on the real venue.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import struct
import time
import urllib.parse
import zlib
from collections import Counter
from decimal import Decimal
from typing import Any

import websockets
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from sandex.protocols.digifinex import errors
from sandex.protocols.digifinex.connection import Connection, Endpoint
from sandex.protocols.digifinex.routes import PUBLISHER, apply_outcome
from sandex.server.hub import TopicHub
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

SECRET = "alice-secret"
CHANNELS = ("trades", "depth", "ticker", "all_ticker", "order", "order_algo", "balance")
METHODS = [
    "server.ping",
    "server.time",
    "server.auth",
    *(f"{c}.{a}" for c in CHANNELS for a in ("subscribe", "unsubscribe")),
]
SYMBOLISH = st.one_of(
    st.sampled_from(["BTC_USDT", "eth_usdt", " btc_usdt ", "USDT", "BTC", "ETH_BTC"]), WEIRD_TEXT
)
WS_DOCUMENTED = {1, 3, 4, 5, 6}
MAX_FRAME = 262144  # limits.session.max_frame_bytes in fuzz_venue.CONFIG


def fresh_auth() -> list[str]:
    ts = str(int(time.time() * 1000))
    return [
        "alice-key",
        ts,
        base64.b64encode(hmac.new(SECRET.encode(), ts.encode(), hashlib.sha256).digest()).decode(),
    ]


WS_PARAMS = st.one_of(
    json_values(),
    st.lists(SYMBOLISH, max_size=4),
    st.builds(fresh_auth),
    st.lists(st.one_of(st.sampled_from(["alice-key", "nobody"]), NUMBER_TEXT, WEIRD_TEXT), max_size=4),
)
WS_ENVELOPE = envelopes(
    {
        "id": st.one_of(st.integers(-(2**70), 2**70), json_values()),
        "method": st.one_of(st.sampled_from(METHODS), json_values()),
        "params": WS_PARAMS,
    }
)
WS_VALID = [
    '{"id":1,"method":"server.ping","params":[]}',
    '{"id":2,"method":"depth.subscribe","params":["BTC_USDT"]}',
    '{"id":3,"method":"balance.subscribe","params":["USDT"]}',
    '{"id":4,"method":"all_ticker.subscribe"}',
]
WS_MESSAGES = messages(
    WS_ENVELOPE, WS_VALID, oversized(60_000, 300_000, '{"id":9,"method":"depth.subscribe","params":["PAD"]}')
)


class RecordingSession:
    """The handler's view of a connection: what it needs (state, topics, the write path), and a
    record of every frame written. The handler is the real one, with the real venue and hub."""

    def __init__(self) -> None:
        self.state: Any = None
        self.topics: Any = None
        self.account_id: Any = None
        self.key: str | None = None
        self.faults = None
        self.dialect = "digifinex"
        self.peer = "fuzz"
        self.frames: list[bytes] = []

    def send_frame(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True


def unframe(frame: bytes) -> Any:
    """A server frame must be one complete unmasked binary frame holding zlib(JSON)."""
    assert frame[0] == 0x82, f"not a final binary frame: {frame[:2]!r}"
    length, offset = frame[1], 2
    assert length & 0x80 == 0, "server frames are never masked"
    if length == 126:
        length, offset = struct.unpack("!H", frame[2:4])[0], 4
    elif length == 127:
        length, offset = struct.unpack("!Q", frame[2:10])[0], 10
    assert len(frame) == offset + length
    return json.loads(zlib.decompress(frame[offset:]), parse_int=Decimal)  # ids may have 5,000 digits


def check_reply(reply: dict[str, Any]) -> None:
    assert set(reply) == {"error", "result", "id"}, reply
    if reply["error"] is not None:
        assert reply["result"] is None
        assert reply["error"]["code"] in WS_DOCUMENTED, reply
        assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]


def test_fuzz_digifinex_websocket_requests(venue: FuzzVenue) -> None:
    ctx = venue.ctx
    publisher = venue.app[PUBLISHER]
    hub = TopicHub()
    connection = Connection(Endpoint(ctx.venue, publisher))
    session = RecordingSession()
    before = venue.state()

    @fuzz_settings()
    @given(message=WS_MESSAGES, binary=st.booleans())
    def one(message: str | bytes, binary: bool) -> None:
        session.frames.clear()
        outcome = connection.receive(message)
        apply_outcome(
            session,  # type: ignore[arg-type]
            outcome,
            hub=hub,
            registry=ctx.registry,
            faults=ctx.faults,
            publisher=publisher,
        )
        assert session.frames, "no reply"
        reply = unframe(session.frames[0])
        check_reply(reply)
        for push in session.frames[1:]:  # first pushes after a subscribe's ack
            assert unframe(push)["id"] is None
        expected_id = known_id(message)
        if expected_id is not _UNKNOWN:
            assert reply["id"] == expected_id, (message, reply)
        assert venue.escaped() == []
        assert venue.state() == before

    one()


_UNKNOWN = object()
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def known_id(message: str | bytes) -> Any:
    """The id a correct server echoes, when the message is plain JSON with a plain id."""
    try:
        if isinstance(message, bytes):
            message = message.decode("utf-8")  # strict: JSON is UTF-8 (json.loads would let surrogates by)
        parsed = json.loads(message, parse_constant=_not_json, parse_int=Decimal)  # NaN/Infinity are not JSON
    except (ValueError, RecursionError):
        return _UNKNOWN
    text = message if isinstance(message, str) else message.decode("utf-8", "replace")
    if _SURROGATE_ESCAPE.search(text):
        # Python reads a lone-surrogate escape ("\\udc80") into a str that is not Unicode text;
        # a strict parser refuses the message, so its id cannot be known either way.
        return _UNKNOWN
    if not isinstance(parsed, dict):
        return None  # not a request object: error reply with id null
    rid = parsed.get("id", None)
    if isinstance(rid, bool) or not isinstance(rid, (Decimal, str, type(None))):
        return _UNKNOWN
    return rid


def test_fuzz_digifinex_websocket_over_a_real_socket(venue: FuzzVenue) -> None:
    """The same inputs through aiohttp, the session layer and back: one reply per message, and
    the connection stays up (frames over max_frame_bytes excepted: 1009, as documented)."""
    state: dict[str, Any] = {"ws": None}

    async def connection() -> websockets.ClientConnection:
        if state["ws"] is None:
            state["ws"] = await websockets.connect(
                venue.ws_url("/ws/v1/"), max_size=None, ping_interval=None, compression=None
            )
        return state["ws"]

    async def exchange(message: str | bytes) -> list[Any]:
        ws = await connection()
        too_big = len(message if isinstance(message, bytes) else message.encode()) > MAX_FRAME
        await ws.send(message)
        await ws.send('{"id":"fence","method":"server.ping"}')
        frames: list[Any] = []
        try:
            while True:
                frame = json.loads(zlib.decompress(await asyncio.wait_for(ws.recv(), 5)), parse_int=Decimal)
                if frame.get("id") == "fence":
                    break
                frames.append(frame)
        except ConnectionClosed:
            state["ws"] = None
            assert too_big and ws.close_code == 1009, (ws.close_code, len(message))
            return []
        assert not too_big, "an oversized frame was read"
        return frames

    @fuzz_settings(max(50, EXAMPLES // 5))
    @given(message=WS_MESSAGES)
    def one(message: str | bytes) -> None:
        if isinstance(message, str):
            message = message.encode("utf-8", "replace").decode("utf-8")
        frames = venue.run(exchange(message))
        if frames:
            check_reply(frames[0])
            assert all(f["id"] is None for f in frames[1:])
        assert venue.escaped() == []

    one()
    if state["ws"] is not None:
        venue.run(state["ws"].close())


# -- REST ---------------------------------------------------------------------------------------

REST_DOCUMENTED = {
    0,
    errors.WRONG_METHOD,
    errors.UNKNOWN_ENDPOINT,
    errors.INVALID_API_KEY,
    errors.SIGN_MISMATCH,
    errors.ILLEGAL_PARAMS,
    errors.UNAUTHORIZED,
    errors.BAD_TIMESTAMP,
    errors.MISSING_API_KEY,
    errors.INVALID_PRICE_OR_AMOUNT,
    errors.PRICE_PRECISION,
    errors.AMOUNT_PRECISION,
    errors.AMOUNT_TOO_SMALL,
    errors.VALUE_TOO_SMALL,
    errors.INSUFFICIENT_BALANCE,
    errors.INVALID_TRADE_TYPE,
    errors.ORDER_NOT_FOUND,
    errors.BAD_SYMBOL,
    errors.CANNOT_CANCEL,
}
PATHS = [
    "/v3/ping",
    "/v3/time",
    "/v3/markets",
    "/v3/spot/symbols",
    "/v3/ticker",
    "/v3/order_book",
    "/v3/trades",
    "/v3/kline",
    "/v3/spot/order/new",
    "/v3/spot/order/cancel",
    "/v3/spot/order",
    "/v3/spot/order/detail",
    "/v3/spot/order/current",
    "/v3/spot/order/history",
    "/v3/spot/mytrades",
    "/v3/spot/assets",
    "/v3/margin/order/new",
    "/v3/spot/order/nope",
    "/v3/",
    "/v3/%00",
    "/v3/spot//order",
]
PARAM_NAMES = [
    "symbol",
    "type",
    "amount",
    "price",
    "post_only",
    "market",
    "order_id",
    "limit",
    "period",
    "start_time",
    "end_time",
    "currency",
]
PARAMS = st.dictionaries(
    st.one_of(st.sampled_from(PARAM_NAMES), WEIRD_TEXT),
    st.one_of(
        NUMBER_TEXT,
        WEIRD_TEXT,
        st.sampled_from(
            [
                "BTC_USDT",
                "btc_usdt",
                "buy",
                "sell",
                "buy_market",
                "sell_market",
                "1",
                "0",
                "2",
                "spot",
                "margin",
                "1,2,3",
                ",".join(["1"] * 30),
                "1D",
                "1W",
                "60",
            ]
        ),
    ),
    max_size=6,
)
#: What a header value can carry (an HTTP client refuses control characters): Latin-1 text,
#: including digits that are not ASCII ("²", "¹").
HEADER_TEXT = st.one_of(
    NUMBER_TEXT.filter(lambda t: all(32 <= ord(c) < 127 or 160 <= ord(c) < 256 for c in t)),
    st.text(
        alphabet=st.characters(
            min_codepoint=32, max_codepoint=255, exclude_characters="".join(chr(c) for c in range(127, 160))
        ),
        max_size=30,
    ),
)


def mostly(valid: list[str], other: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value four times in five, else `other`."""
    return st.integers(0, 4).flatmap(lambda i: other if i == 0 else st.sampled_from(valid))


PRICES = mostly(
    ["65000", "64999.99", "65000.001", "1", "0.01", "999999999"],
    st.one_of(NUMBER_TEXT, st.decimals(min_value=0, max_value=10**7, places=3).map(str)),
)
AMOUNTS = mostly(
    ["0.001", "0.0001", "0.00001", "1", "25", "10000"],
    st.one_of(NUMBER_TEXT, st.decimals(min_value=0, max_value=100, places=7).map(str)),
)
#: Order forms close enough to valid that the order checks (and the engine) see them.
ORDER_FORMS = st.fixed_dictionaries(
    {
        "symbol": mostly(["BTC_USDT", "btc_usdt", "ETH_USDT"], WEIRD_TEXT),
        "type": mostly(["buy", "sell", "buy_market", "sell_market", "BUY"], WEIRD_TEXT),
        "amount": AMOUNTS,
    },
    optional={
        "price": PRICES,
        "post_only": st.sampled_from(["1", "0", "2", "true", "x", ""]),
        "market": st.sampled_from(["spot", "margin", ""]),
        "order_id": WEIRD_TEXT,
    },
)
CANCEL_FORMS = st.fixed_dictionaries(
    {
        "order_id": st.one_of(
            st.lists(st.integers(0, 400).map(str), min_size=1, max_size=25).map(",".join),
            WEIRD_TEXT,
            NUMBER_TEXT,
        )
    }
)


@st.composite
def rest_requests(draw: st.DrawFn) -> tuple[str, str, bytes | None, dict[str, str]]:
    method = draw(st.sampled_from(["GET", "POST", "GET", "POST", "DELETE", "PUT"]))
    path = draw(st.sampled_from(PATHS))
    mode = draw(st.integers(0, 9))
    if mode < 3:  # an order or a cancel, signed, as a trading client sends them
        method = "POST"
        path = "/v3/spot/order/new" if mode < 2 else "/v3/spot/order/cancel"
        form = draw(ORDER_FORMS if mode < 2 else CANCEL_FORMS)
        payload = urllib.parse.urlencode(form, encoding="utf-8", errors="surrogatepass")
    elif mode < 7:
        payload = urllib.parse.urlencode(draw(PARAMS), encoding="utf-8", errors="surrogatepass")
    else:
        payload = draw(
            st.one_of(st.text(max_size=100), st.sampled_from(["%", "%zz", "a=%ff%fe", "=&=&", "a" * 5000]))
        )
    headers: dict[str, str] = {}
    signing = "valid" if mode < 3 else draw(st.sampled_from(["valid", "valid", "none", "fuzzed", "stale"]))
    if signing != "none":
        key = "alice-key" if signing != "fuzzed" or draw(st.booleans()) else draw(HEADER_TEXT)
        ts = (
            str(int(time.time()))
            if signing == "valid"
            else (str(int(time.time()) - 600) if signing == "stale" else draw(HEADER_TEXT))
        )
        sign = hmac.new(SECRET.encode(), payload.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        if signing == "fuzzed" and draw(st.booleans()):
            sign = draw(HEADER_TEXT)
        headers = {"ACCESS-KEY": key, "ACCESS-TIMESTAMP": ts, "ACCESS-SIGN": sign}
    body = None
    if mode < 3:
        body = payload.encode("utf-8", "surrogatepass")
    elif method == "POST" and draw(st.integers(0, 19)) == 0:
        body = b"amount=" + b"9" * draw(
            st.integers(MAX_FRAME - 100, MAX_FRAME + 5000)
        )  # around the body limit
    elif method != "GET" and draw(st.booleans()):
        body = (
            payload.encode("utf-8", "surrogatepass") if draw(st.booleans()) else draw(st.binary(max_size=200))
        )
    elif payload:
        # As any HTTP client does: characters a request line cannot carry are percent-encoded;
        # `%` itself is kept, so malformed escapes ("%zz") still reach the server.
        path = f"{path}?{urllib.parse.quote(payload, safe='=&%+,;:/?@!$()*')}"
    return method, path, body, headers


def test_fuzz_digifinex_rest_routes(venue: FuzzVenue) -> None:
    async def call(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        import yarl

        url = yarl.URL(
            venue.base_url + path.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), encoded=True
        )
        async with venue.http.request(method, url, data=body, headers=headers) as response:
            return response.status, await response.read()

    seen: Counter[int] = Counter()
    placed_before = venue.ctx.venue.applied_seq

    @fuzz_settings()
    @given(request=rest_requests())
    def one(request: tuple[str, str, bytes | None, dict[str, str]]) -> None:
        before = venue.state()
        seq = venue.journal_seq
        status, raw = venue.run(call(*request))
        venue.settle()
        if status == 413:
            # A body over limits.session.max_frame_bytes, read by a route that reads bodies, is
            # refused by HTTP itself (routes that read no body answer as usual).
            assert request[2] is not None and len(request[2]) > MAX_FRAME, request[:2]
            assert venue.state() == before and venue.escaped() == []
            return
        assert status == 200, (request, status, raw[:200])
        reply = json.loads(raw)
        assert isinstance(reply, dict) and isinstance(reply.get("code"), int), reply
        assert reply["code"] in REST_DOCUMENTED, (request, reply)
        seen[reply["code"]] += 1
        assert venue.escaped() == []
        if reply["code"] != 0:
            assert venue.state() == before, (request, reply)
            if reply["code"] < 20000:  # refused before the engine: not even journaled
                assert venue.journal_seq == seq, (request, reply)
        else:
            method, path = request[0], request[1]
            changes = method == "POST" and ("/order/new" in path or "/order/cancel" in path)
            if not changes:
                assert venue.state() == before, (request, reply)

    one()
    # The inputs got past the first checks: answers of every kind, and real orders placed.
    print(f"DigiFinex REST fuzz answers by code: {dict(seen)}")
    assert {0, errors.ILLEGAL_PARAMS} <= set(seen) and len(seen) >= 6, seen
    assert any(code >= 20000 for code in seen), seen  # order checks were reached
    assert venue.ctx.venue.applied_seq > placed_before, "no fuzzed order was ever valid"
