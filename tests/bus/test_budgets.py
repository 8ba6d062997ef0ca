"""A key's rate-limit budget is the key's, not each gateway's (issue 13): the engine and two
gateways, real NATS, real HTTP clients, one key's calls spread over every process.

The calls are paced a few milliseconds apart: each process counts the others' accepted calls as
they arrive over NATS (`sandex.bus.budgets`), well under a millisecond on loopback; two calls of
one key on different processes closer together than that may both pass (the documented bound)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bus.cluster import metric
from tests.bus.test_cluster import cluster
from tests.dbot.dbot_harness import rest as dbot_rest
from tests.digifinex.dfx_support import ALICE, BOB, arest, with_sections

pytestmark = pytest.mark.timeout(180)

#: Between two calls: far above either budget, yet longer than the bus takes to tell the others.
PACE_S = 0.005
PER_SECOND = 5
PER_MINUTE = 6
LIMITED = with_sections(
    f"[limits.digifinex]\nrest_private_per_second = {PER_SECOND}\n"
    f"[limits.infoway]\nrest_calls_per_minute = {PER_MINUTE}\n"
    f"[limits.dbot]\nrest_calls_per_minute = {PER_MINUTE}\n"
)


async def _digifinex_burst(session: aiohttp.ClientSession, bases: list[str]) -> dict[str, list[int]]:
    """Alice's and Bob's signed calls, interleaved, round-robin over `bases`, inside one second
    (a burst slowed past it by a loaded machine is run again, a second later)."""
    for _ in range(3):
        time.sleep(1.1)  # the windows are empty
        codes: dict[str, list[int]] = {"alice": [], "bob": []}
        started = time.monotonic()
        for i in range(4 * PER_SECOND):
            base = bases[i % len(bases)]
            for name, creds in (("alice", ALICE), ("bob", BOB)):
                body = await arest(
                    session, base, "GET", "/v3/spot/order/current", {"symbol": "BTC_USDT"}, creds
                )
                codes[name].append(int(body["code"]))
                await asyncio.sleep(PACE_S)
        if time.monotonic() - started < 0.9:
            return codes
    pytest.fail("no burst of signed calls fit in a second")


async def _infoway(session: aiohttp.ClientSession, base: str, key: str) -> tuple[int, Any]:
    async with session.get(base + "/crypto/batch_depth/BTCUSDT", headers={"apikey": key}) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_one_keys_budget_is_shared_by_the_engine_and_every_gateway(tmp_path: Path) -> None:
    with cluster(tmp_path, LIMITED) as (_, eng, (gw1, gw2)):
        bases = [gw1.base_url, gw2.base_url, eng.base_url]
        async with aiohttp.ClientSession() as session:
            # DigiFinex REST: 5 signed calls per second per key, wherever they land.
            codes = await _digifinex_burst(session, bases)
            for name in ("alice", "bob"):  # Bob's calls, interleaved, use his own budget
                assert codes[name].count(0) == PER_SECOND, f"{name}: {codes[name]}"
                assert set(codes[name]) == {0, 10005}, f"{name}: {codes[name]}"
                assert codes[name][:PER_SECOND] == [0] * PER_SECOND, f"{name}: {codes[name]}"
            # Infoway REST: 6 calls a minute per key; the 7th, on any process, is 429 / ret 501.
            answers: dict[str, list[tuple[int, int]]] = {"alice-key": [], "bob-key": []}
            for i in range(3 * PER_MINUTE):
                for key in answers:
                    status, body = await _infoway(session, bases[i % len(bases)], key)
                    answers[key].append((status, body["ret"]))
                    await asyncio.sleep(PACE_S)
            for key, got in answers.items():
                assert got[:PER_MINUTE] == [(200, 200)] * PER_MINUTE, f"{key}: {got}"
                assert set(got[PER_MINUTE:]) == {(429, 501)}, f"{key}: {got}"
            # DBot REST: 6 calls a minute per account; then HTTP 429.
            statuses: dict[str, list[int]] = {"alice-key": [], "bob-key": []}
            for i in range(3 * PER_MINUTE):
                for key in statuses:
                    status, _ = await dbot_rest(
                        bases[i % len(bases)], "GET", "/automation/follow_orders", key
                    )
                    statuses[key].append(status)
                    await asyncio.sleep(PACE_S)
            for key, got in statuses.items():
                assert got == [200] * PER_MINUTE + [429] * (2 * PER_MINUTE), f"{key}: {got}"
        for base in bases:  # each process told the others, and counted theirs
            assert metric(base, "sandex_bus_rate_uses_sent_total") > 0
            assert metric(base, "sandex_bus_rate_uses_received_total") > 0
