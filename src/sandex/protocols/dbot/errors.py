"""DBot's error shape: a refused request is answered `err: true` with the reason in `res`.

Over the WebSocket the error is an `rpcResponse` echoing the request's id; over REST it is the
`{"err": true, "res": ..., "docs": ""}` body, whatever the HTTP status (401, 404, 413, 429, 503
and validation errors alike), so a client never has to parse plain text.
"""

from __future__ import annotations

import msgspec

#: JSON null, the id of a request whose id could not be read.
NULL = msgspec.Raw(b"null")


class DbotError(Exception):
    """A request DBot would answer with `err: true`; the message becomes `res`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        #: HTTP status for REST (the WebSocket always answers in-band)
        self.status = status


class BadRequest(DbotError):
    """A frame that could not even be read as a request; carries whatever id it had."""

    def __init__(self, request_id: msgspec.Raw, message: str) -> None:
        super().__init__(message)
        self.request_id = request_id


def rpc_error(request_id: msgspec.Raw, message: str) -> bytes:
    return msgspec.json.encode(
        {"method": "rpcResponse", "id": request_id, "result": {"err": True, "res": message, "docs": ""}}
    )


def rest_error(message: str) -> bytes:
    return msgspec.json.encode({"err": True, "res": message, "docs": ""})
