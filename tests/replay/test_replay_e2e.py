"""A real `sandex serve --replay btcusdt` with real clients over real sockets: the recorded book
and trades through ccxt and DigiFinex WS at sought times, the clock at 10x, pause, seek both ways,
and a restart (SIGTERM) resuming position and state."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
import websocket

from sandex.replay import bundled
from tests.digifinex.dfx_support import decode
from tests.replay.replay_support import NaiveBook, admin
from tests.support.server import SandexServer

PRICE, SIZE = Decimal(100), Decimal(1_000_000)


@pytest.fixture(scope="module")
def naive() -> NaiveBook:
    return NaiveBook(bundled("btcusdt"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandexServer]:
    workdir = tmp_path_factory.mktemp("replay-e2e")
    with SandexServer(workdir, extra_args=("--replay", "btcusdt", "--paused")) as running:
        yield running


def exchange(server: SandexServer) -> ccxt.digifinex:
    client = ccxt.digifinex({"enableRateLimit": False})
    client.urls["api"]["rest"] = server.base_url
    return client


def scaled(levels: list[list[float]]) -> list[tuple[int, int]]:
    return [(int(Decimal(str(p)) * PRICE), int(Decimal(str(a)) * SIZE)) for p, a, *_ in levels]


def test_status_starts_paused_at_the_first_record(server: SandexServer) -> None:
    status = admin(server, "")
    assert status["state"] == "paused"
    assert status["speed"] == 1.0
    assert status["time_ms"] == status["start_ms"]


@pytest.mark.parametrize("offset_ms", [30_000, 200_000, 60_000])  # forwards, then backwards
def test_ccxt_sees_the_recorded_book_and_trades_at_a_sought_time(
    server: SandexServer, naive: NaiveBook, offset_ms: int
) -> None:
    start = admin(server, "")["start_ms"]
    target = start + offset_ms
    status = admin(server, "/seek", {"time": target})
    assert status["time_ms"] == target and status["state"] == "paused"
    bids, asks = naive.book_at(target)
    book = exchange(server).fetch_order_book("BTC/USDT", 20)
    assert scaled(book["bids"]) == bids[:20]
    assert scaled(book["asks"]) == asks[:20]
    expected = [t for t in naive.trades if t[0] <= target][-20:]
    trades = exchange(server).fetch_trades("BTC/USDT", limit=20)
    got = [
        (
            t["timestamp"],
            int(Decimal(str(t["price"])) * PRICE),
            int(Decimal(str(t["amount"])) * SIZE),
            t["side"],
        )
        for t in trades
    ]
    # DigiFinex REST trades carry seconds: compare the time to the second.
    assert [(ms // 1000 * 1000, p, a, s) for ms, p, a, s, _ in expected] == got


def test_digifinex_ws_depth_and_trades_follow_the_recording(server: SandexServer, naive: NaiveBook) -> None:
    start = admin(server, "")["start_ms"]
    admin(server, "/seek", {"time": start + 100_000})
    ws = websocket.create_connection(server.ws_url("/ws/v1/"), timeout=10)
    try:
        ws.send(json.dumps({"id": 1, "method": "depth.subscribe", "params": ["BTC_USDT"]}))
        ws.send(json.dumps({"id": 2, "method": "trades.subscribe", "params": ["BTC_USDT"]}))
        target = start + 150_000
        admin(server, "/seek", {"time": target})  # a seek: a clean depth follows
        bids, asks = naive.book_at(target)
        deadline = time.monotonic() + 10
        seen = None
        while time.monotonic() < deadline:
            message = decode(ws.recv())
            if message.get("method") == "depth.update" and message["params"][0]:
                book = message["params"][1]
                seen = (scaled(book["bids"])[:20], sorted(scaled(book["asks"]))[:20])
                if seen == (bids[:20], asks[:20]):
                    break
        assert seen == (bids[:20], asks[:20])
        # Play 3 s of recording at 10x: every recorded trade after the target arrives, one for one.
        admin(server, "/speed", {"speed": 10})
        admin(server, "/resume", {})
        time.sleep(0.6)
        stopped = admin(server, "/pause", {})["time_ms"]
        admin(server, "/speed", {"speed": 1})
        expected = [t for t in naive.trades if target < t[0] <= stopped]
        got: list[tuple[int, int, int, str]] = []
        deadline = time.monotonic() + 10
        while len(got) < len(expected) and time.monotonic() < deadline:
            message = decode(ws.recv())
            if message.get("method") == "trades.update" and not message["params"][0]:
                for item in reversed(message["params"][1]):
                    got.append(
                        (
                            int(Decimal(str(item["time"])) * 1000),
                            int(Decimal(str(item["price"])) * PRICE),
                            int(Decimal(str(item["amount"])) * SIZE),
                            item["type"],
                        )
                    )
        assert expected, "the window holds trades"
        assert got == [(ms, p, a, s) for ms, p, a, s, _ in expected]
    finally:
        ws.close()


def test_clock_runs_at_ten_times_wall_time_and_pause_stops_it(server: SandexServer) -> None:
    start = admin(server, "")["start_ms"]
    admin(server, "/seek", {"time": start + 10_000})
    admin(server, "/speed", {"speed": 10})
    first = admin(server, "/resume", {})
    began = time.monotonic()
    time.sleep(2.0)
    later = admin(server, "")
    elapsed = time.monotonic() - began
    advanced = (later["time_ms"] - first["time_ms"]) / 1000
    assert later["state"] == "playing"
    assert advanced == pytest.approx(10 * elapsed, rel=0.05)
    paused = admin(server, "/pause", {})
    time.sleep(0.5)
    assert admin(server, "")["time_ms"] == paused["time_ms"]
    admin(server, "/speed", {"speed": 1})


def test_sigterm_restart_resumes_position_and_state(tmp_path: Path, naive: NaiveBook) -> None:
    with SandexServer(tmp_path, extra_args=("--replay", "btcusdt", "--paused")) as server:
        start = admin(server, "")["start_ms"]
        target = start + 120_000
        admin(server, "/seek", {"time": target})
        admin(server, "/speed", {"speed": 3})
        before = admin(server, "")
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(20)
        server.start()
        after = admin(server, "")
        assert (after["state"], after["time_ms"], after["speed"], after["position"]) == (
            "paused",
            target,
            3.0,
            before["position"],
        )
        bids, asks = naive.book_at(target)
        book = exchange(server).fetch_order_book("BTC/USDT", 20)
        assert scaled(book["bids"]) == bids[:20]
        assert scaled(book["asks"]) == asks[:20]


def test_infoway_trades_and_depth_follow_the_recording(server: SandexServer, naive: NaiveBook) -> None:
    from tests.infoway.iw_support import Client

    start = admin(server, "")["start_ms"]
    target = start + 240_000
    admin(server, "/seek", {"time": target})

    async def run() -> tuple[list[tuple[int, int, int, str]], int, dict[str, Any]]:
        client = await Client.connect(server.ws_url("/ws?business=crypto&apikey=alice-key"))
        try:
            await client.request({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT"}})
            await client.request({"code": 10003, "trace": "d", "data": {"codes": "BTCUSDT"}})
            depth = await client.recv_until(lambda m: m.get("code") == 10005)
            admin(server, "/speed", {"speed": 10})
            admin(server, "/resume", {})
            await asyncio.sleep(0.6)
            stopped = admin(server, "/pause", {})["time_ms"]
            admin(server, "/speed", {"speed": 1})
            expected = [t for t in naive.trades if target < t[0] <= stopped]
            got: list[tuple[int, int, int, str]] = []
            while len(got) < len(expected):
                push = await client.recv_until(lambda m: m.get("code") == 10002)
                data = push["data"]
                got.append(
                    (
                        data["t"],
                        int(Decimal(data["p"]) * PRICE),
                        int(Decimal(data["v"]) * SIZE),
                        {1: "buy", 2: "sell"}[data["td"]],
                    )
                )
            assert expected, "the window holds trades"
            assert got == [(ms, p, a, s) for ms, p, a, s, _ in expected]
            return got, stopped, depth
        finally:
            await client.close()

    _, _, depth = asyncio.run(run())
    # The depth snapshot a subscriber gets carries the replayed market's clock and book.
    data = depth["data"]
    assert data["t"] == target
    bids, asks = naive.book_at(target)
    assert int(Decimal(data["b"][0][0]) * PRICE) == bids[0][0]
    assert int(Decimal(data["a"][0][0]) * PRICE) == asks[0][0]


def test_sigkill_restart_keeps_a_sought_position(tmp_path: Path, naive: NaiveBook) -> None:
    with SandexServer(tmp_path, extra_args=("--replay", "btcusdt", "--paused")) as server:
        start = admin(server, "")["start_ms"]
        target = start + 90_000
        admin(server, "/seek", {"time": target})
        server.kill()
        server.start()
        after = admin(server, "")
        assert (after["state"], after["time_ms"]) == ("paused", target)
        bids, asks = naive.book_at(target)
        book = exchange(server).fetch_order_book("BTC/USDT", 20)
        assert (scaled(book["bids"]), scaled(book["asks"])) == (bids[:20], asks[:20])


def test_speed_zero_plays_to_the_end(tmp_path: Path, naive: NaiveBook) -> None:
    with SandexServer(tmp_path, extra_args=("--replay", "btcusdt", "--speed", "0")) as server:
        deadline = time.monotonic() + 120
        status = admin(server, "")
        while status["state"] != "finished" and time.monotonic() < deadline:
            time.sleep(0.5)
            status = admin(server, "")
        assert status["state"] == "finished"
        assert status["time_ms"] == status["end_ms"]
        bids, asks = naive.book_at(status["end_ms"])
        book = exchange(server).fetch_order_book("BTC/USDT", 20)
        assert (scaled(book["bids"]), scaled(book["asks"])) == (bids[:20], asks[:20])
        last = naive.trades[-1]
        trade = exchange(server).fetch_trades("BTC/USDT", limit=1)[0]
        assert (trade["timestamp"], trade["side"]) == (last[0] // 1000 * 1000, last[3])


def test_a_resting_bid_is_filled_by_the_tape_and_a_far_bid_is_not(tmp_path: Path, naive: NaiveBook) -> None:
    with SandexServer(tmp_path, extra_args=("--replay", "btcusdt", "--paused")) as server:
        start = admin(server, "")["start_ms"]
        target = start + 60_000
        admin(server, "/seek", {"time": target})
        best_bid = naive.book_at(target)[0][0][0]
        far = best_bid - 1000 * 100
        assert any(t[0] > target and t[1] < best_bid for t in naive.trades), "the tape prints below"
        assert not any(t[0] > target and t[1] <= far for t in naive.trades)
        alice = ccxt.digifinex({"apiKey": "alice-key", "secret": "alice-secret", "enableRateLimit": False})
        alice.urls["api"]["rest"] = server.base_url
        near_order = alice.create_order("BTC/USDT", "limit", "buy", 0.001, best_bid / 100)
        far_order = alice.create_order("BTC/USDT", "limit", "buy", 0.001, far / 100)
        admin(server, "/speed", {"speed": 0})
        admin(server, "/resume", {})
        deadline = time.monotonic() + 120
        while admin(server, "")["state"] != "finished" and time.monotonic() < deadline:
            time.sleep(0.5)
        near = alice.fetch_order(near_order["id"], "BTC/USDT")
        assert (near["status"], near["filled"], near["average"]) == ("closed", 0.001, best_bid / 100)
        assert alice.fetch_order(far_order["id"], "BTC/USDT")["status"] == "open"
        # The fill is the client's own trade; the tape still holds every recorded print.
        mine = alice.fetch_my_trades("BTC/USDT")
        assert [(t["price"], t["amount"], t["side"], t["takerOrMaker"]) for t in mine] == [
            (best_bid / 100, 0.001, "buy", "maker")
        ]


def test_the_replay_command_controls_the_running_server(server: SandexServer) -> None:
    import subprocess
    import sys

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandex.cli",
                "replay",
                *args,
                "--json",
                "--config",
                str(server.config_path),
                "--data-dir",
                str(server.data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    start = cli("status")["start_ms"]
    assert cli("pause")["state"] == "paused"
    assert cli("seek", str(start + 5_000))["time_ms"] == start + 5_000
    iso = "2024-08-09T00:00:00Z"  # 1723161600000: inside the sample
    assert cli("seek", iso)["time_ms"] == 1_723_161_600_000
    assert cli("speed", "2.5")["speed"] == 2.5
    status = cli("status")
    assert {"state", "time_ms", "speed"} <= set(status) and status["state"] == "paused"
    admin(server, "/speed", {"speed": 1})


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [("/seek", {"time": "yesterday"}, "time"), ("/speed", {"speed": -1}, "speed"), ("/speed", {}, "speed")],
)
def test_bad_control_values_are_refused_with_the_field_named(
    server: SandexServer, path: str, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        admin(server, path, body)
    assert refused.value.code == 400
    assert json.load(refused.value)["field"] == field


def test_the_simulator_leaves_the_replayed_market_alone(tmp_path: Path, naive: NaiveBook) -> None:
    from tests.support.server import BASE_CONFIG

    config = BASE_CONFIG.replace("[simulator]\nenabled = false", "[simulator]\nenabled = true")
    with SandexServer(tmp_path, config, extra_args=("--replay", "btcusdt", "--paused")) as server:
        client = exchange(server)
        deadline = time.monotonic() + 15
        while not client.fetch_order_book("ETH/USDT", 5)["bids"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.fetch_order_book("ETH/USDT", 5)["bids"], "the simulator trades the other market"
        status = admin(server, "/seek", {"time": admin(server, "")["start_ms"] + 60_000})
        time.sleep(1.5)  # the simulator quotes its markets many times a second
        bids, asks = naive.book_at(status["time_ms"])
        book = client.fetch_order_book("BTC/USDT", 20)
        assert (scaled(book["bids"]), scaled(book["asks"])) == (bids[:20], asks[:20])
