"""The stream `SANDEX` is a bounded cache of the journal (issue 13): `[bus] stream_max_*` trim
it, and a gateway still catches up on everything (it refills what the stream dropped from the
engine's journal). Real NATS, `sandex serve --bus`, `sandex gateway`."""

from __future__ import annotations

import time
from pathlib import Path

import nats
import pytest

from sandex.bus import wire
from tests.bus.cluster import Gateway, health, metric, wait_for_seq
from tests.bus.test_cluster import book, cluster, order_entry_resumes, place
from tests.digifinex.dfx_support import ALICE, BOB, with_sections

pytestmark = pytest.mark.timeout(180)


async def _stream_state(url: str) -> tuple[int, int, int]:
    """(messages kept, JetStream's last sequence, max_msgs) of the stream."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(wire.STREAM)
        return info.state.messages, info.state.last_seq, info.config.max_msgs or 0
    finally:
        await nc.close()


async def test_the_stream_keeps_at_most_max_msgs_and_a_late_gateway_still_catches_up(tmp_path: Path) -> None:
    config = with_sections("[bus]\nstream_max_msgs = 5\n")
    with cluster(tmp_path, config, gateways=1) as (bus, eng, (gw,)):
        for i in range(12):  # one batch each: placed one after another
            assert place(gw.base_url, BOB, "sell", str(65000 + i), "0.01")["code"] == 0
        assert place(eng.base_url, ALICE, "buy", "65003", "0.025")["code"] == 0
        seq = health(eng.base_url)["journal_seq"]
        wait_for_seq(gw.base_url, seq)
        messages, last, max_msgs = await _stream_state(bus.url)
        assert max_msgs == 5 and messages <= 5 < last, (messages, last)
        deadline = time.monotonic() + 10  # the engine reads the stream's size every 2 s
        while metric(eng.base_url, "sandex_bus_stream_messages") != messages:
            assert time.monotonic() < deadline, metric(eng.base_url, "sandex_bus_stream_messages")
            time.sleep(0.2)
        assert metric(eng.base_url, "sandex_bus_stream_bytes") > 0
        assert book(gw.base_url) == book(eng.base_url)
        with Gateway(tmp_path / "late", bus) as late:
            assert book(late.base_url) == book(eng.base_url)
            assert place(late.base_url, ALICE, "buy", "64000", "0.01")["code"] == 0
            wait_for_seq(gw.base_url, health(eng.base_url)["journal_seq"])
            assert book(gw.base_url) == book(eng.base_url) == book(late.base_url)
        # A new limit applies to the stream as it is, when the engine starts again.
        eng.stop()
        eng.config_path.write_text(config.replace("stream_max_msgs = 5", "stream_max_msgs = 2"))
        eng.start()
        deadline = time.monotonic() + 10  # the engine opens the stream once connected to NATS
        while (await _stream_state(bus.url))[2] != 2:
            assert time.monotonic() < deadline, await _stream_state(bus.url)
            time.sleep(0.1)
        assert (await _stream_state(bus.url))[0] <= 2
        deadline = time.monotonic() + 20
        while "order_entry" in health(gw.base_url):
            assert time.monotonic() < deadline, health(gw.base_url)
            time.sleep(0.1)
        assert place(gw.base_url, ALICE, "buy", "63000", "0.01")["code"] == 0
        wait_for_seq(gw.base_url, health(eng.base_url)["journal_seq"], timeout=20)
        assert book(gw.base_url) == book(eng.base_url)


async def test_a_stream_emptied_by_max_age_is_continued_after_an_engine_restart(tmp_path: Path) -> None:
    """Every message aged out: the stream has a last sequence and no last message. The engine
    restarting on it continues from its journal (it once looked for the last message forever)."""
    config = with_sections("[bus]\nstream_max_age_s = 1\n")
    with cluster(tmp_path, config, gateways=1) as (bus, eng, (gw,)):
        assert place(gw.base_url, BOB, "sell", "65000", "0.01")["code"] == 0
        deadline = time.monotonic() + 10
        while (await _stream_state(bus.url))[0]:
            assert time.monotonic() < deadline, await _stream_state(bus.url)
            time.sleep(0.2)
        eng.stop()
        eng.start()
        order_entry_resumes(gw.base_url, eng.base_url, 20)
