"""The engine's documented rules, one behaviour per test."""

from __future__ import annotations

import pytest

from sandex.core.commands import (
    AmendOrder,
    CancelOrder,
    CreateAccount,
    Deposit,
    PlaceOrder,
    PlaceTrigger,
    RevokeKey,
    SetAccountFees,
    SetTriggerEnabled,
    Tick,
)
from sandex.core.engine import Engine
from sandex.core.events import OrderEvent, Rejected, TradeEvent, TriggerEvent
from sandex.core.markets import make_market
from sandex.core.numbers import LEDGER_ONE

BTC = make_market("BTC_USDT", 2, 4, "0.0001", "1", maker_fee="0.001", taker_fee="0.002")


@pytest.fixture
def engine() -> Engine:
    e = Engine([BTC], seed=1)
    for i in range(3):
        e.apply(CreateAccount(f"a{i}", f"k{i}", f"s{i}"), 1)
        wallet = e.accounts[i + 1].wallets[0]
        e.apply(Deposit(wallet, "USDT", 1_000_000 * LEDGER_ONE), 1)
        e.apply(Deposit(wallet, "BTC", 100 * LEDGER_ONE), 1)
    return e


def place(e: Engine, account: int, side: str, price: int, amount: int, ts: int = 10, **kw) -> list:
    return e.apply(PlaceOrder(account, "BTC_USDT", side, price=price, amount=amount, **kw), ts)


def of(events: list, kind: type) -> list:
    return [ev for ev in events if type(ev) is kind]


def test_price_then_time_priority(engine: Engine) -> None:
    place(engine, 1, "sell", 10100, 10000)  # order 1, worse price
    place(engine, 1, "sell", 10000, 10000)  # order 2, best price, first in time
    place(engine, 2, "sell", 10000, 10000)  # order 3, best price, second
    trades = of(place(engine, 3, "buy", 10100, 25000), TradeEvent)
    assert [t.maker_order_id for t in trades] == [2, 3, 1]
    assert [t.price for t in trades] == [10000, 10000, 10100]


def test_post_only_that_would_take_is_accepted_then_cancelled_unfilled(engine: Engine) -> None:
    place(engine, 1, "sell", 10000, 10000)
    out = place(engine, 2, "buy", 10000, 10000, tif="post_only")
    assert not of(out, Rejected) and not of(out, TradeEvent)
    [order] = of(out, OrderEvent)
    assert (order.status, order.reason, order.filled, order.resting) == ("cancelled", "post_only", 0, 0)
    assert engine.ledger.held(engine.accounts[2].wallets[0], "USDT") == 0
    assert engine.books["BTC_USDT"].bids.best_price() is None
    assert engine.books["BTC_USDT"].asks.best_price() == 10000  # the offer it would have taken stays
    assert order.order_id not in engine.orders


def test_ioc_cancels_the_rest_and_releases_its_hold(engine: Engine) -> None:
    place(engine, 1, "sell", 10000, 10000)
    out = place(engine, 2, "buy", 10000, 30000, tif="ioc")
    order = of(out, OrderEvent)[-1]
    assert (order.status, order.filled, order.resting) == ("cancelled", 10000, 0)
    assert engine.ledger.held(engine.accounts[2].wallets[0], "USDT") == 0


def test_market_buy_spends_quote_and_market_sell_sells_base(engine: Engine) -> None:
    place(engine, 1, "sell", 10000, 10000)  # 1 BTC at 100.00
    out = engine.apply(PlaceOrder(2, "BTC_USDT", "buy", kind="market", quote_amount=50 * LEDGER_ONE), 11)
    trade = of(out, TradeEvent)[0]
    assert trade.amount == 5000 and trade.price == 10000  # 50 USDT buys 0.5 BTC
    assert of(out, OrderEvent)[-1].status == "filled"
    place(engine, 1, "buy", 9000, 10000)
    out = engine.apply(PlaceOrder(3, "BTC_USDT", "sell", kind="market", amount=4000), 12)
    assert of(out, TradeEvent)[0].amount == 4000


