"""Pnl orders: the take-profit, stop-loss and trailing-stop sells a copied buy leaves behind.

Each pnl order is an engine trigger order (a market sell, with an expiry) plus a record here.
The record keeps its id while the trigger underneath is replaced, which happens when
- a trailing stop's peak rises: its trigger follows the peak (checked on every trade of the
  market, so it is deterministic — no timer);
- a sibling of the same copied buy sold part of the position: an order that would now sell more
  than is left is shrunk to what is left, or cancelled when nothing sellable is left.
"""

from __future__ import annotations

from ..core.commands import MARKET, SELL, PlaceTrigger
from ..core.events import (
    T_CANCELLED,
    T_DISABLED,
    T_EXPIRED,
    T_FAILED,
    T_TRIGGERED,
    T_WAITING,
    TradeEvent,
    TriggerEvent,
)
from .context import AutomationContext
from .events import (
    EXPIRED,
    SRC_FOLLOW,
    SRC_LIMIT,
    SRC_TRAILING,
    TradeError,
)
from .execution import Fill, Ticket, error_for_reject
from .model import (
    CANCELLED,
    DONE,
    FAIL,
    INIT,
    PROCESSING,
    STOP_LOSS,
    TAKE_PROFIT,
    TRAILING_STOP,
    CopyTask,
    OrderState,
    PnlKind,
    PnlOrder,
    PnlStep,
)
from .sizing import apply_ratio, stop_price, take_profit_price, trailing_price

COLLECTION = "pnl"


