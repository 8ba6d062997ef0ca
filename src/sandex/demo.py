"""The demo venue: what `sandex serve` runs with no config file.

Markets cover the usual shapes a bot meets: a high-priced base with fine amounts (BTC), coarse
amounts (XRP, one decimal), whole-unit amounts (DOGE) and a crypto-quoted pair (ETH_BTC).
Minimum order values are about 5 USDT, like the real venues.

The demo account's key and secret are not constants: anything fixed in the source would be the
same on every machine. They are generated once per data dir (the server persists them and
prints them at start) through `generate_demo_credentials`.
"""

from __future__ import annotations

import random

import msgspec

from .config import AccountConfig, Config, MarketConfig

__all__ = [
    "DEMO_ACCOUNT_NAME",
    "DEMO_BALANCES",
    "DEMO_MARKETS",
    "DemoCredentials",
    "demo_account",
    "generate_demo_credentials",
    "with_demo_account",
]


DEMO_MARKETS: tuple[MarketConfig, ...] = (
    MarketConfig(
        symbol="BTC_USDT",
        price_precision=2,
        amount_precision=6,
        min_amount="0.00001",
        min_value="5",
        initial_price="65000",
    ),
    MarketConfig(
        symbol="ETH_USDT",
        price_precision=2,
        amount_precision=4,
        min_amount="0.001",
        min_value="5",
        initial_price="3500",
    ),
    MarketConfig(
        symbol="SOL_USDT",
        price_precision=3,
        amount_precision=3,
        min_amount="0.01",
        min_value="5",
        initial_price="150",
    ),
    MarketConfig(
        symbol="XRP_USDT",
        price_precision=4,
        amount_precision=1,
        min_amount="1",
        min_value="5",
        initial_price="0.6",
    ),
    MarketConfig(
        symbol="DOGE_USDT",
        price_precision=5,
        amount_precision=0,
        min_amount="10",
        min_value="5",
        initial_price="0.15",
    ),
    MarketConfig(
        symbol="ETH_BTC",
        price_precision=6,
        amount_precision=4,
        min_amount="0.001",
        # Quoted in BTC: about 5 USDT at the demo's starting prices.
        min_value="0.0001",
        initial_price="0.054",
    ),
)

DEMO_ACCOUNT_NAME = "demo"
#: Enough of every demo currency to trade each market many times over.
DEMO_BALANCES: dict[str, str] = {
    "USDT": "1000000",
    "BTC": "10",
    "ETH": "100",
    "SOL": "1000",
    "XRP": "100000",
    "DOGE": "1000000",
}


class DemoCredentials(msgspec.Struct, frozen=True):
    api_key: str
    secret: str


def generate_demo_credentials(rng: random.Random) -> DemoCredentials:
    """New demo credentials: a 32-hex-digit key and a 64-hex-digit secret.

    The caller picks the randomness: `random.SystemRandom()` for a real data dir, a seeded
    `random.Random` in tests. Plain lower-case hex passes every dialect's key syntax and
    survives URLs (Infoway sends the key as a query parameter) without escaping.
    """
    return DemoCredentials(
        api_key=f"{rng.getrandbits(128):032x}",
        secret=f"{rng.getrandbits(256):064x}",
    )


def demo_account(credentials: DemoCredentials) -> AccountConfig:
    return AccountConfig(
        name=DEMO_ACCOUNT_NAME,
        api_key=credentials.api_key,
        secret=credentials.secret,
        balances=dict(DEMO_BALANCES),
    )


def with_demo_account(config: Config, credentials: DemoCredentials) -> Config:
    """The config plus the demo account, when it declares no accounts of its own."""
    if not config.needs_demo_account:
        return config
    return msgspec.structs.replace(config, accounts=(demo_account(credentials),))