def test_fees_are_charged_on_what_each_side_receives(engine: Engine) -> None:
    w1, w2 = engine.accounts[1].wallets[0], engine.accounts[2].wallets[0]
    place(engine, 1, "sell", 10000, 10000)  # maker sells 1 BTC at 100
    place(engine, 2, "buy", 10000, 10000)  # taker buys it
    # maker receives 100 USDT minus 0.1 %; taker receives 1 BTC minus 0.2 %
    assert engine.ledger.free(w1, "USDT") == (1_000_000 + 100) * LEDGER_ONE - LEDGER_ONE // 10
    assert engine.ledger.free(w2, "BTC") == 101 * LEDGER_ONE - 2 * LEDGER_ONE // 1000


def test_self_trade_prevention_cancels_the_resting_order(engine: Engine) -> None:
    place(engine, 1, "sell", 10000, 10000)  # own order, best
    place(engine, 2, "sell", 10000, 10000)
    out = place(engine, 1, "buy", 10000, 10000)
    cancelled = [e for e in of(out, OrderEvent) if e.reason == "self_trade"]
    assert [e.order_id for e in cancelled] == [1]
    assert [t.maker_order_id for t in of(out, TradeEvent)] == [2]


def test_amend_keeps_priority_only_when_shrinking_at_same_price(engine: Engine) -> None:
    place(engine, 1, "sell", 10000, 10000)  # 1
    place(engine, 2, "sell", 10000, 10000)  # 2
    engine.apply(AmendOrder(1, 1, 10000, 5000), 11)  # shrink: keeps first place
    assert of(place(engine, 3, "buy", 10000, 1000, ts=12), TradeEvent)[0].maker_order_id == 1
    engine.apply(AmendOrder(1, 1, 10000, 9000), 13)  # grow: back of the queue
    assert of(place(engine, 3, "buy", 10000, 1000, ts=14), TradeEvent)[0].maker_order_id == 2


def test_amend_that_crosses_trades_at_once(engine: Engine) -> None:
    place(engine, 1, "sell", 10100, 10000)
    place(engine, 2, "buy", 10000, 10000)
    out = engine.apply(AmendOrder(2, 2, 10100, 10000), 11)
    assert of(out, TradeEvent)[0].price == 10100
    assert of(out, OrderEvent)[-1].status == "filled"


def test_cancel_of_someone_elses_order_is_refused(engine: Engine) -> None:
    place(engine, 1, "sell", 10000, 10000)
    out = engine.apply(CancelOrder(2, 1), 11)
    assert of(out, Rejected)[0].code == "order_not_found"
    assert 1 in engine.orders


def test_insufficient_balance_and_minimums_rejected(engine: Engine) -> None:
    assert of(place(engine, 1, "buy", 10000, 10**9), Rejected)[0].code == "insufficient_balance"
    assert of(place(engine, 1, "buy", 10000, 0), Rejected)[0].code == "invalid_amount"
    assert of(place(engine, 1, "buy", 1, 1), Rejected)[0].code == "below_min_value"
    out = engine.apply(PlaceOrder(1, "NOPE_USDT", "buy", price=1, amount=1), 10)
    assert of(out, Rejected)[0].code == "unknown_symbol"


def test_trigger_fires_when_last_price_crosses(engine: Engine) -> None:
    out = engine.apply(PlaceTrigger(3, "BTC_USDT", "sell", 10500, "up", kind="market", amount=1000), 10)
    assert of(out, TriggerEvent)[0].status == "waiting"
    place(engine, 1, "sell", 10400, 10000)
    place(engine, 2, "buy", 10400, 10000)  # last 104.00: not yet
    assert engine.triggers
    place(engine, 1, "buy", 10000, 10000)  # bid for the triggered market sell to hit
    place(engine, 1, "sell", 10500, 10000)
    out = place(engine, 2, "buy", 10500, 10000)  # last 105.00: fires
    fired = of(out, TriggerEvent)
    assert fired and fired[0].status == "triggered" and fired[0].order_id > 0
    sells = [t for t in of(out, TradeEvent) if t.taker_account_id == 3]
    assert sells and sells[0].amount == 1000


def test_trigger_without_funds_fails_with_reason(engine: Engine) -> None:
    engine.apply(CreateAccount("poor", "kp", "sp"), 10)
    engine.apply(PlaceTrigger(4, "BTC_USDT", "sell", 10000, "down", kind="market", amount=1000), 10)
    place(engine, 1, "buy", 10000, 10000)
    out = place(engine, 2, "sell", 10000, 10000)
    failed = of(out, TriggerEvent)[0]
    assert (failed.status, failed.reason) == ("failed", "insufficient_balance")


