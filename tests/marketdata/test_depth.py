"""Depth diffs are exact: snapshot + every diff in order == the current top-N, always."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.marketdata.book import BookView, Top
from sandex.marketdata.depth import DepthDiff, DepthDiffError, DepthView, apply_diff, depth_diff

from .factories import SYMBOL, OrderFlow, op_strategy, order_event, random_op


@pytest.mark.parametrize(("n", "span"), [(1, 4), (3, 6), (3, 20), (30, 35), (30, 80)])
@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(op_strategy, min_size=1, max_size=400), every=st.integers(1, 5), resync=st.integers(0, 400)
)
def test_diffs_reproduce_top_n(n: int, span: int, ops: list, every: int, resync: int) -> None:
    """A client applying each published diff holds exactly the top-N, at every publish.

    Publishes happen every `every` events (diffs then cover several changes), and at step
    `resync` the client takes a fresh clean snapshot, as after a reconnect.
    """
    flow = OrderFlow(span=span)
    view = BookView(SYMBOL)
    publisher = DepthView(n)
    client = publisher.snapshot(view)
    for i, op in enumerate(ops, 1):
        view.apply(flow.step(op))
        if i == resync:
            client = publisher.snapshot(view)
        elif i % every == 0:
            diff = publisher.diff(view)
            if diff is not None:
                client = apply_diff(client, diff, n)
            assert client == flow.top(n)
            assert client == publisher.sent


def _window(levels: dict[int, int], n: int, descending: bool) -> list[tuple[int, int]]:
    return sorted(levels.items(), reverse=descending)[:n]


side = st.dictionaries(st.integers(1, 40), st.integers(1, 5), max_size=40)


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 30), side, side, side, side)
def test_diff_of_any_two_windows_is_exact_and_minimal(n: int, b0: dict, a0: dict, b1: dict, a1: dict) -> None:
    prev: Top = (_window(b0, n, True), _window(a0, n, False))
    new: Top = (_window(b1, n, True), _window(a1, n, False))
    diff = depth_diff(prev, new)
    assert apply_diff(prev, diff, n) == new
    # Minimal: only prices whose quantity differs between the windows are sent.
    for i, changes in enumerate((diff.bids, diff.asks)):
        old, cur = dict(prev[i]), dict(new[i])
        assert {p for p, _ in changes} == {
            p for p in old.keys() | cur.keys() if old.get(p, 0) != cur.get(p, 0)
        }
    assert diff.bids == sorted(diff.bids, reverse=True)
    assert diff.asks == sorted(diff.asks)
    assert bool(diff) == (prev != new)


def test_better_level_pushes_the_last_one_out() -> None:
    prev: Top = ([(1000, 1), (990, 2), (980, 3)], [])
    # A deeper level arriving outside the window changes nothing the client holds.
    assert not depth_diff(prev, ([(1000, 1), (990, 2), (980, 3)], []))
    better: Top = ([(1005, 7), (1000, 1), (990, 2)], [])
    diff = depth_diff(prev, better)
    # The client must learn the new level AND drop the one that left the window.
    assert diff == DepthDiff(bids=[(1005, 7), (980, 0)], asks=[])
    assert apply_diff(prev, diff, 3) == better


def test_levels_returning_into_the_window_are_sent_with_their_qty() -> None:
    view = BookView(SYMBOL)
    for order_id, price in enumerate([110, 111, 112, 113, 114], 1):
        view.apply(
            order_event(order_id=order_id, side="sell", price=price, amount=order_id, resting=order_id)
        )
    publisher = DepthView(3)
    client = publisher.snapshot(view)
    assert client == ([], [(110, 1), (111, 2), (112, 3)])
    # Two best asks go away: 113 and 114 move up into the window.
    view.apply(order_event(order_id=1, side="sell", price=110, amount=1, resting=0, status="cancelled"))
    view.apply(order_event(order_id=2, side="sell", price=111, amount=2, resting=0, status="cancelled"))
    diff = publisher.diff(view)
    assert diff == DepthDiff(bids=[], asks=[(110, 0), (111, 0), (113, 4), (114, 5)])
    assert apply_diff(client, diff, 3) == ([], [(112, 3), (113, 4), (114, 5)])
    assert publisher.diff(view) is None


def test_client_detects_a_missed_drop() -> None:
    prev: Top = ([(1000, 1), (990, 2)], [])
    incomplete = DepthDiff(bids=[(1005, 7)], asks=[])  # forgot (990, 0)
    with pytest.raises(DepthDiffError):
        apply_diff(prev, incomplete, 2)


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_random_runs_stay_exact(n: int, seed: int) -> None:
    """10 000 events around a window that is full most of the time, with a check that both edge
    cases really happened: levels pushed out of the window while still on the book, and levels
    already on the book moving up into the window."""
    rnd = random.Random(seed)
    flow = OrderFlow(span=n + 12)
    view = BookView(SYMBOL)
    publisher = DepthView(n)
    client = publisher.snapshot(view)
    pushed_out = moved_in = 0
    # Keep about one and a half orders per price step on the book, so each side has more levels than the
    # window most of the time, with churn at the top.
    target = 3 * flow.span
    grow = ["place"] * 6 + ["fill", "cancel", "amend", "taker"]
    shrink = ["place", "fill", "fill", "cancel", "cancel", "cancel", "amend"]
    for _ in range(10_000):
        kinds = grow if len(flow.resting) < target else shrink
        before = {side: dict(levels) for side, levels in zip("ba", flow.levels(), strict=False)}
        view.apply(flow.step(random_op(rnd, kinds)))
        after = {side: dict(levels) for side, levels in zip("ba", flow.levels(), strict=False)}
        diff = publisher.diff(view)
        if diff is not None:
            client = apply_diff(client, diff, n)
            for side, changes in zip("ba", (diff.bids, diff.asks), strict=False):
                for price, qty in changes:
                    if qty == 0 and price in after[side]:
                        pushed_out += 1
                    elif qty and price in before[side] and before[side][price] == qty:
                        moved_in += 1
        assert client == flow.top(n)
    assert pushed_out > 100 and moved_in > 100
