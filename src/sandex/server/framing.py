"""Server-to-client WebSocket frames (RFC 6455 §5.2), built once and shared.

A server never masks its frames, so the complete frame of a push — header and payload — is the
same byte string for every subscriber. Publishers call `encode_frame` once per event and hand the
result to `TopicHub.publish`, which writes that one `bytes` object to every subscriber's
transport. Nothing here knows about sockets or sessions.

Every frame is a single, final (FIN) frame with RSV bits clear: sandex never fragments and never
negotiates permessage-deflate (DigiFinex compresses inside the payload instead).
"""

from __future__ import annotations

import struct
from typing import Final

OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

_FIN: Final = 0x80
# Control frames (close, ping, pong) carry at most 125 payload bytes (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD: Final = 125

_HEADER_7 = struct.Struct("!BB").pack
_HEADER_16 = struct.Struct("!BBH").pack
_HEADER_64 = struct.Struct("!BBQ").pack
_CLOSE_CODE = struct.Struct("!H").pack


def _header(first_byte: int, length: int) -> bytes:
    # The three length forms: 0..125 inline, 126 + 16-bit, 127 + 64-bit (most significant bit 0).
    if length < 126:
        return _HEADER_7(first_byte, length)
    if length < 1 << 16:
        return _HEADER_16(first_byte, 126, length)
    if length < 1 << 63:
        return _HEADER_64(first_byte, 127, length)
    raise ValueError(f"payload too large for one WebSocket frame: {length} bytes")


def encode_frame(payload: bytes | bytearray | memoryview, *, binary: bool) -> bytes:
    """One complete unmasked data frame (TEXT or BINARY) holding `payload`.

    For a text frame the caller guarantees `payload` is UTF-8 (see `encode_text`).
    """
    opcode = OP_BINARY if binary else OP_TEXT
    return _header(_FIN | opcode, len(payload)) + bytes(payload)


def encode_text(text: str) -> bytes:
    """A TEXT frame for a Python string (encoded as UTF-8, as RFC 6455 requires)."""
    return encode_frame(text.encode("utf-8"), binary=False)


def encode_control(opcode: int, payload: bytes = b"") -> bytes:
    """A close/ping/pong frame; such frames may not exceed 125 payload bytes."""
    if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
        raise ValueError(f"not a control opcode: {opcode:#x}")
    if len(payload) > MAX_CONTROL_PAYLOAD:
        raise ValueError(f"control frame payload over {MAX_CONTROL_PAYLOAD} bytes")
    return _HEADER_7(_FIN | opcode, len(payload)) + payload


def encode_pong(payload: bytes = b"") -> bytes:
    """The reply to a PING: a PONG echoing the ping's application data."""
    return encode_control(OP_PONG, payload)


def encode_close(code: int | None = 1000, reason: str | bytes = b"") -> bytes:
    """A CLOSE frame; `code=None` sends an empty body (no status code, no reason).

    The reason is cut to fit the control-frame limit (123 bytes after the code) without splitting
    a UTF-8 character, so a long dialect message can never make closing fail.
    """
    if code is None:
        return encode_control(OP_CLOSE)
    raw = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    if len(raw) > MAX_CONTROL_PAYLOAD - 2:
        raw = raw[: MAX_CONTROL_PAYLOAD - 2].decode("utf-8", "ignore").encode("utf-8")
    return encode_control(OP_CLOSE, _CLOSE_CODE(code) + raw)
