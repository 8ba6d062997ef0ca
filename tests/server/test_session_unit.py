"""Session's write path and closing rules, against a fake transport (no sockets)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from sandex.server.framing import encode_close, encode_text
from sandex.server.metrics import DialectTally
from sandex.server.session import Session, SessionConfig


class FakeTransport:
    def __init__(self, kernel_takes: int = 1 << 30) -> None:
        self.kernel_takes = kernel_takes  # bytes "sent" before the rest stays buffered
        self.sent = bytearray()
        self.buffered = 0
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closing
        room = max(0, self.kernel_takes - len(self.sent))
        self.sent += data[:room]
        self.buffered += max(0, len(data) - room)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = self.aborted = True
        self.buffered = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


def make(transport: FakeTransport, **config: Any) -> tuple[Session, DialectTally]:
    tally = DialectTally()
    session = Session(
        None,  # type: ignore[arg-type]  # the receive side is not used here
        transport,  # type: ignore[arg-type]
        dialect="test",
        key="k",
        config=SessionConfig(**config),
        tally=tally,
    )
    return session, tally


def test_frames_are_written_in_call_order() -> None:
    transport = FakeTransport()
    session, tally = make(transport)
    assert session.send_text("ack")
    assert session.send_frame(encode_text("push"))
    assert session.send_binary(b"\x00")
    assert bytes(transport.sent) == encode_text("ack") + encode_text("push") + b"\x82\x01\x00"
    assert session.frames_out == tally.frames_out == 3


def test_slow_consumer_is_aborted_once_over_the_limit() -> None:
    transport = FakeTransport(kernel_takes=100)
    session, tally = make(transport, send_buffer_limit=1000)
    frame = encode_text("x" * 300)
    results = [session.send_frame(frame) for _ in range(5)]
    # 100 bytes reach the kernel; the buffer passes 1000 bytes on the 4th frame.
    assert results == [True, True, True, False, False]
    assert transport.aborted and not session.is_open
    assert tally.slow_consumer_drops == 1
    assert session.write_buffer_size == 0


async def test_close_sends_one_close_frame_then_refuses_writes() -> None:
    transport = FakeTransport()
    session, _ = make(transport, close_timeout=0.05)
    session.send_text("error:501")
    session.close(1000, "rate limit")
    session.close(1001, "again")  # ignored: already closing
    assert not session.send_text("late")
    assert bytes(transport.sent) == encode_text("error:501") + encode_close(1000, "rate limit")
    await asyncio.sleep(0.1)  # no close frame from the client: aborted after close_timeout
    assert transport.aborted


def test_client_close_is_echoed_once() -> None:
    transport = FakeTransport()
    session, _ = make(transport)
    session._answer_close(4000)
    assert bytes(transport.sent) == encode_close(4000)
    assert transport.closing and not transport.aborted


def test_empty_or_reserved_client_close_gets_an_empty_close() -> None:
    for code in (0, 1005, 1006):
        transport = FakeTransport()
        session, _ = make(transport)
        session._answer_close(code)
        assert bytes(transport.sent) == b"\x88\x00"


def test_writes_to_a_lost_transport_are_refused() -> None:
    transport = FakeTransport()
    session, tally = make(transport)
    transport.closing = True
    assert not session.send_text("x")
    assert not session.is_open and tally.frames_out == 0


def test_session_object_is_small() -> None:
    session, _ = make(FakeTransport())
    assert not hasattr(session, "__dict__")
    assert sys.getsizeof(session) < 256
