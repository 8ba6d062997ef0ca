"""Typed `params` of every DBot method, validated on decode.

Field names are DBot's own (camelCase), so a struct reads like the API reference. Defaults are
those of DBot's official client schemas, except `maxBalanceUI`: DBot's default (100) is in SOL,
and on sandex the native currency is the market's quote (e.g. USDT), where a 100 ceiling would
silently stop every copy — so an absent `maxBalanceUI` means no ceiling.

Numbers are read into `Decimal` (msgspec reads JSON numbers exactly), and only then scaled to
integers by `convert`. Unknown fields are accepted and kept (DBot has many: fees, tips, DEX
filters) — the task's stored view echoes them back.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from ...core.literals import Side
from .errors import DbotError

Hour = Annotated[int, Meta(ge=0, le=23)]
# msgspec cannot put bounds on Decimal: `convert` checks sign and range as it scales them.
NonNegative = Decimal
Ratio01 = Decimal
Page = Annotated[int, Meta(ge=0)]
Size = Annotated[int, Meta(ge=1, le=20)]
#: DBot sends some booleans as the strings "true"/"false" (the seed's closePnlOrder).
Flag = bool | Literal["true", "false"]
#: Amounts arrive as strings ("0.1") or numbers (1); both are read exactly.
Amount = Decimal


def flag(value: Flag) -> bool:
    return value is True or value == "true"


class PnlGroup(Struct):
    pricePercent: NonNegative
    amountPercent: Ratio01


class BuySettings(Struct, kw_only=True):
    enabled: Flag = True
    startHour: Hour = 0
    endHour: Hour = 23
    buyAmountType: Literal["fixed_amount", "fixed_ratio", "follow_amount"] = "follow_amount"
    maxBuyAmountUI: Amount
    buyRatio: Decimal = Decimal(1)
    maxBalanceUI: NonNegative | None = None
    reservedAmountUI: NonNegative = Decimal("0.01")
    targetMinAmountUI: NonNegative = Decimal(0)
    targetMaxAmountUI: NonNegative | None = Decimal(999999)
    maxBuyTimesPerToken: Annotated[int, Meta(ge=1)] | None = 999
    maxBuyAmountPerToken: NonNegative | None = Decimal(999999)
    maxSlippage: Ratio01 = Decimal("0.1")


class SellSettings(Struct, kw_only=True):
    enabled: Flag = True
    startHour: Hour = 0
    endHour: Hour = 23
    mode: Literal["mixed", "only_copy", "only_pnl"] = "mixed"
    sellAmountType: Literal["all", "follow_ratio", "x_target_ratio"] = "all"
    xTargetRatio: Decimal = Decimal(1)
    targetMinAmountUI: NonNegative = Decimal(0)
    targetMaxAmountUI: NonNegative | None = Decimal(999999)
    stopEarnPercent: NonNegative | None = None
    stopLossPercent: NonNegative | None = None
    stopEarnGroup: Annotated[list[PnlGroup], Meta(max_length=6)] | None = None
    stopLossGroup: Annotated[list[PnlGroup], Meta(max_length=6)] | None = None
    trailingStopGroup: Annotated[list[PnlGroup], Meta(max_length=1)] | None = None
    pnlOrderExpireDelta: Annotated[int, Meta(ge=0, le=432_000_000)] = 43_200_000
    pnlOrderExpireExecute: Flag = False
    maxSlippage: Ratio01 = Decimal("0.1")


def _default_sell() -> SellSettings:
    return SellSettings()


class FollowTask(Struct, kw_only=True):
    """createOrUpdateFollowOrder / POST /automation/follow_order (a whole task)."""

    id: str | None = None
    enabled: Flag = True
    name: Annotated[str, Meta(min_length=1)]
    chain: str = "solana"
    targetIds: Annotated[list[str], Meta(min_length=1, max_length=10)]
    tokenBlacklist: Annotated[list[str], Meta(max_length=20)] | None = field(default_factory=list)
    tokenWhitelist: Annotated[list[str], Meta(max_length=20)] | None = field(default_factory=list)
    walletId: str | None = None
    groupId: str | None = None
    buySettings: BuySettings
    sellSettings: SellSettings = field(default_factory=_default_sell)


class ToggleOne(Struct, kw_only=True):
    id: str
    enabled: Flag
    closePnlOrder: Flag = False


class ToggleMany(Struct, kw_only=True):
    ids: Annotated[list[str], Meta(min_length=1)]
    enabled: Flag
    closePnlOrder: Flag = False


class MoveMany(Struct, kw_only=True):
    ids: Annotated[list[str], Meta(min_length=1)]
    walletId: Annotated[str, Meta(min_length=1)]


class DeleteMany(Struct, kw_only=True):
    ids: list[str] | None = None
    id: list[str] | str | None = None  # the WS reference also shows {"id": [...]}
    deletePnlOrder: Flag = False

    def task_ids(self) -> list[str]:
        if self.ids is not None:
            return self.ids
        if isinstance(self.id, str):
            return [self.id]
        return self.id or []


class ListTasks(Struct, kw_only=True):
    page: Page = 0
    size: Size = 20
    chain: str | None = None


class ListPnlOrders(Struct, kw_only=True):
    page: Page = 0
    size: Size = 20
    chain: str | None = None
    state: str | None = None
    token: str | None = None
    sourceId: str | None = None


class LimitSetting(Struct, kw_only=True):
    enabled: Flag = True
    tradeType: Side
    triggerPriceUsd: Amount
    triggerDirection: Literal["up", "down"]
    currencyAmountUI: Amount
    expireDelta: Annotated[int, Meta(ge=0, le=864_000_000)] = 0
    expireExecute: Flag = False


class CreateLimit(Struct, kw_only=True):
    chain: str = "solana"
    pair: Annotated[str, Meta(min_length=1)]
    walletId: str | None = None
    groupId: str | None = None
    settings: Annotated[list[LimitSetting], Meta(min_length=1, max_length=10)]


class UpdateLimit(Struct, kw_only=True):
    """updateLimitOrder: what is left out keeps its current value."""

    id: str
    enabled: Flag | None = None
    triggerPriceUsd: Amount | None = None
    triggerDirection: Literal["up", "down"] | None = None
    currencyAmountUI: Amount | None = None
    expireDelta: Annotated[int, Meta(ge=0, le=864_000_000)] | None = None
    expireExecute: Flag | None = None


class ListLimitOrders(Struct, kw_only=True):
    page: Page = 0
    size: Size = 20
    chain: str | None = None
    state: str | None = None
    groupId: str | None = None
    token: str | None = None


class IdList(Struct, kw_only=True):
    ids: Annotated[list[str], Meta(min_length=1)]


class SwapOrder(Struct, kw_only=True):
    """Fast buy / sell: buy `amountOrPercent` quote, or sell that share (0..1] of the balance."""

    chain: str = "solana"
    pair: Annotated[str, Meta(min_length=1)]
    walletId: str | None = None
    type: Side
    amountOrPercent: Amount


class ListWallets(Struct, kw_only=True):
    type: str | None = None
    page: Page = 0
    size: Size = 20


#: How a decimal may be written inside a JSON string: ASCII digits, one optional point, an
#: optional minus (refused later, by name). No spaces, no exponent, no other script's digits.
_DECIMAL_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
#: Long enough to recognise a bad value in an error message, short enough to never flood one.
_SHOWN = 24


def decode(raw: bytes | msgspec.Raw, kind: type[Struct]) -> Struct:
    """Decode `params` into `kind`; msgspec's message (which names the field) on failure.

    msgspec reads a `Decimal` from a JSON string with Python's `Decimal()`, which also takes
    surrounding spaces and any script's digits (full-width `１`, Arabic-Indic `١`): every
    Decimal that came from a string is checked against the ASCII grammar here, by field path.
    """
    try:
        params = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise DbotError(f"invalid params: {exc}") from None
    except msgspec.DecodeError as exc:
        raise DbotError(f"invalid params: {exc}") from None
    except RecursionError:  # msgspec's guard against absurd nesting (found by fuzzing)
        raise DbotError("invalid params: nested too deeply") from None
    _check_decimal_text(params, _SENT.decode(raw), "$")
    return params


#: The params as sent, strings as strings (only read where the typed params hold a Decimal).
_SENT = msgspec.json.Decoder(float_hook=Decimal)


def _check_decimal_text(typed: Any, sent: Any, path: str) -> None:
    if isinstance(typed, Decimal):
        if isinstance(sent, str) and not _DECIMAL_TEXT.fullmatch(sent):
            shown = sent if len(sent) <= _SHOWN else sent[:_SHOWN] + "..."
            raise DbotError(
                f"invalid params: {path} must be a decimal number in ASCII digits (0-9 and '.'), not {shown!r}"
            )
    elif isinstance(typed, Struct):
        if isinstance(sent, dict):
            for name in typed.__struct_fields__:
                if name in sent:
                    _check_decimal_text(getattr(typed, name), sent[name], f"{path}.{name}")
    elif isinstance(typed, list) and isinstance(sent, list):
        for index, (item, sent_item) in enumerate(zip(typed, sent, strict=False)):
            _check_decimal_text(item, sent_item, f"{path}[{index}]")
