"""Limit orders (engine trigger orders) and swap orders (market orders now).

A limit buy spends a quote budget once the last price crosses its trigger; a limit sell sells a
ratio of the wallet's free base balance, taken when the order is created (engine triggers carry
a fixed amount). Swap orders trade at market at once. Both report through `TradeResult`s.
"""

from __future__ import annotations

from ..core.commands import BUY, MARKET, SELL, PlaceTrigger
from ..core.events import T_CANCELLED, T_DISABLED, T_EXPIRED, T_FAILED, T_TRIGGERED, T_WAITING, TriggerEvent
from ..core.markets import Market
from .commands import (
    CreateLimitOrders,
    DeleteLimitOrders,
    LimitSetting,
    PlaceSwapOrder,
    UpdateLimitOrder,
)
from .context import AutomationContext
from .events import (
    EXPIRED,
    R_INVALID_ORDER,
    R_ORDER_NOT_FOUND,
    SRC_LIMIT,
    SRC_SWAP,
    TradeError,
)
from .execution import Fill, Ticket, error_for_reject
from .model import CANCELLED, DONE, FAIL, INIT, PROCESSING, RATIO_ONE, LimitOrder, OrderState, SwapOrder
from .sizing import apply_ratio


class OrderManager:
    def __init__(self, ctx: AutomationContext) -> None:
        self.ctx = ctx
        self.limits = ctx.state.limit_orders
        self.swaps = ctx.state.swap_orders

    def reindex(self) -> None:
        self.limits = self.ctx.state.limit_orders
        self.swaps = self.ctx.state.swap_orders
        for order in self.limits.values():
            if order.state == INIT and order.trigger_id:
                self.ctx.triggers[order.trigger_id] = (self, order.id)
        self.ctx.index_finished("limit", self.limits)
        self.ctx.index_finished("swap", self.swaps)

    # -- limit orders ------------------------------------------------------------------------

    def _market_and_wallet(
        self, cmd: CreateLimitOrders | PlaceSwapOrder
    ) -> tuple[Market | None, str | None, str | None]:
        """The command's market and wallet, or why there is none (the problem, else None)."""
        engine = self.ctx.engine
        market = engine.markets.get(cmd.symbol)
        wallet = engine.resolve_wallet(cmd.account_id, cmd.wallet_id)
        if market is None:
            return market, wallet, f"unknown pair {cmd.symbol!r}"
        if wallet is None:
            return market, wallet, f"wallet {cmd.wallet_id!r} is not one of the account's wallets"
        return market, wallet, None

    def create_limits(self, cmd: CreateLimitOrders) -> None:
        engine = self.ctx.engine
        market, wallet, problem = self._market_and_wallet(cmd)
        if problem is None and not cmd.settings:
            problem = "settings must hold at least one order"
        sizes: list[int] = []
        if problem is None:
            assert market is not None and wallet is not None
            for setting in cmd.settings:
                problem, size = self._size(market, wallet, setting)
                if problem is not None:
                    break
                sizes.append(size)
        if problem is not None:
            engine.reject(cmd.account_id, cmd.symbol, R_INVALID_ORDER, problem)
            return
        assert market is not None and wallet is not None
        ids = []
        for setting, size in zip(cmd.settings, sizes, strict=True):
            order = LimitOrder(
                id=self.ctx.new_id(),
                account_id=cmd.account_id,
                wallet_id=wallet,
                symbol=market.symbol,
                chain=cmd.chain,
                group_id=cmd.group_id,
                side=setting.side,
                trigger_price=setting.trigger_price,
                direction=setting.direction,
                quote_amount=setting.quote_amount,
                sell_ratio=setting.sell_ratio,
                amount=size,
                expire_delta=setting.expire_delta,
                expires_at=engine.now + setting.expire_delta if setting.expire_delta else 0,
                expire_execute=setting.expire_execute,
                enabled=setting.enabled,
                created_ts=engine.now,
                view=setting.view,
            )
            self.limits[order.id] = order
            self._place(order)
            ids.append(order.id)
        self.ctx.announce(cmd.account_id, "limit_order", "created", ids)

    def update_limit(self, cmd: UpdateLimitOrder) -> None:
        engine = self.ctx.engine
        order = self.limits.get(cmd.order_id)
        if order is None or order.account_id != cmd.account_id or order.state != INIT:
            engine.reject(cmd.account_id, "", R_ORDER_NOT_FOUND, f"no waiting limit order {cmd.order_id!r}")
            return
        setting = cmd.setting
        # The side is part of what the order is; an edit changes when and how much, not what.
        setting_for_side = LimitSetting(
            enabled=setting.enabled,
            side=order.side,
            trigger_price=setting.trigger_price,
            direction=setting.direction,
            quote_amount=setting.quote_amount,
            sell_ratio=setting.sell_ratio,
            expire_delta=setting.expire_delta,
            expire_execute=setting.expire_execute,
            view=setting.view,
        )
        problem, size = self._size(engine.markets[order.symbol], order.wallet_id, setting_for_side)
        if problem is not None:
            engine.reject(cmd.account_id, order.symbol, R_INVALID_ORDER, problem)
            return
        self.ctx.cancel_trigger(order.trigger_id, "updated")
        order.trigger_price, order.direction = setting.trigger_price, setting.direction
        order.quote_amount, order.sell_ratio, order.amount = setting.quote_amount, setting.sell_ratio, size
        order.expire_delta, order.expire_execute, order.enabled = (
            setting.expire_delta,
            setting.expire_execute,
            setting.enabled,
        )
        order.expires_at = engine.now + setting.expire_delta if setting.expire_delta else 0
        order.view = setting.view
        self._place(order)
        self.ctx.announce(cmd.account_id, "limit_order", "updated", [order.id])

    def delete_limits(self, cmd: DeleteLimitOrders) -> None:
        unknown = [
            i for i in cmd.order_ids if i not in self.limits or self.limits[i].account_id != cmd.account_id
        ]
        if unknown or not cmd.order_ids:
            self.ctx.engine.reject(
                cmd.account_id,
                "",
                R_ORDER_NOT_FOUND,
                f"unknown limit order id(s): {', '.join(unknown)}" if unknown else "no ids given",
            )
            return
        ids = list(dict.fromkeys(cmd.order_ids))
        for order_id in ids:
            order = self.limits.pop(order_id)
            if order.state == INIT:
                self.ctx.cancel_trigger(order.trigger_id, "deleted")
        self.ctx.announce(cmd.account_id, "limit_order", "deleted", ids)

    def _size(self, market: Market, wallet: str, setting: LimitSetting) -> tuple[str | None, int]:
        """(problem, base amount for sells) of one limit order setting."""
        if setting.side not in (BUY, SELL):
            return f"the side must be buy or sell, not {setting.side!r}", 0
        if setting.direction not in ("up", "down"):
            return f"the trigger direction must be up or down, not {setting.direction!r}", 0
        if setting.trigger_price <= 0:
            return "the trigger price must be above 0", 0
        if setting.expire_delta < 0:
            return "the expiry cannot be negative", 0
        if setting.side == BUY:
            if setting.quote_amount < max(market.min_value * market.value_to_ledger, 1):
                return f"the buy amount is below the {market.symbol} minimum order value", 0
            return None, 0
        if not 0 < setting.sell_ratio <= RATIO_ONE:
            return "a sell's share of the balance must be within (0, 1]", 0
        holding = self.ctx.engine.ledger.free(wallet, market.base) // market.base_to_ledger
        amount = apply_ratio(holding, setting.sell_ratio)
        if amount < max(market.min_amount, 1):
            return f"that share of the wallet's {market.base} is below the {market.symbol} minimum amount", 0
        return None, amount

    def _place(self, order: LimitOrder) -> None:
        command = PlaceTrigger(
            order.account_id,
            order.symbol,
            order.side,
            order.trigger_price,
            order.direction,
            MARKET,
            0,
            order.amount if order.side == SELL else 0,
            order.quote_amount if order.side == BUY else 0,
            order.expires_at,
            order.wallet_id,
            SRC_LIMIT,
            order.id,
        )
        order.trigger_id = self.ctx.place_trigger(self, order.id, command, order.enabled)

    def on_trigger(self, order_id: str, event: TriggerEvent) -> None:
        order = self.limits.get(order_id)
        if order is None:
            return
        status = event.status
        if status == T_TRIGGERED:
            self.ctx.triggers.pop(event.trigger_id, None)
            order.state = PROCESSING
            self.ctx.executor.watch(event.order_id, self._ticket(order), self._limit_done)
        elif status == T_FAILED:
            self.ctx.triggers.pop(event.trigger_id, None)
            code, message = error_for_reject(event.reason), f"order rejected: {event.reason}"
            self.ctx.executor.fail(self._ticket(order), code, message)
            self._close_limit(order, FAIL, code, message)
        elif status == T_EXPIRED:
            self.ctx.triggers.pop(event.trigger_id, None)
            if order.expire_execute and order.enabled:
                order.state = PROCESSING
                self.ctx.engine.defer(
                    lambda: self.ctx.executor.market(
                        self._ticket(order),
                        quote_amount=order.quote_amount if order.side == BUY else 0,
                        amount=order.amount if order.side == SELL else 0,
                        on_done=self._limit_done,
                    )
                )
            else:
                message = "expired before its trigger price was reached"
                self.ctx.executor.fail(self._ticket(order), TradeError.EXPIRED, message, state=EXPIRED)
                self._close_limit(order, EXPIRED, TradeError.EXPIRED, message)
        elif status == T_CANCELLED:
            self.ctx.triggers.pop(event.trigger_id, None)
            self._close_limit(order, CANCELLED, "", f"trigger cancelled ({event.reason})")
        elif status in (T_DISABLED, T_WAITING):
            order.enabled = status == T_WAITING

    def _limit_done(self, ticket: Ticket, fill: Fill | None, code: str, message: str) -> None:
        order = self.limits.get(ticket.result_id)
        if order is None:
            return
        if fill is None:
            self._close_limit(order, FAIL, code, message)
            return
        order.tx_value, order.tx_amount = fill.value, fill.amount
        self._close_limit(order, DONE, "", "")

    def _close_limit(self, order: LimitOrder, state: OrderState, code: str, message: str) -> None:
        order.state, order.error_code, order.error_message = state, code, message
        self.ctx.finished("limit", order, self.limits)

    @staticmethod
    def _ticket(order: LimitOrder) -> Ticket:
        return Ticket(
            order.account_id,
            order.wallet_id,
            order.symbol,
            order.side,
            order.chain,
            order.id,
            SRC_LIMIT,
            "",
            order.id,
        )

    # -- swap orders -------------------------------------------------------------------------

    def swap(self, cmd: PlaceSwapOrder) -> None:
        engine = self.ctx.engine
        market, wallet, problem = self._market_and_wallet(cmd)
        if problem is None:
            if cmd.side not in (BUY, SELL):
                problem = f"type must be buy or sell, not {cmd.side!r}"
            elif cmd.side == BUY and cmd.quote_amount <= 0:
                problem = "the buy amount must be above 0"
            elif cmd.side == SELL and not 0 < cmd.sell_ratio <= RATIO_ONE:
                problem = "a sell's share of the balance must be within (0, 1]"
        if problem is not None:
            engine.reject(cmd.account_id, cmd.symbol, R_INVALID_ORDER, problem)
            return
        assert market is not None and wallet is not None
        order = SwapOrder(
            id=self.ctx.new_id(),
            account_id=cmd.account_id,
            wallet_id=wallet,
            symbol=market.symbol,
            chain=cmd.chain,
            side=cmd.side,
            created_ts=engine.now,
        )
        self.swaps[order.id] = order
        self.ctx.announce(cmd.account_id, "swap_order", "created", [order.id])
        ticket = Ticket(
            cmd.account_id, wallet, market.symbol, cmd.side, cmd.chain, order.id, SRC_SWAP, "", order.id
        )
        if cmd.side == BUY:
            self.ctx.executor.market(ticket, quote_amount=cmd.quote_amount, on_done=self._swap_done)
        else:
            holding = engine.ledger.free(wallet, market.base) // market.base_to_ledger
            self.ctx.executor.market(
                ticket, amount=apply_ratio(holding, cmd.sell_ratio), on_done=self._swap_done
            )

    def _swap_done(self, ticket: Ticket, fill: Fill | None, code: str, message: str) -> None:
        order = self.swaps.get(ticket.result_id)
        if order is None:
            return
        if fill is None:
            order.state, order.error_code, order.error_message = FAIL, code, message
        else:
            order.state, order.tx_value, order.tx_amount, order.trade_id = (
                DONE,
                fill.value,
                fill.amount,
                fill.first_trade_id,
            )
        self.ctx.finished("swap", order, self.swaps)
