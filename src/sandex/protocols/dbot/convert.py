"""From DBot's decimal params to the core's scaled integers (and back for views).

- UI amounts (maxBuyAmountUI, currencyAmountUI of a buy, ...) are quote currency in ledger scale;
  more than 18 decimal places is an error, never silently rounded money.
- Ratios and percentages are truncated to RATIO_DECIMALS places: a client computing 1/3 should
  not be refused for it, and a ratio is not money.
- Trigger prices are rounded to the market's price precision away from firing early: up-triggers
  round up, down-triggers round down.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext
from typing import Any

import msgspec

from ... import automation as cc
from ...automation import RATIO_DECIMALS, BuySettings, PnlStep, SellSettings, TaskSpec
from ...core.engine import Engine
from ...core.literals import BUY
from ...core.markets import Market
from ...core.numbers import LEDGER_DECIMALS, NumberError, format_trimmed, parse_scaled
from . import params as p
from .errors import DbotError
from .wire import ENCODER, LOOSE

#: Digits before the decimal point any DBot amount, ratio or price may have (as the core's
#: `parse_scaled`): far beyond any real amount, and a bound on what a request makes us compute.
MAX_WHOLE_DIGITS = 40
#: Enough precision for MAX_WHOLE_DIGITS digits and every scale's places: rounding a trigger
#: price or truncating a ratio never rounds anything else.
_EXACT = Context(prec=MAX_WHOLE_DIGITS + 60)


def _checked(value: Decimal, name: str) -> Decimal:
    """`value` if it is a finite, non-negative number of sane size; else DbotError naming the
    field. The message never repeats the number: it may be 400 digits long."""
    if not value.is_finite():
        raise DbotError(f"{name}: not a finite number")
    if value < 0:
        raise DbotError(f"{name}: must not be negative")
    if value and value.adjusted() >= MAX_WHOLE_DIGITS:
        raise DbotError(f"{name}: number too large (more than {MAX_WHOLE_DIGITS} digits before the point)")
    return value


def _scaled(value: Decimal, decimals: int, name: str) -> int:
    """An exact decimal as an integer scaled by 10**decimals; DbotError if it has more places."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: checked by `_checked`
    # Places that matter: trailing zeros do not (normalize() would round to the context's 28 digits).
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0")) if any(digits) else len(digits)
    if -(exponent + zeros) > decimals:
        raise DbotError(f"{name}: more than {decimals} decimal places")
    try:
        return parse_scaled(format(value, "f"), decimals)
    except NumberError as exc:  # not reachable after the checks above; keep the field name
        raise DbotError(f"{name}: {exc.kind} number") from None


def money(value: Decimal, name: str) -> int:
    """A quote amount in ledger scale, exactly."""
    return _scaled(_checked(value, name), LEDGER_DECIMALS, name)


def ratio(value: Decimal, name: str, maximum: int | None = 1) -> int:
    """A ratio in RATIO_DECIMALS places, truncated; within 0..maximum (None: no upper bound)."""
    with localcontext(_EXACT):
        truncated = _checked(value, name).quantize(Decimal(1).scaleb(-RATIO_DECIMALS), rounding=ROUND_FLOOR)
    scaled = _scaled(truncated, RATIO_DECIMALS, name)
    if maximum is not None and scaled > maximum * 10**RATIO_DECIMALS:
        raise DbotError(f"{name}: must be within 0..{maximum}")
    return scaled


def trigger_price(value: Decimal, market: Market, direction: str) -> int:
    name = "triggerPriceUsd"
    step = Decimal(1).scaleb(-market.price_precision)
    with localcontext(_EXACT):
        rounded = _checked(value, name).quantize(
            step, rounding=ROUND_CEILING if direction == "up" else ROUND_FLOOR
        )
    return _scaled(rounded, market.price_precision, name)


def market_of(engine: Engine, pair: str) -> Market:
    """A DBot `pair` (a sandex symbol; BTC_USDT, btc/usdt and BTC-USDT all work)."""
    symbol = pair.strip().upper().replace("/", "_").replace("-", "_")
    market = engine.markets.get(symbol)
    if market is None:
        raise DbotError(
            f"unknown pair {pair!r}; pairs are the venue's symbols: {', '.join(sorted(engine.markets))}"
        )
    return market


def ui(amount: int) -> Decimal:
    """A ledger-scale amount as an exact Decimal (for views)."""
    return Decimal(format_trimmed(amount, LEDGER_DECIMALS))


def ratio_out(value: int) -> Decimal:
    return Decimal(format_trimmed(value, RATIO_DECIMALS))


# -- tasks ----------------------------------------------------------------------------------


def _steps(single: Decimal | None, group: list[p.PnlGroup] | None, name: str) -> list[PnlStep]:
    """A group wins over the single percentage (which sells everything at one price)."""
    if group:
        return [
            PnlStep(
                ratio(g.pricePercent, f"{name}.pricePercent", None),
                ratio(g.amountPercent, f"{name}.amountPercent"),
            )
            for g in group
        ]
    if single is not None and single > 0:
        return [PnlStep(ratio(single, name, None), 10**RATIO_DECIMALS)]
    return []


