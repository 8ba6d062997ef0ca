"""BookView against a brute-force aggregation of every resting order."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.core.events import FILLED, R_AMENDED, R_FILL
from sandex.marketdata.book import BookView

from .factories import SYMBOL, OrderFlow, op_strategy, order_event, random_op


def check(view: BookView, flow: OrderFlow) -> None:
    bids, asks = flow.levels()
    assert view.top(10_000) == (bids, asks)
    assert view.best_bid() == (bids[0] if bids else None)
    assert view.best_ask() == (asks[0] if asks else None)
    assert view.order_count == len(flow.resting)
    for n in (0, 1, 3):
        assert view.top(n) == (bids[:n], asks[:n])


@settings(max_examples=300, deadline=None)
@given(st.lists(op_strategy, max_size=200), st.integers(2, 25))
def test_book_matches_brute_force(ops: list[tuple[str, str, int, int, int]], span: int) -> None:
    flow = OrderFlow(span=span)
    view = BookView(SYMBOL)
    for op in ops:
        before = view.top(10_000)
        changed = view.apply(flow.step(op))
        check(view, flow)
        # apply() never hides a change: a False means the levels are exactly as before.
        if not changed:
            assert view.top(10_000) == before


def test_book_restores_from_state() -> None:
    flow = OrderFlow(span=5)
    view = BookView(SYMBOL)
    for i in range(300):
        view.apply(flow.step(("place" if i % 3 else "fill", "buy" if i % 2 else "sell", i * 7, i * 13, i)))
    restored = BookView.from_state(SYMBOL, view.to_state())
    assert restored.top(100) == view.top(100)
    assert restored.to_state() == view.to_state()


def test_amend_moves_order_to_new_level() -> None:
    view = BookView(SYMBOL)
    view.apply(order_event(order_id=1, side="buy", price=100, amount=5, resting=5))
    view.apply(order_event(order_id=2, side="buy", price=100, amount=3, resting=3))
    assert view.best_bid() == (100, 8)
    view.apply(order_event(order_id=1, side="buy", price=105, amount=5, resting=5, reason=R_AMENDED))
    assert view.top(5) == ([(105, 5), (100, 3)], [])
    assert view.resting(1) == (105, 5)
    # A fill at the new price, then the last fill removes the order and its level.
    view.apply(order_event(order_id=1, side="buy", price=105, amount=5, resting=2, filled=3, reason=R_FILL))
    assert view.level("buy", 105) == 2
    view.apply(
        order_event(
            order_id=1, side="buy", price=105, amount=5, resting=0, filled=5, status=FILLED, reason=R_FILL
        )
    )
    assert view.top(5) == ([(100, 3)], [])
    assert view.resting(1) is None
    assert view.level_count("buy") == 1


def test_orders_that_never_rest_are_ignored() -> None:
    view = BookView(SYMBOL)
    assert not view.apply(order_event(order_id=9, side="buy", price=0, amount=5, resting=0, kind="market"))
    # A late event for an order that already left the book changes nothing either.
    view.apply(order_event(order_id=1, side="sell", price=100, amount=5, resting=5))
    view.apply(order_event(order_id=1, side="sell", price=100, amount=5, resting=0, status=FILLED, filled=5))
    assert not view.apply(order_event(order_id=1, side="sell", price=100, amount=5, resting=0, status=FILLED))
    assert view.top(5) == ([], [])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_random_runs_match_brute_force(seed: int) -> None:
    rnd = random.Random(seed)
    flow = OrderFlow(span=15)
    view = BookView(SYMBOL)
    kinds = ["place"] * 3 + ["fill"] * 3 + ["cancel"] * 2 + ["amend"] * 3 + ["taker"]
    for _ in range(5_000):
        view.apply(flow.step(random_op(rnd, kinds)))
        check(view, flow)
