"""WebSocket requests: `{"id": ..., "method": "x.y", "params": [...]}` decoded into typed calls.

Decoding happens in two steps so that every error can still echo the request's id:
`decode_envelope` reads the frame as an object with `id`, `method` and `params` kept as raw JSON
(a frame whose `params` has the wrong type still yields its id), then `parse_call` checks the
method and its params against what the dialect accepts. Both raise `WsError`, which the caller
turns into an error reply; nothing here closes a connection.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import msgspec
from msgspec import Raw, Struct

from .errors import WS_INVALID_ARGUMENT, WS_METHOD_NOT_FOUND, WsError
from .wire import NULL_ID

#: Largest request accepted. Real requests are well under 1 KiB (a subscribe to every symbol of a
#: venue is a few KiB); a bigger frame is refused with an error before its params are read.
MAX_REQUEST_BYTES: Final = 64 * 1024

#: Channels whose params are a list of symbols, of currencies, or nothing.
SYMBOL_CHANNELS: Final = frozenset({"trades", "depth", "ticker", "order", "order_algo"})
CURRENCY_CHANNELS: Final = frozenset({"balance"})
PLAIN_CHANNELS: Final = frozenset({"all_ticker"})
PRIVATE_CHANNELS: Final = frozenset({"order", "order_algo", "balance"})
CHANNELS: Final = SYMBOL_CHANNELS | CURRENCY_CHANNELS | PLAIN_CHANNELS

_CURRENCY = re.compile(r"^[A-Z0-9]{1,20}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")


class Envelope(Struct, gc=False):
    """A request frame with its fields still raw JSON (missing fields read as `null`)."""

    id: Raw = NULL_ID
    method: Raw = NULL_ID
    params: Raw = NULL_ID


class _IdOnly(Struct, gc=False):
    id: Raw = NULL_ID


_envelope = msgspec.json.Decoder(Envelope)
_id_only = msgspec.json.Decoder(_IdOnly)
_str = msgspec.json.Decoder(str)
_list_of_str = msgspec.json.Decoder(list[str])
_auth = msgspec.json.Decoder(tuple[str, str | int, str])


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class ServerTime:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    api_key: str
    timestamp: str  # milliseconds, as the digits that were signed
    signature: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    channel: str
    keys: tuple[str, ...]  # upper-cased symbols or currencies; empty = every one


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str
    keys: tuple[str, ...]  # empty = the whole channel


Call = Ping | ServerTime | Auth | Subscribe | Unsubscribe


def decode_envelope(data: bytes | str) -> Envelope:
    """Read a frame as a request object. Raises WsError(1) for non-JSON or a non-object."""
    if len(data) > MAX_REQUEST_BYTES:
        raise WsError(WS_INVALID_ARGUMENT, f"request larger than {MAX_REQUEST_BYTES} bytes")
    if not isinstance(data, str):
        # A binary frame may hold anything. msgspec checks UTF-8 only where it decodes a string,
        # and the fields kept raw here are decoded later: check the whole frame now, once.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise WsError(WS_INVALID_ARGUMENT, "request is not UTF-8 text") from None
    try:
        return _envelope.decode(data)
    except msgspec.ValidationError:
        raise WsError(WS_INVALID_ARGUMENT, "request must be a JSON object") from None
    except msgspec.DecodeError:
        raise WsError(WS_INVALID_ARGUMENT, "request is not valid JSON") from None
    except RecursionError:  # msgspec's guard against absurd nesting (found by fuzzing)
        raise WsError(WS_INVALID_ARGUMENT, "request is nested too deeply") from None


def request_id(data: bytes | str) -> Raw:
    """Best effort: the id of a frame that failed to decode (`null` when there is none)."""
    try:
        return _id_only.decode(data).id
    except (msgspec.DecodeError, RecursionError):
        return NULL_ID


def parse_call(envelope: Envelope, symbols: Collection[str]) -> Call:
    """Check the method and its params; `symbols` are the venue's markets (upper case)."""
    try:
        method = _str.decode(envelope.method)
    except msgspec.DecodeError:
        raise WsError(WS_INVALID_ARGUMENT, "method must be a string") from None
    if method == "server.ping":
        return Ping()
    if method == "server.time":
        return ServerTime()
    if method == "server.auth":
        return _parse_auth(envelope.params)
    channel, _, action = method.rpartition(".")
    if channel not in CHANNELS or action not in ("subscribe", "unsubscribe"):
        raise WsError(WS_METHOD_NOT_FOUND, f"method not found: {method}")
    keys = _parse_keys(channel, envelope.params, symbols)
    return Subscribe(channel, keys) if action == "subscribe" else Unsubscribe(channel, keys)


def _parse_auth(params: Raw) -> Auth:
    try:
        api_key, timestamp, signature = _auth.decode(params)
    except msgspec.DecodeError:
        raise WsError(WS_INVALID_ARGUMENT, "params must be [apikey, timestamp, signature]") from None
    timestamp = str(timestamp)
    if not _DIGITS.match(timestamp):
        raise WsError(WS_INVALID_ARGUMENT, "timestamp must be milliseconds since the epoch")
    return Auth(api_key, timestamp, signature)


def _parse_keys(channel: str, params: Raw, symbols: Collection[str]) -> tuple[str, ...]:
    if channel in PLAIN_CHANNELS:
        return ()  # all_ticker takes no params; whatever was sent is ignored, as DigiFinex does
    if bytes(params) == b"null":
        raise WsError(WS_INVALID_ARGUMENT, f"params must be a list of {_noun(channel)}")
    try:
        raw_keys = _list_of_str.decode(params)
    except msgspec.DecodeError:
        raise WsError(WS_INVALID_ARGUMENT, f"params must be a list of {_noun(channel)}") from None
    keys: dict[str, None] = {}  # ordered set: a repeated key counts once
    for raw in raw_keys:
        key = raw.strip().upper()
        if channel in SYMBOL_CHANNELS:
            if key not in symbols:
                raise WsError(WS_INVALID_ARGUMENT, f"unknown symbol: {raw}")
        elif not _CURRENCY.match(key):
            raise WsError(WS_INVALID_ARGUMENT, f"invalid currency: {raw}")
        keys[key] = None
    return tuple(keys)


def _noun(channel: str) -> str:
    return "currencies" if channel in CURRENCY_CHANNELS else "symbols"
