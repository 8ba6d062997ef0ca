"""One DBot trading WebSocket as a sans-I/O state machine: a frame in, an `Outcome` out.

`DbotConnection.receive(data)` reads one client frame and either answers it at once (bad
frames, heartbeats, `subscribeTradeResults`) or hands back the `Call` the I/O layer must run
against the venue; `answer`/`refuse` then make that call's reply frame. It never touches a
socket, so tests can drive it with plain values.

Every request gets exactly one `rpcResponse` echoing its id; JSON pings without an id get none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec

from .errors import NULL, BadRequest, rpc_error
from .wire import TRADE_TYPES, decode_request, rpc_response, subscribe_response

DIALECT: Final = "dbot"

#: JSON `{"method": "ping"}` / `{"method": "heartbeat"}`: liveness only, answered only if it has an id.
HEARTBEAT_METHODS = frozenset({"ping", "heartbeat"})


@dataclass(frozen=True, slots=True)
class Call:
    """A method for the venue: run it, then send `answer(call, res)` or `refuse(call, message)`."""

    request_id: msgspec.Raw
    method: str
    params: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    #: The frame to send now (None: nothing, or wait for `call`).
    reply: bytes | None = None
    call: Call | None = None
    #: The frame was a JSON heartbeat (its reply, if any, is the ping's answer).
    heartbeat: bool = False


class DbotConnection:
    """Per-WebSocket state (the session's `state` slot): whose it is and what it subscribed to."""

    __slots__ = ("account_id", "trade_filter")

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        #: None until subscribeTradeResults; an empty set then means every trade type
        self.trade_filter: frozenset[str] | None = None

    def wants(self, kind: str) -> bool:
        return self.trade_filter is not None and (not self.trade_filter or kind in self.trade_filter)

    def receive(self, data: str | bytes) -> Outcome:
        try:
            request = decode_request(data)
        except BadRequest as exc:
            return Outcome(reply=rpc_error(exc.request_id, exc.message))
        if request.method == "subscribeTradeResults":
            unknown = sorted(set(request.trade_type_filter or ()) - TRADE_TYPES)
            if unknown:
                message = f"unknown tradeTypeFilter value(s): {', '.join(unknown)}"
                return Outcome(reply=rpc_error(request.id, message))
            self.trade_filter = frozenset(request.trade_type_filter or ())
            return Outcome(reply=subscribe_response())
        if request.method in HEARTBEAT_METHODS:
            return Outcome(reply=rpc_response(request.id) if request.id != NULL else None, heartbeat=True)
        return Outcome(call=Call(request.id, request.method, bytes(request.params)))

    @staticmethod
    def answer(call: Call, res: Any) -> bytes:
        return rpc_response(call.request_id, res)

    @staticmethod
    def refuse(call: Call, message: str) -> bytes:
        return rpc_error(call.request_id, message)
