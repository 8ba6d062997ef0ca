"""Core records rendered as DBot's JSON objects (list replies and REST bodies).

Prices are Decimals (written as JSON numbers), amounts of the quote currency are "UI" Decimals
as DBot shows them. A wallet's address is its id: on sandex the wallet id is the address.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...automation import CopyTask, LimitOrder, PnlOrder, SwapOrder
from ...core.engine import Engine, Wallet
from ...core.literals import BUY, SELL
from ...core.markets import Market
from ...core.numbers import format_trimmed
from .convert import ratio_out, ui
from .wire import LOOSE

#: A wallet id is 0x + 40 hex digits, the shape of an EVM address.
WALLET_TYPE = "evm"


def price(market: Market, value: int, amount: int = 0) -> Decimal | None:
    """A scaled price (or the average value/amount of a fill) as a Decimal; None if undefined."""
    if amount:
        if not value:
            return None
        exact = Decimal(value) / Decimal(amount)
        return _trim(
            exact.scaleb(-market.price_precision).quantize(Decimal(1).scaleb(-(market.price_precision + 8)))
        )
    return Decimal(format_trimmed(value, market.price_precision))


def _trim(value: Decimal) -> Decimal:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)


def token_info(currency: str) -> dict[str, Any]:
    """DBot's token info block for a sandex currency (amounts are in ledger scale: 18 decimals)."""
    return {
        "contract": currency,
        "name": currency,
        "symbol": currency,
        "decimals": 18,
        "icon": None,
        "totalSupply": None,
    }


def wallet_view(wallet: Wallet) -> dict[str, Any]:
    return {"id": wallet.id, "name": wallet.name, "type": WALLET_TYPE, "address": wallet.id}


def task_view(engine: Engine, task: CopyTask) -> dict[str, Any]:
    view: dict[str, Any] = LOOSE.decode(task.spec.view)
    view.update(
        {
            "id": task.id,
            "accountId": str(task.account_id),
            "enabled": task.enabled,
            "walletId": task.wallet_id,
            "targetIds": list(task.spec.target_ids),
            "createAt": task.created_ts,
        }
    )
    wallet = engine.wallets.get(task.wallet_id)
    view["walletName"] = wallet.name if wallet else None
    view["walletAddress"] = task.wallet_id
    return view


def pnl_view(engine: Engine, pnl: PnlOrder) -> dict[str, Any]:
    market = engine.markets[pnl.symbol]
    return {
        "id": pnl.id,
        "accountId": str(pnl.account_id),
        "enabled": pnl.enabled,
        "state": pnl.state,
        "chain": pnl.chain,
        "type": pnl.kind,
        "tradeType": "sell",
        "basePriceUsd": price(market, pnl.base_value, pnl.base_amount),
        "triggerDirection": "up" if pnl.kind == "take_profit" else "down",
        "triggerPriceUsd": price(market, pnl.trigger_price),
        "triggerPercent": ratio_out(pnl.trigger_percent),
        "initPnlPercent": ratio_out(pnl.trigger_percent),
        "peakPriceUsd": price(market, pnl.peak) if pnl.peak else None,
        "txPriceUsd": price(market, pnl.tx_value, pnl.tx_amount) if pnl.tx_amount else None,
        "currencyAmountUI": ratio_out(pnl.amount_percent),
        "amount": market.format_amount(pnl.amount),
        "pair": pnl.symbol,
        "token": market.base,
        "walletId": pnl.wallet_id,
        "walletType": WALLET_TYPE,
        "walletAddress": pnl.wallet_id,
        "source": pnl.source,
        "sourceGroupIdx": pnl.group_idx,
        "sourceId": pnl.source_id,
        "sourceTradeId": pnl.source_trade_id,
        "expireAt": pnl.expires_at or None,
        "expireDelta": pnl.expire_delta,
        "expireExecute": pnl.expire_execute,
        "createAt": pnl.created_ts,
        "errorCode": pnl.error_code,
        "errorMessage": pnl.error_message,
        "currencyInfo": token_info(market.quote),
        "tokenInfo": token_info(market.base),
    }


def limit_view(engine: Engine, order: LimitOrder) -> dict[str, Any]:
    market = engine.markets[order.symbol]
    view: dict[str, Any] = LOOSE.decode(order.view)
    view.update(
        {
            "id": order.id,
            "accountId": str(order.account_id),
            "enabled": order.enabled,
            "groupId": order.group_id or None,
            "state": order.state,
            "chain": order.chain,
            "tradeType": order.side,
            "triggerDirection": order.direction,
            "triggerPriceUsd": price(market, order.trigger_price),
            "currencyAmountUI": ui(order.quote_amount) if order.side == BUY else ratio_out(order.sell_ratio),
            "amount": market.format_amount(order.amount) if order.side == SELL else None,
            "txPriceUsd": price(market, order.tx_value, order.tx_amount) if order.tx_amount else None,
            "pair": order.symbol,
            "token": market.base,
            "walletId": order.wallet_id,
            "walletType": WALLET_TYPE,
            "walletAddress": order.wallet_id,
            "expireAt": order.expires_at or None,
            "expireDelta": order.expire_delta,
            "expireExecute": order.expire_execute,
            "createAt": order.created_ts,
            "errorCode": order.error_code,
            "errorMessage": order.error_message,
            "currencyInfo": token_info(market.quote),
            "tokenInfo": token_info(market.base),
        }
    )
    return view


def swap_view(engine: Engine, order: SwapOrder) -> dict[str, Any]:
    market = engine.markets[order.symbol]
    return {
        "id": order.id,
        "state": order.state,
        "chain": order.chain,
        "tradeType": order.side,
        "pair": order.symbol,
        "walletId": order.wallet_id,
        "txPriceUsd": price(market, order.tx_value, order.tx_amount) if order.tx_amount else None,
        "swapHash": str(order.trade_id) if order.trade_id else None,
        "createAt": order.created_ts,
        "errorCode": order.error_code,
        "errorMessage": order.error_message,
    }
