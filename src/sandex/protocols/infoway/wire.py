"""Infoway's wire: the numeric codes, the client frames in, the server frames and REST bodies out.

Every frame of the quote WebSocket is identified by an integer `code`: a request code from the
client, the matching ack code from the server, or a push code for market data (error codes are in
`errors`). The numbers are the wire contract, so they live here and nothing else spells them.

Client frames are `{"code": int, "trace": str, "data": {...}}`. Decoding happens in two steps so
every refusal can name what was wrong and still echo the client's trace:

1. the envelope is decoded with each field kept as raw JSON (`msgspec.Raw`), so "absent",
   "null" and "wrong type" can be told apart field by field, and the trace can be read even when
   the rest of the frame is bad;
2. `data` is decoded into the typed struct of the request's code; msgspec's validation errors
   are mapped to Infoway's 507 (`Param lost：x`) and 506 (`Param error：x`).

The result is one of four request types; anything refused raises `InfowayError` with the trace
attached, and the connection stays open.

Server frames: field order follows the frames recorded from the real server (msgspec writes
struct fields in declaration order). Money leaves as decimal strings without trailing zeros
(`"63039"`, `"0.07933"`), as Infoway's pushes write them; it is formatted from the engine's
scaled integers, never through a float. Pushes carry no trace and one symbol per frame. The REST
rows reuse the push structs, so a REST answer and a push of the same moment are the same values.
"""

from __future__ import annotations

import re
from typing import Final, Literal, TypeVar

import msgspec
from msgspec import Raw, Struct

from sandex.core.commands import BUY, SELL
from sandex.core.events import TradeEvent
from sandex.core.markets import Market
from sandex.core.numbers import format_trimmed
from sandex.marketdata.book import Top
from sandex.marketdata.klines import Bar

from .errors import InfowayError, code_out_of_range, not_json, param_error, param_lost

T = TypeVar("T")

_encode: Final = msgspec.json.Encoder().encode

# == codes ======================================================================================

# -- connection -------------------------------------------------------------------------------
WELCOME: Final = 200
WELCOME_MSG: Final = "ws connect success"

# -- requests (client -> server), their acks and their pushes ----------------------------------
SUB_TRADE: Final = 10000
ACK_TRADE: Final = 10001
PUSH_TRADE: Final = 10002

SUB_DEPTH: Final = 10003
ACK_DEPTH: Final = 10004
PUSH_DEPTH: Final = 10005

SUB_KLINE: Final = 10006
ACK_KLINE: Final = 10007
PUSH_KLINE: Final = 10008

HEARTBEAT: Final = 10010
HEARTBEAT_ACK: Final = 10011  # only when the heartbeat asks for it with `ack: 1`

UNSUB_TRADE: Final = 11000
UNSUB_DEPTH: Final = 11001
UNSUB_KLINE: Final = 11002
ACK_UNSUB: Final = 11010  # one ack code for all three unsubscribes (the seeds)

ACK_OK: Final = "ok"

#: The subscription kinds. A connection keeps one symbol set per kind.
Channel = Literal["trade", "depth", "kline"]

SUBSCRIBE_CODES: Final[dict[int, Channel]] = {SUB_TRADE: "trade", SUB_DEPTH: "depth", SUB_KLINE: "kline"}
UNSUBSCRIBE_CODES: Final[dict[int, Channel]] = {
    UNSUB_TRADE: "trade",
    UNSUB_DEPTH: "depth",
    UNSUB_KLINE: "kline",
}
SUBSCRIBE_ACKS: Final[dict[Channel, int]] = {"trade": ACK_TRADE, "depth": ACK_DEPTH, "kline": ACK_KLINE}
KNOWN_CODES: Final = frozenset({*SUBSCRIBE_CODES, *UNSUBSCRIBE_CODES, HEARTBEAT})

#: Infoway kline `type` -> sandex kline interval. Infoway has no 12 h bar, so sandex's "12h"
#: series is simply never published on this dialect.
KLINE_INTERVALS: Final[dict[int, str]] = {
    1: "1m",
    2: "5m",
    3: "15m",
    4: "30m",
    5: "1h",
    6: "2h",
    7: "4h",
    8: "1d",
    9: "1w",
    10: "1M",
    11: "3M",
    12: "1y",
}
KLINE_TYPES: Final[dict[str, int]] = {interval: ktype for ktype, interval in KLINE_INTERVALS.items()}
MIN_KLINE_TYPE: Final = min(KLINE_INTERVALS)
MAX_KLINE_TYPE: Final = max(KLINE_INTERVALS)

