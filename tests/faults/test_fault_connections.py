"""Connection faults, observed by real WebSocket clients: drops, ignored pings, delayed pushes,
502 handshakes — per dialect and per API key, switched live through the operator API."""

from __future__ import annotations

import asyncio
import json
import random
import time
import zlib
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sandex.faults.profile import FaultProfile, profile_seed
from tests.faults.fault_support import LiveVenue, live_venue

DFX = "/ws/v1/"


async def dfx_call(
    ws: websockets.ClientConnection, rid: int, method: str, params: list | None = None, timeout: float = 2.0
) -> dict:
    await ws.send(json.dumps({"id": rid, "method": method, "params": params or []}))
    while True:
        frame = json.loads(zlib.decompress(await asyncio.wait_for(ws.recv(), timeout)))
        if frame.get("id") == rid:
            return frame


async def infoway(venue: LiveVenue, key: str) -> websockets.ClientConnection:
    ws = await websockets.connect(venue.infoway_url(key), ping_interval=None)
    assert json.loads(await ws.recv())["code"] == 200
    return ws


async def closed_within(ws: websockets.ClientConnection, seconds: float) -> tuple[float, ConnectionClosed]:
    """Read until the connection ends; return how long that took and how it ended."""
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await asyncio.wait_for(ws.recv(), seconds)
    return time.monotonic() - started, info.value


