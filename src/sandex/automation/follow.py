"""Copy-trading tasks: their commands, and copying target fills into follower orders.

A target fill is one order of a target wallet filling in one command: all its trades in that
command are summed (a market order sweeping five levels is one fill, copied once). Fills are
collected from `on_trade` and copied in one deferred step, after the matching step that made
them, task by task in creation order.

A copy is a trade like any other: a task that follows the copier copies it again (a copy of a
copy). Every fill carries its lineage, the wallets whose trades caused it (the origin first):
() for a trade of the wallet's own, the copy's upstream wallets for a copy, and the copy's
upstream plus the copier for the maker a copy traded against. Two explicit rules end every chain:
- no copying back: a task whose wallet is already in the lineage (or is the target) fails with
  TradeError.COPY_LOOP, so of two tasks following each other one copies and the other refuses;
- a depth limit: a copy more than MAX_COPY_DEPTH steps from the origin fails with TradeError.COPY_DEPTH.
Each copy adds a wallet to the lineage, so a chain ends after at most MAX_COPY_DEPTH steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from ..core.commands import BUY, SELL
from ..core.events import TradeEvent
from ..core.markets import Market
from ..core.numbers import LEDGER_DECIMALS, format_trimmed
from .commands import CreateCopyTask, DeleteCopyTasks, MoveCopyTasks, ReplaceCopyTask, ToggleCopyTasks
from .context import AutomationContext
from .events import (
    R_INVALID_TASK,
    R_TASK_NOT_FOUND,
    SRC_FOLLOW,
    TradeError,
)
from .execution import Fill, Ticket
from .model import (
    PER_TOKEN_WINDOW_MS,
    RATIO_ONE,
    BuyAmountType,
    CopyTask,
    SellAmountType,
    SellMode,
    TaskSpec,
)
from .pnl import PnlManager
from .sizing import (
    buy_budget,
    estimate_fill,
    in_hour_window,
    sell_size,
    slippage_exceeded,
    within,
)

#: A copy of a copy of a copy is the deepest: the chain of copies of one trade ends there.
MAX_COPY_DEPTH = 3
# Checked again for commands built in code (msgspec checks the ones it decodes from the journal).
BUY_AMOUNT_TYPES = get_args(BuyAmountType)
SELL_MODES = get_args(SellMode)
SELL_AMOUNT_TYPES = get_args(SellAmountType)


class TargetFill:
    """One target order's trades within the current command."""

    __slots__ = (
        "amount",
        "first_trade_id",
        "holding_after",
        "lineage",
        "order_id",
        "side",
        "symbol",
        "value",
        "wallet_id",
    )

    def __init__(
        self,
        wallet_id: str,
        order_id: int,
        side: str,
        symbol: str,
        first_trade_id: int,
        lineage: tuple[str, ...],
    ) -> None:
        self.wallet_id = wallet_id
        #: the wallets whose trades caused this fill, origin first (() for the wallet's own trade)
        self.lineage = lineage
        self.order_id = order_id
        self.side = side
        self.symbol = symbol
        self.first_trade_id = first_trade_id
        self.amount = 0
        self.value = 0
        self.holding_after = 0  # target's base (free + held, ledger scale) after these trades


