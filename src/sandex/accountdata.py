"""Private views derived from events: each account's orders, trades, trigger orders and
balance changes.

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
    BalanceEvent,
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


#: Why a balance changed: fills (fees included), or anything else (credits and debits).
CHANGE_TRADE = "trade"
CHANGE_TRANSFER = "transfer"


class BalanceChange(msgspec.Struct, array_like=True, gc=False):
    """A wallet's total (free + held) of one currency moved: the ledger's entries. Moves between
    free and held (placing, cancelling) change no total and are not entries."""

    seq: int  # of the balance event
    ts: int
    account_id: int
    wallet_id: str
    currency: str
    change: int  # ledger scale, signed
    balance: int  # the total after, ledger scale
    cause: str  # CHANGE_*


class AccountHistory:
    __slots__ = (
        "active_triggers",
        "balance_changes",
        "closed_orders",
        "closed_triggers",
        "open_orders",
        "trades",
    )

    def __init__(self, history: int) -> None:
        self.open_orders: dict[int, OrderEvent] = {}
        self.closed_orders: deque[OrderEvent] = deque(maxlen=history)
        self.trades: deque[TradeEvent] = deque(maxlen=history)
        self.active_triggers: dict[int, TriggerEvent] = {}
        self.closed_triggers: deque[TriggerEvent] = deque(maxlen=history)
        self.balance_changes: deque[BalanceChange] = deque(maxlen=history)


class _State(msgspec.Struct):
    history: int
    orders: list[OrderEvent]
    trades: list[tuple[int, TradeEvent]]
    triggers: list[TriggerEvent]
    # Absent from snapshots written before the ledger existed.
    balance_changes: list[BalanceChange] = []
    totals: list[tuple[str, str, int]] = []


class AccountData:
    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        self.history = history
        self.accounts: dict[int, AccountHistory] = {}
        #: order id -> latest event, for every order still remembered by some account.
        self.orders: dict[int, OrderEvent] = {}
        self.triggers: dict[int, TriggerEvent] = {}
        #: (wallet, currency) -> total (free + held) after the latest balance event.
        self.totals: dict[tuple[str, str], int] = {}
        # Wallets in the trades of the command whose events are being applied: a command's
        # balance events come last among its events, so they tell a fill from a credit.
        self._traded: set[str] = set()
        self._after_balances = False

    def _of(self, account_id: int) -> AccountHistory:
        history = self.accounts.get(account_id)
        if history is None:
            history = self.accounts[account_id] = AccountHistory(self.history)
        return history

    def apply(self, events: Iterable[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is BalanceEvent:
                self._balance(event)  # type: ignore[arg-type]
                self._after_balances = True
                continue
            if self._after_balances:  # the next command's events
                self._traded.clear()
                self._after_balances = False
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

    def _balance(self, event: BalanceEvent) -> None:
        key = (event.wallet_id, event.currency)
        total = event.free + event.held
        before = self.totals.get(key, 0)
        self.totals[key] = total
        if total != before:
            cause = CHANGE_TRADE if event.wallet_id in self._traded else CHANGE_TRANSFER
            self._of(event.account_id).balance_changes.append(
                BalanceChange(
                    event.seq,
                    event.ts,
                    event.account_id,
                    event.wallet_id,
                    event.currency,
                    total - before,
                    total,
                    cause,
                )
            )

    def _trade(self, event: TradeEvent) -> None:
        self._traded.add(event.maker_wallet_id)
        self._traded.add(event.taker_wallet_id)
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

    def balance_changes(self, account_id: int, currency: str | None = None) -> list[BalanceChange]:
        """Newest first."""
        history = self.accounts.get(account_id)
        if history is None:
            return []
        return [c for c in reversed(history.balance_changes) if currency is None or c.currency == currency]

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
        changes: list[BalanceChange] = []
        for account_id, history in self.accounts.items():
            changes.extend(history.balance_changes)
            orders.extend(history.closed_orders)
            orders.extend(history.open_orders.values())
            trades.extend((account_id, t) for t in history.trades)
            triggers.extend(history.closed_triggers)
            triggers.extend(history.active_triggers.values())
        orders.sort(key=lambda e: e.seq)
        trades.sort(key=lambda item: (item[1].seq, item[0]))
        triggers.sort(key=lambda e: e.seq)
        # JSON: fees and quote amounts are in ledger scale and can exceed 64 bits.
        changes.sort(key=lambda c: c.seq)
        totals = [(wallet, currency, total) for (wallet, currency), total in self.totals.items()]
        return msgspec.json.encode(_State(self.history, orders, trades, triggers, changes, totals))

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
        for change in state.balance_changes:
            view._of(change.account_id).balance_changes.append(change)
        view.totals = {(wallet, currency): total for wallet, currency, total in state.totals}
        return view
