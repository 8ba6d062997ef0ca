"""Error 516: the distinct symbols per channel that all connections of one API key hold together.

End to end against a real `sandex serve` subprocess, with `max_symbols_per_key` made small; the
bookkeeping (nothing left behind by a key without connections) is checked in-process and on the
sans-I/O pieces.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandex.protocols.infoway import routes
from sandex.protocols.infoway.connection import InfowayConnection
from sandex.protocols.infoway.subscriptions import KeySymbolBudget
from sandex.protocols.infoway.symbols import SymbolMap
from tests.infoway.iw_support import Client, running_venue
from tests.support.server import BASE_CONFIG, SandexServer

LIMIT_3 = "\n[limits.infoway]\nmax_symbols_per_key = 3\n"
OVER_KEY = "Symbols over limit, at most 3 symbols per type per apikey"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandexServer]:
    """`sandex serve` with the strict profile and a key budget of 3 symbols per channel."""
    with SandexServer(tmp_path, BASE_CONFIG + LIMIT_3) as running:
        yield running


@pytest.fixture
async def alice(server: SandexServer) -> AsyncIterator[tuple[Client, Client]]:
    """Two connections of the same key."""
    first, second = await Client.connect(url(server)), await Client.connect(url(server))
    yield first, second
    for client in (first, second):
        await client.close()


def url(server: SandexServer, key: str = "alice-key") -> str:
    return server.ws_url(f"/ws?business=crypto&apikey={key}")


def depth(trace: str, codes: str) -> dict[str, Any]:
    return {"code": 10003, "trace": trace, "data": {"codes": codes}}


def unsubscribe_depth(trace: str, codes: str) -> dict[str, Any]:
    return {"code": 11001, "trace": trace, "data": {"codes": codes}}


async def reply_code(client: Client, frame: dict[str, Any]) -> int:
    return (await client.request(frame))["code"]


async def expect_codes(*steps: tuple[Client, dict[str, Any], int]) -> None:
    """Send each frame in turn on its client and check the code of the reply."""
    for client, frame, code in steps:
        assert await reply_code(client, frame) == code, frame


def depth_pushes(frames: list[dict[str, Any]]) -> set[str]:
    """The symbols of the depth pushes among `frames`."""
    return {f["data"]["s"] for f in frames if f.get("code") == 10005}


async def test_the_subscribe_that_takes_the_key_over_its_total_gets_516_and_nothing_of_it(
    alice: tuple[Client, Client],
) -> None:
    first, second = alice
    # X1 is already the key's: a symbol held by two connections counts once (3 in all).
    await expect_codes((first, depth("a", "BTCUSDT,X1"), 10004), (second, depth("b", "X1,X2"), 10004))
    # Within the second connection's own 600, but the key's fourth distinct depth symbol.
    refused = await second.request(depth("c", "X3,ETHUSDT"))
    assert refused == {"traceId": "c", "code": 516, "msg": OVER_KEY}
    # Nothing of it was applied: no ETHUSDT depth (a subscriber gets one at once, then every second).
    assert "ETHUSDT" not in depth_pushes(await second.collect(1.3))
    # The connection stays open, and other channels have their own budget.
    assert await second.request({"code": 10010, "trace": "hb", "ack": 1}) == {
        "code": 10011,
        "trace": "hb",
        "msg": "ok",
    }
    assert (
        await reply_code(second, {"code": 10000, "trace": "t", "data": {"codes": "ETHUSDT,X3,X4"}}) == 10001
    )


async def test_another_key_has_its_own_budget(server: SandexServer) -> None:
    alice = await Client.connect(url(server))
    await expect_codes((alice, depth("a", "X1,X2,X3"), 10004), (alice, depth("b", "ETHUSDT"), 516))
    bob = await Client.connect(url(server, "bob-key"))
    assert await reply_code(bob, depth("c", "ETHUSDT,X1,X2")) == 10004
    assert "ETHUSDT" in depth_pushes([await bob.recv()])
    for client in (alice, bob):
        await client.close()


async def test_an_unsubscribe_gives_the_budget_back_once_no_connection_holds_the_symbol(
    alice: tuple[Client, Client],
) -> None:
    first, second = alice
    await expect_codes(
        (first, depth("a", "X1,X2"), 10004),
        (second, depth("b", "X2,X3"), 10004),
        (second, depth("c", "ETHUSDT"), 516),
        # X2 is still the second connection's: the key still holds 3.
        (first, unsubscribe_depth("u1", "X2"), 11010),
        (second, depth("d", "ETHUSDT"), 516),
        # X1 was the first connection's alone: one place free.
        (first, unsubscribe_depth("u2", "X1"), 11010),
    )
    assert await second.request(depth("e", "ETHUSDT")) == {"code": 10004, "trace": "e", "msg": "ok"}
    assert "ETHUSDT" in depth_pushes(await second.collect(1.3))


async def test_a_closed_connection_gives_its_symbols_back(alice: tuple[Client, Client]) -> None:
    first, second = alice
    await expect_codes(
        (first, depth("a", "X1,X2"), 10004),
        (second, depth("b", "X3"), 10004),
        (second, depth("c", "ETHUSDT,X4"), 516),
    )
    await first.close()
    frame: dict[str, Any] = {}
    for _ in range(50):  # the server notices the close a moment later
        frame = await second.request(depth("d", "ETHUSDT,X4"))
        if frame["code"] != 516:
            break
        await asyncio.sleep(0.1)
    assert frame == {"code": 10004, "trace": "d", "msg": "ok"}


@pytest.mark.parametrize(
    ("section", "ninth"),
    [("", 516), ('profile = "relaxed"', 10001), ("max_symbols_per_key = 0", 10001)],
    ids=["strict-default-5000", "relaxed-off", "zero-off"],
)
async def test_the_default_is_5000_per_channel_and_relaxed_or_0_turn_it_off(
    tmp_path: Path, section: str, ninth: int
) -> None:
    # Nine connections of 600 distinct trade symbols each: 5,400 in all. The eighth brings the
    # key to 4,800; the ninth crosses 5,000 only while the budget is on.
    with SandexServer(tmp_path, BASE_CONFIG + "\n[limits.infoway]\n" + section + "\n") as server:
        clients = [await Client.connect(url(server)) for _ in range(9)]
        codes = [",".join(f"S{n}X{i:03d}" for i in range(600)) for n in range(9)]
        for n, client in enumerate(clients[:8]):
            assert (
                await reply_code(client, {"code": 10000, "trace": f"t{n}", "data": {"codes": codes[n]}})
                == 10001
            )
        last = await clients[8].request({"code": 10000, "trace": "t8", "data": {"codes": codes[8]}})
        assert last["code"] == ninth
        for client in clients:
            await client.close()


# -- bookkeeping: a key without connections leaves nothing behind ---------------------------------


async def test_a_key_whose_connections_are_gone_has_no_entry(tmp_path: Path) -> None:
    async with running_venue(tmp_path, LIMIT_3) as venue:
        budget = routes._ENDPOINTS[id(venue.ctx)].key_symbols
        assert budget is not None and budget.limit == 3
        first = await Client.connect(venue.url())
        second = await Client.connect(venue.url())
        kline = {"code": 10006, "trace": "k", "data": {"arr": [{"type": 1, "codes": "X1"}]}}
        await expect_codes((first, depth("a", "BTCUSDT,X1"), 10004), (second, kline, 10007))
        assert (budget.count("alice-key", "depth"), budget.count("alice-key", "kline")) == (2, 1)
        await first.close()
        await second.close()
        for _ in range(50):
            if not budget.keys():
                break
            await asyncio.sleep(0.05)
        assert budget.keys() == set()


def test_klines_count_distinct_symbols_and_every_way_out_gives_them_back() -> None:
    budget = KeySymbolBudget(2)
    symbols = SymbolMap(["BTC_USDT", "ETH_USDT"])
    one, two = (
        InfowayConnection(symbols, max_symbols_per_type=600, key_budget=budget, key="k") for _ in range(2)
    )
    kline = '{"code":10006,"trace":"%s","data":{"arr":[{"type":%d,"codes":"%s"}]}}'
    assert one.receive(kline % ("a", 1, "BTCUSDT"), 0).error is None
    assert one.receive(kline % ("b", 2, "BTCUSDT,ETHUSDT"), 0).error is None  # 2 symbols, 3 pairs
    assert two.receive(kline % ("c", 5, "ETHUSDT"), 0).error is None
    refused = two.receive(kline % ("d", 1, "ETHUSDT,DOGEUSDT"), 0)
    assert refused.error is not None and refused.error.code == 516 and not refused.subscribe
    assert two.subscriptions.kline_pairs() == [("ETHUSDT", 5)]  # all or nothing
    # Dropping one of BTCUSDT's two types keeps it counted; dropping the last frees it.
    one.receive('{"code":11002,"trace":"u","data":{"codes":"BTCUSDT","klineTypes":"1"}}', 0)
    assert budget.count("k", "kline") == 2
    one.receive('{"code":11002,"trace":"u","data":{"codes":"BTCUSDT"}}', 0)
    assert budget.count("k", "kline") == 1
    assert two.receive(kline % ("e", 1, "DOGEUSDT"), 0).error is None
    one.receive('{"code":11002,"trace":"u"}', 0)  # cancel all
    two.close()
    assert budget.keys() == set()