class Skip(Exception):
    """A copy that is not attempted, with the trade-result error that says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FollowManager:
    def __init__(self, ctx: AutomationContext, pnl: PnlManager) -> None:
        self.ctx = ctx
        self.pnl = pnl
        self.tasks = ctx.state.tasks
        #: target wallet -> ids of the tasks following it, in creation order
        self._by_target: dict[str, list[str]] = {}
        self._pending: dict[tuple[str, int], TargetFill] = {}

    def reindex(self) -> None:
        self.tasks = self.ctx.state.tasks
        self._by_target.clear()
        for task in self.tasks.values():
            for target in task.spec.target_ids:
                self._by_target.setdefault(target, []).append(task.id)

    # -- commands ----------------------------------------------------------------------------

    def create(self, cmd: CreateCopyTask) -> None:
        wallet = self._check(cmd.account_id, cmd.spec)
        if wallet is None:
            return
        task = CopyTask(
            id=self.ctx.new_id(),
            account_id=cmd.account_id,
            created_ts=self.ctx.engine.now,
            enabled=cmd.spec.enabled,
            wallet_id=wallet,
            spec=cmd.spec,
        )
        self.tasks[task.id] = task
        self.reindex()
        self.ctx.announce(cmd.account_id, "follow_order", "created", [task.id])

    def replace(self, cmd: ReplaceCopyTask) -> None:
        if not self._owned(cmd.account_id, [cmd.task_id]):
            return
        wallet = self._check(cmd.account_id, cmd.spec)
        if wallet is None:
            return
        task = self.tasks[cmd.task_id]
        task.spec, task.enabled, task.wallet_id = cmd.spec, cmd.spec.enabled, wallet
        self.reindex()
        self.ctx.announce(cmd.account_id, "follow_order", "updated", [task.id])

    def toggle(self, cmd: ToggleCopyTasks) -> None:
        if not self._owned(cmd.account_id, cmd.task_ids):
            return
        for task_id in dict.fromkeys(cmd.task_ids):
            self.tasks[task_id].enabled = cmd.enabled
            if cmd.enabled:
                self.pnl.resume_for_task(task_id)
            elif cmd.close_pnl:
                self.pnl.pause_for_task(task_id)
        self.ctx.announce(
            cmd.account_id,
            "follow_order",
            "enabled" if cmd.enabled else "disabled",
            list(dict.fromkeys(cmd.task_ids)),
        )

    def move(self, cmd: MoveCopyTasks) -> None:
        if not self._owned(cmd.account_id, cmd.task_ids):
            return
        wallet = self.ctx.engine.resolve_wallet(cmd.account_id, cmd.wallet_id)
        if wallet is None or not cmd.wallet_id:
            self._reject(
                cmd.account_id,
                R_INVALID_TASK,
                f"wallet {cmd.wallet_id!r} is not one of the account's wallets",
            )
            return
        for task_id in cmd.task_ids:
            if wallet in self.tasks[task_id].spec.target_ids:
                self._reject(
                    cmd.account_id,
                    R_INVALID_TASK,
                    f"task {task_id} follows wallet {wallet}; it cannot trade from it",
                )
                return
        for task_id in cmd.task_ids:
            self.tasks[task_id].wallet_id = wallet
            self.tasks[task_id].spec.wallet_id = wallet
        self.ctx.announce(cmd.account_id, "follow_order", "moved", list(dict.fromkeys(cmd.task_ids)))

    def delete(self, cmd: DeleteCopyTasks) -> None:
        if not self._owned(cmd.account_id, cmd.task_ids):
            return
        ids = list(dict.fromkeys(cmd.task_ids))
        for task_id in ids:
            del self.tasks[task_id]
            if cmd.delete_pnl:
                self.pnl.delete_for_task(task_id)
        self.reindex()
        self.ctx.announce(cmd.account_id, "follow_order", "deleted", ids)

    def _owned(self, account_id: int, task_ids: list[str]) -> bool:
        unknown = [t for t in task_ids if t not in self.tasks or self.tasks[t].account_id != account_id]
        if unknown or not task_ids:
            self._reject(
                account_id,
                R_TASK_NOT_FOUND,
                f"unknown copy trading task id(s): {', '.join(unknown)}" if unknown else "no task ids given",
            )
            return False
        return True

    def _reject(self, account_id: int, code: str, message: str) -> None:
        self.ctx.engine.reject(account_id, "", code, message)

    def _check(self, account_id: int, spec: TaskSpec) -> str | None:
        """Validate a task; returns the wallet it trades from, or None (rejected)."""
        engine = self.ctx.engine
        problem = _spec_problem(spec)
        wallet = engine.resolve_wallet(account_id, spec.wallet_id)
        if problem is None and wallet is None:
            problem = f"wallet {spec.wallet_id!r} is not one of the account's wallets"
        if problem is None:
            for target in spec.target_ids:
                if target not in engine.wallets:
                    problem = f"target {target!r} is not a wallet on this venue"
                    break
                if target == wallet:
                    problem = "a task cannot follow the wallet it trades from"
                    break
        if problem is not None:
            self._reject(account_id, R_INVALID_TASK, problem)
            return None
        return wallet

    # -- target fills ------------------------------------------------------------------------

    def on_trade(self, trade: TradeEvent, upstream: tuple[str, ...] | None) -> None:
        """Collect the fills of followed wallets; `upstream` is the lineage of the taker when the
        taker is a copy (None: the taker traded on its own)."""
        by_target = self._by_target
        if not by_target:
            return
        taker = trade.taker_wallet_id
        if taker in by_target:
            self._collect(trade, taker, trade.taker_order_id, trade.taker_side, upstream or ())
        if trade.maker_wallet_id in by_target:
            side = SELL if trade.taker_side == BUY else BUY
            caused = () if upstream is None else (*upstream, taker)
            self._collect(trade, trade.maker_wallet_id, trade.maker_order_id, side, caused)

    def _collect(
        self, trade: TradeEvent, wallet_id: str, order_id: int, side: str, lineage: tuple[str, ...]
    ) -> None:
        key = (wallet_id, order_id)
        fill = self._pending.get(key)
        if fill is None:
            if not self._pending:
                self.ctx.engine.defer(self._copy_pending)
            fill = self._pending[key] = TargetFill(
                wallet_id, order_id, side, trade.symbol, trade.trade_id, lineage
            )
        elif lineage != fill.lineage:
            # A resting order hit by several chains in one step: it carries all of them.
            fill.lineage = (*fill.lineage, *(w for w in lineage if w not in fill.lineage))
        fill.amount += trade.amount
        fill.value += trade.value
        base = self.ctx.engine.markets[trade.symbol].base
        ledger = self.ctx.engine.ledger
        fill.holding_after = ledger.free(wallet_id, base) + ledger.held(wallet_id, base)

    def _copy_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for fill in pending.values():
            for task_id in list(self._by_target.get(fill.wallet_id, ())):
                task = self.tasks.get(task_id)
                if task is not None and task.enabled:
                    self._copy(task, fill)

    def _copy(self, task: CopyTask, target: TargetFill) -> None:
        market = self.ctx.engine.markets[target.symbol]
        ticket = Ticket(
            task.account_id,
            task.wallet_id,
            target.symbol,
            target.side,
            task.spec.chain,
            f"{task.id}_{target.first_trade_id}",
            SRC_FOLLOW,
            "",
            task.id,
            is_copy=True,
            lineage=(*target.lineage, target.wallet_id),
        )
        if target.side == BUY:
            if not task.spec.buy.enabled:
                return
        elif not task.spec.sell.enabled or task.spec.sell.mode == "only_pnl":
            return
        executor = self.ctx.executor
        try:
            _check_lineage(task, ticket, target)
            if target.side == BUY:
                budget = self._buy_budget(task, market, target)
                executor.market(ticket, quote_amount=budget, on_done=self._bought_callback(task))
            else:
                amount = self._sell_amount(task, market, target)
                executor.market(ticket, amount=amount, on_done=self._sold_callback(task))
        except Skip as skip:
            executor.fail(ticket, skip.code, skip.message)

    # -- sizing and checks -------------------------------------------------------------------

    def _buy_budget(self, task: CopyTask, market: Market, target: TargetFill) -> int:
        """The quote a copied buy spends, or Skip with the reason it is not attempted."""
        engine = self.ctx.engine
        settings = task.spec.buy
        target_value = self._check_filters(task, market, target, "buy")
        budget = buy_budget(settings, target_value)
        history = _recent_buys(task, market.base, engine.now)
        times_cap = settings.max_buy_times_per_token
        if times_cap is not None and len(history) >= times_cap:
            raise Skip(
                TradeError.MAX_BUY_TIMES_REACHED,
                f"{len(history)} copied buys of {market.base} in 7 days reach the task's limit ({times_cap})",
            )
        minimum = max(market.min_value * market.value_to_ledger, 1)
        if settings.max_buy_amount_per_token is not None:
            room = settings.max_buy_amount_per_token - sum(spent for _, spent in history)
            if room < minimum:
                raise Skip(
                    TradeError.MAX_BUY_AMOUNT_REACHED,
                    f"copied buys of {market.base} in 7 days reach the task's limit "
                    f"({_ui(settings.max_buy_amount_per_token)} {market.quote})",
                )
            budget = min(budget, room)
        free = engine.ledger.free(task.wallet_id, market.quote)
        quote = market.quote
        if settings.max_balance is not None and free > settings.max_balance:
            raise Skip(
                TradeError.MAX_BALANCE_REACHED,
                f"{quote} balance {_ui(free)} is above the task's maximum balance {_ui(settings.max_balance)}",
            )
        if free < budget:
            raise Skip(
                TradeError.INSUFFICIENT_BALANCE,
                f"insufficient {quote} balance: {_ui(budget)} needed, {_ui(free)} free",
            )
        if free - budget < settings.reserved_amount:
            raise Skip(
                TradeError.RESERVED_AMOUNT,
                f"the buy would leave less than the reserved amount ({_ui(settings.reserved_amount)} {quote})",
            )
        if budget < minimum:
            raise Skip(
                TradeError.AMOUNT_TOO_SMALL,
                f"a buy of {_ui(budget)} {quote} is below the {market.symbol} minimum order value",
            )
        amount, value = estimate_fill(engine.liquidity(market.symbol, True), market, quote_budget=budget)
        self._check_slippage(BUY, market, amount, value, target, settings.max_slippage)
        return budget

    def _sell_amount(self, task: CopyTask, market: Market, target: TargetFill) -> int:
        """The base a copied sell sells, or Skip with the reason it is not attempted."""
        engine = self.ctx.engine
        settings = task.spec.sell
        self._check_filters(task, market, target, "sell")
        holding = engine.ledger.free(task.wallet_id, market.base) // market.base_to_ledger
        sold = target.amount * market.base_to_ledger
        if holding <= 0:
            raise Skip(TradeError.INSUFFICIENT_BALANCE, f"no {market.base} to sell")
        before = target.holding_after + sold
        amount = sell_size(settings.amount_type, holding, sold, before, settings.x_target_ratio)
        if amount < max(market.min_amount, 1):
            raise Skip(
                TradeError.AMOUNT_TOO_SMALL,
                f"the target sold {_share(sold, before)} of its {market.base}; that share of the wallet's "
                f"{market.format_amount(holding)} is below the {market.symbol} minimum amount",
            )
        filled, value = estimate_fill(engine.liquidity(market.symbol, False), market, base_amount=amount)
        self._check_slippage(SELL, market, filled, value, target, settings.max_slippage)
        return amount

    def _check_filters(self, task: CopyTask, market: Market, target: TargetFill, side: str) -> int:
        """Token lists, hour window and target size range; returns the target fill's quote value."""
        settings = task.spec.buy if side == BUY else task.spec.sell
        _check_token(task.spec, market)
        if not in_hour_window(self.ctx.engine.now, settings.start_hour, settings.end_hour):
            raise Skip(
                TradeError.OUTSIDE_TRADING_HOURS,
                f"{side}s are copied between {settings.start_hour}:00 and {settings.end_hour}:59 UTC",
            )
        target_value = target.value * market.value_to_ledger
        if not within(target_value, settings.target_min_amount, settings.target_max_amount):
            raise Skip(
                TradeError.TARGET_AMOUNT_OUT_OF_RANGE,
                f"the target's {side} of {_ui(target_value)} {market.quote} is outside the task's range",
            )
        return target_value

    @staticmethod
    def _check_slippage(
        side: str, market: Market, amount: int, value: int, target: TargetFill, limit: int
    ) -> None:
        if amount == 0:
            raise Skip(
                TradeError.NO_LIQUIDITY,
                f"no {'asks' if side == BUY else 'bids'} on {market.symbol} to copy against",
            )
        if slippage_exceeded(side, amount, value, target.amount, target.value, limit):
            raise Skip(
                TradeError.SLIPPAGE_EXCEEDED,
                f"average price {market.format_price(value // amount)} is more than "
                f"{_percent(limit)} away from the target's {market.format_price(target.value // target.amount)}",
            )

    def _bought_callback(self, task: CopyTask) -> Callable[[Ticket, Fill | None, str, str], None]:
        def bought(ticket: Ticket, fill: Fill | None, code: str, message: str) -> None:
            if fill is None:
                return
            market = self.ctx.engine.markets[ticket.symbol]
            spent = fill.value * market.value_to_ledger
            task.buys.setdefault(market.base, []).append([self.ctx.engine.now, spent])
            self.pnl.open_position(task, ticket, fill, fill.amount * market.base_to_ledger - fill.fee)

        return bought

    def _sold_callback(self, task: CopyTask) -> Callable[[Ticket, Fill | None, str, str], None]:
        def sold(ticket: Ticket, fill: Fill | None, code: str, message: str) -> None:
            if fill is None:
                return
            market = self.ctx.engine.markets[ticket.symbol]
            holding = self.ctx.engine.ledger.free(ticket.wallet_id, market.base) // market.base_to_ledger
            self.pnl.fit_to_holding(task.id, ticket.symbol, holding)

        return sold


