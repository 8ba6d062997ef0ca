"""The sans-I/O core, driven with plain values: requests, subscriptions, signatures, encoders,
the order form. No sockets here (the other test files cover the wire)."""

from __future__ import annotations

import json
import zlib

import pytest
from msgspec import Raw

from sandex.core.commands import BUY, GTC, MARKET, POST_ONLY, SELL, PlaceOrder
from sandex.core.events import OrderEvent, Rejected
from sandex.core.markets import make_market
from sandex.protocols.digifinex import errors, orders, pushes
from sandex.protocols.digifinex.requests import (
    Auth,
    Ping,
    Subscribe,
    Unsubscribe,
    decode_envelope,
    parse_call,
    request_id,
)
from sandex.protocols.digifinex.signing import canonical, check_rest_signature, check_ws_auth, ws_signature
from sandex.protocols.digifinex.subscriptions import Subscriptions, topic
from sandex.protocols.digifinex.wire import error_frame, push_frame, reply_frame
from sandex.server.framing import OP_BINARY

BTC = make_market("BTC_USDT", 2, 6, min_amount="0.0001", min_value="1")
SYMBOLS = frozenset({"BTC_USDT", "ETH_USDT"})


def unframe(frame: bytes) -> object:
    """A small server frame: FIN + binary opcode, 7/16-bit length, zlib JSON payload."""
    assert frame[0] == 0x80 | OP_BINARY and not frame[1] & 0x80  # final, binary, unmasked
    length, offset = frame[1], 2
    if length == 126:
        length, offset = int.from_bytes(frame[2:4], "big"), 4
    payload = frame[offset:]
    assert len(payload) == length and payload[:1] == b"\x78"  # a zlib stream, with header
    return json.loads(zlib.decompress(payload))


def call(text: str):  # type: ignore[no-untyped-def]
    return parse_call(decode_envelope(text), SYMBOLS)


# -- wire ------------------------------------------------------------------------------------------


def test_replies_echo_the_id_exactly_and_pushes_carry_null() -> None:
    for raw in (b"12312", b"1.50", b"1600000000000001", b'"abc"'):
        frame = reply_frame(Raw(raw), "pong")
        payload = zlib.decompress(frame[2:])
        assert payload == b'{"error":null,"result":"pong","id":' + raw + b"}"
    assert unframe(error_frame(Raw(b"7"), 4, "method not found: x")) == {
        "error": {"code": 4, "message": "method not found: x"},
        "result": None,
        "id": 7,
    }
    assert unframe(push_frame("depth.update", [True, {}, "BTC_USDT"])) == {
        "method": "depth.update",
        "params": [True, {}, "BTC_USDT"],
        "id": None,
    }


# -- requests --------------------------------------------------------------------------------------


def test_requests_decode_into_typed_calls() -> None:
    assert call('{"id": 1, "method": "server.ping"}') == Ping()
    assert call(
        '{"method": "depth.subscribe", "params": ["eth_usdt", " BTC_USDT", "ETH_USDT"]}'
    ) == Subscribe("depth", ("ETH_USDT", "BTC_USDT"))  # upper-cased, trimmed, each once
    assert call('{"method": "all_ticker.subscribe", "params": ["anything"]}') == Subscribe("all_ticker", ())
    assert call('{"method": "trades.unsubscribe", "params": []}') == Unsubscribe("trades", ())
    assert call('{"method": "balance.subscribe", "params": ["usdt"]}') == Subscribe("balance", ("USDT",))
    assert call('{"method": "server.auth", "params": ["k", 1583135616239, "s"]}') == Auth(
        "k", "1583135616239", "s"
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{", errors.WS_INVALID_ARGUMENT),
        ("[]", errors.WS_INVALID_ARGUMENT),
        ('{"id": 1}', errors.WS_INVALID_ARGUMENT),
        ('{"method": ["server.ping"]}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "server.pong"}', errors.WS_METHOD_NOT_FOUND),
        ('{"method": "depth.snapshot", "params": []}', errors.WS_METHOD_NOT_FOUND),
        ('{"method": "depth.subscribe", "params": ["DOGE_USDT"]}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "depth.subscribe", "params": {"symbol": "BTC_USDT"}}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "depth.subscribe"}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "balance.subscribe", "params": ["U$DT"]}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "server.auth", "params": ["k", "12x", "s"]}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "server.auth", "params": ["k", "1"]}', errors.WS_INVALID_ARGUMENT),
        ('{"method": "server.ping", "params": ["' + "x" * 70_000 + '"]}', errors.WS_INVALID_ARGUMENT),
    ],
)
def test_bad_requests_raise_the_documented_code(text: str, code: int) -> None:
    with pytest.raises(errors.WsError) as caught:
        call(text)
    assert caught.value.code == code and caught.value.message


