"""Server frames: JSON, zlib-compressed, in one complete binary WebSocket frame.

DigiFinex compresses inside the payload (`zlib.compress(json)`: a zlib stream with its 2-byte
header and adler32 trailer, not raw deflate) and sends every frame — replies, errors, pushes — as
binary. Compression is per message, so a push is compressed and framed once and the same bytes
go to every subscriber (`TopicHub.publish`).

Request ids are echoed as the exact JSON text the client sent (`msgspec.Raw`), so an int, a
1.6e15 timestamp-like id or a float comes back unchanged; pushes carry `"id": null`.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

import msgspec
from msgspec import Raw, Struct

from sandex.server.framing import encode_frame

NULL_ID: Final = Raw(b"null")

# Level 6 is zlib's default; pushes are small and compressed once per event however many
# subscribers they have, so a faster level would save little.
_LEVEL: Final = 6
_encode = msgspec.json.Encoder().encode


class _ErrorBody(Struct, gc=False):
    code: int
    message: str


class _Reply(Struct, gc=False):
    # Field order is the documented one: error, result, id.
    error: _ErrorBody | None
    result: Any
    id: Raw


class _Push(Struct, gc=False):
    method: str
    params: Any
    id: None = None


def payload(message: Any) -> bytes:
    """The compressed payload of a frame (what a client gets from `ws.recv()`)."""
    return zlib.compress(_encode(message), _LEVEL)


def frame(message: Any) -> bytes:
    """One complete binary frame holding the compressed JSON of `message`."""
    return encode_frame(payload(message), binary=True)


def reply_frame(request_id: Raw, result: Any) -> bytes:
    return frame(_Reply(None, result, request_id))


def error_frame(request_id: Raw, code: int, message: str) -> bytes:
    return frame(_Reply(_ErrorBody(code, message), None, request_id))


def push_frame(method: str, params: Any) -> bytes:
    return frame(_Push(method, params))


#: The ack of every subscribe, unsubscribe and auth; its result never changes.
STATUS_SUCCESS: Final = {"status": "success"}
