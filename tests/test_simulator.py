"""The simulator: seeded, deterministic, and it makes a live two-sided market."""

from __future__ import annotations

import hashlib

import msgspec

from sandex.core.events import TradeEvent
from sandex.demo import DEMO_MARKETS
from sandex.sim.runner import simulate


def _markets():
    return [m.to_market() for m in DEMO_MARKETS]


def _hash(events) -> str:
    return hashlib.sha256(b"".join(msgspec.json.encode(e) for e in events)).hexdigest()


def test_same_seed_same_event_stream() -> None:
    assert _hash(simulate(_markets(), seed=7, steps=400)) == _hash(simulate(_markets(), seed=7, steps=400))
    assert _hash(simulate(_markets(), seed=7, steps=400)) != _hash(simulate(_markets(), seed=8, steps=400))


def test_every_market_trades_near_its_initial_price() -> None:
    events = simulate(_markets(), seed=3, steps=1500)
    for market in _markets():
        trades = [e for e in events if isinstance(e, TradeEvent) and e.symbol == market.symbol]
        assert len(trades) > 20, market.symbol
        for trade in trades:
            assert 0.5 * market.initial_price < trade.price < 1.5 * market.initial_price
