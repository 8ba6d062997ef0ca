"""The session layer against real clients: ordering, pings, closing, errors, slow consumers."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from sandex.server.framing import OP_CLOSE, encode_text
from sandex.server.session import SessionConfig

from .echo import wait_for
from .rawws import RawClient


async def test_session_writes_to_the_transport_aiohttp_writes_to(echo_server) -> None:
    # The direct-write path relies on this; it catches an aiohttp upgrade that changes it.
    server = await echo_server()
    async with websockets.connect(server.url) as ws:
        await wait_for(lambda: server.registry.count() == 1)
        (session,) = server.registry.sessions()
        assert session._transport is session.ws._writer.transport
        assert session.ws.compress == 0  # no permessage-deflate even if asked
        await ws.send("hi")
        assert await ws.recv() == "hi"


async def test_ack_is_received_before_any_push(echo_server) -> None:
    server = await echo_server()
    topic = server.topic("t")
    stop = asyncio.Event()

    async def publisher() -> None:
        seq = 0
        while not stop.is_set():
            if server.hub.has_subscribers(topic):
                server.hub.publish(topic, encode_text(f"push:{seq}"))
                seq += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(publisher())
    try:
        async with websockets.connect(server.url) as ws:
            await ws.send("sub:t")
            assert await ws.recv() == "ack:t"  # never a push first
            seqs = [int(str(await ws.recv()).split(":")[1]) for _ in range(50)]
            assert seqs == sorted(seqs) and len(set(seqs)) == 50
    finally:
        stop.set()
        await task


async def test_large_ack_then_immediate_push_stay_in_order(echo_server) -> None:
    # A 3 MiB ack does not fit the socket buffer, so part of it waits in the transport while the
    # push is written: the push must still come out after the whole ack.
    server = await echo_server()
    async with websockets.connect(server.url, max_size=None) as ws:
        await ws.send("subpush:t:3000000")
        ack = await ws.recv()
        assert len(ack) == 3000000
        assert await ws.recv() == "push-now"


async def test_async_handlers_reply_in_request_order(echo_server) -> None:
    server = await echo_server()
    async with websockets.connect(server.url) as ws:
        await ws.send("slow")
        await ws.send("fast")
        assert await ws.recv() == "slept"
        assert await ws.recv() == "fast"


async def test_ping_is_answered_with_matching_pong(echo_server) -> None:
    server = await echo_server()
    async with websockets.connect(server.url, ping_interval=None) as ws:
        await wait_for(lambda: server.registry.count() == 1)
        (session,) = server.registry.sessions()
        before = session.last_recv
        await asyncio.sleep(0.01)
        pong = await ws.ping(b"liveness?")
        await asyncio.wait_for(pong, 2)  # websockets matches the pong's payload to the ping
        assert session.last_recv > before
        assert session.frames_in == 0  # control frames are liveness, not data


async def test_handler_exceptions_are_logged_and_connection_survives(
    echo_server, caplog: pytest.LogCaptureFixture
) -> None:
    server = await echo_server()
    caplog.set_level(logging.ERROR, logger="sandex.server.session")
    async with websockets.connect(server.url) as ws:
        await ws.send("boom")
        await ws.send("aboom")
        await ws.send("still here?")
        assert await ws.recv() == "still here?"
    errors = [r for r in caplog.records if r.name == "sandex.server.session"]
    assert len(errors) == 2
    assert all(r.exc_info for r in errors)  # logged with the traceback
    assert "boom from the sync handler" in caplog.text
    assert "boom from the async handler" in caplog.text


async def test_client_close_is_echoed_and_session_cleaned_up(echo_server) -> None:
    server = await echo_server()
    ws = await websockets.connect(server.url)
    await ws.send("sub:a")
    await ws.send("sub:b")
    assert await ws.recv() == "ack:a"
    assert await ws.recv() == "ack:b"
    assert len(server.hub) == 2
    await ws.close(4002, "done")
    assert ws.close_code == 4002  # the server echoed the client's code
    await wait_for(lambda: server.registry.count() == 0 and len(server.closed) == 1)
    assert len(server.hub) == 0
    assert not server.hub.has_subscribers(server.topic("a"))


async def test_server_close_sends_code_and_reason_and_completes_handshake(echo_server) -> None:
    server = await echo_server()
    async with websockets.connect(server.url) as ws:
        await ws.send("close:4321:bye now")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4321, "bye now")
        assert closed.value.sent is not None  # the client answered: a clean handshake
    await wait_for(lambda: server.registry.count() == 0)


async def test_server_close_aborts_when_client_never_answers(echo_server) -> None:
    server = await echo_server(config=SessionConfig(close_timeout=0.2))
    client = await RawClient.connect(server.port)
    await client.send(b"close:1000:x")
    opcode, payload, _ = await client.recv_frame()
    assert opcode == OP_CLOSE and payload[:2] == b"\x03\xe8"
    # We never send our close frame; the server gives up after close_timeout.
    started = time.monotonic()
    await wait_for(lambda: server.registry.count() == 0, timeout=3)
    assert time.monotonic() - started < 2
    client.close()


async def test_nothing_is_sent_after_close(echo_server) -> None:
    server = await echo_server()
    async with websockets.connect(server.url) as ws:
        await ws.send("sub:t")
        assert await ws.recv() == "ack:t"
        (session,) = server.registry.sessions()
        session.close(1001, "going away")
        assert server.hub.publish(server.topic("t"), encode_text("late")) == 0
        assert not session.send_text("late")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_oversized_message_closes_with_1009(echo_server) -> None:
    server = await echo_server(config=SessionConfig(max_msg_size=1000))
    async with websockets.connect(server.url) as ws:
        await ws.send("x" * 1000)
        assert len(await ws.recv()) == 1000
        await ws.send("x" * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    await wait_for(lambda: server.registry.count() == 0)


async def test_welcome_frame_from_on_open(echo_server) -> None:
    server = await echo_server(greet=True)
    async with aiohttp.ClientSession() as http, http.ws_connect(server.url) as ws:
        assert await ws.receive_str() == "welcome"
        await ws.send_str("x")
        assert await ws.receive_str() == "x"


async def test_slow_consumer_is_dropped_and_others_keep_up(echo_server) -> None:
    limit = 256 * 1024
    server = await echo_server(config=SessionConfig(send_buffer_limit=limit))
    topic = server.topic("depth")
    tally = server.metrics.tally("echo")

    # One client that subscribes and then never reads again, with a tiny TCP window.
    stalled = await RawClient.connect(server.port, rcvbuf=4096)
    await stalled.send(b"sub:depth")
    assert (await stalled.recv_frame())[1] == b"ack:depth"

    # Three well-behaved clients that read continuously.
    http = aiohttp.ClientSession()
    readers = [await http.ws_connect(server.url) for _ in range(3)]
    for ws in readers:
        await ws.send_str("sub:depth")
        assert await ws.receive_str() == "ack:depth"
    received: list[list[tuple[int, float]]] = [[] for _ in readers]

    async def read(i: int) -> None:
        async for msg in readers[i]:
            seq = int(msg.data[:8])
            received[i].append((seq, time.monotonic()))

    tasks = [asyncio.create_task(read(i)) for i in range(len(readers))]
    frames = 600
    blob = "x" * 16384
    sent_at: list[float] = []
    dropped_at = None
    for seq in range(frames):
        sent_at.append(time.monotonic())
        delivered = server.hub.publish(topic, encode_text(f"{seq:08d}{blob}"))
        if dropped_at is None and tally.slow_consumer_drops:
            dropped_at = seq
            assert delivered == 3
        await asyncio.sleep(0.0005)

    assert dropped_at is not None, "the stalled client was never dropped"
    assert tally.slow_consumer_drops == 1
    await wait_for(lambda: all(len(r) == frames for r in received))
    for got in received:
        assert [seq for seq, _ in got] == list(range(frames))
        lag = max(t - sent_at[seq] for seq, t in got)
        assert lag < 1.0, f"a healthy subscriber lagged {lag:.3f}s"
    await wait_for(lambda: server.registry.count() == 3)  # the dropped one is gone
    assert len(server.hub.subscribers(topic)) == 3

    for ws in readers:
        await ws.close()
    await asyncio.gather(*tasks)
    await http.close()
    stalled.close()
