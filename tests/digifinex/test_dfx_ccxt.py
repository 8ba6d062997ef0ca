"""ccxt's `digifinex` class, unchanged but for its base URL, against a running sandex.

One scenario runs twice: through the sync class (each call in a worker thread) and through the
asyncio class. Bob provides resting liquidity; alice trades against it with every order kind ccxt
offers; every value — fills, averages, statuses, fees, balances — is checked exactly (ccxt gives
floats; each is compared through its shortest repr, which is exact for these values).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as accxt
import pytest

from tests.digifinex.dfx_support import ALICE, BOB, dec
from tests.digifinex.dfx_support import rest as dfx_rest
from tests.support.server import BASE_CONFIG, FEE_TOML, SandexServer

Call = Callable[..., Awaitable[Any]]


def _sync_exchange(base_url: str, creds: tuple[str, str]) -> ccxt.digifinex:
    exchange = ccxt.digifinex({"apiKey": creds[0], "secret": creds[1], "enableRateLimit": False})
    exchange.urls["api"]["rest"] = base_url
    return exchange


def _async_exchange(base_url: str, creds: tuple[str, str]) -> accxt.digifinex:
    exchange = accxt.digifinex({"apiKey": creds[0], "secret": creds[1], "enableRateLimit": False})
    exchange.urls["api"]["rest"] = base_url
    return exchange


def _caller(exchange: Any, is_async: bool) -> Call:
    async def call(name: str, *args: Any) -> Any:
        method = getattr(exchange, name)
        return await method(*args) if is_async else await asyncio.to_thread(method, *args)

    return call


async def scenario(alice: Call, bob: Call) -> None:
    markets = await alice("load_markets")
    btc = markets["BTC/USDT"]
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    assert btc["id"] == "BTC_USDT" and btc["spot"] and btc["active"]
    assert dec(btc["precision"]["price"]) == Decimal("0.01") and dec(btc["precision"]["amount"]) == Decimal(
        "0.000001"
    )
    assert dec(btc["limits"]["amount"]["min"]) == Decimal("0.0001") and dec(btc["limits"]["cost"]["min"]) == 1

    # Bob's resting liquidity: asks at 65000 and bids at 64000.
    await bob("load_markets")
    ask = await bob("create_order", "BTC/USDT", "limit", "sell", 0.5, 65000)
    bid = await bob("create_order", "BTC/USDT", "limit", "buy", 0.2, 64000)
    book = await alice("fetch_order_book", "BTC/USDT")
    assert book["asks"] == [[65000.0, 0.5]] and book["bids"] == [[64000.0, 0.2]]

    # A limit buy that takes.
    limit = await alice("create_order", "BTC/USDT", "limit", "buy", 0.1, 65000)
    fetched = await alice("fetch_order", limit["id"], "BTC/USDT")
    assert fetched["status"] == "closed" and fetched["type"] == "limit" and fetched["side"] == "buy"
    assert (
        dec(fetched["filled"]) == Decimal("0.1")
        and dec(fetched["average"]) == 65000
        and fetched["remaining"] == 0
    )

    # A market buy: ccxt sends amount x price as the quote to spend (DigiFinex's buy_market).
    market_buy = await alice("create_order", "BTC/USDT", "market", "buy", 0.01, 65000)
    fetched = await alice("fetch_order", market_buy["id"], "BTC/USDT")
    assert fetched["status"] == "closed" and fetched["type"] == "market" and fetched["side"] == "buy"
    assert dec(fetched["filled"]) == Decimal("0.01") and dec(fetched["cost"]) == 650
    assert fetched["info"]["cash_amount"] == 650 and fetched["info"]["type"] == "buy_market"

    # A market sell into bob's bid.
    market_sell = await alice("create_order", "BTC/USDT", "market", "sell", 0.05)
    fetched = await alice("fetch_order", market_sell["id"], "BTC/USDT")
    assert fetched["status"] == "closed" and dec(fetched["filled"]) == Decimal("0.05")
    assert dec(fetched["average"]) == 64000

    # Post-only: rests below the market.
    post_only = await alice("create_order", "BTC/USDT", "limit", "buy", 0.01, 60000, {"postOnly": True})
    balance = await alice("fetch_balance")
    assert dec(balance["USDT"]["used"]) == 600
    open_orders = await alice("fetch_open_orders", "BTC/USDT")
    assert [o["id"] for o in open_orders] == [post_only["id"]] and open_orders[0]["status"] == "open"
    assert dec(open_orders[0]["remaining"]) == Decimal("0.01") and dec(open_orders[0]["price"]) == 60000
    # One that would take is accepted and cancelled unfilled, its hold given back (not an error
    # that reads as a bad price or amount: issue 16 item 9).
    would_take = await alice("create_order", "BTC/USDT", "limit", "buy", 0.01, 65000, {"postOnly": True})
    fetched = await alice("fetch_order", would_take["id"], "BTC/USDT")
    assert (fetched["status"], dec(fetched["filled"])) == ("canceled", 0)
    assert dec((await alice("fetch_balance"))["USDT"]["used"]) == 600

    cancelled = await alice("cancel_order", post_only["id"], "BTC/USDT")
    assert cancelled["id"] == post_only["id"] and cancelled["status"] == "canceled"
    assert (await alice("fetch_order", post_only["id"], "BTC/USDT"))["status"] == "canceled"
    assert await alice("fetch_open_orders", "BTC/USDT") == []
    with pytest.raises(ccxt.OrderNotFound):
        await alice("cancel_order", post_only["id"], "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        await alice("fetch_order", "987654", "BTC/USDT")

    closed = await alice("fetch_closed_orders", "BTC/USDT")
    assert sorted(o["id"] for o in closed) == sorted([limit["id"], market_buy["id"], market_sell["id"]])
    assert all(o["status"] == "closed" for o in closed)
    every = await alice("fetch_orders", "BTC/USDT")
    assert {o["id"]: o["status"] for o in every}[post_only["id"]] == "canceled"

    mine = await alice("fetch_my_trades", "BTC/USDT")
    assert [
        (t["order"], t["side"], t["type"], t["takerOrMaker"], dec(t["price"]), dec(t["amount"])) for t in mine
    ] == [
        (limit["id"], "buy", "limit", "taker", 65000, Decimal("0.1")),
        (market_buy["id"], "buy", "market", "taker", 65000, Decimal("0.01")),
        (market_sell["id"], "sell", "market", "taker", 64000, Decimal("0.05")),
    ]
    # Fees (0.1 %) are paid in what each side receives: base for a buy, quote for a sell.
    assert [(t["fee"]["currency"], dec(t["fee"]["cost"])) for t in mine] == [
        ("BTC", Decimal("0.0001")),
        ("BTC", Decimal("0.00001")),
        ("USDT", Decimal("3.2")),
    ]

    # Balances moved by exactly the fills and fees.
    balance = await alice("fetch_balance")
    assert dec(balance["BTC"]["total"]) == Decimal("10") + Decimal("0.0999") + Decimal("0.00999") - Decimal(
        "0.05"
    )
    assert dec(balance["USDT"]["total"]) == Decimal("1000000") - 6500 - 650 + Decimal("3196.8")
    assert dec(balance["USDT"]["used"]) == 0 and dec(balance["ETH"]["total"]) == 100
    bob_balance = await bob("fetch_balance")
    # Bob (maker): sold 0.11 BTC at 65000 and bought 0.05 at 64000, paying 0.1 % on what he got.
    assert dec(bob_balance["USDT"]["free"]) == 1000000 + Decimal("7150") * Decimal("0.999") - 12800
    assert dec(bob_balance["USDT"]["used"]) == Decimal("9600")  # 0.15 BTC still bid at 64000
    assert dec(bob_balance["BTC"]["used"]) == Decimal("0.39")  # 0.39 BTC still offered
    assert dec(bob_balance["BTC"]["total"]) == Decimal("10") - Decimal("0.11") + Decimal("0.05") * Decimal(
        "0.999"
    )
    bob_open = {o["id"]: o for o in await bob("fetch_open_orders")}
    assert set(bob_open) == {ask["id"], bid["id"]}
    assert dec(bob_open[ask["id"]]["filled"]) == Decimal("0.11")
    assert dec(bob_open[bid["id"]]["filled"]) == Decimal("0.05")

    # Market data reflects exactly those three trades.
    ticker = await alice("fetch_ticker", "BTC/USDT")
    assert (dec(ticker["last"]), dec(ticker["high"]), dec(ticker["low"])) == (64000, 65000, 64000)
    assert (dec(ticker["bid"]), dec(ticker["ask"])) == (64000, 65000)
    assert dec(ticker["baseVolume"]) == Decimal("0.16") and dec(ticker["quoteVolume"]) == 10350
    tickers = await alice("fetch_tickers")
    assert set(tickers) == {"BTC/USDT", "ETH/USDT"} and dec(tickers["BTC/USDT"]["last"]) == 64000
    trades = await alice("fetch_trades", "BTC/USDT")
    assert [(t["side"], dec(t["price"]), dec(t["amount"])) for t in trades] == [
        ("buy", 65000, Decimal("0.1")),
        ("buy", 65000, Decimal("0.01")),
        ("sell", 64000, Decimal("0.05")),
    ]
    candles = await alice("fetch_ohlcv", "BTC/USDT", "1m")
    assert sum(dec(c[5]) for c in candles) == Decimal("0.16")
    assert max(dec(c[2]) for c in candles) == 65000 and min(dec(c[3]) for c in candles) == 64000
    assert dec(candles[-1][4]) == 64000 and dec(candles[0][1]) == 65000
    # Ask for a window that ends before the trades: no candles.
    assert await alice("fetch_ohlcv", "BTC/USDT", "1m", candles[0][0] - 3_600_000, 10) == []


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_ccxt_digifinex_end_to_end(server: SandexServer, flavour: str) -> None:
    is_async = flavour == "async"
    make = _async_exchange if is_async else _sync_exchange
    alice, bob = make(server.base_url, ALICE), make(server.base_url, BOB)
    try:
        await scenario(_caller(alice, is_async), _caller(bob, is_async))
    finally:
        if is_async:
            await alice.close()
            await bob.close()


async def test_ccxt_market_buy_by_cost_and_errors(server: SandexServer) -> None:
    alice = _async_exchange(server.base_url, ALICE)
    bob = _async_exchange(server.base_url, BOB)
    try:
        await bob.create_order("ETH/USDT", "limit", "sell", 2, 3500)
        order = await alice.create_market_buy_order_with_cost("ETH/USDT", 1750)
        fetched = await alice.fetch_order(order["id"], "ETH/USDT")
        assert dec(fetched["filled"]) == Decimal("0.5") and dec(fetched["cost"]) == 1750
        with pytest.raises(ccxt.InsufficientFunds):
            await alice.create_order("ETH/USDT", "limit", "sell", 1000, 3500)
        with pytest.raises(ccxt.InvalidOrder):  # below the minimum amount (20009)
            await alice.create_order("ETH/USDT", "limit", "buy", 0.0001, 3500)
        wrong = _async_exchange(server.base_url, ("alice-key", "not-the-secret"))
        try:
            with pytest.raises(ccxt.AuthenticationError):
                await wrong.fetch_balance()
        finally:
            await wrong.close()
        assert (await alice.fetch_status())["status"] == "ok"
        assert abs(await alice.fetch_time() - alice.milliseconds()) < 5000
    finally:
        await alice.close()
        await bob.close()


async def test_ccxt_calls_sandex_does_not_simulate_say_so(server: SandexServer) -> None:
    """Deposits and withdrawals (issue 16 item 8): DigiFinex's "Unexist endpoint" (10009), not
    10004 (ccxt's "BadRequest: Illegal request parameters", which sends users to their own
    parameters); the message names what sandex does not simulate."""
    alice = _async_exchange(server.base_url, ALICE)
    try:
        await alice.load_markets()
        with pytest.raises(ccxt.NetworkError, match="Unexist endpoint"):
            await alice.fetch_deposits("USDT")
        with pytest.raises(ccxt.NetworkError, match="Unexist endpoint"):
            await alice.fetch_withdrawals("USDT")
        with pytest.raises(ccxt.NetworkError, match="Unexist endpoint"):
            await alice.fetch_deposit_address("USDT")
        with pytest.raises(ccxt.NetworkError, match="Unexist endpoint"):
            await alice.withdraw("USDT", 10, "0x0000000000000000000000000000000000000000")
    finally:
        await alice.close()
    body = dfx_rest(server.base_url, "GET", "/v3/deposit/history", {"currency": "USDT"}, ALICE)
    assert body["code"] == 10009
    assert "not simulated by sandex" in body["msg"] and "deposits, withdrawals" in body["msg"]


async def test_ccxt_create_orders_places_a_batch(server: SandexServer) -> None:
    """`create_orders` (issue 16 item 6): ccxt posts `/v3/spot/order/batch_new` with a JSON list."""
    alice = _async_exchange(server.base_url, ALICE)
    bob = _async_exchange(server.base_url, BOB)
    try:
        await bob.create_order("BTC/USDT", "limit", "sell", 0.5, 65000)
        placed = await alice.create_orders(
            [
                {"symbol": "BTC/USDT", "type": "limit", "side": "buy", "amount": 0.01, "price": 60000},
                {"symbol": "BTC/USDT", "type": "limit", "side": "buy", "amount": 0.02, "price": 61000},
                {
                    "symbol": "BTC/USDT",
                    "type": "limit",
                    "side": "buy",
                    "amount": 0.03,
                    "price": 62000,
                    "params": {"postOnly": True},
                },
                {"symbol": "BTC/USDT", "type": "limit", "side": "buy", "amount": 0.1, "price": 65000},
            ]
        )
        assert len(placed) == 4 and len({o["id"] for o in placed}) == 4
        open_orders = {o["id"]: o for o in await alice.fetch_open_orders("BTC/USDT")}
        assert {o["id"] for o in placed[:3]} == set(open_orders)
        assert [
            (dec(open_orders[o["id"]]["price"]), dec(open_orders[o["id"]]["amount"])) for o in placed[:3]
        ] == [
            (60000, Decimal("0.01")),
            (61000, Decimal("0.02")),
            (62000, Decimal("0.03")),
        ]
        taken = await alice.fetch_order(placed[3]["id"], "BTC/USDT")  # the fourth took bob's offer
        assert taken["status"] == "closed" and dec(taken["filled"]) == Decimal("0.1")

        # More than ten, or one malformed order: refused whole, nothing placed.
        eleven = [{"symbol": "BTC/USDT", "type": "limit", "side": "buy", "amount": 0.01, "price": 50000}] * 11
        with pytest.raises(ccxt.BadRequest):
            await alice.create_orders(eleven)
        with pytest.raises(ccxt.InvalidOrder):
            await alice.private_spot_post_market_order_batch_new(
                {
                    "market": "spot",
                    "symbol": "BTC_USDT",
                    "list": '[{"type":"buy","price":"50000","amount":"0.01"},'
                    '{"type":"buy","price":"50000.123","amount":"0.01"}]',
                }
            )
        assert len(await alice.fetch_open_orders("BTC/USDT")) == 3
    finally:
        await alice.close()
        await bob.close()


async def test_ccxt_fetch_ledger_lists_the_balance_changes(server: SandexServer) -> None:
    """`fetch_ledger` (issue 16 item 7): `/v3/spot/financelog` lists every change of the account's
    balances, newest first, each with the balance after it: the configured credit, then fills."""
    alice = _async_exchange(server.base_url, ALICE)
    bob = _async_exchange(server.base_url, BOB)
    try:
        await bob.create_order("BTC/USDT", "limit", "sell", 0.5, 65000)
        await alice.create_order("BTC/USDT", "limit", "buy", 0.1, 65000)
        await alice.create_order("BTC/USDT", "limit", "buy", 0.01, 60000)  # rests: no ledger entry
        # ccxt orders entries by their timestamp (whole seconds); the server sends newest first.
        usdt = await alice.fetch_ledger("USDT")
        assert sorted((e["currency"], dec(e["amount"]), dec(e["after"]), e["type"]) for e in usdt) == [
            ("USDT", Decimal("-6500"), Decimal("993500"), "1"),
            ("USDT", Decimal("1000000"), Decimal("1000000"), "2"),
        ]
        btc = sorted(await alice.fetch_ledger("BTC"), key=lambda e: dec(e["amount"]))
        fill = (await alice.fetch_my_trades("BTC/USDT"))[0]
        fee = dec(fill["fee"]["cost"])
        assert fill["fee"]["currency"] == "BTC" and fee > 0
        assert [(dec(e["amount"]), dec(e["after"])) for e in btc] == [
            (Decimal("0.1") - fee, Decimal("10.1") - fee),  # the fill, net of its fee
            (10, 10),
        ]
        everything = await alice.fetch_ledger()
        assert {e["currency"] for e in everything} == {"USDT", "BTC", "ETH"}
        assert all(e["timestamp"] is not None for e in everything)
        assert len(await alice.fetch_ledger("USDT", limit=1)) == 1
        future = alice.milliseconds() + 3_600_000
        assert await alice.fetch_ledger("USDT", since=future) == []
    finally:
        await alice.close()
        await bob.close()

    # The ledger survives a restart (from the shutdown snapshot) and goes on from the same totals.
    before = dfx_rest(server.base_url, "GET", "/v3/spot/financelog", {}, ALICE)["data"]
    server.stop()
    server.start()
    assert dfx_rest(server.base_url, "GET", "/v3/spot/financelog", {}, ALICE)["data"] == before
    alice = _async_exchange(server.base_url, ALICE)
    try:
        await alice.create_order("BTC/USDT", "limit", "buy", 0.01, 65000)
        newest = (await alice.fetch_ledger("USDT", limit=1))[0]
        assert dec(newest["amount"]) == -650 and dec(newest["after"]) == Decimal("993500") - 650
    finally:
        await alice.close()


async def test_ccxt_market_fees_are_the_fees_charged(tmp_path: Path) -> None:
    """What ccxt reports as a DigiFinex spot market's fees is all a DigiFinex client can learn of
    the rates (spot has no fee-rate endpoint: ccxt's `fetch_trading_fee` is swap-only and
    refuses spot markets itself), so the venue's default must charge exactly that on a fill."""
    with SandexServer(tmp_path, BASE_CONFIG.replace(FEE_TOML, "")) as server:
        await _fees_charged_are_the_market_fees(server)


async def _fees_charged_are_the_market_fees(server: SandexServer) -> None:
    alice = _async_exchange(server.base_url, ALICE)
    bob = _async_exchange(server.base_url, BOB)
    try:
        await bob.create_order("BTC/USDT", "limit", "sell", 0.5, 65000)
        await alice.create_order("BTC/USDT", "limit", "buy", 0.1, 65000)
        market = alice.market("BTC/USDT")
        (taker,) = await alice.fetch_my_trades("BTC/USDT")
        (maker,) = await bob.fetch_my_trades("BTC/USDT")
        # The buyer pays in base (what it received), the seller in quote.
        assert dec(taker["fee"]["cost"]) == Decimal("0.1") * dec(market["taker"])
        assert dec(maker["fee"]["cost"]) == Decimal("6500") * dec(market["maker"])
        with pytest.raises(ccxt.BadRequest, match="swap markets only"):
            await alice.fetch_trading_fee("BTC/USDT")
    finally:
        await alice.close()
        await bob.close()
