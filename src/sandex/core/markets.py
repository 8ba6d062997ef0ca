"""Market definitions: symbol, precisions, minimums and fees, all as scaled integers."""

from __future__ import annotations

from dataclasses import dataclass, field

from .numbers import LEDGER_DECIMALS, format_scaled, parse_scaled

#: Fees are integers in parts per million of the trade's value (1000 ppm = 0.1 %).
PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class Market:
    symbol: str  # BASE_QUOTE, upper case
    base: str
    quote: str
    price_precision: int
    amount_precision: int
    min_amount: int  # scaled by amount_precision
    min_value: int  # scaled by price_precision + amount_precision
    maker_fee_ppm: int = 1000
    taker_fee_ppm: int = 1000
    #: Where the simulator starts the market's fair price (scaled by price_precision).
    initial_price: int = 0
    # Derived multipliers from the market's scales to the ledger's scale.
    base_to_ledger: int = field(init=False)
    value_to_ledger: int = field(init=False)

    def __post_init__(self) -> None:
        if self.price_precision + self.amount_precision > LEDGER_DECIMALS:
            raise ValueError(
                f"{self.symbol}: price_precision + amount_precision must be <= {LEDGER_DECIMALS}"
            )
        object.__setattr__(self, "base_to_ledger", 10 ** (LEDGER_DECIMALS - self.amount_precision))
        object.__setattr__(
            self, "value_to_ledger", 10 ** (LEDGER_DECIMALS - self.price_precision - self.amount_precision)
        )

    @property
    def value_decimals(self) -> int:
        """Decimal places of price * amount (a trade's quote value before it reaches the ledger)."""
        return self.price_precision + self.amount_precision

    # Edge helpers: decimal strings in and out.
    def parse_price(self, text: str | int) -> int:
        return parse_scaled(text, self.price_precision)

    def parse_amount(self, text: str | int) -> int:
        return parse_scaled(text, self.amount_precision)

    def format_price(self, value: int) -> str:
        return format_scaled(value, self.price_precision)

    def format_amount(self, value: int) -> str:
        return format_scaled(value, self.amount_precision)

    def format_value(self, value: int) -> str:
        return format_scaled(value, self.value_decimals)


def make_market(
    symbol: str,
    price_precision: int,
    amount_precision: int,
    min_amount: str = "0",
    min_value: str = "0",
    maker_fee: str = "0.001",
    taker_fee: str = "0.001",
    initial_price: str = "0",
) -> Market:
    """Build a Market from the decimal strings a config file holds."""
    base, sep, quote = symbol.upper().partition("_")
    if not sep or not base or not quote:
        raise ValueError(f"symbol must look like BASE_QUOTE, got {symbol!r}")
    return Market(
        symbol=symbol.upper(),
        base=base,
        quote=quote,
        price_precision=price_precision,
        amount_precision=amount_precision,
        min_amount=parse_scaled(min_amount, amount_precision),
        min_value=parse_scaled(min_value, price_precision + amount_precision),
        maker_fee_ppm=parse_scaled(maker_fee, 6),
        taker_fee_ppm=parse_scaled(taker_fee, 6),
        initial_price=parse_scaled(initial_price, price_precision),
    )
