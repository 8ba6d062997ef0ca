"""The bus on `/metrics` (issue 13): what the engine published and served, what a gateway
received, forwarded and how far behind it is, over a real NATS server and real processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.bus.cluster import health, metric, wait_for_seq
from tests.bus.test_cluster import cluster, place
from tests.digifinex.dfx_support import ALICE, BOB

pytestmark = pytest.mark.timeout(180)

ENGINE = (
    "sandex_bus_batches_published_total",
    "sandex_bus_rows_published_total",
    "sandex_bus_commands_received_total",
    "sandex_bus_published_seq",
)
GATEWAY = (
    "sandex_bus_batches_received_total",
    "sandex_bus_rows_received_total",
    "sandex_bus_commands_forwarded_total",
    "sandex_bus_command_seconds_count",
    "sandex_bus_applied_seq",
    "sandex_bus_engine_seq",
)


def test_the_bus_metrics_appear_on_the_engine_and_the_gateway_and_move(tmp_path: Path) -> None:
    with cluster(tmp_path, gateways=1) as (_, eng, (gw,)):
        assert metric(eng.base_url, "sandex_bus_snapshots_served_total") >= 1  # the gateway joined
        assert metric(eng.base_url, "sandex_bus_fenced") == 0
        before = {name: metric(eng.base_url, name) for name in ENGINE}
        before |= {name: metric(gw.base_url, name) for name in GATEWAY}
        for i in range(3):
            assert place(gw.base_url, BOB, "sell", str(65000 + i), "0.01")["code"] == 0
        assert place(eng.base_url, ALICE, "buy", "64000", "0.01")["code"] == 0
        seq = health(eng.base_url)["journal_seq"]
        wait_for_seq(gw.base_url, seq)
        deadline = time.monotonic() + 5  # the engine's heartbeat brings its seq every 0.5 s
        while metric(gw.base_url, "sandex_bus_engine_seq") < seq:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        after = {name: metric(eng.base_url, name) for name in ENGINE}
        after |= {name: metric(gw.base_url, name) for name in GATEWAY}
        assert after["sandex_bus_rows_published_total"] - before["sandex_bus_rows_published_total"] >= 4
        assert after["sandex_bus_batches_published_total"] > before["sandex_bus_batches_published_total"]
        assert after["sandex_bus_commands_received_total"] - before["sandex_bus_commands_received_total"] == 3
        assert after["sandex_bus_published_seq"] == seq
        assert after["sandex_bus_rows_received_total"] - before["sandex_bus_rows_received_total"] >= 4
        assert after["sandex_bus_batches_received_total"] > before["sandex_bus_batches_received_total"]
        assert (
            after["sandex_bus_commands_forwarded_total"] - before["sandex_bus_commands_forwarded_total"] == 3
        )
        assert after["sandex_bus_command_seconds_count"] - before["sandex_bus_command_seconds_count"] == 3
        assert after["sandex_bus_applied_seq"] == after["sandex_bus_engine_seq"] == seq
        assert metric(gw.base_url, "sandex_bus_lag_rows") == 0
        assert metric(gw.base_url, "sandex_bus_stale") == 0
        assert metric(gw.base_url, "sandex_bus_engine_silent_seconds") < 2
        # The engine gone: the gateway's refusals are counted.
        refused = metric(gw.base_url, "sandex_bus_engine_unavailable_total")
        eng.kill()
        assert place(gw.base_url, BOB, "sell", "65010", "0.01")["code"] == 50000
        assert metric(gw.base_url, "sandex_bus_engine_unavailable_total") == refused + 1
