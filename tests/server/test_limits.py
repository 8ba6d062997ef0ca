from __future__ import annotations

import logging

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from sandex.server.ratelimits import BlockedKey, KeyGuard, SlidingWindowLimiter

from .echo import wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- SlidingWindowLimiter -------------------------------------------------------------------


def test_61st_frame_in_a_minute_is_refused() -> None:
    limiter = SlidingWindowLimiter(60, 60.0)
    assert all(limiter.allow(0.5 * i) for i in range(60))  # t = 0 .. 29.5
    assert not limiter.allow(30.0)
    assert not limiter.allow(59.999)
    assert limiter.in_window(59.999) == 60


def test_window_slides_exactly() -> None:
    limiter = SlidingWindowLimiter(60, 60.0)
    for i in range(60):  # one frame per second, t = 0 .. 59
        assert limiter.allow(float(i))
    assert limiter.allow(60.0)  # the frame at t=0 has just left (60 s ago)
    assert not limiter.allow(60.5)  # t=1 is still inside (59.5 s ago)
    assert limiter.allow(61.0)
    # A burst after a quiet spell: only as many as have left the window.
    assert [limiter.allow(200.0) for _ in range(61)].count(True) == 60


def test_refused_frames_do_not_use_up_the_budget() -> None:
    limiter = SlidingWindowLimiter(2, 1.0)
    assert limiter.allow(0.0) and limiter.allow(0.1)
    assert not any(limiter.allow(0.2 + i / 100) for i in range(50))
    assert limiter.allow(1.0)


def test_limiter_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 1.0)
    with pytest.raises(ValueError):
        SlidingWindowLimiter(1, 0.0)


# -- KeyGuard ----------------------------------------------------------------------------------


def test_key_blocked_after_n_violations_in_window(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    guard = KeyGuard(max_violations=3, window_s=600.0, block_s=300.0, clock=clock)
    caplog.set_level(logging.INFO, logger="sandex.server.ratelimits")
    assert not guard.record_violation("k1")
    clock.now += 100
    assert not guard.record_violation("k1")
    assert guard.violations("k1") == 2
    assert not guard.is_blocked("k1")
    clock.now += 100
    assert guard.record_violation("k1")  # third within 600 s: blocked now
    assert guard.is_blocked("k1") and not guard.is_blocked("k2")
    assert not guard.record_violation("k1")  # already blocked: not "blocked now" again
    assert guard.blocked() == [BlockedKey("k1", clock.now + 300.0, 3)]
    assert "k1 blocked" in caplog.text
    clock.now += 299
    assert guard.is_blocked("k1")
    clock.now += 1
    assert not guard.is_blocked("k1")  # the block expired
    assert guard.blocked() == []
    assert "k1 unblocked" in caplog.text


def test_violations_outside_the_window_do_not_add_up() -> None:
    clock = FakeClock()
    guard = KeyGuard(max_violations=3, window_s=600.0, block_s=0, clock=clock)
    for _ in range(10):
        assert not guard.record_violation("k")
        clock.now += 301  # never three within 600 s
    assert guard.violations("k") == 1


def test_indefinite_block_until_operator_unblocks() -> None:
    clock = FakeClock()
    guard = KeyGuard(max_violations=2, window_s=10.0, block_s=0, clock=clock)
    guard.record_violation("k")
    assert guard.record_violation("k")
    clock.now += 1e9
    assert guard.is_blocked("k")
    assert guard.blocked() == [BlockedKey("k", None, 2)]
    assert guard.blocked_count() == 1
    assert guard.unblock("k")
    assert not guard.unblock("k")
    assert not guard.is_blocked("k")
    assert not guard.record_violation("k")  # starts counting afresh


# -- through the echo dialect ------------------------------------------------------------------


async def test_61st_frame_gets_error_and_close(echo_server) -> None:
    server = await echo_server(limit=60, window_s=30.0)
    async with websockets.connect(server.url) as ws:
        for i in range(60):
            await ws.send(f"m{i}")
        for i in range(60):
            assert await ws.recv() == f"m{i}"
        await ws.send("m60")
        assert await ws.recv() == "error:rate"  # the dialect's error precedes the close
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert server.metrics.tally("echo").rate_limit_violations == 1


async def test_window_slides_on_a_live_connection(echo_server) -> None:
    import asyncio

    server = await echo_server(limit=5, window_s=0.3)
    async with websockets.connect(server.url) as ws:
        for round_ in range(2):
            for i in range(5):
                await ws.send(f"{round_}.{i}")
            for i in range(5):
                assert await ws.recv() == f"{round_}.{i}"
            await asyncio.sleep(0.35)
        for i in range(6):
            await ws.send(f"burst{i}")
        assert [await ws.recv() for _ in range(6)] == [f"burst{i}" for i in range(5)] + ["error:rate"]


async def test_repeated_limit_disconnects_block_the_key(echo_server) -> None:
    server = await echo_server(limit=3, window_s=30.0, max_violations=2)
    url = server.url + "?key=bot-1"
    for _ in range(2):
        async with websockets.connect(url) as ws:
            for i in range(4):
                await ws.send(f"{i}")
            with pytest.raises(ConnectionClosed):
                while True:
                    await ws.recv()
    assert server.guard.is_blocked("bot-1")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 401
        # Other keys are unaffected, and an operator unblock lets the key back in.
        async with http.ws_connect(server.url + "?key=bot-2") as ws:
            await ws.send_str("ok")
            assert await ws.receive_str() == "ok"
        assert server.guard.unblock("bot-1")
        async with http.ws_connect(url) as ws:
            await ws.send_str("back")
            assert await ws.receive_str() == "back"
    await wait_for(lambda: server.registry.count() == 0)
