"""The production rules: authentication, frame limit, key blocking, heartbeats, symbol and
connection caps — each over a real socket."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import websocket  # websocket-client: the synchronous client many bots use
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.infoway.iw_support import Client, Venue, running_venue
from tests.support.server import BASE_CONFIG, SandexServer

HEARTBEAT = {"code": 10010, "trace": "hb"}


async def expect_closed(client: Client, code: int, timeout: float = 5.0) -> None:
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(client.ws.recv(), timeout)
    assert client.ws.close_code == code


# -- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "nobody-key"], ids=["missing", "empty", "unknown"])
async def test_bad_keys_are_refused_at_the_upgrade_with_401(venue: Venue, key: str | None) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(venue.url(key=key))
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers["www-authenticate"] == 'apikey realm="key"'


async def test_the_key_is_the_lower_case_apikey_parameter(venue: Venue) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(f"ws://127.0.0.1:{venue.port}/ws?business=crypto&apiKey=alice-key")
    assert refused.value.response.status_code == 401
    client = await Client.connect(venue.url())  # welcome frame checked by connect
    await client.close()


# -- 60 frames per minute -------------------------------------------------------------------------


async def test_the_61st_frame_within_a_minute_gets_501_and_the_close(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    for i in range(59):
        await client.send({"code": 10010, "trace": f"hb{i}"})
    # The 60th frame is still served...
    assert await client.request({"code": 10010, "trace": "hb59", "ack": 1}) == {
        "code": 10011,
        "trace": "hb59",
        "msg": "ok",
    }
    # ...the 61st is not: error 501, then the server closes the connection.
    await client.send({"code": 10000, "trace": "61st", "data": {"codes": "BTCUSDT"}})
    error = await client.recv()
    assert error["code"] == 501 and set(error) == {"traceId", "code", "msg"}
    await expect_closed(client, 1008)


async def test_bad_frames_count_towards_the_limit_too(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    for _ in range(60):
        await client.send("not json")
    answers = [await client.recv() for _ in range(60)]
    assert {a["code"] for a in answers} == {515}
    await client.send("not json")
    assert (await client.recv())["code"] == 501
    await expect_closed(client, 1008)


def _flood(url: str) -> list[dict]:
    """websocket-client: connect, send 61 heartbeats, return every frame until the close."""
    ws = websocket.create_connection(url, timeout=10)
    frames = [json.loads(ws.recv())]
    for i in range(61):
        ws.send(json.dumps({"code": 10010, "trace": f"h{i}"}))
    while True:
        try:
            text = ws.recv()
        except websocket.WebSocketConnectionClosedException:
            break
        if not text:
            break
        frames.append(json.loads(text))
    ws.close()
    return frames


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def _cli(server: SandexServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sandex.cli",
            *args,
            "--config",
            str(server.config_path),
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_repeated_limit_disconnects_block_the_key_until_an_operator_unblocks_it(tmp_path: Path) -> None:
    config = BASE_CONFIG + "\n[limits.infoway]\nblock_after_disconnects = 2\n"
    with SandexServer(tmp_path, config) as server:
        url = server.ws_url("/ws?business=crypto&apikey=alice-key")
        for _ in range(2):
            frames = _flood(url)
            assert frames[0] == {"code": 200, "msg": "ws connect success"}
            assert frames[-1]["code"] == 501
        # Blocked: the next upgrade is refused with 401 and no frame.
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, timeout=5)
        assert refused.value.status_code == 401
        headers = refused.value.resp_headers
        assert headers is not None and headers["www-authenticate"] == 'apikey realm="key"'
        # Another key is not affected.
        other = websocket.create_connection(server.ws_url("/ws?business=crypto&apikey=bob-key"), timeout=5)
        assert json.loads(other.recv())["code"] == 200
        other.close()
        # Visible to the operator: logs, /metrics, the admin API, `sandex keys` and `sandex accounts`.
        assert "api key alice-key blocked after 2 violations" in server.log()
        metrics = _get(f"{server.base_url}/metrics")
        assert 'sandex_blocked_keys{dialect="infoway"} 1.0' in metrics
        assert "sandex_infoway_key_blocks_total 1.0" in metrics
        assert 'sandex_infoway_errors_total{code="501"} 2.0' in metrics
        assert 'sandex_ws_rate_limit_violations_total{dialect="infoway"} 2.0' in metrics
        blocked = json.loads(_get(f"{server.base_url}/admin/keys/blocked"))
        assert [(b["dialect"], b["key"], b["violations"]) for b in blocked] == [("infoway", "alice-key", 2)]
        listed = _cli(server, "keys", "blocked", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout)[0]["key"] == "alice-key"
        accounts = {a["name"]: a for a in json.loads(_cli(server, "accounts", "list", "--json").stdout)}
        assert accounts["alice"]["blocked"] == {"infoway": True} and accounts["bob"]["blocked"] == {}
        # The operator unblocks it: access is back.
        unblocked = _cli(server, "keys", "unblock", "alice-key")
        assert unblocked.returncode == 0 and "infoway" in unblocked.stdout
        ws = websocket.create_connection(url, timeout=5)
        assert json.loads(ws.recv()) == {"code": 200, "msg": "ws connect success"}
        ws.send(json.dumps({"code": 10010, "trace": "back", "ack": 1}))
        assert json.loads(ws.recv()) == {"code": 10011, "trace": "back", "msg": "ok"}
        ws.close()
        assert 'sandex_blocked_keys{dialect="infoway"} 0.0' in _get(f"{server.base_url}/metrics")


async def test_a_block_expires_after_the_configured_duration(tmp_path: Path) -> None:
    extra = "\n[limits.infoway]\nblock_after_disconnects = 1\nblock_duration_s = 1\nframes_per_minute = 3\n"
    async with running_venue(tmp_path, extra) as venue:
        client = await Client.connect(venue.url())
        for i in range(4):
            await client.send({"code": 10010, "trace": f"h{i}"})
        assert (await client.recv())["code"] == 501
        await expect_closed(client, 1008)
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(venue.url())
        assert refused.value.response.status_code == 401
        await asyncio.sleep(1.1)
        client = await Client.connect(venue.url())
        await client.close()


async def test_blocking_a_key_closes_its_open_connections_with_511(tmp_path: Path) -> None:
    extra = "\n[limits.infoway]\nblock_after_disconnects = 1\nframes_per_minute = 3\n"
    async with running_venue(tmp_path, extra) as venue:
        # Two quiet connections of alice (one subscribed), and one of bob.
        quiet = await Client.connect(venue.url())
        subscribed = await Client.connect(venue.url())
        assert (await subscribed.request({"code": 10000, "trace": "s", "data": {"codes": "BTCUSDT"}}))[
            "code"
        ] == 10001
        other = await Client.connect(venue.url(key="bob-key"))
        # A third connection of alice breaks the frame limit: the key is blocked...
        noisy = await Client.connect(venue.url())
        for i in range(4):
            await noisy.send({"code": 10010, "trace": f"h{i}"})
        assert (await noisy.recv())["code"] == 501
        await expect_closed(noisy, 1008)
        # ...and every open connection of the key is told so (511) and closed, without a frame of its own.
        for client in (quiet, subscribed):
            error = await client.recv()
            assert error == {"traceId": None, "code": 511, "msg": "Apikey blacklisted, the apikey is blocked"}
            await expect_closed(client, 1008)
        # Bob's key is not blocked: his connection still works.
        assert await other.request({"code": 10010, "trace": "b", "ack": 1}) == {
            "code": 10011,
            "trace": "b",
            "msg": "ok",
        }
        await other.close()


async def test_relaxed_profile_switches_the_limits_off(tmp_path: Path) -> None:
    async with running_venue(tmp_path, '\n[limits.infoway]\nprofile = "relaxed"\n') as venue:
        client = await Client.connect(venue.url())
        for i in range(100):
            await client.send({"code": 10010, "trace": f"h{i}"})
        assert await client.request({"code": 10010, "trace": "last", "ack": 1}) == {
            "code": 10011,
            "trace": "last",
            "msg": "ok",
        }
        assert venue.ctx.sweeper.sweep(now=time.monotonic() + 3600) == 0  # no heartbeat rule
        await client.close()


# -- heartbeats ---------------------------------------------------------------------------------


async def test_heartbeat_rule_with_an_injected_clock_uses_the_default_60s(venue: Venue) -> None:
    silent = await Client.connect(venue.url())
    await asyncio.sleep(0.6)
    beating = await Client.connect(venue.url())
    await beating.request({**HEARTBEAT, "ack": 1})
    # Subscribing is not a heartbeat.
    await silent.request({"code": 10000, "trace": "s", "data": {"codes": "BTCUSDT"}})
    sessions = sorted(venue.ctx.registry.sessions("infoway"), key=lambda s: s.state.last_heartbeat)
    opened = sessions[0].state.last_heartbeat
    assert venue.ctx.sweeper.sweep(now=opened + 59.9) == 0
    assert venue.ctx.sweeper.sweep(now=opened + 60.05) == 1  # only the silent one
    error = await silent.recv()
    assert error == {
        "traceId": None,
        "code": 513,
        "msg": "Heartbeat timeout, no heartbeat received in 60 seconds",
    }
    await expect_closed(silent, 1000)
    # The one that sent a heartbeat 0.6 s later is still served, until its own 60 s pass.
    assert await beating.request({**HEARTBEAT, "ack": 1}) == {"code": 10011, "trace": "hb", "msg": "ok"}
    last = max(s.state.last_heartbeat for s in venue.ctx.registry.sessions("infoway"))
    assert venue.ctx.sweeper.sweep(now=last + 60.05) == 1
    assert (await beating.recv())["code"] == 513
    await expect_closed(beating, 1000)


async def test_a_silent_client_gets_513_and_is_closed_after_the_configured_timeout(tmp_path: Path) -> None:
    async with running_venue(tmp_path, "\n[limits.infoway]\nheartbeat_timeout_s = 2\n") as venue:
        started = time.monotonic()
        silent = await Client.connect(venue.url())
        beating = await Client.connect(venue.url())

        async def keep_alive() -> None:
            for i in range(8):
                await beating.send({"code": 10010, "trace": f"b{i}"})
                await asyncio.sleep(0.5)

        alive = asyncio.create_task(keep_alive())
        error = await silent.recv(timeout=6)
        elapsed = time.monotonic() - started
        assert error["code"] == 513
        assert 2.0 <= elapsed <= 3.6, elapsed  # the sweeper runs once a second
        await expect_closed(silent, 1000)
        await alive
        # The client that kept sending heartbeats for 4 s is still open.
        assert await beating.request({**HEARTBEAT, "ack": 1}) == {"code": 10011, "trace": "hb", "msg": "ok"}
        await beating.close()


# -- symbol and connection caps -----------------------------------------------------------------


async def test_more_symbols_than_allowed_get_505_and_the_connection_stays_open(tmp_path: Path) -> None:
    async with running_venue(tmp_path, "\n[limits.infoway]\nmax_symbols_per_type = 3\n") as venue:
        client = await Client.connect(venue.url())
        assert (await client.request({"code": 10000, "trace": "a", "data": {"codes": "BTCUSDT,X1,X2"}}))[
            "code"
        ] == 10001
        refused = await client.request({"code": 10000, "trace": "b", "data": {"codes": "ETHUSDT"}})
        assert refused["code"] == 505 and refused["traceId"] == "b"
        # Depth has its own budget; the refused request added nothing.
        assert (await client.request({"code": 10003, "trace": "c", "data": {"codes": "ETHUSDT"}}))[
            "code"
        ] == 10004
        await venue.trade("ETH_USDT", "3500", "0.1")
        frames = await client.collect(0.5)
        assert not [f for f in frames if f.get("code") == 10002]
        await client.close()


async def test_the_per_key_connection_cap_answers_512_and_closes(tmp_path: Path) -> None:
    async with running_venue(tmp_path, "\n[limits.infoway]\nmax_connections_per_key = 2\n") as venue:
        first = await Client.connect(venue.url())
        second = await Client.connect(venue.url())
        third = await Client.connect(venue.url(), welcome=False)
        error = await third.recv()
        assert error["code"] == 512 and set(error) == {"traceId", "code", "msg"}
        await expect_closed(third, 1008)
        other_key = await Client.connect(venue.url(key="bob-key"))  # other keys have their own cap
        await second.close()
        await asyncio.sleep(0.1)
        again = await Client.connect(venue.url())  # a freed slot can be used again
        for client in (first, other_key, again):
            await client.close()


async def test_business_is_required(venue: Venue) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(venue.url(business=None))
    assert refused.value.response.status_code == 400
