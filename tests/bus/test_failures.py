"""Scale-out when things die (issue 13): kill -9 of gateways, of the engine mid-burst, a NATS
restart, and an engine that loses the stream to another publisher while running."""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from pathlib import Path

import aiohttp
import nats
import pytest

from sandex.bus import wire
from tests.bus.cluster import Gateway, health, wait_for_seq
from tests.bus.test_cluster import book, cluster, order_entry_resumes, place
from tests.digifinex.dfx_support import ALICE, BOB, arest, rest, ws_client

pytestmark = pytest.mark.timeout(300)


async def _clean_depth(url: str) -> dict[str, list[list[str]]]:
    async with ws_client(url) as ws:
        await ws.call("depth.subscribe", ["BTC_USDT"])
        push = await ws.recv()
        assert push["method"] == "depth.update" and push["params"][0] is True
        return push["params"][1]  # type: ignore[no-any-return]


async def test_kill_9_cycles_of_random_gateways_lose_nothing_for_a_reconnecting_client(
    tmp_path: Path,
) -> None:
    rng = random.Random(13)
    with cluster(tmp_path) as (_, eng, gateways):
        price = 65000
        for cycle in range(20):
            victim = rng.choice(gateways)
            other = gateways[1 - gateways.index(victim)]
            # Traffic through the other gateway while the victim dies and comes back.
            for _ in range(3):
                price += 1
                assert place(other.base_url, BOB, "sell", str(price), "0.01")["code"] == 0
            victim.kill()
            for _ in range(3):
                assert place(other.base_url, ALICE, "buy", str(price), "0.004")["code"] == 0
                assert place(eng.base_url, ALICE, "buy", str(64000 - cycle), "0.01")["code"] == 0
            victim.start()
            seq = health(eng.base_url)["journal_seq"]
            for gw in gateways:
                wait_for_seq(gw.base_url, seq)
                assert health(gw.base_url)["journal_seq"] == seq  # no duplicate applied past it
            truth = await _clean_depth(eng.ws_url("/ws/v1/"))
            for gw in gateways:
                assert await _clean_depth(gw.ws_url("/ws/v1/")) == truth, f"cycle {cycle}"
                assert book(gw.base_url) == book(eng.base_url)


async def test_kill_9_of_the_engine_mid_burst_loses_no_acknowledged_order(tmp_path: Path) -> None:
    with cluster(tmp_path, gateways=1) as (_, eng, (gw,)):
        acked: list[str] = []
        refused = 0
        killed = asyncio.Event()

        async def worker(session: aiohttp.ClientSession, w: int) -> None:
            """Orders one after another until some are refused after the kill."""
            nonlocal refused
            mine = 0
            for i in range(10_000):
                params = {
                    "symbol": "BTC_USDT",
                    "type": "buy",
                    "price": str(50000 + i % 500),
                    "amount": "0.001",
                }
                try:
                    reply = await arest(session, gw.base_url, "POST", "/v3/spot/order/new", params, ALICE)
                except (aiohttp.ClientError, AssertionError):
                    reply = {"code": -1}
                if reply["code"] == 0:
                    acked.append(reply["order_id"])
                else:
                    refused += 1
                    mine += 1
                if killed.is_set() and mine >= 3:
                    return

        async with aiohttp.ClientSession() as session:
            burst = [asyncio.ensure_future(worker(session, w)) for w in range(16)]
            await asyncio.sleep(1.0)
            eng.kill()
            killed.set()
            await asyncio.wait_for(asyncio.gather(*burst), 30)
        assert len(acked) >= 20, f"only {len(acked)} orders acknowledged before the kill"
        assert refused, "the kill came after the burst"
        eng.start()
        wait_for_seq(gw.base_url, health(eng.base_url)["journal_seq"], timeout=20)
        for order_id in acked:
            for base in (eng.base_url, gw.base_url):
                body = rest(base, "GET", "/v3/spot/order", {"order_id": order_id}, ALICE)
                assert body["code"] == 0 and body["data"], (base, order_id, body)