def _optional_money(value: Decimal | None, name: str) -> int | None:
    return None if value is None else money(value, name)


def task_spec(task: p.FollowTask, raw: bytes | msgspec.Raw) -> TaskSpec:
    buy, sell = task.buySettings, task.sellSettings
    max_buy = money(buy.maxBuyAmountUI, "buySettings.maxBuyAmountUI")
    if max_buy <= 0:
        raise DbotError("buySettings.maxBuyAmountUI must be above 0")
    return TaskSpec(
        name=task.name,
        enabled=p.flag(task.enabled),
        chain=task.chain,
        target_ids=list(task.targetIds),
        token_blacklist=list(task.tokenBlacklist or ()),
        token_whitelist=list(task.tokenWhitelist or ()),
        wallet_id=task.walletId or "",
        group_id=task.groupId or "",
        buy=BuySettings(
            enabled=p.flag(buy.enabled),
            start_hour=buy.startHour,
            end_hour=buy.endHour,
            amount_type=buy.buyAmountType,
            max_buy_amount=max_buy,
            buy_ratio=ratio(buy.buyRatio, "buySettings.buyRatio", 10),
            max_balance=_optional_money(buy.maxBalanceUI, "buySettings.maxBalanceUI"),
            reserved_amount=money(buy.reservedAmountUI, "buySettings.reservedAmountUI"),
            target_min_amount=money(buy.targetMinAmountUI, "buySettings.targetMinAmountUI"),
            target_max_amount=_optional_money(buy.targetMaxAmountUI, "buySettings.targetMaxAmountUI"),
            max_buy_times_per_token=buy.maxBuyTimesPerToken,
            max_buy_amount_per_token=_optional_money(
                buy.maxBuyAmountPerToken, "buySettings.maxBuyAmountPerToken"
            ),
            max_slippage=ratio(buy.maxSlippage, "buySettings.maxSlippage"),
        ),
        sell=SellSettings(
            enabled=p.flag(sell.enabled),
            start_hour=sell.startHour,
            end_hour=sell.endHour,
            mode=sell.mode,
            amount_type=sell.sellAmountType,
            x_target_ratio=ratio(sell.xTargetRatio, "sellSettings.xTargetRatio", 100),
            target_min_amount=money(sell.targetMinAmountUI, "sellSettings.targetMinAmountUI"),
            target_max_amount=_optional_money(sell.targetMaxAmountUI, "sellSettings.targetMaxAmountUI"),
            take_profit=_steps(sell.stopEarnPercent, sell.stopEarnGroup, "sellSettings.stopEarnPercent"),
            stop_loss=_steps(sell.stopLossPercent, sell.stopLossGroup, "sellSettings.stopLossPercent"),
            trailing_stop=_steps(None, sell.trailingStopGroup, "sellSettings.trailingStopGroup"),
            expire_delta=sell.pnlOrderExpireDelta,
            expire_execute=p.flag(sell.pnlOrderExpireExecute),
            max_slippage=ratio(sell.maxSlippage, "sellSettings.maxSlippage"),
        ),
        view=task_view_json(task, raw),
    )


def task_view_json(task: p.FollowTask, raw: bytes | msgspec.Raw) -> str:
    """The request as the list views will show it: what the client sent, with the settings sandex
    acts on filled in with their defaults where it left them out."""
    sent = LOOSE.decode(raw)
    typed = msgspec.to_builtins(task, builtin_types=(Decimal,))
    for volatile in ("id", "enabled", "walletId", "targetIds"):
        typed.pop(volatile, None)  # live values, filled in by the view itself
        sent.pop(volatile, None)
    return ENCODER.encode(_merge(sent, typed)).decode()


def _merge(sent: Any, typed: Any) -> Any:
    """Defaults fill in what the client left out; what it sent is shown as it sent it."""
    if isinstance(sent, dict) and isinstance(typed, dict):
        out = dict(sent)
        for key, value in typed.items():
            out[key] = _merge(sent[key], value) if key in sent else value
        return out
    return sent


# -- limit and swap orders ------------------------------------------------------------------


def limit_setting(setting: p.LimitSetting, market: Market, raw: Any) -> cc.LimitSetting:
    amount = setting.currencyAmountUI
    is_buy = setting.tradeType == BUY
    return cc.LimitSetting(
        enabled=p.flag(setting.enabled),
        side=setting.tradeType,
        trigger_price=trigger_price(setting.triggerPriceUsd, market, setting.triggerDirection),
        direction=setting.triggerDirection,
        quote_amount=money(amount, "currencyAmountUI") if is_buy else 0,
        sell_ratio=0 if is_buy else ratio(amount, "currencyAmountUI"),
        expire_delta=setting.expireDelta,
        expire_execute=p.flag(setting.expireExecute),
        view=ENCODER.encode(raw).decode(),
    )
