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


level_strategy = st.tuples(st.integers(1, 60), st.integers(0, 3))
step_strategy = st.one_of(
    st.tuples(st.just("order"), op_strategy),
    st.tuples(
        st.just("replay"),
        st.tuples(st.booleans(), st.lists(level_strategy, max_size=8), st.lists(level_strategy, max_size=8)),
    ),
    st.tuples(st.just("read"), st.integers(0, 5)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step_strategy, max_size=120), st.integers(2, 25))
def test_replayed_sizes_and_orders_match_brute_force_read_now_and_then(
    steps: list[tuple[str, object]], span: int
) -> None:
    """Recorded sizes (`replay`, absolute) and client orders on one book, with many changes
    between reads: the sorted index catches up only when read, and must then be exact."""
    flow = OrderFlow(span=span)
    view = BookView(SYMBOL)
    replayed: tuple[dict[int, int], dict[int, int]] = ({}, {})

    def expected() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        orders = flow.levels()
        sides = []
        for levels, recorded, descending in zip(orders, replayed, (True, False), strict=True):
            totals = dict(levels)
            for price, size in recorded.items():
                totals[price] = totals.get(price, 0) + size
            sides.append(sorted(totals.items(), reverse=descending))
        return sides[0], sides[1]

    for kind, arg in steps:
        if kind == "order":
            view.apply(flow.step(arg))  # type: ignore[arg-type]
        elif kind == "replay":
            reset, bids, asks = arg  # type: ignore[misc]
            if reset:
                replayed[0].clear()
                replayed[1].clear()
            for recorded, levels in zip(replayed, (bids, asks), strict=True):
                for price, size in levels:
                    if size:
                        recorded[price] = size
                    else:
                        recorded.pop(price, None)
            view.replay(reset, list(bids), list(asks))
        else:
            bids, asks = expected()
            n = arg  # type: ignore[assignment]
            assert view.best_bid() == (bids[0] if bids else None)
            assert view.best_ask() == (asks[0] if asks else None)
            assert view.top(n) == (bids[:n], asks[:n])  # type: ignore[index]
    bids, asks = expected()
    assert view.top(10_000) == (bids, asks)
    assert view.best_bid() == (bids[0] if bids else None)
    assert view.best_ask() == (asks[0] if asks else None)
    assert view.level_count("buy") == len(bids) and view.level_count("sell") == len(asks)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_replayed_batches_between_reads_match_brute_force(seed: int) -> None:
    """Hundreds of recorded levels appearing and emptying between two reads (as a replay
    applied 8 s of recording at once): the index is either caught up level by level or rebuilt,
    and both give the brute-force book."""
    rnd = random.Random(seed)
    view = BookView(SYMBOL)
    truth: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for _ in range(300):
        for _ in range(rnd.choice([0, 1, 5, 40, 300, 1500])):
            side = rnd.randrange(2)
            price = rnd.randrange(1, 2_000) + (0 if side == 0 else 1_000)
            size = rnd.choice([0, 0, rnd.randrange(1, 100)])
            if size:
                truth[side][price] = size
            else:
                truth[side].pop(price, None)
            view.replay(False, [(price, size)] if side == 0 else [], [(price, size)] if side == 1 else [])
        bids, asks = sorted(truth[0].items(), reverse=True), sorted(truth[1].items())
        assert view.best_bid() == (bids[0] if bids else None)
        assert view.best_ask() == (asks[0] if asks else None)
        n = rnd.choice([1, 20, 10_000])
        assert view.top(n) == (bids[:n], asks[:n])
