"""The two unsubscribe seeds, end to end over a real socket: each request exactly as the seed
writes it, the exact response, and every rule of the seeds' notes shown by what keeps flowing."""

from __future__ import annotations

import json

import pytest

from tests.infoway.iw_support import Client, Venue

SEED_TRACE = "423afec425004bd8a5e02e1ba5f9b2b0"
SEED_ACK = '{"code":11010,"trace":"423afec425004bd8a5e02e1ba5f9b2b0","msg":"ok"}'

# Verbatim from seeds/infoway-unsubscribe-depth.txt and seeds/infoway-unsubscribe-kline.txt.
DEPTH_SEED_REQUEST = """{
"code": 11001,
"trace": "423afec425004bd8a5e02e1ba5f9b2b0",
"data": {
"codes": "BTCUSDT"
}
}"""
KLINE_SEED_REQUEST = """{
    "code": 11002,
    "trace": "423afec425004bd8a5e02e1ba5f9b2b0",
    "data": {
        "codes": "BTCUSDT",
        "klineTypes": "1,2,4"
    }
}"""


def pushes(frames: list[dict], code: int) -> list[dict]:
    return [f["data"] for f in frames if f.get("code") == code]


async def subscribe_depth_both(venue: Venue) -> Client:
    client = await Client.connect(venue.url())
    ack = await client.request({"code": 10003, "trace": "sub", "data": {"codes": "BTCUSDT,ETHUSDT"}})
    assert ack == {"code": 10004, "trace": "sub", "msg": "ok"}
    # Both flow before the unsubscribe (each new subscriber gets a snapshot at once).
    seen = {d["s"] for d in pushes(await client.collect(0.5), 10005)}
    assert seen == {"BTCUSDT", "ETHUSDT"}
    return client


async def test_depth_seed_request_cancels_only_the_named_symbol(venue: Venue) -> None:
    await venue.place("alice-key", "BTC_USDT", "buy", "64000", "0.5")
    await venue.place("alice-key", "ETH_USDT", "sell", "3600", "2")
    client = await subscribe_depth_both(venue)
    assert await client.request_raw(DEPTH_SEED_REQUEST) == SEED_ACK
    # Book changes on both symbols after the ack: only ETHUSDT may still be pushed.
    await venue.place("alice-key", "BTC_USDT", "buy", "64001", "0.5")
    await venue.place("alice-key", "ETH_USDT", "sell", "3601", "2")
    after = pushes(await client.collect(1.5), 10005)
    assert after and {d["s"] for d in after} == {"ETHUSDT"}
    assert any(d["a"][0][:2] == ["3600", "3601"] for d in after)  # the change was pushed
    await client.close()


@pytest.mark.parametrize(
    "request_text",
    [
        '{"code":11001,"trace":"423afec425004bd8a5e02e1ba5f9b2b0"}',
        '{"code":11001,"trace":"423afec425004bd8a5e02e1ba5f9b2b0","data":null}',
        '{"code":11001,"trace":"423afec425004bd8a5e02e1ba5f9b2b0","data":{}}',
        '{"code":11001,"trace":"423afec425004bd8a5e02e1ba5f9b2b0","data":{"codes":null}}',
        '{"code":11001,"trace":"423afec425004bd8a5e02e1ba5f9b2b0","data":{"codes":""}}',
    ],
    ids=["no-data", "data-null", "data-empty", "codes-null", "codes-empty"],
)
async def test_depth_unsubscribe_without_codes_is_a_full_cancellation(
    venue: Venue, request_text: str
) -> None:
    client = await subscribe_depth_both(venue)
    assert await client.request_raw(request_text) == SEED_ACK
    await venue.place("alice-key", "BTC_USDT", "buy", "64000", "0.5")
    await venue.place("alice-key", "ETH_USDT", "buy", "3000", "1")
    # Depth is pushed at least once a second while subscribed: 1.5 s of silence shows none is left.
    assert pushes(await client.collect(1.5), 10005) == []
    # The connection is still open and usable.
    assert await client.request({"code": 10010, "trace": "hb", "ack": 1}) == {
        "code": 10011,
        "trace": "hb",
        "msg": "ok",
    }
    await client.close()


async def kline_pushes_after_trades(venue: Venue, client: Client) -> set[tuple[str, int]]:
    await venue.trade("BTC_USDT", "65000", "0.01")
    await venue.trade("ETH_USDT", "3500", "0.1")
    frames = await client.collect(2.2)  # klines are pushed about once a second
    return {(d["s"], d["ty"]) for d in pushes(frames, 10008)}


