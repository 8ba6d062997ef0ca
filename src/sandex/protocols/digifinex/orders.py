"""The REST order form, read into engine commands; engine rejects read back as REST errors.

`POST /v3/spot/order/new` takes `symbol`, `type` (buy | sell | buy_market | sell_market),
`amount`, `price` (limit orders), `post_only` (1 = post-only; ccxt sends 2 for "no") and
`market` (spot). For `buy_market` the amount is the quote to spend (DigiFinex's rule; ccxt
computes it as amount x price, or takes `cost`), which the engine takes in ledger scale.

Everything is checked before a command exists, so a malformed order never reaches the journal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from sandex.core.commands import BUY, GTC, LIMIT, MARKET, POST_ONLY, SELL, PlaceOrder
from sandex.core.events import R_IOC, R_NO_LIQUIDITY, R_PLACED, R_POST_ONLY, Event, OrderEvent, Rejected
from sandex.core.markets import Market
from sandex.core.numbers import NumberError, parse_scaled

from . import errors
from .errors import RestError

_TYPES = {
    "buy": (BUY, LIMIT),
    "sell": (SELL, LIMIT),
    "buy_market": (BUY, MARKET),
    "sell_market": (SELL, MARKET),
}
_POST_ONLY = {"1": True, "true": True, "0": False, "2": False, "false": False, "": False}
#: Reasons of the event that reports a newly placed order (its first and, for a taker, only one).
_NEW_ORDER_REASONS = frozenset({R_PLACED, R_IOC, R_NO_LIQUIDITY, R_POST_ONLY})


def require(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise RestError(errors.ILLEGAL_PARAMS, f"missing parameter: {name}")
    return value


def market_of(form: Mapping[str, str], markets: Mapping[str, Market]) -> Market:
    symbol = require(form, "symbol").upper()
    market = markets.get(symbol)
    if market is None:
        raise RestError(errors.BAD_SYMBOL, f"unknown symbol: {symbol}")
    return market


def check_spot(form: Mapping[str, str]) -> None:
    """`market` defaults to spot; margin trading is not simulated."""
    market = form.get("market", "spot").strip().lower() or "spot"
    if market != "spot":
        raise RestError(errors.ILLEGAL_PARAMS, f"market {market!r} is not supported (spot only)")


#: The only number syntax DigiFinex's order fields take: ASCII digits, an optional fraction. No
#: sign, exponent, spaces or other scripts' digits (Python's int() reads "１" and "١" as digits,
#: and str.strip() eats the space of " 0.001": all of these must be refused, not read).
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _number(form: Mapping[str, str], name: str) -> str:
    """An order's price or amount as sent: missing is 10004, anything but a plain ASCII decimal
    (checked on the text exactly as received) is 20003."""
    text = form.get(name, "")
    if not text.strip():
        raise RestError(errors.ILLEGAL_PARAMS, f"missing parameter: {name}")
    if _DECIMAL.fullmatch(text) is None:
        raise RestError(errors.INVALID_PRICE_OR_AMOUNT, f"invalid {name}: {text!r} is not a decimal number")
    return text


def _scaled(text: str, decimals: int, precision_code: int, what: str) -> int:
    try:
        value = parse_scaled(text, decimals)
    except NumberError as exc:
        if exc.kind == "precision":
            raise RestError(precision_code, f"{what} has more than {decimals} decimal places") from None
        raise RestError(errors.INVALID_PRICE_OR_AMOUNT, f"invalid {what}: {text!r}") from None
    if value <= 0:
        raise RestError(errors.INVALID_PRICE_OR_AMOUNT, f"{what} must be positive")
    return value


def place_order_command(
    form: Mapping[str, str], account_id: int, markets: Mapping[str, Market]
) -> PlaceOrder:
    check_spot(form)
    market = market_of(form, markets)
    type_ = require(form, "type").lower()
    if type_ not in _TYPES:
        raise RestError(errors.INVALID_TRADE_TYPE, "type must be buy, sell, buy_market or sell_market")
    side, kind = _TYPES[type_]
    amount_text = _number(form, "amount")
    if kind == LIMIT:
        post_only = _POST_ONLY.get(form.get("post_only", "").strip().lower())
        if post_only is None:
            raise RestError(errors.ILLEGAL_PARAMS, "post_only must be 1 or 0")
        price = _scaled(_number(form, "price"), market.price_precision, errors.PRICE_PRECISION, "price")
        amount = _scaled(amount_text, market.amount_precision, errors.AMOUNT_PRECISION, "amount")
        return PlaceOrder(
            account_id, market.symbol, side, LIMIT, POST_ONLY if post_only else GTC, price, amount
        )
    if side == BUY:
        # Quote cost, read in the value scale (price x amount places) and moved to ledger scale.
        cost = _scaled(amount_text, market.value_decimals, errors.AMOUNT_PRECISION, "amount")
        return PlaceOrder(account_id, market.symbol, BUY, MARKET, quote_amount=cost * market.value_to_ledger)
    amount = _scaled(amount_text, market.amount_precision, errors.AMOUNT_PRECISION, "amount")
    return PlaceOrder(account_id, market.symbol, SELL, MARKET, amount=amount)


_batch_list = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_json_str = msgspec.json.Decoder(str)


def _form_value(raw: msgspec.Raw) -> str:
    """A batch order field as the form text it stands for: a JSON string's content, or a JSON
    number's literal exactly as sent (never read through a float)."""
    text = bytes(raw)
    if text[:1] == b'"':
        return _json_str.decode(text)
    if text[:1] in b"-0123456789" and text[:1]:
        return text.decode()
    raise RestError(errors.ILLEGAL_PARAMS, "batch order fields must be strings or numbers")


