"""Property-based tests of the matching engine over long random command sequences.

After every command: the book is not crossed; every trade took the best-priced, oldest live
order (price-time priority, checked against a shadow book rebuilt from events); per-currency
conservation holds; no balance is negative; every wallet's held balance equals what its open
orders still need. Over whole sequences: the same commands give the same event stream, and a
snapshot taken midway and restored gives the same events as an uninterrupted run.
"""

from __future__ import annotations

import hashlib

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandex.core.commands import (
    AmendOrder,
    CancelOrder,
    CancelTrigger,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    PlaceTrigger,
    SetTriggerEnabled,
    Tick,
)
from sandex.core.engine import Engine
from sandex.core.events import OrderEvent, TradeEvent
from sandex.core.markets import make_market
from sandex.core.numbers import LEDGER_ONE

MARKETS = [
    make_market("BTC_USDT", 2, 4, "0.0001", "1", maker_fee="0.001", taker_fee="0.002"),
    make_market("ETH_BTC", 4, 3, "0.001", "0", maker_fee="0", taker_fee="0.0015"),
]
MIDS = {"BTC_USDT": 1_000_000, "ETH_BTC": 500}
ACCOUNTS = 4


def setup(engine: Engine) -> list[Command]:
    commands: list[Command] = [CreateAccount(f"a{i}", f"k{i}", f"s{i}") for i in range(ACCOUNTS)]
    for command in commands:
        engine.apply(command, 1)
    deposits: list[Command] = []
    for account in engine.accounts.values():
        for currency, amount in (("USDT", 50_000), ("BTC", 5), ("ETH", 50)):
            deposits.append(Deposit(account.wallets[0], currency, amount * LEDGER_ONE))
    for command in deposits:
        engine.apply(command, 1)
    return commands + deposits


@st.composite
def command_lists(draw, max_size: int = 300) -> list[Command]:
    n = draw(st.integers(min_value=20, max_value=max_size))
    out: list[Command] = []
    for _ in range(n):
        account = draw(st.integers(1, ACCOUNTS))
        symbol = draw(st.sampled_from(list(MIDS)))
        mid = MIDS[symbol]
        side = draw(st.sampled_from(["buy", "sell"]))
        price = mid + draw(st.integers(-8, 8))
        amount = draw(st.integers(1, 40)) * 100
        kind = draw(st.integers(0, 99))
        if kind < 35:
            tif = draw(st.sampled_from(["gtc", "gtc", "ioc", "post_only"]))
            out.append(PlaceOrder(account, symbol, side, tif=tif, price=price, amount=amount))
        elif kind < 45:
            if side == "buy":
                out.append(
                    PlaceOrder(
                        account,
                        symbol,
                        side,
                        kind="market",
                        quote_amount=draw(st.integers(1, 3000)) * LEDGER_ONE // 100,
                    )
                )
            else:
                out.append(PlaceOrder(account, symbol, side, kind="market", amount=amount))
        elif kind < 60:
            out.append(CancelOrder(account, draw(st.integers(1, n))))
        elif kind < 85:
            out.append(
                AmendOrder(account, draw(st.integers(1, n)), price, amount + draw(st.integers(-5, 5)) * 100)
            )
        elif kind < 93:
            direction = draw(st.sampled_from(["up", "down"]))
            out.append(
                PlaceTrigger(
                    account,
                    symbol,
                    side,
                    price,
                    direction,
                    kind=draw(st.sampled_from(["limit", "market"])),
                    price=price,
                    amount=amount,
                    quote_amount=amount * LEDGER_ONE // 1000,
                    expires_at=draw(st.sampled_from([0, 50, 200])),
                )
            )
        elif kind < 96:
            out.append(CancelTrigger(account, draw(st.integers(1, 30))))
        elif kind < 98:
            out.append(SetTriggerEnabled(account, draw(st.integers(1, 30)), draw(st.booleans())))
        else:
            out.append(Tick())
    return out


class ShadowBook:
    """Resting orders rebuilt from events, with their time-priority key (for the checks)."""

    def __init__(self) -> None:
        # order_id -> (symbol, side, price, resting, priority_key)
        self.orders: dict[int, tuple[str, str, int, int, int]] = {}

    def apply(self, event: OrderEvent) -> None:
        old = self.orders.get(event.order_id)
        if event.resting == 0:
            self.orders.pop(event.order_id, None)
            return
        keeps_priority = old is not None and old[2] == event.price and event.resting <= old[3]
        key = old[4] if keeps_priority else event.seq
        self.orders[event.order_id] = (event.symbol, event.side, event.price, event.resting, key)

    def check_trade(self, trade: TradeEvent) -> None:
        maker_side = "sell" if trade.taker_side == "buy" else "buy"
        candidates = [
            (o[2], o[4], oid) for oid, o in self.orders.items() if o[0] == trade.symbol and o[1] == maker_side
        ]
        assert candidates, "trade against an empty side"
        best_price = min(c[0] for c in candidates) if maker_side == "sell" else max(c[0] for c in candidates)
        assert trade.price == best_price, "trade not at the best price"
        oldest = min((c for c in candidates if c[0] == best_price), key=lambda c: c[1])
        assert trade.maker_order_id == oldest[2], "trade skipped an older order at the best price"


