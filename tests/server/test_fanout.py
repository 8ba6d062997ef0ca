"""One push, framed once, reaches 1,000 real connections as identical bytes."""

from __future__ import annotations

import asyncio
import os

import websockets

from sandex.server.framing import OP_BINARY, OP_TEXT, encode_frame

from .echo import wait_for
from .rawws import RawClient

SUBSCRIBERS = 1000


async def test_publish_delivers_identical_bytes_to_1000_subscribers(echo_server) -> None:
    server = await echo_server()
    topic = server.topic("BTC_USDT")

    clients: list[RawClient] = []
    for _start in range(0, SUBSCRIBERS, 100):  # connect in batches to keep the backlog sane
        batch = await asyncio.gather(*(RawClient.connect(server.port) for _ in range(100)))
        clients.extend(batch)

    async def subscribe(client: RawClient) -> None:
        await client.send(b"sub:BTC_USDT")
        opcode, payload, _ = await client.recv_frame()
        assert (opcode, payload) == (OP_TEXT, b"ack:BTC_USDT")

    await asyncio.gather(*(subscribe(c) for c in clients))
    # A library client among them, to be sure the shared bytes parse as a normal message.
    async with websockets.connect(server.url, max_size=None) as lib_client:
        await lib_client.send("sub:BTC_USDT")
        assert await lib_client.recv() == "ack:BTC_USDT"
        assert len(server.hub.subscribers(topic)) == SUBSCRIBERS + 1

        for size in (100, 1000, 70000):  # 7-bit, 16-bit and 64-bit length forms
            payload = os.urandom(size)
            frame = encode_frame(payload, binary=True)
            assert server.hub.publish(topic, frame) == SUBSCRIBERS + 1
            received = await asyncio.gather(*(c.recv_frame() for c in clients))
            assert all(raw == frame for _, _, raw in received)
            assert all(op == OP_BINARY for op, _, _ in received)
            assert await lib_client.recv() == payload

    tally = server.metrics.tally("echo")
    assert tally.frames_out >= 3 * (SUBSCRIBERS + 1)
    for c in clients:
        c.close()
    await wait_for(lambda: server.registry.count() == 0, timeout=10)
    assert not server.hub.has_subscribers(topic)