def batch_forms(form: Mapping[str, str], *, limit: int) -> list[dict[str, str]]:
    """`POST /v3/spot/order/batch_new`: `symbol`, `market` and `list`, a JSON array of up to
    `limit` orders, each with the fields of `order/new` (its `symbol`, if given, must be the
    call's). Returns one order form per order, in order."""
    check_spot(form)
    symbol = require(form, "symbol").upper()
    try:
        items = _batch_list.decode(require(form, "list"))
    except msgspec.DecodeError:
        raise RestError(errors.ILLEGAL_PARAMS, "list must be a JSON array of order objects") from None
    if not items or len(items) > limit:
        raise RestError(errors.ILLEGAL_PARAMS, f"list must hold 1 to {limit} orders")
    forms: list[dict[str, str]] = []
    for item in items:
        order = {name: _form_value(value) for name, value in item.items()}
        if order.setdefault("symbol", symbol).strip().upper() != symbol:
            raise RestError(errors.ILLEGAL_PARAMS, f"every order of a batch must be for {symbol}")
        forms.append(order)
    return forms


def placed_order(events: list[Event], account_id: int) -> OrderEvent:
    """The new order's event among a PlaceOrder's events, or the reject as a RestError.

    Makers it traded with, and own resting orders removed by self-trade prevention, report
    first (reasons fill / self_trade); the new order reports once matching is done; orders of
    triggers it fired come after it.
    """
    for event in events:
        if isinstance(event, Rejected):
            raise errors.from_reject(event.code, event.message)
        if (
            isinstance(event, OrderEvent)
            and event.account_id == account_id
            and event.reason in _NEW_ORDER_REASONS
        ):
            return event
    raise RestError(errors.INTERNAL, "the engine reported no order")


def order_ids(form: Mapping[str, str], *, limit: int = 20) -> list[str]:
    """`order_id=a,b,c` (DigiFinex allows up to 20 per call)."""
    ids = [part.strip() for part in require(form, "order_id").split(",") if part.strip()]
    if not ids or len(ids) > limit:
        raise RestError(errors.ILLEGAL_PARAMS, f"order_id must list 1 to {limit} ids")
    return ids


def engine_order_id(text: str) -> int | None:
    """Order ids are the engine's integers as decimal strings; anything else names no order."""
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses (found by fuzzing).
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None