#: Trade direction `td`: 0 unknown, 1 buy, 2 sell — the taker's side.
TD_UNKNOWN: Final = 0
TD_BUY: Final = 1
TD_SELL: Final = 2


# == client frames =============================================================================

# -- wire structs (what the client sends) ------------------------------------------------------


class _Envelope(Struct):
    # Raw keeps each value's JSON text; an empty Raw means the key was absent.
    code: Raw = Raw()
    trace: Raw = Raw()
    data: Raw = Raw()
    ack: Raw = Raw()


class _SymbolsData(Struct):
    """`data` of 10000 (trades) and 10003 (depth)."""

    codes: str
    # Accepted and type-checked. It selects an extra field for markets with trading sessions
    # (stocks); crypto trades have none, so it does not change a crypto push.
    includeTy: bool | None = None


class _KlineItem(Struct):
    type: int
    codes: str


class _KlineData(Struct):
    """`data` of 10006: `{"arr": [{"type": 1, "codes": "BTCUSDT,ETHUSDT"}, ...]}`."""

    arr: list[_KlineItem]


class _UnsubscribeData(Struct):
    """`data` of 11000/11001/11002; every field may be absent, null or empty (the seeds)."""

    codes: str | None = None
    klineTypes: str | None = None


# -- decoded requests (what the connection acts on) --------------------------------------------


class Subscribe(Struct, frozen=True):
    """Add symbols to the trade or depth set (10000 / 10003)."""

    trace: str
    channel: Channel
    codes: tuple[str, ...]


class SubscribeKlines(Struct, frozen=True):
    """Add (symbol, kline type) pairs (10006), in request order."""

    trace: str
    pairs: tuple[tuple[str, int], ...]


class Unsubscribe(Struct, frozen=True):
    """Remove subscriptions (11000 / 11001 / 11002).

    `codes=None` cancels every subscription of the channel. For klines, `kline_types=None`
    cancels every type of the given
    """

    trace: str
    channel: Channel
    codes: tuple[str, ...] | None
    kline_types: frozenset[int] | None = None


class Heartbeat(Struct, frozen=True):
    trace: str
    wants_ack: bool


Request = Subscribe | SubscribeKlines | Unsubscribe | Heartbeat

# -- decoding ----------------------------------------------------------------------------------

_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)
_SYMBOLS: Final = msgspec.json.Decoder(_SymbolsData)
_KLINES: Final = msgspec.json.Decoder(_KlineData)
_UNSUBSCRIBE: Final = msgspec.json.Decoder(_UnsubscribeData)
_INT: Final = msgspec.json.Decoder(int)
_STR: Final = msgspec.json.Decoder(str)

_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT = re.compile(r" - at `\$([^`]*)`$")


def decode_request(payload: str | bytes) -> Request:
    """Decode and validate one client frame; raises InfowayError (with `.trace` when known)."""
    if not isinstance(payload, str):
        # A binary frame may hold anything; msgspec checks UTF-8 only in the strings it decodes,
        # and fields kept raw are decoded later, so check the whole frame once (found by fuzzing).
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise not_json() from None
    try:
        envelope = _ENVELOPE.decode(payload)
    except (msgspec.DecodeError, RecursionError):  # not JSON, JSON that is not an object, or
        raise not_json() from None  # nested deeper than msgspec will follow
    trace = _trace_for_errors(envelope.trace)
    try:
        return _decode(envelope)
    except InfowayError as exc:
        exc.trace = trace
        raise
    except RecursionError:
        error = not_json()
        error.trace = trace
        raise error from None


