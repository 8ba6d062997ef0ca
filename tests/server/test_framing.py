from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest
import websocket  # websocket-client
import websockets
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from sandex.server.framing import (
    OP_CLOSE,
    OP_PING,
    encode_close,
    encode_control,
    encode_frame,
    encode_pong,
    encode_text,
)

# Boundaries of the three length forms: 7-bit (<=125), 16-bit (126..65535), 64-bit (>=65536).
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000, 1 << 20]


def parse(frame: bytes) -> Frame:
    """Parse with the websockets library's client-side frame parser."""
    reader = StreamReader()
    reader.feed_data(frame)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        assert not reader.buffer, "frame longer than its header says"
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("binary", [True, False])
def test_frame_parses_at_every_length_form(size: int, binary: bool) -> None:
    payload = os.urandom(size) if binary else b"x" * size
    frame = encode_frame(payload, binary=binary)
    header_len = 2 if size < 126 else 4 if size < 65536 else 10
    assert len(frame) == header_len + size
    parsed = parse(frame)
    assert parsed.fin and not (parsed.rsv1 or parsed.rsv2 or parsed.rsv3)
    assert parsed.opcode is (Opcode.BINARY if binary else Opcode.TEXT)
    assert parsed.data == payload


def test_text_frame_is_utf8() -> None:
    assert bytes(parse(encode_text("héllo ✓")).data).decode() == "héllo ✓"


def test_control_frames() -> None:
    pong = parse(encode_pong(b"abc"))
    assert pong.opcode is Opcode.PONG and pong.data == b"abc"
    close = parse(encode_close(4001, "bye"))
    assert close.opcode is Opcode.CLOSE and close.data == b"\x0f\xa1bye"
    assert parse(encode_close(None)).data == b""
    with pytest.raises(ValueError):
        encode_control(OP_PING, b"x" * 126)
    with pytest.raises(ValueError):
        encode_control(0x1, b"")


def test_close_reason_is_cut_without_splitting_a_character() -> None:
    frame = encode_close(1000, "é" * 100)  # 200 bytes of UTF-8
    data = parse(frame).data
    assert len(data) <= 125
    bytes(data[2:]).decode("utf-8")  # still valid UTF-8
    assert frame[0] == 0x80 | OP_CLOSE


# -- against real clients, through the echo dialect -------------------------------------------


def _payloads() -> list[tuple[bool, bytes]]:
    sizes = [0, 125, 126, 65535, 65536, 2 * 1024 * 1024]
    return [(True, os.urandom(n)) for n in sizes] + [(False, ("é" * n).encode()[:n]) for n in sizes]


def _fix_utf8(data: bytes) -> str:
    # A cut through a 2-byte character leaves half of it; drop it to keep valid text.
    return data.decode("utf-8", "ignore")


async def test_aiohttp_client_parses_all_length_forms(echo_server) -> None:
    server = await echo_server()
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(server.url, max_msg_size=8 * 1024 * 1024) as ws,
    ):
        for binary, payload in _payloads():
            if binary:
                await ws.send_bytes(payload)
                assert await ws.receive_bytes() == payload
            else:
                text = _fix_utf8(payload)
                await ws.send_str(text)
                assert await ws.receive_str() == text


async def test_websockets_client_parses_all_length_forms(echo_server) -> None:
    server = await echo_server()
    async with websockets.connect(server.url, max_size=None, compression=None) as ws:
        for binary, payload in _payloads():
            message: bytes | str = payload if binary else _fix_utf8(payload)
            await ws.send(message)
            assert await ws.recv() == message


async def test_websocket_client_library_parses_all_length_forms(echo_server) -> None:
    server = await echo_server()

    def talk() -> None:
        ws = websocket.create_connection(server.url, timeout=10)
        try:
            for binary, payload in _payloads():
                if binary:
                    ws.send_binary(payload)
                    assert ws.recv() == payload
                else:
                    text = _fix_utf8(payload)
                    ws.send(text)
                    assert ws.recv() == text
        finally:
            ws.close()

    await asyncio.to_thread(talk)
