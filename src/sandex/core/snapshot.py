"""The engine's state as bytes, and back: what a snapshot stores so that a restart does not
replay the whole journal. JSON, not msgpack: balances in ledger scale exceed 64-bit integers.

`from_state` rebuilds what is derived rather than stored: the books' levels and queue order,
each order's hold cell, the trigger index and the key lookup (keyed accounts only).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import msgspec

from . import triggers
from .commands import BUY
from .events import T_WAITING
from .orders import Order, Trigger

if TYPE_CHECKING:
    from .engine import Engine


def to_state(engine: Engine) -> bytes:
    orders = sorted(engine.orders.values(), key=lambda o: o.qpos)
    state = {
        "version": 1,
        "markets": sorted((m.symbol, m.price_precision, m.amount_precision) for m in engine.markets.values()),
        "counters": [
            engine.seed,
            engine.seq,
            engine.now,
            engine.next_order_id,
            engine.next_trade_id,
            engine.next_trigger_id,
            engine.next_account_id,
            engine.wallet_counter,
            engine.qpos,
        ],
        "accounts": [[a.id, a.name, a.api_key, a.secret, a.wallets] for a in engine.accounts.values()],
        "wallets": [[w.id, w.account_id, w.name] for w in engine.wallets.values()],
        "balances": [[w, c, cell[0], cell[1]] for (w, c), cell in engine.ledger.balances.items()],
        "fees": dict(engine.ledger.fees),
        "deposits": dict(engine.ledger.deposits),
        "orders": [o.to_row() for o in orders],
        "last_prices": {s: b.last_price for s, b in engine.books.items()},
        "triggers": [t.to_row() for t in sorted(engine.triggers.values(), key=lambda t: t.id)],
        "expiries": sorted(engine.expiries),
        "plugins": {p.name: p.to_state() for p in engine.plugins},
    }
    if engine.account_fees:  # only when set: a state without them reads as before
        state["account_fees"] = sorted([a, m, t] for a, (m, t) in engine.account_fees.items())
    # JSON, not msgpack: balances in ledger scale exceed 64-bit integers.
    return msgspec.json.encode(state)


def from_state(engine: Engine, data: bytes) -> None:
    from .engine import Account, Wallet  # here: the engine imports this module

    state = msgspec.json.decode(data)
    known = {(m.symbol, m.price_precision, m.amount_precision) for m in engine.markets.values()}
    for symbol, pp, ap in state["markets"]:
        if (symbol, pp, ap) not in known:
            raise ValueError(f"snapshot market {symbol} ({pp}/{ap}) differs from the configured markets")
    (
        engine.seed,
        engine.seq,
        engine.now,
        engine.next_order_id,
        engine.next_trade_id,
        engine.next_trigger_id,
        engine.next_account_id,
        engine.wallet_counter,
        engine.qpos,
    ) = state["counters"]
    for aid, name, key, secret, wallets in state["accounts"]:
        account = Account(aid, name, key, secret)
        account.wallets = list(wallets)
        engine.accounts[aid] = account
        if key:
            engine.account_by_key[key] = account
    for aid, maker, taker in state.get("account_fees", []):
        engine.account_fees[aid] = (maker, taker)
    for wid, aid, name in state["wallets"]:
        engine.wallets[wid] = Wallet(wid, aid, name)
        engine._wallet_account[wid] = aid
    for wid, cur, free, held in state["balances"]:
        engine.ledger.balances[(wid, cur)] = [free, held]
    engine.ledger.fees.update(state["fees"])
    engine.ledger.deposits.update(state["deposits"])
    balances = engine.ledger.balances
    for row in state["orders"]:
        order = Order.from_row(row)
        market = engine.markets[order.symbol]
        key = (order.wallet_id, market.quote if order.side == BUY else market.base)
        order.hold_key = key
        order.hold_cell = balances[key]
        book = engine.books[order.symbol]
        (book.bids if order.side == BUY else book.asks).add(order, order.qpos)
        engine.orders[order.id] = order
    for symbol, last in state["last_prices"].items():
        if symbol in engine.books:
            engine.books[symbol].last_price = last
    for row in state["triggers"]:
        trigger = Trigger.from_row(row)
        engine.triggers[trigger.id] = trigger
        if trigger.status == T_WAITING:
            triggers.index(engine, trigger)
    engine.expiries = [tuple(e) for e in state["expiries"]]
    heapq.heapify(engine.expiries)
    plugin_states = state.get("plugins", {})
    for plugin in engine.plugins:
        if plugin.name in plugin_states:
            plugin.from_state(plugin_states[plugin.name])
