"""A gateway's copy of the venue against a real engine and a real NATS server, in one event loop:
rows lost on the way are refilled from the engine's journal, rows delivered twice are skipped,
and the copy ends byte-for-byte equal to the engine's state."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from sandex.bus.follower import FollowerVenue
from sandex.bus.gateway import EngineUnavailable, GatewayLink
from sandex.core.commands import CancelOrder
from sandex.protocols import registrations
from tests.bus.cluster import NatsServer
from tests.digifinex.dfx_support import ALICE, BOB, arest, in_process, with_sections


async def _trade(session: aiohttp.ClientSession, base: str, n: int) -> None:
    for i in range(n):
        for creds, side, price in ((BOB, "sell", 65000 + i), (ALICE, "buy", 65000 + i)):
            params = {"symbol": "BTC_USDT", "type": side, "price": str(price), "amount": "0.01"}
            assert (await arest(session, base, "POST", "/v3/spot/order/new", params, creds))["code"] == 0


async def _caught_up(follower: FollowerVenue, seq: int) -> None:
    import asyncio

    for _ in range(200):
        if follower.applied_seq >= seq:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the copy is at {follower.applied_seq}, the engine at {seq}")


async def test_lost_rows_are_refilled_and_duplicates_skipped(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as nats:
        config = with_sections(f'[bus]\nurl = "{nats.url}"')
        async with in_process(tmp_path, config) as engine, aiohttp.ClientSession() as session:
            venue = engine.ctx.venue
            link = GatewayLink(nats.url)
            try:
                gw_config, _seq, snapshot = await link.join()
                await _trade(session, engine.base_url, 5)
                await _caught_up_buffer(link, venue.applied_seq)
                # Lose the first message the stream delivered after the snapshot.
                lost = link._buffer.pop(0)
                plugins = [
                    plugin
                    for dialect in registrations()
                    if dialect.engine_plugins is not None
                    for plugin in dialect.engine_plugins(gw_config)
                ]
                follower = FollowerVenue(gw_config, link, snapshot, plugins=plugins)
                await follower.open()
                try:
                    await _caught_up(follower, venue.applied_seq)
                    assert follower.engine.to_state() == venue.engine.to_state()
                    # The lost rows arrive late (a redelivery): skipped, nothing changes.
                    before = follower.engine.to_state()
                    follower.receive(lost)
                    assert follower.engine.to_state() == before
                    # Live rows keep coming and apply on top.
                    await _trade(session, engine.base_url, 3)
                    await _caught_up(follower, venue.applied_seq)
                    assert follower.engine.to_state() == venue.engine.to_state()
                    assert follower.accountdata.to_state() == venue.accountdata.to_state()
                finally:
                    await follower.close()
            finally:
                await link.close()


async def _caught_up_buffer(link: GatewayLink, seq: int) -> None:
    """Until the link has buffered rows up to `seq` (nothing attached yet)."""
    import asyncio

    for _ in range(200):
        if link._buffer and link._buffer[-1][-1][0] >= seq:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the stream did not deliver up to {seq}")


async def test_a_row_that_fails_to_apply_halts_the_copys_order_entry(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as nats:
        config = with_sections(f'[bus]\nurl = "{nats.url}"')
        async with in_process(tmp_path, config) as engine, aiohttp.ClientSession() as session:
            link = GatewayLink(nats.url)
            try:
                gw_config, _seq, snapshot = await link.join()
                follower = FollowerVenue(gw_config, link, snapshot)
                await follower.open()
                try:
                    assert follower.order_entry_error is None
                    seq = follower.applied_seq
                    follower.receive([(seq + 1, 0, b"not a command")])
                    assert follower.applied_seq == seq
                    assert follower.order_entry_error is not None and "restart" in follower.order_entry_error
                    await _trade(session, engine.base_url, 1)  # later rows are not applied on top
                    import asyncio

                    await asyncio.sleep(0.5)
                    assert follower.applied_seq == seq
                    refused = follower.submit(CancelOrder(1, 1))
                    with pytest.raises(EngineUnavailable):
                        await refused
                finally:
                    await follower.close()
            finally:
                await link.close()