def check_invariants(engine: Engine) -> None:
    for symbol, book in engine.books.items():
        bid, ask = book.bids.best_price(), book.asks.best_price()
        assert bid is None or ask is None or bid < ask, f"{symbol} crossed: {bid} >= {ask}"
        for side in (book.bids, book.asks):
            for level in side.iter_levels():
                live = [o for q, o in level.queue if o.qpos == q]
                assert level.live == len(live) > 0
                assert level.total == sum(o.remaining for o in live)
    totals = engine.ledger.totals()
    for currency, deposited in engine.ledger.deposits.items():
        assert totals.get(currency, 0) + engine.ledger.fees.get(currency, 0) == deposited, currency
    for (wallet, currency), (free, held) in engine.ledger.balances.items():
        assert free >= 0 and held >= 0, (wallet, currency, free, held)
    needed: dict[tuple[str, str], int] = {}
    for order in engine.orders.values():
        market = engine.markets[order.symbol]
        if order.side == "buy":
            expected = order.remaining * order.price * market.value_to_ledger
            key = (order.wallet_id, market.quote)
        else:
            expected = order.remaining * market.base_to_ledger
            key = (order.wallet_id, market.base)
        assert order.hold == expected, (order.id, order.hold, expected)
        needed[key] = needed.get(key, 0) + expected
    for key, (_free, held) in engine.ledger.balances.items():
        assert held == needed.get(key, 0), (key, held, needed.get(key, 0))


def run(commands: list[Command], *, checks: bool) -> tuple[Engine, list]:
    engine = Engine(MARKETS, seed=3)
    setup(engine)
    shadow = ShadowBook()
    events = []
    for ts, command in enumerate(commands, 2):
        out = engine.apply(command, ts * 5)
        events.extend(out)
        if checks:
            for event in out:
                if type(event) is TradeEvent:
                    shadow.check_trade(event)
                elif type(event) is OrderEvent:
                    shadow.apply(event)
            check_invariants(engine)
    return engine, events


def digest(events: list) -> str:
    return hashlib.sha256(b"".join(msgspec.json.encode(e) for e in events)).hexdigest()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lists())
def test_invariants_hold_after_every_command(commands: list[Command]) -> None:
    run(commands, checks=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lists(max_size=200), st.integers(0, 199))
def test_same_commands_same_events_and_snapshot_restore(commands: list[Command], cut: int) -> None:
    _, first = run(commands, checks=False)
    _, second = run(commands, checks=False)
    assert digest(first) == digest(second)

    cut = min(cut, len(commands))
    engine = Engine(MARKETS, seed=3)
    setup(engine)
    before = []
    for ts, command in enumerate(commands[:cut], 2):
        before.extend(engine.apply(command, ts * 5))
    restored = Engine(MARKETS, seed=0)
    restored.from_state(engine.to_state())
    after = []
    for ts, command in enumerate(commands[cut:], cut + 2):
        after.extend(restored.apply(command, ts * 5))
    check_invariants(restored)
    assert digest(before + after) == digest(first)


def test_long_sequence_trades_and_stays_consistent() -> None:
    """A long seeded run (thousands of commands) through the same checks, to reach deep books."""
    import random

    rng = random.Random(11)
    commands: list[Command] = []
    for i in range(4000):
        symbol = rng.choice(list(MIDS))
        side = rng.choice(["buy", "sell"])
        price = MIDS[symbol] + rng.randint(-10, 10)
        roll = rng.random()
        account = rng.randint(1, ACCOUNTS)
        if roll < 0.45:
            commands.append(
                PlaceOrder(
                    account,
                    symbol,
                    side,
                    tif=rng.choice(["gtc", "ioc", "post_only"]),
                    price=price,
                    amount=rng.randint(1, 30) * 100,
                )
            )
        elif roll < 0.6:
            commands.append(CancelOrder(account, rng.randint(1, i + 1)))
        elif roll < 0.9:
            commands.append(AmendOrder(account, rng.randint(1, i + 1), price, rng.randint(1, 30) * 100))
        else:
            commands.append(
                PlaceTrigger(
                    account,
                    symbol,
                    side,
                    price,
                    rng.choice(["up", "down"]),
                    kind="limit",
                    price=price,
                    amount=100,
                )
            )
    _engine, events = run(commands, checks=True)
    assert sum(1 for e in events if type(e) is TradeEvent) > 300
