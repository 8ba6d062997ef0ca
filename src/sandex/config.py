"""Venue configuration: one TOML file, typed, checked completely before anything starts.

Every section is a frozen msgspec Struct that forbids unknown fields, so a typo such as
`prize_precision` stops the start instead of silently falling back to a default. Loading has
two stages, and both report the offending key path and file:

1. shape — `tomllib` reads the text and `msgspec.convert` checks types, ranges and enums; its
   errors are rewritten into config vocabulary (`markets[1].prize_precision`, "a TOML float");
2. meaning — checks msgspec cannot express: symbol syntax, decimal strings that must be exact
   at a market's precision, duplicates, "initial_price is required while the simulator runs".

Money is always a quoted decimal string here and is read with `parse_scaled`; a TOML float is
refused because it cannot be read exactly (0.1 is not 0.1). Floats are allowed only for
simulator rates and ratios, which are not money.
"""

from __future__ import annotations

import decimal
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import msgspec
import msgspec.inspect as mi
from msgspec import Meta, field

from .core.markets import PPM, Market, make_market
from .core.numbers import LEDGER_DECIMALS, NumberError, parse_scaled
from .faults.profile import FaultProfile
from .faults.profile import problems as fault_problems

__all__ = [
    "DBOT_PROFILES",
    "DEFAULT_DATA_DIR",
    "DIGIFINEX_PROFILES",
    "INFOWAY_PROFILES",
    "MAX_PRECISION",
    "AccountConfig",
    "Config",
    "ConfigError",
    "DbotConfig",
    "DbotLimits",
    "DbotLimitsConfig",
    "DigifinexLimits",
    "DigifinexLimitsConfig",
    "FaultProfile",
    "InfowayLimits",
    "InfowayLimitsConfig",
    "JournalConfig",
    "Limits",
    "LimitsConfig",
    "MarketConfig",
    "ServerConfig",
    "SessionLimits",
    "SimulatorConfig",
    "load_config",
    "parse_config",
    "parse_fault_profile",
    "resolve_limits",
    "section_types",
]

DEFAULT_DATA_DIR = "./data"
#: Most decimal places of a price or an amount. Together they must fit the ledger's 18.
MAX_PRECISION = 12

# Field types. `Money` carries a marker so that error messages can tell the user to quote the
# value when TOML gave a number: the marker is read back through msgspec.inspect.
Money = Annotated[str, Meta(extra={"money": True})]
Port = Annotated[int, Meta(ge=0, le=65535)]
Precision = Annotated[int, Meta(ge=0, le=MAX_PRECISION)]
#: A limit where 0 means "off" / "unlimited".
Limit = Annotated[int, Meta(ge=0)]
#: A count or interval that has no "off" value (a depth of 0 levels is not a depth).
Positive = Annotated[int, Meta(ge=1)]
Profile = Literal["strict", "relaxed"]

_SYMBOL = re.compile(r"^[A-Z0-9]+_[A-Z0-9]+$")
_CURRENCY = re.compile(r"^[A-Z0-9]+$")
# Keys and secrets travel in URLs, headers and signed payloads: printable ASCII, no spaces.
_TOKEN = re.compile(r"^[\x21-\x7e]+$")


