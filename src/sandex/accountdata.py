"""Private views derived from events: each account's orders, trades and trigger orders.

The engine keeps only what it needs to match (open orders); REST queries such as "this order,
even though it filled an hour ago" or "my last trades" are answered from here. Like market data,
it is rebuilt from events alone, snapshotted with the engine, and bounded: open orders and active
triggers are always kept, finished ones only the newest `history` per account.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import msgspec

from .core.events import (
    CANCELLED,
    FILLED,
    T_DISABLED,
    T_WAITING,
    Event,
    OrderEvent,
    TradeEvent,
    TriggerEvent,
)

DEFAULT_HISTORY = 5000


def _append_forgetting(history: deque[Any], event: Any, index: dict[int, Any], id_field: str) -> None:
    """Append to a bounded history; the entry it pushes out is also dropped from `index`
    (unless the index already holds a newer event for that id)."""
    if len(history) == history.maxlen:
        forgotten = history[0]
        key = getattr(forgotten, id_field)
        if index.get(key) is forgotten:
            del index[key]
    history.append(event)


class AccountHistory:
    __slots__ = ("active_triggers", "closed_orders", "closed_triggers", "open_orders", "trades")

    def __init__(self, history: int) -> None:
        self.open_orders: dict[int, OrderEvent] = {}
        self.closed_orders: deque[OrderEvent] = deque(maxlen=history)
        self.trades: deque[TradeEvent] = deque(maxlen=history)
        self.active_triggers: dict[int, TriggerEvent] = {}
        self.closed_triggers: deque[TriggerEvent] = deque(maxlen=history)


class _State(msgspec.Struct):
    history: int
    orders: list[OrderEvent]
    trades: list[tuple[int, TradeEvent]]
    triggers: list[TriggerEvent]


class AccountData:
    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        self.history = history
        self.accounts: dict[int, AccountHistory] = {}
        #: order id -> latest event, for every order still remembered by some account.
        self.orders: dict[int, OrderEvent] = {}
        self.triggers: dict[int, TriggerEvent] = {}

    def _of(self, account_id: int) -> AccountHistory:
        history = self.accounts.get(account_id)
        if history is None:
            history = self.accounts[account_id] = AccountHistory(self.history)
        return history

    def apply(self, events: Iterable[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is OrderEvent:
                self._order(event)  # type: ignore[arg-type]
            elif kind is TradeEvent:
                self._trade(event)  # type: ignore[arg-type]
            elif kind is TriggerEvent:
                self._trigger(event)  # type: ignore[arg-type]

    def _order(self, event: OrderEvent) -> None:
        history = self._of(event.account_id)
        if event.status == FILLED or event.status == CANCELLED:
            history.open_orders.pop(event.order_id, None)
            _append_forgetting(history.closed_orders, event, self.orders, "order_id")
        else:
            history.open_orders[event.order_id] = event
        self.orders[event.order_id] = event

    def _trade(self, event: TradeEvent) -> None:
        self._of(event.taker_account_id).trades.append(event)
        if event.maker_account_id != event.taker_account_id:
            self._of(event.maker_account_id).trades.append(event)

    def _trigger(self, event: TriggerEvent) -> None:
        history = self._of(event.account_id)
        if event.status == T_WAITING or event.status == T_DISABLED:
            history.active_triggers[event.trigger_id] = event
        else:
            history.active_triggers.pop(event.trigger_id, None)
            _append_forgetting(history.closed_triggers, event, self.triggers, "trigger_id")
        self.triggers[event.trigger_id] = event

    # ------------------------------------------------------------------ queries
    def order(self, account_id: int, order_id: int) -> OrderEvent | None:
        event = self.orders.get(order_id)
        return event if event is not None and event.account_id == account_id else None

    def open_orders(self, account_id: int, symbol: str | None = None) -> list[OrderEvent]:
        history = self.accounts.get(account_id)
        if history is None:
            return []
        return [o for o in history.open_orders.values() if symbol is None or o.symbol == symbol]

    def closed_orders(self, account_id: int, symbol: str | None = None) -> list[OrderEvent]:
        """Newest first."""
        history = self.accounts.get(account_id)
        if history is None:
            return []
        return [o for o in reversed(history.closed_orders) if symbol is None or o.symbol == symbol]

    def trades(self, account_id: int, symbol: str | None = None) -> list[TradeEvent]:
        """Newest first."""
        history = self.accounts.get(account_id)
        if history is None:
            return []
        return [t for t in reversed(history.trades) if symbol is None or t.symbol == symbol]

    def triggers_of(self, account_id: int, *, active: bool | None = None) -> list[TriggerEvent]:
        history = self.accounts.get(account_id)
        if history is None:
            return []
        out: list[TriggerEvent] = []
        if active is not False:
            out.extend(history.active_triggers.values())
        if active is not True:
            out.extend(reversed(history.closed_triggers))
        return out

    # ------------------------------------------------------------------ snapshots
    def to_state(self) -> bytes:
        orders: list[OrderEvent] = []
        trades: list[tuple[int, TradeEvent]] = []
        triggers: list[TriggerEvent] = []
        for account_id, history in self.accounts.items():
            orders.extend(history.closed_orders)
            orders.extend(history.open_orders.values())
            trades.extend((account_id, t) for t in history.trades)
            triggers.extend(history.closed_triggers)
            triggers.extend(history.active_triggers.values())
        orders.sort(key=lambda e: e.seq)
        trades.sort(key=lambda item: (item[1].seq, item[0]))
        triggers.sort(key=lambda e: e.seq)
        # JSON: fees and quote amounts are in ledger scale and can exceed 64 bits.
        return msgspec.json.encode(_State(self.history, orders, trades, triggers))

    @classmethod
    def from_state(cls, data: bytes) -> AccountData:
        state = msgspec.json.decode(data, type=_State)
        view = cls(state.history)
        for event in state.orders:
            view._order(event)
        for account_id, trade in state.trades:
            view._of(account_id).trades.append(trade)
        for trigger in state.triggers:
            view._trigger(trigger)
        return view
