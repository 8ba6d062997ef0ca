"""Fixed-point money: decimal strings at the edges, scaled integers inside.

Every price is an integer scaled by its market's price precision, every base amount by the
market's amount precision, and every ledger balance by LEDGER_DECIMALS (one scale for all
currencies, so adding a market never changes how an existing balance is stored).
"""

from __future__ import annotations

import re

#: Decimal places of every ledger balance, whatever the currency (like ERC-20's 18).
LEDGER_DECIMALS = 18
LEDGER_ONE: int = 10**LEDGER_DECIMALS

#: The ASCII decimal grammar, and nothing else: `[0-9]` and not `\d` (which matches any Unicode
#: digit, full-width `１` and Arabic-Indic `١` included), no surrounding space, `\Z` and not `$`
#: (which also matches before a trailing newline). Either side of the point may be empty, not both.
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?\Z", re.ASCII)

#: Digits of the integer part beyond which a number is refused as too large (a balance of
#: 10**40 is far beyond any real amount, and the work of reading it stays bounded).
MAX_WHOLE_DIGITS = 40
#: How much of a refused input an error message quotes: enough to recognise it, never the whole
#: of a hostile 400-digit string.
_QUOTED = 24


class NumberError(ValueError):
    """A decimal string that cannot be read, or needs more places than allowed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        #: "invalid" (not a number), "precision" (too many decimal places) or "negative".
        self.kind = kind


def parse_scaled(text: str | int, decimals: int, *, allow_negative: bool = False) -> int:
    """Read a decimal string (or int) as an integer scaled by 10**decimals, exactly.

    Raises NumberError when the text is not a plain ASCII decimal (optional sign, digits, an
    optional point; no spaces, no exponent, no other script's digits), or has non-zero digits
    beyond `decimals` places. Floats are refused on purpose: they cannot be read exactly. Error
    messages quote at most the first few characters of the input.
    """
    if isinstance(text, bool):
        raise NumberError("invalid", f"not a number: {_quote(text)}")
    value: int
    if isinstance(text, int):
        if abs(text) >= 10**MAX_WHOLE_DIGITS:
            raise NumberError("invalid", f"number too large: more than {MAX_WHOLE_DIGITS} digits")
        value = text * 10**decimals
    elif isinstance(text, str):
        match = _DECIMAL.match(text)
        if match is None or (match.group(2) == "" and not match.group(3)):
            raise NumberError("invalid", f"not a decimal number: {_quote(text)}")
        sign, whole, frac = match.group(1), match.group(2).lstrip("0") or "0", match.group(3) or ""
        if len(whole) > MAX_WHOLE_DIGITS:
            raise NumberError(
                "invalid",
                f"number too large: {len(whole)} digits before the point (at most {MAX_WHOLE_DIGITS})",
            )
        frac = frac.rstrip("0")
        if len(frac) > decimals:
            raise NumberError("precision", f"{_quote(text)} has more than {decimals} decimal places")
        value = int(whole) * 10**decimals + (int(frac) * 10 ** (decimals - len(frac)) if frac else 0)
        if sign == "-":
            value = -value
    else:
        raise NumberError("invalid", f"not a number: {_quote(text)}")
    if value < 0 and not allow_negative:
        raise NumberError("negative", f"negative number: {_quote(text)}")
    return value


def _quote(text: object) -> str:
    """The input as an error message shows it: repr'd, and cut short when long."""
    shown = repr(text)
    return shown if len(shown) <= _QUOTED else f"{shown[: _QUOTED - 4]}...{shown[-1]}"


def format_scaled(value: int, decimals: int) -> str:
    """Write a scaled integer as a fixed-point decimal string with exactly `decimals` places."""
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def format_trimmed(value: int, decimals: int) -> str:
    """Like format_scaled, without trailing zeros (and without a bare trailing point)."""
    text = format_scaled(value, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def rescale(value: int, from_decimals: int, to_decimals: int) -> int:
    """Move a scaled integer to another scale, rounding toward zero when it loses places."""
    if to_decimals >= from_decimals:
        scale: int = 10 ** (to_decimals - from_decimals)
        return value * scale
    step: int = 10 ** (from_decimals - to_decimals)
    return value // step if value >= 0 else -((-value) // step)
