"""Recorded symbols to venue markets, and recorded decimal strings to the markets' integers."""

from __future__ import annotations

from collections.abc import Mapping

from ..core.markets import Market
from ..core.numbers import MAX_WHOLE_DIGITS, NumberError, parse_scaled
from .errors import RecordError

#: The stored columns are int64: a scaled value beyond this does not fit (and is refused).
INT64_MAX = 2**63 - 1


class SymbolMap:
    """`{"BTCUSDT": "BTC_USDT"}` checked against the venue's markets; looked up per record."""

    def __init__(self, symbols: Mapping[str, str], markets: Mapping[str, Market]) -> None:
        for recorded, venue in symbols.items():
            if venue not in markets:
                raise ValueError(f"symbols maps {recorded} to {venue}, which is not a market of the venue")
        self._symbols = dict(symbols)
        self._by_upper = {recorded.upper(): venue for recorded, venue in symbols.items()}
        self._markets = markets

    def market(self, recorded: str) -> Market:
        """The venue market of a recorded symbol (matched exactly, then case-insensitively)."""
        venue = self._symbols.get(recorded) or self._by_upper.get(recorded.upper())
        if venue is None:
            raise RecordError(
                f"symbol {recorded!r} is not mapped to a venue market (symbols maps {self.known()})"
            )
        return self._markets[venue]

    def known(self) -> str:
        return ", ".join(sorted(self._symbols)) or "nothing"

    def recorded(self) -> list[str]:
        return sorted(self._symbols)

    def settings(self) -> list[tuple[str, str, int, int]]:
        """What the stored integers depend on: each mapping with its market's precisions."""
        return [
            (recorded, venue, self._markets[venue].price_precision, self._markets[venue].amount_precision)
            for recorded, venue in sorted(self._symbols.items())
        ]


def scale_price(text: object, market: Market) -> int:
    """A recorded price as the market's integer; it must be positive and on the market's tick."""
    value = _scale(text, market.price_precision, "price", market)
    if value <= 0:
        raise RecordError(f"price {text!r} is not positive")
    return value


def scale_size(text: object, market: Market, *, what: str = "size") -> int:
    """A recorded size (>= 0) as the market's integer, in the market's amount precision."""
    return _scale(text, market.amount_precision, what, market)


def _scale(text: object, decimals: int, what: str, market: Market) -> int:
    if not isinstance(text, str):
        raise RecordError(f"{what} {text!r} is not a decimal string")
    cache = _CACHES.get(decimals)
    if cache is None:
        cache = _CACHES[decimals] = {}
    value = cache.get(text)
    if value is not None:
        return value
    value = _plain(text, decimals)
    if value is None:  # anything unusual, errors included, is parse_scaled's to judge
        try:
            value = parse_scaled(text, decimals)
        except NumberError as error:
            if error.kind == "precision":
                raise RecordError(
                    f"{what} {text!r} does not fit {market.symbol}'s precision ({decimals} decimal places)"
                ) from None
            if error.kind == "negative":
                raise RecordError(f"{what} {text!r} is negative") from None
            raise RecordError(f"{what}: {error}") from None
    if value > INT64_MAX:
        raise RecordError(f"{what} {text!r} is too large for {market.symbol}")
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[text] = value
    return value


#: Recordings repeat the same price and size strings all the time: their values, per precision
#: (a pure function of the text, so sharing it between imports changes nothing).
_CACHES: dict[int, dict[str, int]] = {}
_CACHE_SIZE = 1 << 20


def _plain(text: str, decimals: int) -> int | None:
    """The common case, `digits[.digits]` in ASCII, read without a regex; None for anything else
    (parse_scaled then reads it, or refuses it with its message). Gives parse_scaled's value."""
    whole, _, fraction = text.partition(".")
    if not (whole.isascii() and whole.isdigit() and len(whole) <= MAX_WHOLE_DIGITS):
        return None
    if fraction:
        if not (fraction.isascii() and fraction.isdigit()):
            return None
        fraction = fraction.rstrip("0")
        if len(fraction) > decimals:
            return None
    one: int = 10**decimals  # annotated: mypy types int ** int as Any (a negative power is a float)
    scaled = int(whole) * one
    if not fraction:
        return scaled
    step: int = 10 ** (decimals - len(fraction))
    return scaled + int(fraction) * step
