"""Trigger orders: placing, indexing, firing, cancelling, enabling and expiring them.

The state is the engine's (`triggers`, `trigger_index`, `expiries`, `next_trigger_id`), because
the hot path reads it after every sweep (`Engine._after_trades` queues the triggers a trade
reached) and before every command (`Engine.apply` expires what is due); everything else about
triggers is here, out of the compiled engine's module. Each function takes the engine first.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, cast

from .commands import (
    BUY,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    CancelTrigger,
    PlaceOrder,
    PlaceTrigger,
    SetTriggerEnabled,
)
from .events import (
    E_INVALID_AMOUNT,
    E_INVALID_PRICE,
    E_INVALID_SIDE,
    E_INVALID_TYPE,
    E_NOT_FOUND,
    E_UNKNOWN_SYMBOL,
    E_UNKNOWN_WALLET,
    T_CANCELLED,
    T_DISABLED,
    T_EXPIRED,
    T_FAILED,
    T_TRIGGERED,
    T_WAITING,
    Rejected,
    TriggerEvent,
)
from .literals import Direction, OrderKind, Side
from .orders import Trigger

if TYPE_CHECKING:
    from .engine import Engine


def place(engine: Engine, cmd: PlaceTrigger) -> Trigger | None:
    market = engine.markets.get(cmd.symbol)
    acct, symbol, src, src_id = cmd.account_id, cmd.symbol, cmd.source, cmd.source_id
    if market is None:
        engine.reject(acct, symbol, E_UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}", 0, src, src_id)
        return None
    wallet_id = engine.resolve_wallet(acct, cmd.wallet_id)
    if wallet_id is None:
        engine.reject(acct, symbol, E_UNKNOWN_WALLET, "unknown account or wallet", 0, src, src_id)
        return None
    if cmd.side != BUY and cmd.side != SELL:
        engine.reject(acct, symbol, E_INVALID_SIDE, f"invalid side {cmd.side!r}", 0, src, src_id)
        return None
    if cmd.direction not in ("up", "down") or cmd.trigger_price <= 0:
        engine.reject(
            acct,
            symbol,
            E_INVALID_PRICE,
            "trigger needs a positive price and direction up|down",
            0,
            src,
            src_id,
        )
        return None
    if cmd.kind not in (LIMIT, MARKET) or (cmd.kind == LIMIT and cmd.price <= 0):
        engine.reject(
            acct,
            symbol,
            E_INVALID_TYPE,
            "trigger order must be market, or limit with a price",
            0,
            src,
            src_id,
        )
        return None
    sized = cmd.quote_amount if (cmd.kind == MARKET and cmd.side == BUY) else cmd.amount
    if sized <= 0:
        engine.reject(acct, symbol, E_INVALID_AMOUNT, "trigger order needs a positive amount", 0, src, src_id)
        return None
    trigger = Trigger()
    trigger.id = engine.next_trigger_id
    engine.next_trigger_id += 1
    trigger.account_id, trigger.wallet_id, trigger.symbol, trigger.side = (
        acct,
        wallet_id,
        symbol,
        cast(Side, cmd.side),  # checked above, as direction and kind
    )
    trigger.trigger_price = cmd.trigger_price
    trigger.direction, trigger.kind = cast(Direction, cmd.direction), cast(OrderKind, cmd.kind)
    trigger.price, trigger.amount, trigger.quote_amount = cmd.price, cmd.amount, cmd.quote_amount
    trigger.expires_at, trigger.status, trigger.order_id = cmd.expires_at, T_WAITING, 0
    trigger.created_ts, trigger.source, trigger.source_id = engine.now, src, src_id
    trigger.sub_source, trigger.group_id = cmd.sub_source, cmd.group_id
    engine.triggers[trigger.id] = trigger
    index(engine, trigger)
    if trigger.expires_at:
        heapq.heappush(engine.expiries, (trigger.expires_at, trigger.id))
    _event(engine, trigger, "placed")
    return trigger


def index(engine: Engine, trigger: Trigger) -> None:
    up, down = engine.trigger_index[trigger.symbol]
    (up if trigger.direction == "up" else down).add((trigger.trigger_price, trigger.id))


def unindex(engine: Engine, trigger: Trigger) -> None:
    up, down = engine.trigger_index[trigger.symbol]
    (up if trigger.direction == "up" else down).discard((trigger.trigger_price, trigger.id))


def _event(engine: Engine, t: Trigger, reason: str) -> TriggerEvent:
    engine.seq += 1
    event = TriggerEvent(
        engine.seq,
        engine.now,
        t.id,
        t.account_id,
        t.wallet_id,
        t.symbol,
        t.side,
        t.trigger_price,
        t.direction,
        t.kind,
        t.price,
        t.amount,
        t.quote_amount,
        t.expires_at,
        t.status,
        reason,
        t.order_id,
        t.created_ts,
        t.source,
        t.source_id,
        t.sub_source,
        t.group_id,
    )
    engine._out.append(event)
    for plugin in engine.plugins:
        plugin.on_trigger(event)
    return event


def fire(engine: Engine, trigger_id: int) -> None:
    trigger = engine.triggers.pop(trigger_id, None)
    if trigger is None or trigger.status != T_WAITING:
        return
    order = engine.place_order(
        PlaceOrder(
            trigger.account_id,
            trigger.symbol,
            trigger.side,
            trigger.kind,
            GTC if trigger.kind == LIMIT else IOC,
            trigger.price,
            trigger.amount,
            trigger.quote_amount,
            trigger.wallet_id,
            "",
            trigger.source or "trigger",
            trigger.source_id or str(trigger.id),
        )
    )
    if order is None:
        trigger.status = T_FAILED
        rejected = engine._out[-1]
        _event(engine, trigger, rejected.code if isinstance(rejected, Rejected) else "rejected")
    else:
        trigger.status = T_TRIGGERED
        trigger.order_id = order.id
        _event(engine, trigger, "fired")


def _owned(engine: Engine, account_id: int, trigger_id: int) -> Trigger | None:
    trigger = engine.triggers.get(trigger_id)
    if trigger is None or trigger.account_id != account_id:
        engine.reject(
            account_id, "", E_NOT_FOUND, f"trigger {trigger_id} not found or not active", trigger_id
        )
        return None
    return trigger


def cancel_command(engine: Engine, cmd: CancelTrigger) -> None:
    trigger = _owned(engine, cmd.account_id, cmd.trigger_id)
    if trigger is not None:
        cancel(engine, trigger, "cancelled")


def cancel(engine: Engine, trigger: Trigger, reason: str) -> None:
    if trigger.status == T_WAITING:
        unindex(engine, trigger)
    trigger.status = T_CANCELLED
    del engine.triggers[trigger.id]
    _event(engine, trigger, reason)


def set_enabled_command(engine: Engine, cmd: SetTriggerEnabled) -> None:
    trigger = _owned(engine, cmd.account_id, cmd.trigger_id)
    if trigger is not None:
        set_enabled(engine, trigger, cmd.enabled)


def set_enabled(engine: Engine, trigger: Trigger, enabled: bool) -> None:
    if enabled and trigger.status == T_DISABLED:
        trigger.status = T_WAITING
        index(engine, trigger)
        _event(engine, trigger, "enabled")
    elif not enabled and trigger.status == T_WAITING:
        unindex(engine, trigger)
        trigger.status = T_DISABLED
        _event(engine, trigger, "disabled")


def expire(engine: Engine) -> None:
    now = engine.now
    expiries = engine.expiries
    while expiries and expiries[0][0] <= now:
        due, trigger_id = heapq.heappop(expiries)
        trigger = engine.triggers.get(trigger_id)
        if trigger is not None and trigger.expires_at == due:
            if trigger.status == T_WAITING:
                unindex(engine, trigger)
            trigger.status = T_EXPIRED
            del engine.triggers[trigger_id]
            _event(engine, trigger, "expired")


def next_deadline(engine: Engine) -> int | None:
    """When the engine next needs a Tick to expire something (ms), or None."""
    expiries = engine.expiries
    while expiries:
        due, trigger_id = expiries[0]
        trigger = engine.triggers.get(trigger_id)
        if trigger is not None and trigger.expires_at == due:
            return due
        heapq.heappop(expiries)
    return None
