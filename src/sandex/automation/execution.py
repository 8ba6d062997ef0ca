"""Placing automated market orders and reporting each one's outcome as a `TradeResult`.

Every automated trade — a copied buy or sell, a fired pnl or limit order, a swap order — is a
market order (as on-chain swaps are). The engine matches it synchronously, but plugins
see its trades only later in the same command, through `on_trade`. So the executor registers the
order, accumulates its trades (amount, value, fee, first trade) as they are dispatched, and
finishes it in a deferred step: the engine dispatches pending trades before it runs any deferred
step, so by then every trade of the order has been counted.

Failures are found before the order is placed, with the checks the engine itself would make
(minimums, free balance), so each failure gets a specific error code instead of a bare reject.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..core.commands import BUY, IOC, MARKET, PlaceOrder
from ..core.engine import Engine
from ..core.events import E_BELOW_MIN_AMOUNT, E_BELOW_MIN_VALUE, TradeEvent
from ..core.events import E_INSUFFICIENT_BALANCE as ENGINE_INSUFFICIENT
from ..core.numbers import LEDGER_DECIMALS, format_trimmed
from .events import (
    DONE,
    FAIL,
    TradeError,
    TradeResult,
)
from .model import ResultState


class Ticket:
    """Who trades what, and how the outcome is labelled."""

    __slots__ = (
        "account_id",
        "chain",
        "is_copy",
        "lineage",
        "result_id",
        "side",
        "source",
        "source_id",
        "sub_source",
        "symbol",
        "wallet_id",
    )

    def __init__(
        self,
        account_id: int,
        wallet_id: str,
        symbol: str,
        side: str,
        chain: str,
        result_id: str,
        source: str,
        sub_source: str,
        source_id: str,
        *,
        is_copy: bool = False,
        lineage: tuple[str, ...] = (),
    ) -> None:
        self.account_id = account_id
        self.wallet_id = wallet_id
        self.symbol = symbol
        self.side = side
        self.chain = chain
        self.result_id = result_id
        self.source = source
        self.sub_source = sub_source
        self.source_id = source_id
        #: a copied buy/sell: its fills are copied again only within the loop rules (see follow)
        self.is_copy = is_copy
        #: copies: the wallets upstream of this one, the origin first (see follow)
        self.lineage = lineage


class Fill:
    """The trades of one automated order, accumulated as the engine dispatches them."""

    __slots__ = ("amount", "fee", "first_seq", "first_trade_id", "on_done", "ticket", "value")

    def __init__(self, ticket: Ticket, on_done: OnDone | None) -> None:
        self.ticket = ticket
        self.on_done = on_done
        self.amount = 0  # base, market amount scale
        self.value = 0  # quote, market value scale
        self.fee = 0  # ledger scale, in what the taker received
        self.first_trade_id = 0
        self.first_seq = 0


#: Called once an order is finished: (ticket, fill or None, error code, error message).
OnDone = Callable[[Ticket, "Fill | None", str, str], None]


def error_for_reject(code: str) -> str:
    """An engine reject/failure code as a trade-result error code."""
    if code == ENGINE_INSUFFICIENT:
        return TradeError.INSUFFICIENT_BALANCE
    if code in (E_BELOW_MIN_AMOUNT, E_BELOW_MIN_VALUE):
        return TradeError.AMOUNT_TOO_SMALL
    return TradeError.OTHERS


class Executor:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: open automated orders of the current command: order id -> its fill so far
        self._fills: dict[int, Fill] = {}

    # -- placing -----------------------------------------------------------------------------

    def market(
        self, ticket: Ticket, *, quote_amount: int = 0, amount: int = 0, on_done: OnDone | None = None
    ) -> None:
        """Buy for `quote_amount` (ledger scale) or sell `amount` (base, market scale) now."""
        engine = self.engine
        market = engine.markets[ticket.symbol]
        wallet = engine.wallets.get(ticket.wallet_id)
        if wallet is None or wallet.account_id != ticket.account_id:
            self._failed(
                ticket, on_done, TradeError.OTHERS, f"wallet {ticket.wallet_id} is not the account's"
            )
            return
        free = engine.ledger.free
        if ticket.side == BUY:
            if quote_amount <= 0 or quote_amount < market.min_value * market.value_to_ledger:
                self._failed(
                    ticket,
                    on_done,
                    TradeError.AMOUNT_TOO_SMALL,
                    f"buy of {_quote(quote_amount)} {market.quote} is below the {market.symbol} minimum order value",
                )
                return
            if free(ticket.wallet_id, market.quote) < quote_amount:
                self._failed(
                    ticket,
                    on_done,
                    TradeError.INSUFFICIENT_BALANCE,
                    f"insufficient {market.quote} balance: {_quote(quote_amount)} needed, "
                    f"{_quote(free(ticket.wallet_id, market.quote))} free",
                )
                return
        else:
            if amount <= 0:
                self._failed(ticket, on_done, TradeError.INSUFFICIENT_BALANCE, f"no {market.base} to sell")
                return
            if amount < market.min_amount:
                self._failed(
                    ticket,
                    on_done,
                    TradeError.AMOUNT_TOO_SMALL,
                    f"sell of {market.format_amount(amount)} {market.base} is below the {market.symbol} minimum amount",
                )
                return
            if free(ticket.wallet_id, market.base) < amount * market.base_to_ledger:
                self._failed(
                    ticket, on_done, TradeError.INSUFFICIENT_BALANCE, f"insufficient {market.base} balance"
                )
                return
        order = engine.place_order(
            PlaceOrder(
                ticket.account_id,
                ticket.symbol,
                ticket.side,
                MARKET,
                IOC,
                0,
                amount,
                quote_amount,
                ticket.wallet_id,
                "",
                ticket.source,
                ticket.source_id,
            )
        )
        if order is None:  # the checks above mirror the engine's, so this is a bug elsewhere
            self._failed(ticket, on_done, TradeError.OTHERS, "the venue rejected the order")
            return
        self.watch(order.id, ticket, on_done)

    def watch(self, order_id: int, ticket: Ticket, on_done: OnDone | None = None) -> None:
        """Report the outcome of `order_id`, an order placed in this command (e.g. by a trigger)."""
        self._fills[order_id] = Fill(ticket, on_done)
        self.engine.defer(partial(self._finish, order_id))

    # -- fills -------------------------------------------------------------------------------

    def on_trade(self, trade: TradeEvent) -> Fill | None:
        """Count `trade` if an automated order took part; returns that order's fill."""
        fill = self._fills.get(trade.taker_order_id)
        if fill is None:
            return None
        if not fill.first_trade_id:
            fill.first_trade_id = trade.trade_id
            fill.first_seq = trade.seq
        fill.amount += trade.amount
        fill.value += trade.value
        fill.fee += trade.taker_fee
        return fill

    def _finish(self, order_id: int) -> None:
        fill = self._fills.pop(order_id, None)
        if fill is None:
            return
        ticket = fill.ticket
        if fill.amount == 0:
            self._failed(
                ticket, fill.on_done, TradeError.NO_LIQUIDITY, f"nothing to trade against on {ticket.symbol}"
            )
            return
        market = self.engine.markets[ticket.symbol]
        base = fill.amount * market.base_to_ledger
        quote = fill.value * market.value_to_ledger
        if ticket.side == BUY:
            send, receive = quote, base - fill.fee
        else:
            send, receive = base, quote - fill.fee
        self.emit(ticket, DONE, send, receive, fill.amount, fill.value, fill.first_trade_id, fill.first_seq)
        if fill.on_done is not None:
            fill.on_done(ticket, fill, "", "")

    # -- results -----------------------------------------------------------------------------

    def emit(
        self,
        ticket: Ticket,
        state: ResultState,
        send: int = 0,
        receive: int = 0,
        amount: int = 0,
        value: int = 0,
        trade_id: int = 0,
        block: int = 0,
        code: str = "",
        message: str = "",
    ) -> None:
        self.engine.emit(
            TradeResult,
            ticket.account_id,
            ticket.wallet_id,
            ticket.result_id,
            state,
            ticket.source,
            ticket.sub_source,
            ticket.source_id,
            ticket.chain,
            ticket.side,
            ticket.symbol,
            send,
            receive,
            amount,
            value,
            trade_id,
            block,
            code,
            message,
        )

    def fail(self, ticket: Ticket, code: str, message: str, state: ResultState = FAIL) -> None:
        """Report an attempt that placed nothing."""
        self.emit(ticket, state, code=code, message=message)

    def _failed(self, ticket: Ticket, on_done: OnDone | None, code: str, message: str) -> None:
        self.fail(ticket, code, message)
        if on_done is not None:
            on_done(ticket, None, code, message)


def _quote(amount: int) -> str:
    return format_trimmed(amount, LEDGER_DECIMALS)