class ConfigError(Exception):
    """A configuration that cannot start the venue; the message names the file and key."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        super().__init__(message)
        self.source = source
        #: Dotted key path such as "markets[0].min_amount", or None for whole-file problems.
        self.key = key


# --------------------------------------------------------------------------------------------
# Sections
#
# Every section repeats `forbid_unknown_fields=True, frozen=True, kw_only=True` rather than
# inheriting it from a base: type checkers read struct options per class (a non-frozen-looking
# subclass of a frozen base is an error for mypy), and the option that catches typos should be
# visible where each section is declared.


class ServerConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = 8765
    data_dir: str = DEFAULT_DATA_DIR
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: Least time between two rounds of public market data (depth, trades, tickers), in ms.
    #: 0: a round follows each change as soon as the previous one is out; changes in between
    #: are conflated, never dropped.
    market_data_interval_ms: Annotated[int, Meta(ge=0, le=60_000)] = 0
    #: At most this share of the time goes to public market data while orders are in flight
    #: (submitted, not yet acknowledged): the rest keeps order acks fast. 1: no limit.
    market_data_share: Annotated[float, Meta(gt=0, le=1)] = 0.25

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


#: The simulator's own accounts (keyless, out of every dialect's reach): no configured account
#: may take these names, or the simulator would adopt it and take its key away.
SIMULATOR_ACCOUNTS = ("sim-maker", "sim-taker")


class SimulatorConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    enabled: bool = True
    seed: int = 7
    #: Simulated orders per second, per market. The upper bound only catches typos.
    orders_per_second: Annotated[float, Meta(gt=0, le=1_000_000)] = 20.0
    #: Depth of the market maker's price ladder on each side.
    levels: Annotated[int, Meta(ge=1, le=1000)] = 10
    #: Share of simulated orders that take liquidity rather than add it.
    taker_ratio: Annotated[float, Meta(ge=0, le=1)] = 0.3
    #: How often the simulator sends its orders (each tick sends what the rate has earned):
    #: smaller ticks mean smaller, more frequent batches and more market-data rounds.
    tick_ms: Annotated[int, Meta(ge=1, le=1000)] = 50
    #: Trading the simulator generates before it goes live on a fresh data dir, ending now: a
    #: number and a unit (s, m, h, d; "3d" = three days), "0" for none. Fills every kline
    #: interval, the 24 h ticker and the recent trades, so indicators can warm up at once.
    history: Annotated[str, Meta(pattern=r"^(0|[1-9][0-9]{0,5}[smhd])$")] = "3d"

    @property
    def history_ms(self) -> int:
        if self.history == "0":
            return 0
        unit = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[self.history[-1]]
        return int(self.history[:-1]) * unit


class JournalConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    #: "full" fsyncs every group commit, "normal" leaves it to the OS, "off" keeps no journal
    #: at all (in-memory venue, nothing survives a restart).
    sync: Literal["full", "normal", "off"] = "full"
    #: Commands between snapshots; recovery replays at most this many journal entries.
    snapshot_every: Positive = 100_000
    #: Most commands made durable by one group commit.
    max_batch: Positive = 5000


class MarketConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    symbol: str
    price_precision: Precision
    amount_precision: Precision
    min_amount: Money = "0"
    min_value: Money = "0"
    maker_fee: Money = "0.001"
    taker_fee: Money = "0.001"
    #: The simulator's starting fair price; required while the simulator is enabled.
    initial_price: Money | None = None

    @property
    def base(self) -> str:
        return self.symbol.partition("_")[0]

    @property
    def quote(self) -> str:
        return self.symbol.partition("_")[2]

    def to_market(self) -> Market:
        return make_market(
            self.symbol,
            self.price_precision,
            self.amount_precision,
            min_amount=self.min_amount,
            min_value=self.min_value,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            initial_price=self.initial_price or "0",
        )


class AccountConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    name: str
    api_key: str
    secret: str
    #: Currency -> decimal string. Keys are currencies, so any key is allowed here.
    balances: dict[str, Money] = field(default_factory=dict)
    #: Extra wallets besides the account's default one.
    wallets: tuple[str, ...] = ()
    #: The account's own fee rates on every market (e.g. "0.001"), instead of the markets'.
    maker_fee: Money | None = None
    taker_fee: Money | None = None


# --------------------------------------------------------------------------------------------
# Protocol limits: a named profile plus explicit per-key overrides.
#
# The effective structs (`*Limits`) hold every value; the TOML sections (`*LimitsConfig`) hold
# a profile name and the same keys as optional overrides. `None` means "take the profile's
# value", which is why an override cannot simply default to the strict number.


class DigifinexLimits(msgspec.Struct, frozen=True, kw_only=True):
    idle_timeout_s: int  # 0 = connections without traffic are never closed
    depth_levels: int
    depth_snapshot_interval_s: int
    max_connection_age_s: int  # 0 = no forced reconnect
    rest_private_per_second: int  # per API key; 0 = unlimited
    rest_public_per_second: int  # per client IP; 0 = unlimited


class InfowayLimits(msgspec.Struct, frozen=True, kw_only=True):
    frames_per_minute: int  # 0 = unlimited
    heartbeat_timeout_s: int  # 0 = never disconnect a silent client
    max_symbols_per_type: int  # 0 = unlimited
    max_symbols_per_key: int  # distinct symbols per type over the key's connections; 0 = unlimited
    max_connections_per_key: int  # 0 = unlimited
    block_after_disconnects: int  # 0 = never block a key
    block_window_s: int
    block_duration_s: int
    depth_levels: int
    depth_push_interval_ms: int
    rest_calls_per_minute: int  # REST market data, per API key; 0 = unlimited


class DbotLimits(msgspec.Struct, frozen=True, kw_only=True):
    heartbeat_timeout_s: int  # 0 = never disconnect a silent client
    rest_calls_per_minute: int  # 0 = unlimited


class SessionLimits(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Transport limits shared by every dialect; no profiles, they protect the server."""

    send_buffer_limit_bytes: Annotated[int, Meta(ge=1024)] = 4 * 1024 * 1024
    max_frame_bytes: Annotated[int, Meta(ge=1024)] = 4 * 1024 * 1024