async def test_drop_every_n_seconds_and_a_reconnecting_client_keeps_working(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        await venue.set_fault("flaky", dialect="digifinex", drop_every_s=0.5)
        bystander = await infoway(venue, "alice-key")  # another dialect: untouched
        drops, pongs = 0, 0
        started = time.monotonic()
        # A client with reconnect logic: connect, work until cut, reconnect.
        while time.monotonic() - started < 2.3:
            async with websockets.connect(venue.ws_url(DFX), ping_interval=None) as ws:
                opened = time.monotonic()
                try:
                    while True:
                        assert (await dfx_call(ws, 1, "server.ping"))["result"] == "pong"
                        pongs += 1
                        await asyncio.sleep(0.05)
                except ConnectionClosed as closed:
                    drops += 1
                    lived = time.monotonic() - opened
                    assert 0.4 <= lived < 1.0, lived
                    # Cut, not closed: no close frame came from the server (1006).
                    assert closed.rcvd is None
        assert drops >= 3 and pongs > 10
        assert (await venue.injected("flaky"))["drop_every"] == drops
        await bystander.send(json.dumps({"code": 10010, "trace": "t", "ack": 1}))
        assert json.loads(await asyncio.wait_for(bystander.recv(), 2))["code"] == 10011
        await bystander.close()


async def test_drop_with_probability_hits_only_the_chosen_key(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        alice, bob = await infoway(venue, "alice-key"), await infoway(venue, "bob-key")
        await venue.set_fault("coin", dialect="infoway", api_key="alice-key", drop_probability=1.0)
        lasted, _ = await closed_within(alice, 3.0)
        assert lasted <= 1.6  # the draw happens once a second
        await bob.send(json.dumps({"code": 10010, "trace": "still-here", "ack": 1}))
        assert json.loads(await asyncio.wait_for(bob.recv(), 2)) == {
            "code": 10011,
            "trace": "still-here",
            "msg": "ok",
        }
        await venue.disable_fault("coin")
        again = await infoway(venue, "alice-key")
        await asyncio.sleep(1.3)
        await again.send(json.dumps({"code": 10010, "trace": "t", "ack": 1}))
        assert json.loads(await asyncio.wait_for(again.recv(), 2))["code"] == 10011
        for ws in (bob, again):
            await ws.close()


async def test_ignored_pings_make_a_keepalive_client_give_up(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        await venue.set_fault("deaf", dialect="dbot", api_key="alice-key", ignore_pings=True)
        # DBot clients keep alive with RFC 6455 pings; websockets closes when no pong comes.
        deaf = await websockets.connect(
            venue.ws_url("/trade/ws"),
            additional_headers={"x-api-key": "alice-key"},
            ping_interval=0.2,
            ping_timeout=0.4,
        )
        fine = await websockets.connect(
            venue.ws_url("/trade/ws"),
            additional_headers={"x-api-key": "bob-key"},
            ping_interval=0.2,
            ping_timeout=0.4,
        )
        _, closed = await closed_within(deaf, 3.0)
        # The client gave up on its own: it sent 1011 "keepalive ping timeout".
        assert (
            closed.sent is not None
            and closed.sent.code == 1011
            and "keepalive ping timeout" in closed.sent.reason
        )
        await asyncio.sleep(0.3)
        pong = await fine.ping()  # bob's pings are still answered
        await asyncio.wait_for(pong, 2)
        await fine.close()
        assert (await venue.injected("deaf"))["ignore_pings"] >= 1


async def test_ignored_pings_cover_the_dialects_own_ping_requests(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        await venue.set_fault("deaf", ignore_pings=True)  # every dialect
        async with websockets.connect(venue.ws_url(DFX), ping_interval=None) as ws:
            await ws.send(json.dumps({"id": 1, "method": "server.ping", "params": []}))
            # No pong: the next frame is the reply to the request after it.
            reply = await dfx_call(ws, 2, "server.time")
            assert isinstance(reply["result"], int)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
            pong_waiter = await ws.ping()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pong_waiter, 0.5)
        ws = await infoway(venue, "bob-key")
        await ws.send(json.dumps({"code": 10010, "trace": "hb", "ack": 1}))
        await ws.send(json.dumps({"code": 10000, "trace": "sub", "data": {"codes": "BTCUSDT"}}))
        # The heartbeat's 10011 never comes: the next frame is the subscribe's ack.
        assert json.loads(await asyncio.wait_for(ws.recv(), 2)) == {
            "code": 10001,
            "trace": "sub",
            "msg": "ok",
        }
        await ws.close()


async def test_delayed_pushes_arrive_late_and_in_order(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        await venue.set_fault("laggy", dialect="infoway", api_key="alice-key", delay_ms=300, jitter_ms=200)
        slow, fast = await infoway(venue, "alice-key"), await infoway(venue, "bob-key")
        for ws in (slow, fast):
            await ws.send(json.dumps({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT"}}))
        # Replies are delayed too (they queue behind pushes, as on a slow link); acks still come.
        sent = time.monotonic()
        assert json.loads(await asyncio.wait_for(slow.recv(), 3))["code"] == 10001
        assert time.monotonic() - sent >= 0.29
        assert json.loads(await asyncio.wait_for(fast.recv(), 3))["code"] == 10001
        prices = [f"{65000 + i}" for i in range(20)]
        made: list[float] = []
        for price in prices:
            await venue.trade(price)
            made.append(time.monotonic())

        async def receive(ws: websockets.ClientConnection) -> list[tuple[str, float]]:
            got = []
            while len(got) < len(prices):
                push = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if push["code"] == 10002:
                    got.append((push["data"]["p"], time.monotonic()))
            return got

        slow_got, fast_got = await asyncio.gather(receive(slow), receive(fast))
        # Jitter never reorders: every client sees the trades in the order they happened.
        assert [p for p, _ in slow_got] == prices == [p for p, _ in fast_got]
        slow_lag = [at - made[i] for i, (_, at) in enumerate(slow_got)]
        fast_lag = [at - made[i] for i, (_, at) in enumerate(fast_got)]
        assert min(slow_lag) >= 0.29 and max(slow_lag) < 1.5, slow_lag
        assert max(fast_lag) < 0.25, fast_lag
        for ws in (slow, fast):
            await ws.close()


async def test_handshakes_are_refused_with_502_as_the_seed_decides(tmp_path: Path) -> None:
    async with live_venue(tmp_path) as venue:
        state = await venue.set_fault(
            "gateway", dialect="infoway", api_key="alice-key", handshake_502_probability=0.5, seed=42
        )
        assert state["profiles"][0]["seed"] == 42
        expected_rng = random.Random(profile_seed(FaultProfile(name="gateway", seed=42)))
        expected = [expected_rng.random() < 0.5 for _ in range(30)]
        observed = []
        for _ in range(30):
            try:
                ws = await websockets.connect(venue.infoway_url("alice-key"), ping_interval=None)
            except InvalidStatus as refused:
                assert refused.response.status_code == 502
                observed.append(True)
            else:
                observed.append(False)
                await ws.close()
        assert observed == expected and 5 < sum(observed) < 25
        # bob's key and the other dialects are untouched.
        for _ in range(5):
            ws = await infoway(venue, "bob-key")
            await ws.close()
        # DigiFinex connections have no key at the upgrade: only dialect-wide profiles apply there.
        await venue.set_fault(
            "dfx-alice", dialect="digifinex", api_key="alice-key", handshake_502_probability=1.0
        )
        async with websockets.connect(venue.ws_url(DFX), ping_interval=None) as ws:
            assert (await dfx_call(ws, 1, "server.ping"))["result"] == "pong"
        await venue.set_fault("dfx-all", dialect="digifinex", handshake_502_probability=1.0)
        with pytest.raises(InvalidStatus) as info:
            await websockets.connect(venue.ws_url(DFX), ping_interval=None)
        assert info.value.response.status_code == 502


async def test_a_digifinex_key_profile_applies_once_the_connection_signs_in(tmp_path: Path) -> None:
    from tests.digifinex.dfx_support import ws_auth_params

    async with live_venue(tmp_path) as venue:
        await venue.set_fault("alice-cut", dialect="digifinex", api_key="alice-key", drop_every_s=0.3)
        async with websockets.connect(venue.ws_url(DFX), ping_interval=None) as ws:
            await asyncio.sleep(0.6)  # older than 0.3 s, but not signed in: untouched
            assert (await dfx_call(ws, 1, "server.ping"))["result"] == "pong"
            assert (await dfx_call(ws, 2, "server.auth", ws_auth_params("alice-key", "alice-secret")))[
                "error"
            ] is None
            await closed_within(ws, 2.0)  # signed in as alice: the profile hits at once
        async with websockets.connect(venue.ws_url(DFX), ping_interval=None) as ws:
            assert (await dfx_call(ws, 1, "server.auth", ws_auth_params("bob-key", "bob-secret")))[
                "error"
            ] is None
            await asyncio.sleep(0.6)
            assert (await dfx_call(ws, 2, "server.ping"))["result"] == "pong"