def _decode(envelope: _Envelope) -> Request:
    code = _required(envelope.code, _INT, "code")
    if code not in KNOWN_CODES:
        raise code_out_of_range()
    trace = _required(envelope.trace, _STR, "trace")
    if code == HEARTBEAT:
        return Heartbeat(trace, _wants_ack(envelope))
    channel = SUBSCRIBE_CODES.get(code)
    if channel == "kline":
        return _subscribe_klines(trace, envelope.data)
    if channel is not None:
        data = _data(envelope.data, _SYMBOLS)
        symbols = split_codes(data.codes)
        if not symbols:
            raise param_lost("codes")
        return Subscribe(trace, channel, symbols)
    return _unsubscribe(trace, UNSUBSCRIBE_CODES[code], envelope.data)


def _subscribe_klines(trace: str, raw: Raw) -> SubscribeKlines:
    data = _data(raw, _KLINES)
    if not data.arr:
        raise param_lost("arr")
    pairs: dict[tuple[str, int], None] = {}  # ordered set: a repeated pair is one subscription
    for i, item in enumerate(data.arr):
        if not MIN_KLINE_TYPE <= item.type <= MAX_KLINE_TYPE:
            raise param_error(f"arr[{i}].type")
        symbols = split_codes(item.codes)
        if not symbols:
            raise param_lost(f"arr[{i}].codes")
        for symbol in symbols:
            pairs[(symbol, item.type)] = None
    return SubscribeKlines(trace, tuple(pairs))


def _unsubscribe(trace: str, channel: Channel, raw: Raw) -> Unsubscribe:
    if _absent(raw):
        return Unsubscribe(trace, channel, None, None)
    data = _typed(raw, _UNSUBSCRIBE)
    # "If the codes value cannot be obtained, a full cancellation will be performed": absent,
    # null and empty all mean every symbol.
    symbols = split_codes(data.codes) if data.codes else ()
    kline_types = parse_kline_types(data.klineTypes) if channel == "kline" else None
    return Unsubscribe(trace, channel, symbols or None, kline_types)


def _wants_ack(envelope: _Envelope) -> bool:
    """A heartbeat asks for its 10011 reply with `ack: 1` (or true), at the top level or in
    `data`. Anything else about a heartbeat's extras is ignored: a heartbeat is never refused
    for them."""
    for raw, nested in ((envelope.ack, False), (envelope.data, True)):
        if _absent(raw):
            continue
        try:
            value = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            continue
        if nested:
            value = value.get("ack") if isinstance(value, dict) else None
        if value is True or (type(value) is int and value == 1) or value in ("1", "true"):
            return True
    return False


# -- helpers -----------------------------------------------------------------------------------


def split_codes(text: str) -> tuple[str, ...]:
    """`"BTCUSDT, ETHUSDT,,"` -> `("BTCUSDT", "ETHUSDT")`, first occurrence order, no repeats.

    Symbols are case-sensitive, as on the real server: `btcusdt` is not `BTCUSDT`.
    """
    out: dict[str, None] = {}
    for part in text.split(","):
        part = part.strip()
        if part:
            out[part] = None
    return tuple(out)


def parse_kline_types(text: str | None) -> frozenset[int] | None:
    """`"1,2,4"` -> {1, 2, 4}; None/empty -> None (every type). 506 for anything else."""
    if not text or not text.strip():
        return None
    types: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit():
            raise param_error("klineTypes")
        ktype = int(part)
        if not MIN_KLINE_TYPE <= ktype <= MAX_KLINE_TYPE:
            raise param_error("klineTypes")
        types.add(ktype)
    return frozenset(types) or None


def _absent(raw: Raw) -> bool:
    return len(raw) == 0 or bytes(raw) == b"null"


def _required(raw: Raw, decoder: msgspec.json.Decoder[T], name: str) -> T:
    if _absent(raw):
        raise param_lost(name)
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError:
        raise param_error(name) from None


def _data(raw: Raw, decoder: msgspec.json.Decoder[T]) -> T:
    if _absent(raw):
        raise param_lost("data")
    return _typed(raw, decoder)


def _typed(raw: Raw, decoder: msgspec.json.Decoder[T]) -> T:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise _refusal(str(exc)) from None


def _refusal(message: str) -> InfowayError:
    """Map a msgspec validation message to 507/506 naming the field relative to `data`.

    msgspec says `Object missing required field \\`codes\\`` or
    `Expected \\`int\\`, got \\`str\\` - at \\`$.arr[0].type\\``.
    """
    at = _AT.search(message)
    path = at.group(1).lstrip(".") if at else ""
    missing = _MISSING.search(message)
    if missing:
        field = missing.group(1)
        return param_lost(f"{path}.{field}" if path else field)
    return param_error(path or "data")