# "strict" is what the real venue enforces; "relaxed" keeps the data shapes (depth levels,
# push intervals) but switches off everything that disconnects or blocks a client, for bot
# development under a debugger.
DIGIFINEX_PROFILES: Mapping[str, DigifinexLimits] = {
    # REST budgets: ccxt throttles DigiFinex to one call per 0.9 s, so 20 per key and 50 per IP in
    # any second leave room for several clients sharing a key or an address.
    "strict": DigifinexLimits(
        idle_timeout_s=60,
        depth_levels=30,
        depth_snapshot_interval_s=60,
        max_connection_age_s=0,
        rest_private_per_second=20,
        rest_public_per_second=50,
    ),
    "relaxed": DigifinexLimits(
        idle_timeout_s=0,
        depth_levels=30,
        depth_snapshot_interval_s=60,
        max_connection_age_s=0,
        rest_private_per_second=0,
        rest_public_per_second=0,
    ),
}
INFOWAY_PROFILES: Mapping[str, InfowayLimits] = {
    "strict": InfowayLimits(
        frames_per_minute=60,
        heartbeat_timeout_s=60,
        max_symbols_per_type=600,
        max_symbols_per_key=5000,  # Infoway's largest published plan: 5,000 distinct symbols
        max_connections_per_key=512,
        block_after_disconnects=5,
        block_window_s=600,
        block_duration_s=3600,
        depth_levels=5,
        depth_push_interval_ms=100,
        rest_calls_per_minute=1200,  # "about 1200 calls/minute/key" (the official SDK's docs)
    ),
    "relaxed": InfowayLimits(
        frames_per_minute=0,
        heartbeat_timeout_s=0,
        max_symbols_per_type=0,
        max_symbols_per_key=0,
        max_connections_per_key=0,
        block_after_disconnects=0,
        block_window_s=600,
        block_duration_s=3600,
        depth_levels=5,
        depth_push_interval_ms=100,
        rest_calls_per_minute=0,
    ),
}
DBOT_PROFILES: Mapping[str, DbotLimits] = {
    "strict": DbotLimits(heartbeat_timeout_s=60, rest_calls_per_minute=600),
    "relaxed": DbotLimits(heartbeat_timeout_s=0, rest_calls_per_minute=0),
}


class DigifinexLimitsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    # Relaxed by default: DigiFinex's idle timeout would surprise anyone pausing in a debugger.
    profile: Profile = "relaxed"
    idle_timeout_s: Limit | None = None
    depth_levels: Positive | None = None
    depth_snapshot_interval_s: Positive | None = None
    max_connection_age_s: Limit | None = None
    rest_private_per_second: Limit | None = None
    rest_public_per_second: Limit | None = None


class InfowayLimitsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    profile: Profile = "strict"
    frames_per_minute: Limit | None = None
    heartbeat_timeout_s: Limit | None = None
    max_symbols_per_type: Limit | None = None
    max_symbols_per_key: Limit | None = None
    max_connections_per_key: Limit | None = None
    block_after_disconnects: Limit | None = None
    block_window_s: Positive | None = None
    block_duration_s: Limit | None = None  # 0 = blocked until an operator unblocks the key
    depth_levels: Positive | None = None
    depth_push_interval_ms: Positive | None = None
    rest_calls_per_minute: Limit | None = None


class DbotLimitsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    profile: Profile = "strict"
    heartbeat_timeout_s: Limit | None = None
    rest_calls_per_minute: Limit | None = None


class LimitsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    digifinex: DigifinexLimitsConfig = field(default_factory=DigifinexLimitsConfig)
    infoway: InfowayLimitsConfig = field(default_factory=InfowayLimitsConfig)
    dbot: DbotLimitsConfig = field(default_factory=DbotLimitsConfig)
    session: SessionLimits = field(default_factory=SessionLimits)


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits the server enforces, after profiles and overrides are applied."""

    digifinex: DigifinexLimits
    infoway: InfowayLimits
    dbot: DbotLimits
    session: SessionLimits


_L = TypeVar("_L", bound=msgspec.Struct)


def _apply_profile(section: msgspec.Struct, profiles: Mapping[str, _L]) -> _L:
    base = profiles[section.profile]  # type: ignore[attr-defined]  # every limits section has one
    overrides = {
        name: value for name in base.__struct_fields__ if (value := getattr(section, name)) is not None
    }
    return msgspec.structs.replace(base, **overrides)


def resolve_limits(limits: LimitsConfig) -> Limits:
    """Turn each dialect's profile + overrides into the values the server enforces."""
    return Limits(
        digifinex=_apply_profile(limits.digifinex, DIGIFINEX_PROFILES),
        infoway=_apply_profile(limits.infoway, INFOWAY_PROFILES),
        dbot=_apply_profile(limits.dbot, DBOT_PROFILES),
        session=limits.session,
    )


class DbotConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[dbot]`: the chains DBot requests may name (every chain trades on the venue)."""

    chains: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")], ...],
        Meta(min_length=1),
    ] = ("solana", "ethereum", "base", "bsc", "tron")


# --------------------------------------------------------------------------------------------
# The whole file


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    server: ServerConfig = field(default_factory=ServerConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    #: Empty only while parsing: load_config fills in the demo markets when the file has none.
    markets: tuple[MarketConfig, ...] = ()
    accounts: tuple[AccountConfig, ...] = ()
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    dbot: DbotConfig = field(default_factory=DbotConfig)
    #: Fault profiles in force at start (`[[faults]]`); `sandex faults` changes them live.
    faults: tuple[FaultProfile, ...] = ()

    @property
    def needs_demo_account(self) -> bool:
        """True when no accounts are declared: the venue then creates the "demo" account,
        whose credentials belong to the data dir (see sandex.demo)."""
        return not self.accounts

    def markets_as_core(self) -> list[Market]:
        return [market.to_market() for market in self.markets]

    def resolved_limits(self) -> Limits:
        return resolve_limits(self.limits)


def load_config(
    path: Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: str | Path | None = None,
    simulator: bool | None = None,
) -> Config:
    """Read and check a config file (None = the demo venue), then apply command-line flags.

    Flags are applied before the semantic checks so that, for example, `--no-sim` lifts the
    requirement for every market to have an initial_price.
    """
    if path is None:
        source, text = "<defaults>", ""
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(source, None, f"{source}: cannot read the config file: {exc}") from exc
    config = _parse_shape(text, source)
    config = _apply_flags(config, host=host, port=port, data_dir=data_dir, simulator=simulator)
    _check(config, source)
    return config


def parse_config(text: str, source: str = "<string>") -> Config:
    """Check TOML text as load_config does (without command-line flags)."""
    config = _parse_shape(text, source)
    _check(config, source)
    return config


def parse_fault_profile(fields: Mapping[str, Any], source: str = "fault profile") -> FaultProfile:
    """One fault profile from plain values (the operator API, `sandex faults set`), checked and
    explained exactly as a `[[faults]]` entry of the config file; errors name the field."""
    raw = {"faults": [dict(fields)]}
    try:
        profile = msgspec.convert(raw, Config).faults[0]
    except msgspec.ValidationError as exc:
        key, message = _explain(str(exc), raw)
        raise ConfigError(source, _field_of(key), f"{source}: {_field_text(message)}") from None
    for key, message in fault_problems(profile):
        raise ConfigError(source, key, f"{source}: {key}: {message}")
    return profile


def _field_of(key: str) -> str:
    return key.removeprefix("faults[0].")


def _field_text(message: str) -> str:
    return message.replace("faults[0].", "")


def _parse_shape(text: str, source: str) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"{source}: not valid TOML: {exc}") from exc
    try:
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        key, message = _explain(str(exc), raw)
        raise ConfigError(source, key, f"{source}: {message}") from None
    # Imported here because sandex.demo builds its defaults from this module's structs.
    from .demo import DEMO_MARKETS

    if "markets" not in raw:
        return msgspec.structs.replace(config, markets=DEMO_MARKETS)
    # A market the demo also lists may omit initial_price: the simulator then starts from the
    # demo's price, so a minimal [[markets]] entry such as the example in the docs runs with the simulator.
    demo_prices = {m.symbol: m.initial_price for m in DEMO_MARKETS}
    markets = tuple(_with_demo_price(m, demo_prices.get(m.symbol)) for m in config.markets)
    return msgspec.structs.replace(config, markets=markets)


def _with_demo_price(market: MarketConfig, price: str | None) -> MarketConfig:
    if market.initial_price is not None or price is None:
        return market
    try:
        parse_scaled(price, market.price_precision)
    except NumberError:
        return market  # the demo price does not fit this precision; the checks will say so
    return msgspec.structs.replace(market, initial_price=price)


def _apply_flags(
    config: Config,
    *,
    host: str | None,
    port: int | None,
    data_dir: str | Path | None,
    simulator: bool | None,
) -> Config:
    server = config.server
    if host is not None:
        if not host.strip():
            raise ConfigError("--host", "server.host", "--host: must not be empty")
        server = msgspec.structs.replace(server, host=host)
    if port is not None:
        if isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError("--port", "server.port", f"--port: must be 0..65535, got {port}")
        server = msgspec.structs.replace(server, port=port)
    if data_dir is not None:
        server = msgspec.structs.replace(server, data_dir=str(data_dir))
    sim = config.simulator
    if simulator is not None:
        sim = msgspec.structs.replace(sim, enabled=simulator)
    return msgspec.structs.replace(config, server=server, simulator=sim)


# --------------------------------------------------------------------------------------------
# Stage 2: meaning


def _check(config: Config, source: str) -> None:
    def fail(key: str, message: str) -> NoReturn:
        raise ConfigError(source, key, f"{source}: {key}: {message}")

    if not config.server.host.strip():
        fail("server.host", "must not be empty")
    if not config.markets:
        fail(
            "markets", "at least one [[markets]] entry is needed (or leave the key out for the demo markets)"
        )

    seen_symbols: dict[str, int] = {}
    for i, market in enumerate(config.markets):
        at = f"markets[{i}]"
        if not _SYMBOL.match(market.symbol):
            fail(f"{at}.symbol", f"{_show(market.symbol)} is not BASE_QUOTE in upper-case letters and digits")
        if market.base == market.quote:
            fail(f"{at}.symbol", f"{_show(market.symbol)} trades a currency against itself")
        if market.symbol in seen_symbols:
            fail(
                f"{at}.symbol",
                f"{_show(market.symbol)} is already defined by markets[{seen_symbols[market.symbol]}]",
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
            fail(f"{at}.name", f"{_show(account.name)} is already used by accounts[{names[account.name]}]")
        if account.name in SIMULATOR_ACCOUNTS:
            fail(f"{at}.name", f"{_show(account.name)} is the simulator's own account")
        names[account.name] = i
        for name in ("api_key", "secret"):
            if not _TOKEN.match(getattr(account, name)):
                fail(f"{at}.{name}", "must be non-empty printable ASCII without spaces")
        if account.api_key in keys:
            fail(f"{at}.api_key", f"is already used by accounts[{keys[account.api_key]}]")
        keys[account.api_key] = i
        for currency, amount in account.balances.items():
            key = f"{at}.balances.{_toml_key(currency)}"
            if not _CURRENCY.match(currency):
                fail(key, f"{_show(currency)} is not a currency (upper-case letters and digits)")
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
                fail(f"{at}.wallets[{j}]", f"{_show(wallet)} is listed twice")
            wallets.add(wallet)

    fault_names: dict[str, int] = {}
    for i, profile in enumerate(config.faults):
        at = f"faults[{i}]"
        for key, message in fault_problems(profile):
            fail(f"{at}.{key}", message)
        if profile.name in fault_names:
            fail(
                f"{at}.name", f"{_show(profile.name)} is already used by faults[{fault_names[profile.name]}]"
            )
        fault_names[profile.name] = i


def _decimal(
    fail: Callable[[str, str], NoReturn], key: str, text: str, decimals: int, scale_name: str
) -> int:
    """Read a decimal string exactly or fail naming the key; returns the scaled integer."""
    try:
        return parse_scaled(text, decimals)
    except NumberError as exc:
        if exc.kind == "precision":
            fail(key, f"{_show(text)} has more than {decimals} decimal places ({scale_name})")
        elif exc.kind == "negative":
            fail(key, f"{_show(text)} must not be negative")
        fail(key, f"{_show(text)} is not a decimal number")


# --------------------------------------------------------------------------------------------
# Stage 1 errors: rewrite msgspec's messages into the config's own words.
#
# msgspec reports e.g. "Object contains unknown field `x` - at `$.markets[1]`". The path is
# reliable; dict keys show as `[...]`, so the offending entry is found again in the raw data.

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_TOML_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a float",
    "bool": "a boolean",
    "object": "a table",
    "array": "an array",
    "datetime": "a date-time",
    "date": "a date",
    "time": "a time",
}


def _explain(error: str, raw: Any) -> tuple[str, str]:
    """Return (key path, message) for a msgspec validation error on the raw TOML data."""
    match = _AT.match(error)
    assert match is not None  # the pattern matches any text
    what, path = match["what"], match["path"] or ""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        parts.append(name if name else ("..." if index == "..." else int(index)))

    if m := re.match(r"Object contains unknown field `(.*)`$", what):
        key = _join([*parts, m[1]])
        return key, f"unknown key {_quote(key)}"
    if m := re.match(r"Object missing required field `(.*)`$", what):
        key = _join([*parts, m[1]])
        return key, f"missing required key {_quote(key)}"

    got_type = m[1] if (m := re.search(r", got `(\w+)`$", what)) else None
    parts, value = _locate(raw, parts, got_type)
    key = _join(parts)
    expected = _type_at(parts)

    if what.startswith("Invalid enum value") and isinstance(expected, mi.LiteralType):
        options = ", ".join(_show(v) for v in expected.values)
        return key, f"{key}: {_show(value)} is not one of {options}"
    if got_type is not None:
        if _is_money(expected) and got_type in ("int", "float"):
            return key, (
                f"{key}: {_show(value)} is a TOML number; money must be a quoted decimal string "
                f'so it is read exactly, quote it: {_toml_key(str(parts[-1]))} = "{_plain(value)}"'
            )
        got = _TOML_TYPES.get(got_type, got_type)
        if not isinstance(value, (dict, list)):
            got += f" {_show(value)}"
        return key, f"{key}: expected {_describe(expected, parts[-1] if parts else '')}, got {got}"
    if m := re.match(r"Expected `[^`]+` (.+)$", what):  # a range or length constraint
        return key, f"{key}: must be {m[1]}, got {_show(value)}"
    return key, f"{key}: {what}"


def _locate(raw: Any, parts: list[str | int], got_type: str | None) -> tuple[list[str | int], Any]:
    """Follow a path through the raw data; `...` (an unnamed dict key) becomes the first key
    whose value has the type msgspec complained about."""
    resolved: list[str | int] = []
    node = raw
    for part in parts:
        if part == "..." and isinstance(node, dict):
            part = next((k for k, v in node.items() if _has_type(v, got_type)), next(iter(node), "?"))
        resolved.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return resolved, None
    return resolved, node


def _has_type(value: Any, got_type: str | None) -> bool:
    kinds: dict[str, type | tuple[type, ...]] = {"str": str, "float": float, "object": dict, "array": list}
    if got_type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return got_type in kinds and isinstance(value, kinds[got_type])


def _type_at(parts: list[str | int]) -> Any:
    """The msgspec.inspect type expected at a path, or None when the path leaves the schema."""
    node: Any = mi.type_info(Config)
    for part in parts:
        node = _unwrap(node)
        if isinstance(node, mi.StructType) and isinstance(part, str):
            node = next((f.type for f in node.fields if f.encode_name == part), None)
        elif isinstance(node, (mi.ListType, mi.VarTupleType)):
            node = node.item_type
        elif isinstance(node, mi.DictType):
            node = node.value_type
        else:
            return None
    return _unwrap(node, keep_money=True)


def _unwrap(node: Any, keep_money: bool = False) -> Any:
    """Strip `X | None` (TOML has no null) and, unless asked to keep it, Annotated metadata."""
    if isinstance(node, mi.UnionType):
        members = [t for t in node.types if not isinstance(t, mi.NoneType)]
        if len(members) == 1:
            node = members[0]
    if isinstance(node, mi.Metadata) and not keep_money:
        node = node.type
    return node


def _is_money(node: Any) -> bool:
    return isinstance(node, mi.Metadata) and bool((node.extra or {}).get("money"))


def _describe(node: Any, name: str | int = "") -> str:
    if _is_money(node):
        return "a quoted decimal string"
    node = _unwrap(node)
    if isinstance(node, mi.StrType):
        return "a string"
    if isinstance(node, mi.BoolType):
        return "true or false"
    if isinstance(node, mi.IntType):
        return "an integer"
    if isinstance(node, mi.FloatType):
        return "a number"
    if isinstance(node, mi.LiteralType):
        return "one of " + ", ".join(_show(v) for v in node.values)
    if isinstance(node, (mi.ListType, mi.VarTupleType)):
        if isinstance(_unwrap(node.item_type), mi.StructType):
            return (
                f"an array of tables ([[{name}]])" if isinstance(name, str) and name else "an array of tables"
            )
        return "an array"
    if isinstance(node, (mi.StructType, mi.DictType)):
        return "a table"
    return "another type"


def _join(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{_toml_key(part)}" if out else _toml_key(part))
    return out


def _toml_key(name: str) -> str:
    return name if re.match(r"^[A-Za-z0-9_-]+$", name) else '"' + name.replace('"', '\\"') + '"'


def _quote(key: str) -> str:
    return f'"{key}"' if '"' not in key else f"'{key}'"


def _show(value: Any) -> str:
    """A value as TOML would write it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return "[...]"
    return str(value)


def _plain(value: Any) -> str:
    """A TOML number as a plain decimal string (1e-07 -> 0.0000001) for the suggested fix.
    Only used to write the message: the value itself is refused."""
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)), "f")
    return str(value)


def section_types() -> Iterator[type[msgspec.Struct]]:
    """Every Struct a config file is decoded into (tests check they all forbid unknown keys)."""
    seen: set[type] = set()

    def walk(node: Any) -> Iterator[type[msgspec.Struct]]:
        node = _unwrap(node)
        if isinstance(node, mi.StructType):
            if node.cls not in seen:
                seen.add(node.cls)
                yield node.cls
                for f in node.fields:
                    yield from walk(f.type)
        elif isinstance(node, (mi.ListType, mi.VarTupleType, mi.DictType)):
            yield from walk(node.value_type if isinstance(node, mi.DictType) else node.item_type)

    yield from walk(mi.type_info(Config))
