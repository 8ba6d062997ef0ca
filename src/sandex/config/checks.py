"""Stage 2 of loading: what the config means, checked where msgspec cannot (symbol syntax,
decimal strings exact at a market's precision, duplicates, "initial_price is required while the
simulator runs"). Every failure names its key."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn

from ..core.markets import PPM
from ..core.numbers import LEDGER_DECIMALS, NumberError, parse_scaled
from ..faults.profile import problems as fault_problems
from .errors import ConfigError, show, toml_key
from .schema import SIMULATOR_ACCOUNTS, Config

__all__ = ["check"]

_SYMBOL = re.compile(r"^[A-Z0-9]+_[A-Z0-9]+$")
_CURRENCY = re.compile(r"^[A-Z0-9]+$")
# Keys and secrets travel in URLs, headers and signed payloads: printable ASCII, no spaces.
_TOKEN = re.compile(r"^[\x21-\x7e]+$")


def check(config: Config, source: str) -> None:
    def fail(key: str, message: str) -> NoReturn:
        raise ConfigError(source, key, f"{source}: {key}: {message}")

    if not config.server.host.strip():
        fail("server.host", "must not be empty")
    if config.bus.url is not None and config.journal.sync == "off":
        # The bus numbers what it publishes by journal seq and refills gateways from the journal.
        fail("bus.url", 'needs the journal: journal.sync "off" keeps none')
    if not config.markets:
        fail(
            "markets", "at least one [[markets]] entry is needed (or leave the key out for the demo markets)"
        )

    seen_symbols: dict[str, int] = {}
    for i, market in enumerate(config.markets):
        at = f"markets[{i}]"
        if not _SYMBOL.match(market.symbol):
            fail(f"{at}.symbol", f"{show(market.symbol)} is not BASE_QUOTE in upper-case letters and digits")
        if market.base == market.quote:
            fail(f"{at}.symbol", f"{show(market.symbol)} trades a currency against itself")
        if market.symbol in seen_symbols:
            fail(
                f"{at}.symbol",
                f"{show(market.symbol)} is already defined by markets[{seen_symbols[market.symbol]}]",
            )
        seen_symbols[market.symbol] = i
        # A trade's value (price * amount) must fit the ledger's scale without rounding.
        total = market.price_precision + market.amount_precision
        if total > LEDGER_DECIMALS:
            fail(
                f"{at}.amount_precision",
                f"price_precision + amount_precision is {total}; at most {LEDGER_DECIMALS}",
            )
        _decimal(fail, f"{at}.min_amount", market.min_amount, market.amount_precision, "amount_precision")
        _decimal(fail, f"{at}.min_value", market.min_value, total, "price_precision + amount_precision")
        for name in ("maker_fee", "taker_fee"):
            # Fees are kept in parts per million, hence six places.
            if _decimal(fail, f"{at}.{name}", getattr(market, name), 6, "fees") >= PPM:
                fail(f"{at}.{name}", "must be below 1 (a fee of 100 %)")
        if market.initial_price is not None:
            price = _decimal(
                fail, f"{at}.initial_price", market.initial_price, market.price_precision, "price_precision"
            )
            if price == 0:
                fail(f"{at}.initial_price", "must be above 0")
        elif config.simulator.enabled:
            fail(
                f"{at}.initial_price", "is required while the simulator is enabled (or disable it, --no-sim)"
            )

    names: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, account in enumerate(config.accounts):
        at = f"accounts[{i}]"
        if not account.name.strip():
            fail(f"{at}.name", "must not be empty")
        if account.name in names:
            fail(f"{at}.name", f"{show(account.name)} is already used by accounts[{names[account.name]}]")
        if account.name in SIMULATOR_ACCOUNTS:
            fail(f"{at}.name", f"{show(account.name)} is the simulator's own account")
        names[account.name] = i
        for name in ("api_key", "secret"):
            if not _TOKEN.match(getattr(account, name)):
                fail(f"{at}.{name}", "must be non-empty printable ASCII without spaces")
        if account.api_key in keys:
            fail(f"{at}.api_key", f"is already used by accounts[{keys[account.api_key]}]")
        keys[account.api_key] = i
        for currency, amount in account.balances.items():
            key = f"{at}.balances.{toml_key(currency)}"
            if not _CURRENCY.match(currency):
                fail(key, f"{show(currency)} is not a currency (upper-case letters and digits)")
            _decimal(fail, key, amount, LEDGER_DECIMALS, "balances")
        for name in ("maker_fee", "taker_fee"):
            fee = getattr(account, name)
            if fee is not None and _decimal(fail, f"{at}.{name}", fee, 6, "fees") >= PPM:
                fail(f"{at}.{name}", "must be below 1 (a fee of 100 %)")
        wallets: set[str] = set()
        for j, wallet in enumerate(account.wallets):
            if not _TOKEN.match(wallet):
                fail(f"{at}.wallets[{j}]", "must be a non-empty name without spaces")
            if wallet in wallets:
                fail(f"{at}.wallets[{j}]", f"{show(wallet)} is listed twice")
            wallets.add(wallet)

    fault_names: dict[str, int] = {}
    for i, profile in enumerate(config.faults):
        at = f"faults[{i}]"
        for key, message in fault_problems(profile):
            fail(f"{at}.{key}", message)
        if profile.name in fault_names:
            fail(f"{at}.name", f"{show(profile.name)} is already used by faults[{fault_names[profile.name]}]")
        fault_names[profile.name] = i


def _decimal(
    fail: Callable[[str, str], NoReturn], key: str, text: str, decimals: int, scale_name: str
) -> int:
    """Read a decimal string exactly or fail naming the key; returns the scaled integer."""
    try:
        return parse_scaled(text, decimals)
    except NumberError as exc:
        if exc.kind == "precision":
            fail(key, f"{show(text)} has more than {decimals} decimal places ({scale_name})")
        elif exc.kind == "negative":
            fail(key, f"{show(text)} must not be negative")
        fail(key, f"{show(text)} is not a decimal number")
