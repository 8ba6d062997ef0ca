"""The private per-account view: bounded history, open/closed split, isolation, round trip."""

from __future__ import annotations

from sandex.accountdata import AccountData
from sandex.core.commands import CancelOrder, CreateAccount, Deposit, PlaceOrder
from sandex.core.engine import Engine
from sandex.core.markets import make_market
from sandex.core.numbers import LEDGER_ONE

MARKET = make_market("BTC_USDT", 2, 4, "0.0001", "0")


def run(history: int) -> tuple[Engine, AccountData]:
    engine = Engine([MARKET], seed=1)
    view = AccountData(history=history)
    ts = 1
    for i in range(2):
        view.apply(engine.apply(CreateAccount(f"a{i}", f"k{i}", f"s{i}"), ts))
        wallet = engine.accounts[i + 1].wallets[0]
        view.apply(engine.apply(Deposit(wallet, "USDT", 10**6 * LEDGER_ONE), ts))
        view.apply(engine.apply(Deposit(wallet, "BTC", 100 * LEDGER_ONE), ts))
    for n in range(10):  # account 1 places 10 orders, cancels the even ones
        ts += 1
        view.apply(engine.apply(PlaceOrder(1, "BTC_USDT", "sell", price=10000 + n, amount=100), ts))
    for order_id in range(1, 11, 2):
        ts += 1
        view.apply(engine.apply(CancelOrder(1, order_id), ts))
    ts += 1
    view.apply(engine.apply(PlaceOrder(2, "BTC_USDT", "buy", price=10001, amount=100), ts))  # fills order 2
    return engine, view


def test_open_and_closed_orders_and_trades() -> None:
    _engine, view = run(history=100)
    assert sorted(o.order_id for o in view.open_orders(1)) == [4, 6, 8, 10]
    assert [o.order_id for o in view.closed_orders(1)] == [2, 9, 7, 5, 3, 1]  # newest first
    assert view.order(1, 2).status == "filled"
    assert view.order(2, 2) is None  # not account 2's order
    assert [t.maker_order_id for t in view.trades(1)] == [2] and view.trades(2)[0].taker_order_id == 11


def test_history_is_bounded_and_forgets_from_the_index() -> None:
    _, view = run(history=3)
    assert [o.order_id for o in view.closed_orders(1)] == [2, 9, 7]
    assert view.order(1, 1) is None and view.order(1, 7) is not None
    assert len(view.open_orders(1)) == 4  # open orders are never forgotten


def test_state_round_trip() -> None:
    _, view = run(history=3)
    restored = AccountData.from_state(view.to_state())
    assert restored.to_state() == view.to_state()
    assert [o.order_id for o in restored.closed_orders(1)] == [2, 9, 7]