class PnlManager:
    def __init__(self, ctx: AutomationContext) -> None:
        self.ctx = ctx
        self.orders = ctx.state.pnl_orders
        #: symbol -> ids of waiting trailing stops (ordered, for a deterministic update order)
        self._trailing: dict[str, dict[str, None]] = {}
        #: position (<task id>_<trade id>) -> ids of its pnl orders
        self._by_position: dict[str, list[str]] = {}

    def reindex(self) -> None:
        self.orders = self.ctx.state.pnl_orders
        self._trailing.clear()
        self._by_position.clear()
        for pnl in self.orders.values():
            self._by_position.setdefault(pnl.source_trade_id, []).append(pnl.id)
            if pnl.state == INIT:
                if pnl.trigger_id:
                    self.ctx.triggers[pnl.trigger_id] = (self, pnl.id)
                if pnl.kind == TRAILING_STOP:
                    self._trailing.setdefault(pnl.symbol, {})[pnl.id] = None
        self.ctx.index_finished(COLLECTION, self.orders)

    # -- creation ----------------------------------------------------------------------------

    def open_position(self, task: CopyTask, ticket: Ticket, fill: Fill, received: int) -> None:
        """Create the task's pnl orders for a copied buy that received `received` base (ledger)."""
        settings = task.spec.sell
        if not settings.enabled or settings.mode == "only_copy":
            return
        engine = self.ctx.engine
        market = engine.markets[ticket.symbol]
        bought = received // market.base_to_ledger
        if bought < max(market.min_amount, 1):
            return
        position = ticket.result_id
        self.ctx.state.positions[position] = bought
        expires_at = engine.now + settings.expire_delta if settings.expire_delta else 0
        created: list[str] = []
        groups: tuple[tuple[PnlKind, list[PnlStep]], ...] = (
            (TAKE_PROFIT, settings.take_profit),
            (STOP_LOSS, settings.stop_loss),
            (TRAILING_STOP, settings.trailing_stop),
        )
        for kind, steps in groups:
            for index, step in enumerate(steps):
                amount = apply_ratio(bought, step.amount_percent)
                if amount < max(market.min_amount, 1):
                    continue
                if kind == TAKE_PROFIT:
                    price, peak = take_profit_price(fill.value, fill.amount, step.price_percent), 0
                elif kind == STOP_LOSS:
                    price, peak = stop_price(fill.value, fill.amount, step.price_percent), 0
                else:
                    peak = fill.value // fill.amount
                    price = trailing_price(peak, step.price_percent)
                if price <= 0:
                    continue
                pnl = PnlOrder(
                    id=self.ctx.new_id(),
                    account_id=task.account_id,
                    wallet_id=ticket.wallet_id,
                    symbol=ticket.symbol,
                    chain=ticket.chain,
                    source=SRC_FOLLOW,
                    source_id=task.id,
                    source_trade_id=position,
                    kind=kind,
                    group_idx=index,
                    base_value=fill.value,
                    base_amount=fill.amount,
                    trigger_percent=step.price_percent,
                    amount_percent=step.amount_percent,
                    amount=amount,
                    trigger_price=price,
                    peak=peak,
                    expire_delta=settings.expire_delta,
                    expires_at=expires_at,
                    expire_execute=settings.expire_execute,
                    created_ts=engine.now,
                )
                if not self._place(pnl):
                    continue
                self.orders[pnl.id] = pnl
                self._by_position.setdefault(position, []).append(pnl.id)
                if kind == TRAILING_STOP:
                    self._trailing.setdefault(pnl.symbol, {})[pnl.id] = None
                created.append(pnl.id)
        if created:
            self.ctx.announce(task.account_id, "pnl_order", "created", created)

    def _place(self, pnl: PnlOrder) -> bool:
        direction = "up" if pnl.kind == TAKE_PROFIT else "down"
        command = PlaceTrigger(
            pnl.account_id,
            pnl.symbol,
            SELL,
            pnl.trigger_price,
            direction,
            MARKET,
            0,
            pnl.amount,
            0,
            pnl.expires_at,
            pnl.wallet_id,
            SRC_FOLLOW,
            pnl.id,  # the trigger's public id in every dialect, as a limit order's id is for its trigger
            f"follow_{pnl.kind}",
            pnl.source_trade_id,
        )
        pnl.trigger_id = self.ctx.place_trigger(self, pnl.id, command, pnl.enabled)
        return pnl.trigger_id != 0

    def _replace(self, pnl: PnlOrder, reason: str) -> None:
        """Swap the engine trigger under `pnl` for one with its current price and amount."""
        self.ctx.cancel_trigger(pnl.trigger_id, reason)
        if not self._place(pnl):
            self._close(pnl, CANCELLED, "", "the venue refused the replacement trigger")

    # -- the engine's news -------------------------------------------------------------------

    def on_trigger(self, pnl_id: str, event: TriggerEvent) -> None:
        pnl = self.orders.get(pnl_id)
        if pnl is None:
            return
        status = event.status
        if status == T_TRIGGERED:
            self.ctx.triggers.pop(event.trigger_id, None)
            self._untrail(pnl)
            pnl.state = PROCESSING
            self.ctx.executor.watch(event.order_id, self._ticket(pnl), self._sold)
        elif status == T_FAILED:
            self.ctx.triggers.pop(event.trigger_id, None)
            code = error_for_reject(event.reason)
            message = f"sell order rejected: {event.reason}"
            self.ctx.executor.fail(self._ticket(pnl), code, message)
            self._close(pnl, FAIL, code, message)
        elif status == T_EXPIRED:
            self.ctx.triggers.pop(event.trigger_id, None)
            if pnl.expire_execute and pnl.enabled:
                pnl.state = PROCESSING
                self._untrail(pnl)
                # No orders from inside a trigger callback: sell in the next step.
                self.ctx.engine.defer(
                    lambda: self.ctx.executor.market(self._ticket(pnl), amount=pnl.amount, on_done=self._sold)
                )
            else:
                message = "expired before its trigger price was reached"
                self.ctx.executor.fail(self._ticket(pnl), TradeError.EXPIRED, message, state=EXPIRED)
                self._close(pnl, EXPIRED, TradeError.EXPIRED, message)
        elif status == T_CANCELLED:  # by someone else (e.g. the account through another API)
            self.ctx.triggers.pop(event.trigger_id, None)
            self._close(pnl, CANCELLED, "", f"trigger cancelled ({event.reason})")
        elif status in (T_DISABLED, T_WAITING):
            pnl.enabled = status == T_WAITING

    def _sold(self, ticket: Ticket, fill: Fill | None, code: str, message: str) -> None:
        pnl = self.orders.get(ticket.result_id)
        if pnl is None:
            return
        if fill is None:
            self._close(pnl, FAIL, code, message)
            return
        pnl.tx_value, pnl.tx_amount = fill.value, fill.amount
        self._close(pnl, DONE, "", "")
        positions = self.ctx.state.positions
        left = max(positions.get(pnl.source_trade_id, 0) - fill.amount, 0)
        positions[pnl.source_trade_id] = left
        self._fit_siblings(pnl.source_trade_id, left)

    def _fit_siblings(self, position: str, left: int) -> None:
        market = self.ctx.engine.markets
        for sibling_id in self._by_position.get(position, ()):
            sibling = self.orders.get(sibling_id)
            if sibling is None or sibling.state != INIT or sibling.amount <= left:
                continue
            if left >= max(market[sibling.symbol].min_amount, 1):
                sibling.amount = left
                self._replace(sibling, "resized")
            else:
                self.ctx.cancel_trigger(sibling.trigger_id, "position closed")
                self._close(sibling, CANCELLED, "", "nothing left to sell: the position was closed")

    def on_trade(self, trade: TradeEvent) -> None:
        """Let trailing stops follow a new peak."""
        waiting = self._trailing.get(trade.symbol)
        if not waiting:
            return
        price = trade.price
        for pnl_id in list(waiting):
            pnl = self.orders.get(pnl_id)
            if pnl is None or pnl.state != INIT:
                waiting.pop(pnl_id, None)
                continue
            if price <= pnl.peak:
                continue
            pnl.peak = price
            trigger = trailing_price(price, pnl.trigger_percent)
            if trigger > pnl.trigger_price:
                pnl.trigger_price = trigger
                self._replace(pnl, "trailed")

    def fit_to_holding(self, task_id: str, symbol: str, holding: int) -> None:
        """After a copied sell: no pnl order of the task may sell more than the wallet still
        holds (an order that could only fail is shrunk, or cancelled when nothing is left)."""
        positions = self.ctx.state.positions
        for position in dict.fromkeys(
            p.source_trade_id for p in self.of_task(task_id) if p.symbol == symbol and p.state == INIT
        ):
            left = min(positions.get(position, 0), holding)
            positions[position] = left
            self._fit_siblings(position, left)

    # -- task-wide changes -------------------------------------------------------------------

    def of_task(self, task_id: str) -> list[PnlOrder]:
        return [p for p in self.orders.values() if p.source_id == task_id]

    def pause_for_task(self, task_id: str) -> None:
        """Disable the task's waiting pnl orders (re-enabled with the task)."""
        for pnl in self.of_task(task_id):
            if pnl.state == INIT and pnl.enabled:
                pnl.enabled = False
                pnl.disabled_by_task = True
                self.ctx.set_trigger_enabled(pnl.trigger_id, False)

    def resume_for_task(self, task_id: str) -> None:
        for pnl in self.of_task(task_id):
            if pnl.state == INIT and pnl.disabled_by_task:
                pnl.enabled = True
                pnl.disabled_by_task = False
                self.ctx.set_trigger_enabled(pnl.trigger_id, True)

    def delete_for_task(self, task_id: str) -> list[str]:
        deleted = []
        for pnl in self.of_task(task_id):
            if pnl.state == INIT:
                self.ctx.cancel_trigger(pnl.trigger_id, "deleted")
            self._untrail(pnl)
            del self.orders[pnl.id]
            deleted.append(pnl.id)
        return deleted

    # -- helpers -----------------------------------------------------------------------------

    def _ticket(self, pnl: PnlOrder) -> Ticket:
        source = SRC_TRAILING if pnl.kind == TRAILING_STOP else SRC_LIMIT
        return Ticket(
            pnl.account_id,
            pnl.wallet_id,
            pnl.symbol,
            SELL,
            pnl.chain,
            pnl.id,
            source,
            f"follow_{pnl.kind}",
            pnl.source_id,
        )

    def _untrail(self, pnl: PnlOrder) -> None:
        waiting = self._trailing.get(pnl.symbol)
        if waiting is not None:
            waiting.pop(pnl.id, None)

    def _close(self, pnl: PnlOrder, state: OrderState, code: str, message: str) -> None:
        pnl.state = state
        pnl.error_code = code
        pnl.error_message = message
        self._untrail(pnl)
        self.ctx.finished(COLLECTION, pnl, self.orders)