def test_trigger_expires_and_disabled_trigger_does_not_fire(engine: Engine) -> None:
    engine.apply(PlaceTrigger(3, "BTC_USDT", "sell", 10000, "down", amount=1000, expires_at=100), 10)
    engine.apply(PlaceTrigger(3, "BTC_USDT", "sell", 10000, "down", amount=1000), 10)
    assert engine.next_deadline() == 100
    out = engine.apply(Tick(), 100)
    assert [(e.trigger_id, e.status) for e in of(out, TriggerEvent)] == [(1, "expired")]
    engine.apply(SetTriggerEnabled(3, 2, False), 101)
    place(engine, 1, "buy", 10000, 10000, ts=102)
    out = place(engine, 2, "sell", 10000, 10000, ts=103)
    assert not of(out, TriggerEvent)
    assert engine.triggers[2].status == "disabled"


def test_an_account_without_a_key_is_not_in_the_key_lookup(engine: Engine) -> None:
    out = engine.apply(CreateAccount("sim-maker", "", ""), 1)
    (created,) = [e for e in out if type(e).__name__ == "AccountEvent"]
    assert engine.accounts[created.account_id].name == "sim-maker"
    assert "" not in engine.account_by_key
    # A second keyless account is no duplicate.
    assert not of(engine.apply(CreateAccount("sim-taker", "", ""), 1), Rejected)
    assert set(engine.account_by_key) == {"k0", "k1", "k2"}
    restored = Engine([BTC], seed=1)
    restored.from_state(engine.to_state())
    assert set(restored.account_by_key) == {"k0", "k1", "k2"}


def test_a_revoked_key_reaches_nothing(engine: Engine) -> None:
    engine.apply(RevokeKey(2), 1)
    assert "k1" not in engine.account_by_key
    assert (engine.accounts[2].api_key, engine.accounts[2].secret) == ("", "")
    restored = Engine([BTC], seed=1)
    restored.from_state(engine.to_state())
    assert "k1" not in restored.account_by_key
    assert of(engine.apply(RevokeKey(99), 1), Rejected)[0].code == "unknown_account"


def test_an_accounts_own_fees_replace_the_markets(engine: Engine) -> None:
    # BTC_USDT charges maker 0.1 %, taker 0.2 %; account 1 pays maker 0.05 %, account 2 taker 0.3 %.
    engine.apply(SetAccountFees(1, maker_fee_ppm=500), 1)
    engine.apply(SetAccountFees(2, taker_fee_ppm=3000), 1)
    assert engine.fee_rates(1, "BTC_USDT") == (500, 2000)
    assert engine.fee_rates(2, "BTC_USDT") == (1000, 3000)
    assert engine.fee_rates(3, "BTC_USDT") == (1000, 2000)
    place(engine, 1, "sell", 10000, 10000)  # 1 BTC at 100.00
    (trade,) = of(place(engine, 2, "buy", 10000, 10000), TradeEvent)
    assert trade.maker_fee == 100 * LEDGER_ONE * 500 // 1_000_000  # the seller's quote, at its 0.05 %
    assert trade.taker_fee == LEDGER_ONE * 3000 // 1_000_000  # the buyer's BTC, at its 0.3 %
    place(engine, 3, "sell", 10000, 10000)
    (trade,) = of(place(engine, 1, "buy", 10000, 10000), TradeEvent)
    assert (trade.maker_fee, trade.taker_fee) == (100 * LEDGER_ONE // 1000, LEDGER_ONE * 2 // 1000)
    # In snapshots; and -1/-1 goes back to the market's rates.
    restored = Engine([BTC], seed=1)
    restored.from_state(engine.to_state())
    assert restored.fee_rates(2, "BTC_USDT") == (1000, 3000)
    engine.apply(SetAccountFees(2), 1)
    assert engine.fee_rates(2, "BTC_USDT") == (1000, 2000) and 2 not in engine.account_fees
    assert of(engine.apply(SetAccountFees(2, taker_fee_ppm=1_000_000), 1), Rejected)