def _check_lineage(task: CopyTask, ticket: Ticket, target: TargetFill) -> None:
    """The loop rules (module docstring): no copying back into the chain, and a depth limit."""
    if task.wallet_id in ticket.lineage:
        raise Skip(
            TradeError.COPY_LOOP,
            f"the {target.side} comes from a chain of copies through this wallet "
            f"({' -> '.join(ticket.lineage)}); it is not copied back",
        )
    if len(target.lineage) >= MAX_COPY_DEPTH:
        raise Skip(
            TradeError.COPY_DEPTH,
            f"the {target.side} is already {len(target.lineage)} copies away from its origin; "
            f"copies go at most {MAX_COPY_DEPTH} deep",
        )


def _check_token(spec: TaskSpec, market: Market) -> None:
    names = {market.base, market.symbol}
    if any(entry.upper() in names for entry in spec.token_blacklist):
        raise Skip(TradeError.TOKEN_BLACKLISTED, f"{market.base} is on the task's token blacklist")
    if spec.token_whitelist and not any(entry.upper() in names for entry in spec.token_whitelist):
        raise Skip(TradeError.TOKEN_NOT_WHITELISTED, f"{market.base} is not on the task's token whitelist")


def _recent_buys(task: CopyTask, token: str, now: int) -> list[list[int]]:
    history = task.buys.get(token)
    if not history:
        return []
    cutoff = now - PER_TOKEN_WINDOW_MS
    if history[0][0] <= cutoff:
        history[:] = [entry for entry in history if entry[0] > cutoff]
    return history


