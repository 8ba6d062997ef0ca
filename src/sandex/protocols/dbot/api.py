"""Every DBot method, sans I/O: params in, a plan out.

A plan is either an `Answer` (queries: read the state and reply) or a `Submit` (a command for the
venue to journal and apply; `result` turns the command's events into the reply). The WebSocket
and REST routes run the same plans, so both transports behave alike by construction, and tests
can drive this module without sockets.

Queries read the engine's state directly: the server runs on one event loop, so no command is
half-applied while a query runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ... import automation as cc
from ...automation import Automation, AutomationEvent, AutomationState
from ...core.commands import Command
from ...core.engine import Account, Engine
from ...core.events import Event, Rejected
from ...core.literals import BUY
from . import params as p
from .convert import limit_setting, market_of, money, ratio, task_spec, trigger_price
from .errors import DbotError
from .views import limit_view, pnl_view, swap_view, task_view, wallet_view
from .wire import ENCODER, LOOSE

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    res: Any = None


@dataclass(frozen=True, slots=True)
class Submit:
    command: Command
    account_id: int
    kind: str  # the AutomationEvent kind that confirms the command
    render: Callable[[AutomationEvent], Any]

    def result(self, events: Sequence[Event]) -> Any:
        """The reply's `res` from the command's events; DbotError if the venue refused it."""
        for event in events:
            if (
                type(event) is AutomationEvent
                and event.account_id == self.account_id
                and event.kind == self.kind
            ):
                return self.render(event)
        for event in events:
            # Validation rejects carry no order source; rejects of orders placed later in the
            # same command (a trigger somewhere firing) do, and are not this request's answer.
            if type(event) is Rejected and event.account_id == self.account_id and not event.source:
                raise DbotError(event.message)
        raise DbotError("the request was not applied")


Plan = Answer | Submit

#: The methods that place new orders: the ones a fault profile's `reject_orders_code` refuses
#: (as DigiFinex `order/new`). Editing or deleting an order, and copy-trading tasks, are not.
NEW_ORDERS = frozenset({"createLimitOrder", "createSwapOrder"})


def _nothing(_: AutomationEvent) -> None:
    return None


def _page(items: list[T], page: int, size: int) -> list[T]:
    return items[page * size : (page + 1) * size]


class DbotApi:
    def __init__(self, engine: Engine, automation: Automation, chains: Iterable[str]) -> None:
        self.engine = engine
        self.automation = automation
        #: DBot's chain names this venue accepts (config `[dbot] chains`); every one trades on
        #: the venue. Checked here, not in the plugin, so the journal replays whatever the config.
        self.chains = tuple(chains)
        self.methods: dict[str, Callable[[Account, bytes], Plan]] = {
            "createOrUpdateFollowOrder": self.create_or_update_task,
            "updateFollowOrder": self.toggle_task,
            "batchToggleFollowOrder": self.toggle_tasks,
            "batchUpdateFollowOrder": self.move_tasks,
            "deleteFollowOrders": self.delete_tasks,
            "listFollowOrders": self.list_tasks,
            "listPnlOrdersFromFollowOrder": self.list_pnl_orders,
            "createLimitOrder": self.create_limit_orders,
            "updateLimitOrder": self.update_limit_order,
            "listLimitOrders": self.list_limit_orders,
            "deleteLimitOrders": self.delete_limit_orders,
            "createSwapOrder": self.create_swap_order,
            "getSwapOrders": self.get_swap_orders,
            "listWallets": self.list_wallets,
        }

    def plan(self, account: Account, method: str, params: bytes) -> Plan:
        handler = self.methods.get(method)
        if handler is None:
            raise DbotError(f"unknown method {method!r}")
        return handler(account, params)

    def _check_chain(self, chain: str) -> None:
        if chain not in self.chains:
            raise DbotError(f"invalid params: chain {chain!r} is not one of {', '.join(self.chains)}")

    @property
    def _state(self) -> AutomationState:
        # Read through the plugin each time: a snapshot load replaces its state object.
        return self.automation.state

    # -- copy trading tasks ------------------------------------------------------------------

    def create_or_update_task(self, account: Account, raw: bytes) -> Plan:
        task = p.decode(raw, p.FollowTask)
        assert isinstance(task, p.FollowTask)
        self._check_chain(task.chain)
        spec = task_spec(task, raw)
        if task.id:
            return Submit(cc.ReplaceCopyTask(account.id, task.id, spec), account.id, "follow_order", _nothing)
        return Submit(
            cc.CreateCopyTask(account.id, spec), account.id, "follow_order", lambda e: {"id": e.ids[0]}
        )

    def toggle_task(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.ToggleOne)
        assert isinstance(req, p.ToggleOne)
        return Submit(
            cc.ToggleCopyTasks(account.id, [req.id], p.flag(req.enabled), p.flag(req.closePnlOrder)),
            account.id,
            "follow_order",
            _nothing,
        )

    def toggle_tasks(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.ToggleMany)
        assert isinstance(req, p.ToggleMany)
        return Submit(
            cc.ToggleCopyTasks(account.id, list(req.ids), p.flag(req.enabled), p.flag(req.closePnlOrder)),
            account.id,
            "follow_order",
            _nothing,
        )

    def move_tasks(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.MoveMany)
        assert isinstance(req, p.MoveMany)
        return Submit(
            cc.MoveCopyTasks(account.id, list(req.ids), req.walletId), account.id, "follow_order", _nothing
        )

    def delete_tasks(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.DeleteMany)
        assert isinstance(req, p.DeleteMany)
        ids = req.task_ids()
        if not ids:
            raise DbotError("invalid params: ids must list at least one task id")
        return Submit(
            cc.DeleteCopyTasks(account.id, list(ids), p.flag(req.deletePnlOrder)),
            account.id,
            "follow_order",
            _nothing,
        )

    def list_tasks(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.ListTasks)
        assert isinstance(req, p.ListTasks)
        tasks = [
            t
            for t in self._state.tasks.values()
            if t.account_id == account.id and (req.chain is None or t.spec.chain == req.chain)
        ]
        return Answer([task_view(self.engine, t) for t in _page(tasks, req.page, req.size)])

    def list_pnl_orders(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.ListPnlOrders)
        assert isinstance(req, p.ListPnlOrders)
        token = req.token.upper() if req.token else None
        orders = [
            o
            for o in self._state.pnl_orders.values()
            if o.account_id == account.id
            and (req.chain is None or o.chain == req.chain)
            and (req.state is None or o.state == req.state)
            and (req.sourceId is None or o.source_id == req.sourceId)
            and (token is None or token in (o.symbol, self.engine.markets[o.symbol].base))
        ]
        return Answer([pnl_view(self.engine, o) for o in _page(orders, req.page, req.size)])

    # -- limit orders ------------------------------------------------------------------------

    def create_limit_orders(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.CreateLimit)
        assert isinstance(req, p.CreateLimit)
        market = market_of(self.engine, req.pair)
        self._check_chain(req.chain)
        raw_settings = LOOSE.decode(raw)["settings"]  # the same list, as sent (kept for the views)
        settings = [
            limit_setting(s, market, sent) for s, sent in zip(req.settings, raw_settings, strict=True)
        ]
        command = cc.CreateLimitOrders(
            account.id, market.symbol, req.walletId or "", req.chain, req.groupId or "", settings
        )
        return Submit(command, account.id, "limit_order", lambda e: {"ids": list(e.ids)})

    def update_limit_order(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.UpdateLimit)
        assert isinstance(req, p.UpdateLimit)
        order = self._state.limit_orders.get(req.id)
        if order is None or order.account_id != account.id:
            raise DbotError(f"unknown limit order id: {req.id}")
        market = self.engine.markets[order.symbol]
        direction = req.triggerDirection or order.direction
        quote_amount, sell_ratio = order.quote_amount, order.sell_ratio
        if req.currencyAmountUI is not None:
            if order.side == BUY:
                quote_amount = money(req.currencyAmountUI, "currencyAmountUI")
            else:
                sell_ratio = ratio(req.currencyAmountUI, "currencyAmountUI")
        view = LOOSE.decode(order.view)
        view.update({k: v for k, v in LOOSE.decode(raw).items() if k != "id"})
        setting = cc.LimitSetting(
            enabled=order.enabled if req.enabled is None else p.flag(req.enabled),
            side=order.side,
            trigger_price=order.trigger_price
            if req.triggerPriceUsd is None
            else trigger_price(req.triggerPriceUsd, market, direction),
            direction=direction,
            quote_amount=quote_amount,
            sell_ratio=sell_ratio,
            expire_delta=order.expire_delta if req.expireDelta is None else req.expireDelta,
            expire_execute=order.expire_execute if req.expireExecute is None else p.flag(req.expireExecute),
            view=ENCODER.encode(view).decode(),
        )
        return Submit(cc.UpdateLimitOrder(account.id, order.id, setting), account.id, "limit_order", _nothing)

    def list_limit_orders(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.ListLimitOrders)
        assert isinstance(req, p.ListLimitOrders)
        token = req.token.upper() if req.token else None
        orders = [
            o
            for o in self._state.limit_orders.values()
            if o.account_id == account.id
            and (req.chain is None or o.chain == req.chain)
            and (req.state is None or o.state == req.state)
            and (req.groupId is None or o.group_id == req.groupId)
            and (token is None or token in (o.symbol, self.engine.markets[o.symbol].base))
        ]
        return Answer([limit_view(self.engine, o) for o in _page(orders, req.page, req.size)])

    def delete_limit_orders(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.IdList)
        assert isinstance(req, p.IdList)
        return Submit(cc.DeleteLimitOrders(account.id, list(req.ids)), account.id, "limit_order", _nothing)

    # -- swap orders and wallets -------------------------------------------------------------

    def create_swap_order(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.SwapOrder)
        assert isinstance(req, p.SwapOrder)
        market = market_of(self.engine, req.pair)
        self._check_chain(req.chain)
        if req.type == BUY:
            command = cc.PlaceSwapOrder(
                account.id,
                market.symbol,
                req.walletId or "",
                req.chain,
                "buy",
                quote_amount=money(req.amountOrPercent, "amountOrPercent"),
            )
        else:
            command = cc.PlaceSwapOrder(
                account.id,
                market.symbol,
                req.walletId or "",
                req.chain,
                "sell",
                sell_ratio=ratio(req.amountOrPercent, "amountOrPercent"),
            )
        return Submit(command, account.id, "swap_order", lambda e: {"id": e.ids[0]})

    def get_swap_orders(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.IdList)
        assert isinstance(req, p.IdList)
        swaps = self._state.swap_orders
        found = [swaps[i] for i in req.ids if i in swaps and swaps[i].account_id == account.id]
        return Answer([swap_view(self.engine, s) for s in found])

    def list_wallets(self, account: Account, raw: bytes) -> Plan:
        req = p.decode(raw, p.ListWallets)
        assert isinstance(req, p.ListWallets)
        wallets = [self.engine.wallets[w] for w in account.wallets]
        if req.type not in (None, "", "evm"):
            wallets = []
        return Answer([wallet_view(w) for w in _page(wallets, req.page, req.size)])
