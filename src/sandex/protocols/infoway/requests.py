"""Decoding and validating client frames into typed requests (sans-I/O).

A frame is `{"code": int, "trace": str, "data": {...}}`. Decoding happens in two steps so every
refusal can name what was wrong and still echo the client's trace:

1. the envelope is decoded with each field kept as raw JSON (`msgspec.Raw`), so "absent",
   "null" and "wrong type" can be told apart field by field, and the trace can be read even when
   the rest of the frame is bad;
2. `data` is decoded into the typed struct of the request's code; msgspec's validation errors
   are mapped to Infoway's 507 (`Param lost：x`) and 506 (`Param error：x`).

The result is one of four request types; anything refused raises `InfowayError` with the trace
attached, and the connection stays open.
"""

from __future__ import annotations

import re
from typing import Final, TypeVar

import msgspec
from msgspec import Raw, Struct

from . import codes
from .codes import Channel
from .errors import InfowayError, code_out_of_range, not_json, param_error, param_lost

T = TypeVar("T")

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
    cancels every type of the given codes.
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
    if code not in codes.KNOWN_CODES:
        raise code_out_of_range()
    trace = _required(envelope.trace, _STR, "trace")
    if code == codes.HEARTBEAT:
        return Heartbeat(trace, _wants_ack(envelope))
    channel = codes.SUBSCRIBE_CODES.get(code)
    if channel == "kline":
        return _subscribe_klines(trace, envelope.data)
    if channel is not None:
        data = _data(envelope.data, _SYMBOLS)
        symbols = split_codes(data.codes)
        if not symbols:
            raise param_lost("codes")
        return Subscribe(trace, channel, symbols)
    return _unsubscribe(trace, codes.UNSUBSCRIBE_CODES[code], envelope.data)


def _subscribe_klines(trace: str, raw: Raw) -> SubscribeKlines:
    data = _data(raw, _KLINES)
    if not data.arr:
        raise param_lost("arr")
    pairs: dict[tuple[str, int], None] = {}  # ordered set: a repeated pair is one subscription
    for i, item in enumerate(data.arr):
        if not codes.MIN_KLINE_TYPE <= item.type <= codes.MAX_KLINE_TYPE:
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
        if not codes.MIN_KLINE_TYPE <= ktype <= codes.MAX_KLINE_TYPE:
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