def _spec_problem(spec: TaskSpec) -> str | None:
    """What makes a task meaningless to run, or None. A dialect's own limits (how many targets or
    steps, how long an expiry, which chain names exist) are that dialect's to check, in its words, before it builds the
    command; these are the invariants the plugin's arithmetic relies on."""
    buy, sell = spec.buy, spec.sell
    checks: list[tuple[bool, str]] = [
        (bool(spec.name.strip()), "the task needs a name"),
        (bool(spec.target_ids), "the task needs at least one target wallet"),
        (buy.amount_type in BUY_AMOUNT_TYPES, f"unknown buy amount type {buy.amount_type!r}"),
        (buy.max_buy_amount > 0, "the maximum buy amount must be above 0"),
        (
            buy.buy_ratio >= 0 and buy.max_slippage >= 0 and sell.max_slippage >= 0,
            "ratios cannot be negative",
        ),
        (
            buy.max_buy_times_per_token is None or buy.max_buy_times_per_token >= 1,
            "the buy count per token must be at least 1",
        ),
        (sell.mode in SELL_MODES, f"unknown sell mode {sell.mode!r}"),
        (sell.amount_type in SELL_AMOUNT_TYPES, f"unknown sell amount type {sell.amount_type!r}"),
        (sell.x_target_ratio >= 0 and sell.expire_delta >= 0, "sell settings cannot be negative"),
    ]
    for ok, message in checks:
        if not ok:
            return message
    for kind, steps in (
        ("take_profit", sell.take_profit),
        ("stop_loss", sell.stop_loss),
        ("trailing_stop", sell.trailing_stop),
    ):
        for step in steps:
            if step.price_percent <= 0 or not 0 < step.amount_percent <= RATIO_ONE:
                return f"{kind.replace('_', '-')} steps need a price move above 0 and a share within (0, 1]"
    return None


def _ui(amount: int) -> str:
    return format_trimmed(amount, LEDGER_DECIMALS)


def _share(part: int, whole: int) -> str:
    return format_trimmed(part * 100 * 10**6 // max(whole, 1), 6) + "%"


def _percent(ratio: int) -> str:
    return format_trimmed(ratio * 100, 9) + "%"