def _trace_for_errors(raw: Raw) -> str | None:
    """The client's trace if it is a string, for echoing as `traceId` in an error."""
    if _absent(raw):
        return None
    try:
        return _STR.decode(raw)
    except msgspec.ValidationError:
        return None


# == server frames =============================================================================


# -- replies -----------------------------------------------------------------------------------


class _Welcome(Struct):
    code: int
    msg: str


class _Ack(Struct):
    code: int
    trace: str
    msg: str


class _Error(Struct):
    traceId: str | None  # the request's trace; null when there was none to echo
    code: int
    msg: str


def welcome() -> bytes:
    return _encode(_Welcome(WELCOME, WELCOME_MSG))


def ack(code: int, trace: str) -> bytes:
    return _encode(_Ack(code, trace, ACK_OK))


def error(code: int, msg: str, trace: str | None = None) -> bytes:
    return _encode(_Error(trace, code, msg))


# -- pushes ------------------------------------------------------------------------------------


class TradeData(Struct):
    s: str  # Infoway code, BTCUSDT
    p: str  # price
    v: str  # amount (base)
    vw: str  # turnover p x v, exact
    t: int  # trade time, ms
    td: int  # taker side: 1 buy, 2 sell (0 unknown)


class DepthData(Struct):
    s: str
    t: int  # snapshot time, ms
    a: list[list[str]]  # asks, best (lowest) first: [[prices...], [sizes...]]
    b: list[list[str]]  # bids, best (highest) first


class KlineData(Struct):
    s: str
    o: str
    h: str
    l: str  # noqa: E741  # low (the wire name)
    c: str
    v: str  # base volume
    vw: str  # quote volume (turnover)
    pca: str  # c - o
    pfr: str  # (c - o) / o as a percent with 2 decimals, e.g. "-0.01%"
    ty: int  # Infoway kline type 1..12
    t: str  # bar start, epoch SECONDS, as a string (sic)


class _Push(Struct):
    code: int
    data: TradeData | DepthData | KlineData


_TD: Final = {BUY: TD_BUY, SELL: TD_SELL}


def trade_data(code: str, market: Market, trade: TradeEvent) -> TradeData:
    return TradeData(
        s=code,
        p=format_trimmed(trade.price, market.price_precision),
        v=format_trimmed(trade.amount, market.amount_precision),
        vw=format_trimmed(trade.value, market.value_decimals),
        t=trade.ts,
        td=_TD.get(trade.taker_side, TD_UNKNOWN),
    )


def depth_data(code: str, market: Market, top: Top, ts_ms: int) -> DepthData:
    """A full snapshot of the top levels, column-major (`top` is (bids, asks), best first)."""
    bids, asks = top
    pp, ap = market.price_precision, market.amount_precision
    return DepthData(
        s=code,
        t=ts_ms,
        a=[[format_trimmed(p, pp) for p, _ in asks], [format_trimmed(q, ap) for _, q in asks]],
        b=[[format_trimmed(p, pp) for p, _ in bids], [format_trimmed(q, ap) for _, q in bids]],
    )


def trade_push(code: str, market: Market, trade: TradeEvent) -> bytes:
    return _encode(_Push(PUSH_TRADE, trade_data(code, market, trade)))


def depth_push(code: str, market: Market, top: Top, ts_ms: int) -> bytes:
    return _encode(_Push(PUSH_DEPTH, depth_data(code, market, top, ts_ms)))


def kline_push(code: str, market: Market, bar: Bar, kline_type: int) -> bytes:
    # The REST candle's values, so a push and a REST answer of the same bar cannot differ.
    c = candle(market, bar)
    data = KlineData(
        s=code, o=c.o, h=c.h, l=c.l, c=c.c, v=c.v, vw=c.vw, pca=c.pca, pfr=c.pc, ty=kline_type, t=c.t
    )
    return _encode(_Push(PUSH_KLINE, data))


