"""A bare-socket WebSocket client for tests that need to see (or withhold) raw bytes.

Library clients hide the wire: this one returns each server frame's exact bytes (to prove every
subscriber got the identical frame) and can simply never read (a slow consumer).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from sandex.server.framing import OP_TEXT


def client_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """A masked client->server frame (RFC 6455 requires clients to mask)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class RawClient:
    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self._buf = bytearray(leftover)
        self._loop = asyncio.get_running_loop()

    @classmethod
    async def connect(cls, port: int, path: str = "/echo", *, rcvbuf: int | None = None) -> RawClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Set before connect so the advertised TCP window is small from the start.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise ConnectionError("closed during handshake")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace"))
        return cls(sock, rest)

    async def send(self, payload: bytes, opcode: int = OP_TEXT) -> None:
        await self._loop.sock_sendall(self.sock, client_frame(payload, opcode))

    async def recv_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = await self._loop.sock_recv(self.sock, max(65536, n - len(self._buf)))
            if not chunk:
                raise ConnectionError("connection closed")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def recv_frame(self) -> tuple[int, bytes, bytes]:
        """(opcode, payload, the frame's exact bytes)."""
        head = await self.recv_exact(2)
        length = head[1] & 0x7F
        ext = b""
        if length == 126:
            ext = await self.recv_exact(2)
            length = struct.unpack("!H", ext)[0]
        elif length == 127:
            ext = await self.recv_exact(8)
            length = struct.unpack("!Q", ext)[0]
        assert not head[1] & 0x80, "server frames must not be masked"
        payload = await self.recv_exact(length)
        return head[0] & 0x0F, payload, head + ext + payload

    def close(self) -> None:
        self.sock.close()
