"""The sans-I/O core without sockets: decoding, subscriptions, replies and push encoding."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from sandex.core.events import TradeEvent
from sandex.core.markets import make_market
from sandex.marketdata.klines import Bar
from sandex.protocols.infoway import wire
from sandex.protocols.infoway.connection import InfowayConnection, depth_topic, kline_topic, trade_topic
from sandex.protocols.infoway.subscriptions import Subscriptions
from sandex.protocols.infoway.symbols import SymbolMap
from sandex.protocols.infoway.wire import (
    Heartbeat,
    Subscribe,
    SubscribeKlines,
    Unsubscribe,
    decode_request,
)

SEED_TRACE = "423afec425004bd8a5e02e1ba5f9b2b0"
BTC = make_market("BTC_USDT", 2, 6)


def connection(limit: int = 0) -> InfowayConnection:
    return InfowayConnection(
        SymbolMap(["BTC_USDT", "ETH_USDT", "ETH_BTC"]), max_symbols_per_type=limit, now=100.0
    )


def reply(conn: InfowayConnection, frame: object, now: float = 100.0) -> dict:
    outcome = conn.receive(frame if isinstance(frame, str) else json.dumps(frame), now)
    assert outcome.reply is not None
    return json.loads(outcome.reply)


# -- decoding ----------------------------------------------------------------------------------


def test_seed_requests_decode_to_typed_unsubscribes() -> None:
    depth = decode_request(json.dumps({"code": 11001, "trace": SEED_TRACE, "data": {"codes": "BTCUSDT"}}))
    assert depth == Unsubscribe(SEED_TRACE, "depth", ("BTCUSDT",), None)
    kline = decode_request(
        json.dumps({"code": 11002, "trace": SEED_TRACE, "data": {"codes": "BTCUSDT", "klineTypes": "1,2,4"}})
    )
    assert kline == Unsubscribe(SEED_TRACE, "kline", ("BTCUSDT",), frozenset({1, 2, 4}))


@pytest.mark.parametrize("data", [None, {}, {"codes": None}, {"codes": ""}, {"codes": " , "}])
def test_unsubscribe_without_codes_means_every_symbol(data: object) -> None:
    frame = {"code": 11002, "trace": "t"} if data is None else {"code": 11002, "trace": "t", "data": data}
    assert decode_request(json.dumps(frame)) == Unsubscribe("t", "kline", None, None)
    assert decode_request(json.dumps({"code": 11001, "trace": "t", "data": None})) == Unsubscribe(
        "t", "depth", None
    )


def test_subscribes_and_heartbeats_decode() -> None:
    assert decode_request(
        '{"code":10000,"trace":"a","data":{"codes":"BTCUSDT, ETHUSDT,BTCUSDT","includeTy":true}}'
    ) == Subscribe("a", "trade", ("BTCUSDT", "ETHUSDT"))
    assert decode_request(
        '{"code":10006,"trace":"k","data":{"arr":[{"type":1,"codes":"BTCUSDT,ETHUSDT"},'
        '{"type":8,"codes":"BTCUSDT"}]}}'
    ) == SubscribeKlines("k", (("BTCUSDT", 1), ("ETHUSDT", 1), ("BTCUSDT", 8)))
    assert decode_request('{"code":10010,"trace":"h"}') == Heartbeat("h", False)
    assert decode_request('{"code":10010,"trace":"h","ack":1}') == Heartbeat("h", True)
    assert decode_request('{"code":10010,"trace":"h","data":{"ack":true}}') == Heartbeat("h", True)
    assert decode_request('{"code":10010,"trace":"h","ack":0}') == Heartbeat("h", False)


COLON = "\uff1a"


@pytest.mark.parametrize(
    ("frame", "code", "msg", "trace"),
    [
        ("hello", 515, f"Param error{COLON}The payload is not JSON", None),
        ("[1, 2]", 515, f"Param error{COLON}The payload is not JSON", None),
        ('{"trace":"x"}', 507, f"Param lost{COLON}code", "x"),
        ('{"code":"10000","trace":"x"}', 506, f"Param error{COLON}code", "x"),
        ('{"code":12345,"trace":"x"}', 506, f"Param error{COLON}The code is out of range", "x"),
        ('{"code":10000}', 507, f"Param lost{COLON}trace", None),
        ('{"code":10000,"trace":7,"data":{"codes":"BTCUSDT"}}', 506, f"Param error{COLON}trace", None),
        ('{"code":10000,"trace":"x"}', 507, f"Param lost{COLON}data", "x"),
        ('{"code":10003,"trace":"x","data":null}', 507, f"Param lost{COLON}data", "x"),
        ('{"code":10003,"trace":"x","data":"BTCUSDT"}', 506, f"Param error{COLON}data", "x"),
        ('{"code":10003,"trace":"x","data":{}}', 507, f"Param lost{COLON}codes", "x"),
        ('{"code":10003,"trace":"x","data":{"codes":""}}', 507, f"Param lost{COLON}codes", "x"),
        ('{"code":10000,"trace":"x","data":{"codes":["BTCUSDT"]}}', 506, f"Param error{COLON}codes", "x"),
        (
            '{"code":10000,"trace":"x","data":{"codes":"BTCUSDT","includeTy":"yes"}}',
            506,
            f"Param error{COLON}includeTy",
            "x",
        ),
        ('{"code":10006,"trace":"x","data":{"arr":[]}}', 507, f"Param lost{COLON}arr", "x"),
        (
            '{"code":10006,"trace":"x","data":{"arr":[{"codes":"BTCUSDT"}]}}',
            507,
            f"Param lost{COLON}arr[0].type",
            "x",
        ),
        (
            '{"code":10006,"trace":"x","data":{"arr":[{"type":"1","codes":"BTCUSDT"}]}}',
            506,
            f"Param error{COLON}arr[0].type",
            "x",
        ),
        (
            '{"code":10006,"trace":"x","data":{"arr":[{"type":1,"codes":"A"},{"type":13,"codes":"A"}]}}',
            506,
            f"Param error{COLON}arr[1].type",
            "x",
        ),
        (
            '{"code":10006,"trace":"x","data":{"arr":[{"type":0,"codes":"A"}]}}',
            506,
            f"Param error{COLON}arr[0].type",
            "x",
        ),
        (
            '{"code":11002,"trace":"x","data":{"codes":"A","klineTypes":"1,x"}}',
            506,
            f"Param error{COLON}klineTypes",
            "x",
        ),
        (
            '{"code":11002,"trace":"x","data":{"codes":"A","klineTypes":"13"}}',
            506,
            f"Param error{COLON}klineTypes",
            "x",
        ),
        (
            '{"code":11002,"trace":"x","data":{"codes":"A","klineTypes":1}}',
            506,
            f"Param error{COLON}klineTypes",
            "x",
        ),
        ('{"code":11000,"trace":"x","data":{"codes":5}}', 506, f"Param error{COLON}codes", "x"),
    ],
)
def test_refused_frames_get_the_documented_error(frame: str, code: int, msg: str, trace: str | None) -> None:
    conn = connection()
    outcome = conn.receive(frame, 100.0)
    assert outcome.error is not None and not outcome.subscribe
    assert outcome.reply is not None
    assert json.loads(outcome.reply) == {"traceId": trace, "code": code, "msg": msg}
    # The key order of the error shape is part of what clients see.
    assert list(json.loads(outcome.reply)) == ["traceId", "code", "msg"]


# -- subscriptions -----------------------------------------------------------------------------


def test_subscribes_are_additive_and_map_symbols_to_topics() -> None:
    conn = connection()
    outcome = conn.receive('{"code":10000,"trace":"1","data":{"codes":"BTCUSDT"}}', 100.0)
    assert json.loads(outcome.reply or b"") == {"code": 10001, "trace": "1", "msg": "ok"}
    assert outcome.subscribe == [trade_topic("BTC_USDT")]
    outcome = conn.receive('{"code":10000,"trace":"2","data":{"codes":"BTCUSDT,ETHBTC,DOGEUSDT"}}', 100.0)
    # BTCUSDT is already there; ETHBTC is added; DOGEUSDT is unknown: acked, no topic.
    assert outcome.subscribe == [trade_topic("ETH_BTC")]
    assert outcome.unknown == ["DOGEUSDT"]
    assert conn.subscriptions.symbols("trade") == ["BTCUSDT", "ETHBTC", "DOGEUSDT"]
    depth = conn.receive('{"code":10003,"trace":"3","data":{"codes":"ETHUSDT"}}', 100.0)
    assert depth.subscribe == [depth_topic("ETH_USDT")] and depth.depth_snapshots == ["ETH_USDT"]
    assert json.loads(depth.reply or b"")["code"] == 10004


def test_kline_unsubscribe_follows_the_seed_example() -> None:
    """A and B at 1m and 5m; `codes=A, klineTypes=1` removes A-1m only."""
    conn = connection()
    sub = conn.receive(
        json.dumps(
            {
                "code": 10006,
                "trace": "s",
                "data": {
                    "arr": [{"type": 1, "codes": "BTCUSDT,ETHUSDT"}, {"type": 2, "codes": "BTCUSDT,ETHUSDT"}]
                },
            }
        ),
        100.0,
    )
    assert json.loads(sub.reply or b"") == {"code": 10007, "trace": "s", "msg": "ok"}
    assert len(sub.subscribe) == 4
    unsub = conn.receive(
        json.dumps({"code": 11002, "trace": SEED_TRACE, "data": {"codes": "BTCUSDT", "klineTypes": "1"}}),
        100.0,
    )
    assert json.loads(unsub.reply or b"") == {"code": 11010, "trace": SEED_TRACE, "msg": "ok"}
    assert unsub.unsubscribe == [kline_topic("BTC_USDT", 1)]
    assert sorted(conn.subscriptions.kline_pairs()) == [("BTCUSDT", 2), ("ETHUSDT", 1), ("ETHUSDT", 2)]


def test_kline_unsubscribe_without_types_drops_every_type_of_the_codes() -> None:
    subs = Subscriptions()
    subs.add_klines([("A", 1), ("A", 2), ("A", 12), ("B", 1)])
    assert sorted(subs.remove_klines(["A"], None)) == [("A", 1), ("A", 2), ("A", 12)]
    assert subs.kline_pairs() == [("B", 1)]


def test_kline_unsubscribe_without_codes_is_a_full_cancellation_even_with_types() -> None:
    # The seed: "If the codes value cannot be obtained, a full cancellation will be performed."
    subs = Subscriptions()
    subs.add_klines([("A", 1), ("A", 2), ("B", 1)])
    assert sorted(subs.remove_klines(None, [1])) == [("A", 1), ("A", 2), ("B", 1)]
    assert subs.kline_pairs() == []


def test_depth_unsubscribe_by_codes_and_in_full() -> None:
    conn = connection()
    conn.receive('{"code":10003,"trace":"s","data":{"codes":"BTCUSDT,ETHUSDT,XYZ"}}', 100.0)
    partial = conn.receive('{"code":11001,"trace":"u","data":{"codes":"BTCUSDT,NOTSUBSCRIBED"}}', 100.0)
    assert partial.unsubscribe == [depth_topic("BTC_USDT")]
    assert conn.subscriptions.symbols("depth") == ["ETHUSDT", "XYZ"]
    full = conn.receive('{"code":11001,"trace":"u2"}', 100.0)
    assert full.unsubscribe == [depth_topic("ETH_USDT")]  # XYZ had no topic
    assert conn.subscriptions.symbols("depth") == []
    assert json.loads(full.reply or b"") == {"code": 11010, "trace": "u2", "msg": "ok"}


def test_symbol_limit_is_all_or_nothing_and_counts_unknown_symbols() -> None:
    conn = connection(limit=3)
    assert reply(conn, {"code": 10000, "trace": "a", "data": {"codes": "BTCUSDT,X1"}})["code"] == 10001
    refused = reply(conn, {"code": 10000, "trace": "b", "data": {"codes": "ETHUSDT,X2"}})
    assert refused["code"] == 505 and refused["traceId"] == "b"
    assert conn.subscriptions.symbols("trade") == ["BTCUSDT", "X1"]  # nothing of the refused request
    assert reply(conn, {"code": 10000, "trace": "c", "data": {"codes": "BTCUSDT,ETHUSDT"}})["code"] == 10001
    # Kline counts distinct symbols over all types: 3 symbols at 2 types is within 3.
    ok = reply(
        conn,
        {
            "code": 10006,
            "trace": "k",
            "data": {"arr": [{"type": 1, "codes": "A,B,C"}, {"type": 2, "codes": "A,B,C"}]},
        },
    )
    assert ok["code"] == 10007
    assert (
        reply(conn, {"code": 10006, "trace": "k2", "data": {"arr": [{"type": 3, "codes": "D"}]}})["code"]
        == 505
    )


def test_only_heartbeats_move_the_heartbeat_clock() -> None:
    conn = connection()
    assert not conn.heartbeat_overdue(160.0, 60) and conn.heartbeat_overdue(160.5, 60)
    conn.receive('{"code":10000,"trace":"a","data":{"codes":"BTCUSDT"}}', 150.0)
    assert conn.heartbeat_overdue(160.5, 60)  # a subscribe is not a heartbeat
    outcome = conn.receive('{"code":10010,"trace":"h"}', 150.0)
    assert outcome.reply is None  # no reply unless asked
    assert not conn.heartbeat_overdue(210.0, 60) and conn.heartbeat_overdue(210.1, 60)
    assert not conn.heartbeat_overdue(10_000.0, 0)  # 0 = never
    asked = conn.receive('{"code":10010,"trace":"h2","ack":1}', 300.0)
    assert json.loads(asked.reply or b"") == {"code": 10011, "trace": "h2", "msg": "ok"}


# -- encoders ----------------------------------------------------------------------------------


def test_trade_push_shape_and_exact_turnover() -> None:
    trade = TradeEvent(
        seq=1,
        ts=1_700_000_000_123,
        trade_id=1,
        symbol="BTC_USDT",
        price=6303900,
        amount=79330,
        value=6303900 * 79330,
        taker_side="sell",
        maker_order_id=1,
        taker_order_id=2,
        maker_account_id=1,
        taker_account_id=2,
        maker_wallet_id="a",
        taker_wallet_id="b",
        maker_fee=0,
        taker_fee=0,
    )
    raw = wire.trade_push("BTCUSDT", BTC, trade)
    assert raw == (
        b'{"code":10002,"data":{"s":"BTCUSDT","p":"63039","v":"0.07933","vw":"5000.88387",'
        b'"t":1700000000123,"td":2}}'
    )
    assert Decimal(63039) * Decimal("0.07933") == Decimal("5000.88387")


def test_depth_push_is_column_major() -> None:
    top = ([(6500000, 1500000), (6499950, 250000)], [(6500100, 100000)])
    raw = json.loads(wire.depth_push("BTCUSDT", BTC, top, 1_700_000_000_000))
    assert raw == {
        "code": 10005,
        "data": {
            "s": "BTCUSDT",
            "t": 1_700_000_000_000,
            "a": [["65001"], ["0.1"]],
            "b": [["65000", "64999.5"], ["1.5", "0.25"]],
        },
    }


def test_kline_push_has_pca_pfr_and_t_in_seconds_as_a_string() -> None:
    bar = Bar(
        open_time=1_700_000_040_000,
        open=6500000,
        high=6510000,
        low=6499000,
        close=6499350,
        volume=1_250_000,
        quote_volume=8_125_000_000_000,
        count=3,
    )
    raw = json.loads(wire.kline_push("BTCUSDT", BTC, bar, 1))
    assert raw == {
        "code": 10008,
        "data": {
            "s": "BTCUSDT",
            "o": "65000",
            "h": "65100",
            "l": "64990",
            "c": "64993.5",
            "v": "1.25",
            "vw": "81250",
            "pca": "-6.5",
            "pfr": "-0.01%",
            "ty": 1,
            "t": "1700000040",
        },
    }


@pytest.mark.parametrize(
    ("change", "base"),
    [
        (0, 100),
        (1, 200),
        (-1, 200),
        (-1, 20001),
        (1, 3),
        (-2, 3),
        (123456, 100000),
        (-5, 1_000_000),
        (5, 100_000),
        (-5, 100_000),
    ],
)
def test_percent_change_matches_decimal_half_up(change: int, base: int) -> None:
    expected = (Decimal(change) * 100 / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{abs(expected):.2f}%"
    if expected < 0:
        text = "-" + text
    assert wire.percent_change(change, base) == text


def test_every_infoway_kline_type_maps_to_a_sandex_interval() -> None:
    assert wire.KLINE_INTERVALS == {
        1: "1m",
        2: "5m",
        3: "15m",
        4: "30m",
        5: "1h",
        6: "2h",
        7: "4h",
        8: "1d",
        9: "1w",
        10: "1M",
        11: "3M",
        12: "1y",
    }


def test_symbol_map_and_collisions() -> None:
    symbols = SymbolMap(["BTC_USDT", "AB_CD", "ABC_D"])
    assert symbols.venue_symbol("BTCUSDT") == "BTC_USDT" and symbols.code("BTC_USDT") == "BTCUSDT"
    assert symbols.venue_symbol("btcusdt") is None  # case-sensitive, as the real server
    assert symbols.venue_symbol("ABCD") == "AB_CD" and symbols.code("ABC_D") is None
