"""Market data fed by the real matching engine: the views built from its events alone match
the engine's own book after every command, and the depth diffs stay exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.core.commands import AmendOrder, CancelOrder, Command, CreateAccount, Deposit, PlaceOrder
from sandex.core.engine import Engine
from sandex.core.events import TradeEvent
from sandex.core.markets import make_market
from sandex.core.numbers import LEDGER_ONE
from sandex.marketdata.depth import DepthView, apply_diff
from sandex.marketdata.service import MarketData

MARKETS = [make_market("BTC_USDT", 2, 4), make_market("ETH_BTC", 4, 3)]
MIDS = {"BTC_USDT": 1_000_000, "ETH_BTC": 500}
T0 = 1_717_200_000_000


@st.composite
def commands(draw: st.DrawFn) -> list[tuple]:
    """Intents: ("cmd", Command) as is, or ("cancel"/"amend", pick, price, amount), resolved
    against the engine's open orders when run, so that most cancels and amends hit an order."""
    n = draw(st.integers(20, 250))
    out: list[tuple] = []
    for _ in range(n):
        account = draw(st.integers(1, 3))
        symbol = draw(st.sampled_from(list(MIDS)))
        side = draw(st.sampled_from(["buy", "sell"]))
        price = MIDS[symbol] + draw(st.integers(-6, 6))
        amount = draw(st.integers(1, 30)) * 100
        kind = draw(st.integers(0, 99))
        if kind < 50:
            tif = draw(st.sampled_from(["gtc", "gtc", "gtc", "ioc", "post_only"]))
            out.append(("cmd", PlaceOrder(account, symbol, side, tif=tif, price=price, amount=amount)))
        elif kind < 58:
            if side == "buy":
                out.append(
                    ("cmd", PlaceOrder(account, symbol, side, kind="market", quote_amount=LEDGER_ONE // 10))
                )
            else:
                out.append(("cmd", PlaceOrder(account, symbol, side, kind="market", amount=amount)))
        elif kind < 72:
            out.append(("cancel", draw(st.integers(0, 10**6)), 0, 0))
        else:
            # A new price near the order's own (it may cross and trade), and a new total amount.
            out.append(("amend", draw(st.integers(0, 10**6)), draw(st.integers(-4, 4)), amount))
    return out


def resolve(engine: Engine, intent: tuple) -> Command:
    if intent[0] == "cmd":
        return intent[1]
    kind, pick, move, amount = intent
    orders = sorted(engine.orders.values(), key=lambda o: o.id)
    if not orders:
        return CancelOrder(1, 1)  # rejected: the engine says so, market data sees nothing
    order = orders[pick % len(orders)]
    if kind == "cancel":
        return CancelOrder(order.account_id, order.id)
    return AmendOrder(order.account_id, order.id, order.price + move, order.filled + amount)


@settings(max_examples=60, deadline=None)
@given(commands(), st.integers(1, 4))
def test_views_follow_the_engine(program: list[tuple], n: int) -> None:
    engine = Engine(MARKETS, seed=1)
    md = MarketData(MARKETS)
    ts = T0
    for i in range(3):
        md.apply(engine.apply(CreateAccount(f"a{i}", f"k{i}", f"s{i}"), ts))
    for account in engine.accounts.values():
        for currency in ("USDT", "BTC", "ETH"):
            md.apply(engine.apply(Deposit(account.wallets[0], currency, 10**6 * LEDGER_ONE), ts))
    publishers = {s: DepthView(n) for s in MIDS}
    clients = {s: publishers[s].snapshot(md.book(s)) for s in MIDS}
    seen: dict[str, list[TradeEvent]] = {s: [] for s in MIDS}
    for intent in program:
        ts += 20_000  # 20 s a command: 250 commands span klines of several minutes and hours
        events = engine.apply(resolve(engine, intent), ts)
        update = md.apply(events)
        trades = [e for e in events if isinstance(e, TradeEvent)]
        assert update.trades == {s: [t for t in trades if t.symbol == s] for s in {t.symbol for t in trades}}
        for trade in trades:
            seen[trade.symbol].append(trade)
        for symbol in MIDS:
            assert md.top(symbol, 1000) == engine.book_levels(symbol, 1000)
            if symbol in update.depth_changed:
                diff = publishers[symbol].diff(md.book(symbol))
                if diff is not None:
                    clients[symbol] = apply_diff(clients[symbol], diff, n)
            assert clients[symbol] == engine.book_levels(symbol, n)
            ticker = md.ticker(symbol)
            bid, ask = engine.book_levels(symbol, 1)
            assert (ticker.best_bid, ticker.best_bid_size) == (bid[0] if bid else (0, 0))
            assert (ticker.best_ask, ticker.best_ask_size) == (ask[0] if ask else (0, 0))
    # The whole run spans less than a day: every trade is in the ticker and in the yearly bar.
    for symbol, trades in seen.items():
        ticker = md.ticker(symbol)
        assert ticker.count_24h == sum(b.count for b in md.bars(symbol, "1y")) == len(trades)
        assert ticker.base_volume_24h == sum(t.amount for t in trades)
        assert ticker.quote_volume_24h == sum(t.value for t in trades)
        assert md.recent_trades(symbol) == trades[::-1][:200]