def test_the_id_of_a_refused_frame_is_still_found() -> None:
    oversized = '{"id": 42, "method": "' + "x" * 70_000 + '"}'
    with pytest.raises(errors.WsError):
        decode_envelope(oversized)
    assert bytes(request_id(oversized)) == b"42"
    assert bytes(request_id("not json")) == b"null"


# -- subscriptions ---------------------------------------------------------------------------------


def test_subscriptions_accumulate_and_an_empty_unsubscribe_clears_the_channel() -> None:
    subs = Subscriptions()
    assert subs.add("depth", ["BTC_USDT"]) == ["BTC_USDT"]
    assert subs.add("depth", ["ETH_USDT", "BTC_USDT"]) == ["ETH_USDT"]  # only what is new
    assert subs.add("trades", ["BTC_USDT"]) == ["BTC_USDT"]
    assert subs.keys("depth") == ["BTC_USDT", "ETH_USDT"]
    assert subs.remove("depth", ["ETH_USDT", "ETH_USDT"]) == ["ETH_USDT"]
    assert subs.remove("depth", ["ETH_USDT"]) == []
    assert subs.remove("depth", []) == ["BTC_USDT"]
    assert subs.channels() == ["trades"] and ("trades", "BTC_USDT") in subs


def test_private_topics_carry_the_account() -> None:
    assert topic("depth", "BTC_USDT", 7) == ("digifinex", "depth", "BTC_USDT")
    assert topic("order", "BTC_USDT", 7) == ("digifinex", "order", 7, "BTC_USDT")
    assert topic("order", "BTC_USDT", 7) != topic("order", "BTC_USDT", 8)
    with pytest.raises(ValueError):
        topic("balance", "USDT", None)


# -- signatures (vectors checked with `openssl dgst -sha256 -hmac secret`) --------------------------


def test_ws_auth_signature_and_window() -> None:
    assert ws_signature("secret", "1583135616239") == "LX7ahH6PQmnbVvv6lyqjlSkiCfr1tPxhZN4qCTwndzc="
    check_ws_auth(
        "secret", "1583135616239", "LX7ahH6PQmnbVvv6lyqjlSkiCfr1tPxhZN4qCTwndzc=", 1583135616239 + 59_000
    )
    for sign, now in (
        ("LX7ahH6PQmnbVvv6lyqjlSkiCfr1tPxhZN4qCTwndzc=", 1583135616239 + 61_000),
        ("bad", 1583135616239),
    ):
        with pytest.raises(errors.WsError) as caught:
            check_ws_auth("secret", "1583135616239", sign, now)
        assert caught.value.code == errors.WS_REQUIRE_AUTH


def test_rest_signature_over_the_raw_or_renormalised_payload() -> None:
    ccxt_sign = "db8c4e1ab7f49f3ec5579b87d8c4e65c7a18639e2218d120294260c1de64150d"
    check_rest_signature("secret", "market=spot&order_id=1%2C2", ccxt_sign)
    # A client that re-normalised its URL after signing sends "," for "%2C".
    assert canonical("market=spot&order_id=1,2") == "market=spot&order_id=1%2C2"
    check_rest_signature("secret", "market=spot&order_id=1,2", ccxt_sign)
    with pytest.raises(errors.RestError) as caught:
        check_rest_signature("secret", "order_id=1%2C2&market=spot", ccxt_sign)  # other key order
    assert caught.value.code == errors.SIGN_MISMATCH


# -- push encoders ---------------------------------------------------------------------------------


def test_depth_sides_are_descending_and_drops_are_zero() -> None:
    params = pushes.depth_params(BTC, False, [(6500100, 5), (6500000, 0)], [(6500200, 0), (6500300, 1500000)])
    book = json.loads(json.dumps(params, default=lambda s: {f: getattr(s, f) for f in s.__struct_fields__}))
    assert book == [
        False,
        {
            "asks": [["65003.00", "1.500000"], ["65002.00", "0"]],
            "bids": [["65001.00", "0.000005"], ["65000.00", "0"]],
        },
        "BTC_USDT",
    ]


def _order(**fields: object) -> OrderEvent:
    base = dict(
        seq=1,
        ts=1_700_000_000_123,
        order_id=9,
        account_id=1,
        wallet_id="w",
        symbol="BTC_USDT",
        side=BUY,
        kind="limit",
        tif=GTC,
        price=6500000,
        amount=200000,
        quote_amount=0,
        filled=0,
        filled_value=0,
        resting=200000,
        status="open",
        reason="placed",
        created_ts=1_700_000_000_000,
        client_order_id="",
        source="api",
        source_id="",
    )
    base.update(fields)
    return OrderEvent(**base)  # type: ignore[arg-type]