async def test_kline_seed_example_removes_only_a_1m(venue: Venue) -> None:
    """A and B at 1m and 5m; codes="A", klineTypes="1" leaves A-5m, B-1m and B-5m flowing."""
    client = await Client.connect(venue.url())
    ack = await client.request(
        {
            "code": 10006,
            "trace": "sub",
            "data": {
                "arr": [{"type": 1, "codes": "BTCUSDT,ETHUSDT"}, {"type": 2, "codes": "BTCUSDT,ETHUSDT"}]
            },
        }
    )
    assert ack == {"code": 10007, "trace": "sub", "msg": "ok"}
    before = await kline_pushes_after_trades(venue, client)
    assert before == {("BTCUSDT", 1), ("BTCUSDT", 2), ("ETHUSDT", 1), ("ETHUSDT", 2)}
    raw = await client.request_raw(
        json.dumps({"code": 11002, "trace": SEED_TRACE, "data": {"codes": "BTCUSDT", "klineTypes": "1"}})
    )
    assert raw == SEED_ACK
    after = await kline_pushes_after_trades(venue, client)
    assert after == {("BTCUSDT", 2), ("ETHUSDT", 1), ("ETHUSDT", 2)}
    await client.close()


async def test_kline_seed_request_removes_the_listed_types_of_the_listed_codes(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.request(
        {
            "code": 10006,
            "trace": "sub",
            "data": {
                "arr": [
                    {"type": 1, "codes": "BTCUSDT,ETHUSDT"},
                    {"type": 2, "codes": "BTCUSDT"},
                    {"type": 4, "codes": "BTCUSDT"},
                    {"type": 5, "codes": "BTCUSDT"},
                ]
            },
        }
    )
    assert await client.request_raw(KLINE_SEED_REQUEST) == SEED_ACK
    assert await kline_pushes_after_trades(venue, client) == {("BTCUSDT", 5), ("ETHUSDT", 1)}
    await client.close()


async def test_kline_unsubscribe_without_types_removes_every_type_of_the_codes(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.request(
        {
            "code": 10006,
            "trace": "sub",
            "data": {
                "arr": [{"type": 1, "codes": "BTCUSDT,ETHUSDT"}, {"type": 12, "codes": "BTCUSDT,ETHUSDT"}]
            },
        }
    )
    for frame in (
        '{"code":11002,"trace":"t","data":{"codes":"BTCUSDT"}}',
        '{"code":11002,"trace":"t","data":{"codes":"BTCUSDT","klineTypes":null}}',
        '{"code":11002,"trace":"t","data":{"codes":"BTCUSDT","klineTypes":""}}',
    ):
        assert await client.request_raw(frame) == '{"code":11010,"trace":"t","msg":"ok"}'
    assert await kline_pushes_after_trades(venue, client) == {("ETHUSDT", 1), ("ETHUSDT", 12)}
    await client.close()


@pytest.mark.parametrize(
    "request_text",
    [
        '{"code":11002,"trace":"t"}',
        '{"code":11002,"trace":"t","data":null}',
        '{"code":11002,"trace":"t","data":{"codes":""}}',
        # No codes: a full cancellation, whatever klineTypes says (the seed's first rule).
        '{"code":11002,"trace":"t","data":{"klineTypes":"1"}}',
    ],
    ids=["no-data", "data-null", "codes-empty", "types-without-codes"],
)
async def test_kline_unsubscribe_without_codes_is_a_full_cancellation(
    venue: Venue, request_text: str
) -> None:
    client = await Client.connect(venue.url())
    await client.request(
        {
            "code": 10006,
            "trace": "sub",
            "data": {
                "arr": [{"type": 1, "codes": "BTCUSDT,ETHUSDT"}, {"type": 2, "codes": "BTCUSDT,ETHUSDT"}]
            },
        }
    )
    assert await client.request_raw(request_text) == '{"code":11010,"trace":"t","msg":"ok"}'
    assert await kline_pushes_after_trades(venue, client) == set()
    await client.close()


async def test_trade_unsubscribe_by_codes_and_in_full(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.request({"code": 10000, "trace": "a", "data": {"codes": "BTCUSDT"}})
    await client.request({"code": 10000, "trace": "b", "data": {"codes": "ETHUSDT"}})  # additive
    await venue.trade("BTC_USDT", "65000", "0.01")
    await venue.trade("ETH_USDT", "3500", "0.1")
    assert [d["s"] for d in pushes(await client.collect(0.5), 10002)] == ["BTCUSDT", "ETHUSDT"]
    assert (
        await client.request_raw('{"code":11000,"trace":"u","data":{"codes":"ETHUSDT"}}')
        == '{"code":11010,"trace":"u","msg":"ok"}'
    )
    await venue.trade("BTC_USDT", "65000", "0.01")
    await venue.trade("ETH_USDT", "3500", "0.1")
    assert [d["s"] for d in pushes(await client.collect(0.5), 10002)] == ["BTCUSDT"]
    assert (
        await client.request_raw('{"code":11000,"trace":"u2","data":{}}')
        == '{"code":11010,"trace":"u2","msg":"ok"}'
    )
    await venue.trade("BTC_USDT", "65000", "0.01")
    assert pushes(await client.collect(0.5), 10002) == []
    await client.close()
