"""DBot's JSON frames: the request envelope in, rpcResponse / subscribeResponse / error out.

A request is `{"id": <number>, "method": "<name>", "params": {...}}`; subscribeTradeResults puts
`tradeTypeFilter` at the top level instead. The `id` is echoed back byte for byte (it is kept as
raw JSON), so a client matching replies by id sees exactly what it sent, whatever its type.

Numbers we send are exact: amounts are decimal strings (as DBot sends them), prices are JSON
numbers written from `Decimal`, never from a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from .errors import NULL, BadRequest

#: Every JSON frame and REST body goes out through this encoder: Decimal as a JSON number.
ENCODER = msgspec.json.Encoder(decimal_format="number")
#: Untyped decoding (views, stored requests): JSON floats become Decimal, never float.
LOOSE = msgspec.json.Decoder(float_hook=Decimal)
_ENVELOPE = msgspec.json.Decoder(dict[str, msgspec.Raw])
_TEXT = msgspec.json.Decoder(str)
_FILTER = msgspec.json.Decoder(list[str])

#: Every filter value a client may subscribe to (sandex also uses it to reject typos).
TRADE_TYPES = frozenset(
    f"{prefix}_{kind}_{outcome}"
    for prefix in ("swap", "limit", "follow")
    for kind in ("buy", "sell", "take_profit", "stop_loss", "trailing_stop")
    for outcome in ("success", "fail")
)


class Request(msgspec.Struct, frozen=True):
    method: str
    id: msgspec.Raw  # raw JSON, NULL when absent
    params: msgspec.Raw  # raw JSON object, b"{}" when absent
    trade_type_filter: list[str] | None  # subscribeTradeResults only


def decode_request(data: str | bytes) -> Request:
    """Read one request frame; raises DbotError (with the id when it could be read)."""
    if not isinstance(data, str):
        # msgspec checks UTF-8 only where it decodes a string, and `params` stays raw until a
        # method reads it: check a binary frame's text once, here (found by fuzzing).
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(NULL, "invalid JSON request: not UTF-8 text") from None
    try:
        fields = _ENVELOPE.decode(data)
    except msgspec.DecodeError as exc:
        raise BadRequest(NULL, f"invalid JSON request: {exc}") from None
    except RecursionError:  # msgspec's guard against absurd nesting
        raise BadRequest(NULL, "invalid JSON request: nested too deeply") from None
    request_id = fields.get("id", NULL)
    if "method" not in fields:
        raise BadRequest(request_id, "missing method")
    try:
        method = _TEXT.decode(fields["method"])
    except msgspec.DecodeError:
        raise BadRequest(request_id, "method must be a string") from None
    trade_filter = None
    if "tradeTypeFilter" in fields:
        try:
            trade_filter = _FILTER.decode(fields["tradeTypeFilter"])
        except msgspec.DecodeError:
            raise BadRequest(request_id, "tradeTypeFilter must be an array of strings") from None
    return Request(method, request_id, fields.get("params", msgspec.Raw(b"{}")), trade_filter)


def rpc_response(request_id: msgspec.Raw, res: Any = None, *, has_res: bool = False) -> bytes:
    result: dict[str, Any] = {"err": False}
    if has_res or res is not None:
        result["res"] = res
    return ENCODER.encode({"method": "rpcResponse", "id": request_id, "result": result})


def subscribe_response() -> bytes:
    return ENCODER.encode({"method": "subscribeResponse", "result": {"message": "Connected and subscribed"}})


def rest_body(res: Any) -> bytes:
    """The REST envelope of a success; `None` (nothing to return) is DBot's empty string."""
    return ENCODER.encode({"err": False, "res": "" if res is None else res})