def test_order_push_fields_and_statuses() -> None:
    item = pushes.order_item(
        BTC, _order(filled=100000, filled_value=6500000 * 100000, status="cancelled", resting=0)
    )
    assert (item.id, item.status, item.amount, item.filled, item.price, item.price_avg, item.notional) == (
        "9",
        4,
        "0.2",
        "0.1",
        "65000",
        "65000",
        "6500",
    )
    assert item.type == "limit" and item.mode == 1 and item.timestamp == 1_700_000_000_123
    assert pushes.order_item(BTC, _order(status="cancelled", resting=0)).status == 3
    assert pushes.order_item(BTC, _order(status="partial", filled=1, filled_value=6500000)).status == 1
    market_buy = pushes.order_item(
        BTC,
        _order(
            kind=MARKET,
            price=0,
            amount=0,
            quote_amount=10**21,
            filled=15000,
            filled_value=15000 * 6666667,
            status="filled",
        ),
    )
    assert (market_buy.amount, market_buy.type, market_buy.price) == ("0", "market", "0")
    assert market_buy.price_avg == "66666.67"  # rounded down past the price's places only when needed


# -- the order form --------------------------------------------------------------------------------


def test_the_order_form_becomes_an_engine_command() -> None:
    markets = {"BTC_USDT": BTC}
    limit = orders.place_order_command(
        {"symbol": "btc_usdt", "type": "buy", "price": "65000.5", "amount": "0.1", "post_only": "1"},
        3,
        markets,
    )
    assert limit == PlaceOrder(3, "BTC_USDT", BUY, "limit", POST_ONLY, 6500050, 100000)
    assert (
        orders.place_order_command(
            {
                "symbol": "BTC_USDT",
                "type": "sell",
                "price": "1",
                "amount": "1",
                "post_only": "2",
                "market": "spot",
            },
            3,
            markets,
        ).tif
        == GTC
    )
    buy = orders.place_order_command(
        {"symbol": "BTC_USDT", "type": "buy_market", "amount": "650.5"}, 3, markets
    )
    assert (buy.kind, buy.side, buy.quote_amount, buy.amount) == (
        MARKET,
        BUY,
        6505 * 10**17,
        0,
    )  # quote, ledger scale
    sell = orders.place_order_command(
        {"symbol": "BTC_USDT", "type": "sell_market", "amount": "0.25"}, 3, markets
    )
    assert (sell.kind, sell.side, sell.amount) == (MARKET, SELL, 250000)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"type": "buy", "price": "1", "amount": "1"}, errors.ILLEGAL_PARAMS),
        ({"symbol": "X_Y", "type": "buy", "price": "1", "amount": "1"}, errors.BAD_SYMBOL),
        ({"symbol": "BTC_USDT", "type": "bid", "price": "1", "amount": "1"}, errors.INVALID_TRADE_TYPE),
        ({"symbol": "BTC_USDT", "type": "buy", "price": "1.001", "amount": "1"}, errors.PRICE_PRECISION),
        ({"symbol": "BTC_USDT", "type": "buy", "price": "1", "amount": "1.0000001"}, errors.AMOUNT_PRECISION),
        (
            {"symbol": "BTC_USDT", "type": "buy", "price": "1e3", "amount": "1"},
            errors.INVALID_PRICE_OR_AMOUNT,
        ),
        ({"symbol": "BTC_USDT", "type": "buy_market", "amount": "1.000000001"}, errors.AMOUNT_PRECISION),
        (
            {"symbol": "BTC_USDT", "type": "buy", "price": "1", "amount": "1", "market": "margin"},
            errors.ILLEGAL_PARAMS,
        ),
    ],
)
def test_bad_order_forms_get_their_codes(form: dict[str, str], code: int) -> None:
    with pytest.raises(errors.RestError) as caught:
        orders.place_order_command(form, 3, {"BTC_USDT": BTC})
    assert caught.value.code == code


def test_the_new_order_is_found_among_maker_fills_and_rejects_map_to_codes() -> None:
    maker = _order(order_id=4, account_id=2, status="filled", reason="fill", resting=0)
    own_stp = _order(order_id=5, account_id=3, status="cancelled", reason="self_trade", resting=0)
    taker = _order(order_id=6, account_id=3, status="filled", reason="placed", resting=0)
    assert orders.placed_order([maker, own_stp, taker], 3) is taker
    reject = Rejected(1, 1, 3, "BTC_USDT", "insufficient_balance", "insufficient USDT balance")
    with pytest.raises(errors.RestError) as caught:
        orders.placed_order([reject], 3)
    assert caught.value.code == errors.INSUFFICIENT_BALANCE