def percent_change(change: int, base: int) -> str:
    """`change / base` as a percent with two decimals and a `%`, rounded half away from zero.

    Integer arithmetic on the scaled prices (both share the price scale, so it cancels out).
    A change that rounds to zero is written "0.00%", without a sign.
    """
    if base <= 0:
        return "0.00%"
    hundredths, remainder = divmod(abs(change) * 10_000, base)
    if 2 * remainder >= base:
        hundredths += 1
    sign = "-" if change < 0 and hundredths else ""
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}%"


# == REST bodies ================================================================================
#
# `{"ret": 200, "msg": "success", "traceId": "...", "data": ...}`, errors with their `ret` and
# `data: null`. Latest trades and depth rows are the push structs above; klines are grouped per
# symbol under `respList`, newest first, with `pc` (the push's `pfr`) and no `ty`.

REST_OK_MSG: Final = "success"


class KlineRequest(Struct):
    """The body of `POST /crypto/v2/batch_kline`. Numbers may also come as strings of ASCII digits
    (the real server's JSON binding accepts both); anything else is refused by name."""

    codes: str | None = None
    klineType: int | str | None = None
    klineNum: int | str | None = None
    timestamp: int | str | None = None  # end time, epoch seconds


KLINE_REQUEST: Final = msgspec.json.Decoder(KlineRequest)


class Candle(Struct):
    t: str  # bar start, epoch SECONDS, as a string (as in the push)
    h: str
    o: str
    l: str  # noqa: E741  # low (the wire name)
    c: str
    v: str
    vw: str
    pc: str  # (c - o) / o as a percent with 2 decimals
    pca: str  # c - o


class KlineRows(Struct):
    s: str
    respList: list[Candle]


class SymbolRow(Struct):
    """`/common/basic/symbols`: Infoway's listing row (crypto pairs have no index flag set)."""

    symbol: str
    name_cn: str
    name_hk: str
    name_en: str
    index: bool = False


class SymbolInfo(Struct):
    """`/common/basic/symbols/info`: Infoway's common fields, then what a crypto pair needs to
    trade (base, precisions and minimums as decimal strings)."""

    symbol: str
    market: str
    name_cn: str
    name_en: str
    name_hk: str
    exchange: str
    currency: str  # the quote currency
    base: str
    price_precision: int
    amount_precision: int
    min_amount: str
    min_value: str


class PackageInfo(Struct):
    """`/package/info`, Infoway's field names; null means "no limit" in sandex's current profile."""

    packageName: str
    expireTime: str | None  # null: a sandex key never expires
    apiNumPerSec: int | None  # the REST budget, per second as Infoway states it ...
    apiNumPerMin: int | None  # ... and per minute as sandex enforces it (a sliding minute)
    maxWsConNum: int | None  # WebSocket connections per key
    maxNum: int | None  # symbols per channel per connection
    allWsNum: int | None  # distinct symbols per channel over all the key's connections
    wsNumPerMin: int | None  # client frames per minute per connection


class _RestEnvelope(Struct):
    ret: int
    msg: str
    traceId: str
    data: object


class _Unauthorized(Struct):
    """The gateway's 401 body, as recorded from the real server (`message`, not `msg`)."""

    code: int
    message: str
    timestamp: int


def rest_body(data: object, trace: str) -> bytes:
    return _encode(_RestEnvelope(200, REST_OK_MSG, trace, data))


def rest_error(ret: int, msg: str, trace: str) -> bytes:
    return _encode(_RestEnvelope(ret, msg, trace, None))


def unauthorized_body(msg: str, ts_ms: int) -> bytes:
    return _encode(_Unauthorized(401, msg, ts_ms))


def candle(market: Market, bar: Bar) -> Candle:
    pp = market.price_precision
    change = bar.close - bar.open
    return Candle(
        t=str(bar.open_time // 1000),
        h=format_trimmed(bar.high, pp),
        o=format_trimmed(bar.open, pp),
        l=format_trimmed(bar.low, pp),
        c=format_trimmed(bar.close, pp),
        v=format_trimmed(bar.volume, market.amount_precision),
        vw=format_trimmed(bar.quote_volume, market.value_decimals),
        pc=percent_change(change, bar.open),
        pca=format_trimmed(change, pp),
    )