async def test_a_nats_restart_is_survived(tmp_path: Path) -> None:
    with cluster(tmp_path) as (bus, eng, (gw1, gw2)):
        assert place(gw1.base_url, BOB, "sell", "65000", "0.01")["code"] == 0
        bus.kill()
        time.sleep(0.5)
        # Without the bus: the engine still takes orders itself, gateways refuse at once.
        assert place(eng.base_url, BOB, "sell", "65001", "0.01")["code"] == 0
        started = time.monotonic()
        assert place(gw1.base_url, BOB, "sell", "65002", "0.01")["code"] == 50000
        assert time.monotonic() - started < 1.0
        bus.start()
        deadline = time.monotonic() + 20
        while any("order_entry" in health(gw.base_url) for gw in (gw1, gw2)):
            assert time.monotonic() < deadline, [health(gw.base_url) for gw in (gw1, gw2)]
            time.sleep(0.2)
        assert place(gw2.base_url, BOB, "sell", "65003", "0.01")["code"] == 0
        seq = health(eng.base_url)["journal_seq"]
        for gw in (gw1, gw2):
            wait_for_seq(gw.base_url, seq, timeout=20)
            assert book(gw.base_url) == book(eng.base_url)
        # A gateway started after the restart joins from the kept stream and the engine.
        with Gateway(tmp_path / "gw3", bus) as gw3:
            assert book(gw3.base_url) == book(eng.base_url)


async def test_a_nats_that_lost_its_store_gets_the_stream_again(tmp_path: Path) -> None:
    with cluster(tmp_path) as (bus, eng, (gw1, gw2)):
        assert place(gw1.base_url, BOB, "sell", "65000", "0.01")["code"] == 0
        bus.kill()
        shutil.rmtree(bus.workdir / "store")
        bus.start()
        # The engine's next batch finds no stream: it creates it again and goes on from there.
        assert place(eng.base_url, BOB, "sell", "65001", "0.01")["code"] == 0
        deadline = time.monotonic() + 20
        while any("order_entry" in health(gw.base_url) for gw in (gw1, gw2)):
            assert time.monotonic() < deadline, [health(gw.base_url) for gw in (gw1, gw2)]
            time.sleep(0.2)
        assert place(gw2.base_url, ALICE, "buy", "64000", "0.01")["code"] == 0
        seq = health(eng.base_url)["journal_seq"]
        for gw in (gw1, gw2):
            wait_for_seq(gw.base_url, seq, timeout=20)
            assert book(gw.base_url) == book(eng.base_url)
        with Gateway(tmp_path / "gw3", bus) as gw3:
            assert book(gw3.base_url) == book(eng.base_url)
        assert "order_entry" not in health(eng.base_url)


async def test_an_engine_that_loses_the_stream_to_another_publisher_is_fenced(tmp_path: Path) -> None:
    with cluster(tmp_path, gateways=1) as (bus, eng, (gw,)):
        assert place(gw.base_url, BOB, "sell", "65000", "0.01")["code"] == 0
        wait_for_seq(gw.base_url, health(eng.base_url)["journal_seq"])
        # Another engine wins the stream: it publishes first (with the right expected-last-sequence).
        nc = await nats.connect(bus.url)
        try:
            js = nc.jetstream()
            last = (await js.stream_info(wire.STREAM)).state.last_seq
            await js.publish(
                wire.BATCHES,
                b"\x91\x90",  # Batch([]): no rows
                headers={
                    "Nats-Expected-Last-Sequence": str(last),
                    "Sandex-Venue": "another-venue",
                    "Sandex-First": "1000000",
                    "Sandex-Last": "1000000",
                },
            )
        finally:
            await nc.close()
        # This engine's next batch is refused by JetStream: it stops publishing and halts.
        place(eng.base_url, BOB, "sell", "65001", "0.01")
        deadline = time.monotonic() + 10
        while "fenced" not in health(eng.base_url).get("order_entry", ""):
            assert time.monotonic() < deadline, health(eng.base_url)
            time.sleep(0.1)
        assert "another engine published" in eng.log()
        refused = place(eng.base_url, BOB, "sell", "65002", "0.01")
        assert refused["code"] != 0 and "fenced" in refused["msg"]


async def test_a_gateway_starts_while_the_engine_is_down(tmp_path: Path) -> None:
    """From the state the engine stored in NATS and the stream after it; orders wait for the engine."""
    with cluster(tmp_path, gateways=0) as (bus, eng, _):
        time.sleep(1.0)  # the engine stores its state once connected
        for i in range(5):
            assert place(eng.base_url, BOB, "sell", str(65000 + i), "0.01")["code"] == 0
            assert place(eng.base_url, ALICE, "buy", str(64000 - i), "0.01")["code"] == 0
        assert place(eng.base_url, ALICE, "buy", "65002", "0.015")["code"] == 0  # trades
        seq, truth = health(eng.base_url)["journal_seq"], book(eng.base_url)
        time.sleep(0.5)  # published
        eng.kill()
        with Gateway(tmp_path / "late", bus) as gw:
            assert health(gw.base_url)["journal_seq"] == seq
            assert book(gw.base_url) == truth
            started = time.monotonic()
            assert place(gw.base_url, ALICE, "buy", "64000", "0.01")["code"] == 50000
            assert time.monotonic() - started < 1.0
            eng.start()
            order_entry_resumes(gw.base_url, eng.base_url, 15)
