"""The config file's schema: one TOML file, typed, checked completely before anything starts.

Every section is a frozen msgspec Struct that forbids unknown fields, so a typo such as
`prize_precision` stops the start instead of silently falling back to a default.

Money is always a quoted decimal string here and is read with `parse_scaled`; a TOML float is
refused because it cannot be read exactly (0.1 is not 0.1). Floats are allowed only for
simulator rates and ratios, which are not money.

Where a new field goes: a venue-wide setting in the section it belongs to below (`[server]`,
`[simulator]`, `[journal]`, `[[markets]]`, `[[accounts]]`), with its meaning checked in
`checks.py`; a dialect's limit (with strict/relaxed profile values) in that dialect's
`protocols/<name>/limits.py` (its `[limits.<name>]` section); a dialect's other settings in the
`settings` struct of that same file (its top-level `[<name>]` table); a transport setting
shared by every dialect in `SessionLimits` (`limits.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
import msgspec.inspect as mi
from msgspec import Meta, field

from ..core.markets import Market, make_market
from ..faults.profile import FaultProfile
from ..protocols.limits import LimitsSection, Positive
from .errors import unwrap
from .limits import SECTIONS, Limits, LimitsConfig, resolve_limits

__all__ = [
    "DEFAULT_DATA_DIR",
    "MAX_PRECISION",
    "AccountConfig",
    "BusConfig",
    "Config",
    "ConfigBase",
    "JournalConfig",
    "MarketConfig",
    "ReplayConfig",
    "ServerConfig",
    "SimulatorConfig",
    "config_type",
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


class ReplayConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A recorded market played through the venue (`sandex.replay`); no files, no replay."""

    #: Recordings, played in order (a later file may continue an earlier one): paths, or a
    #: bundled recording's name ("btcusdt").
    files: tuple[str, ...] = ()
    format: Literal["auto", "binance-stream", "tardis", "binance-trades"] = "auto"
    #: Recorded symbol -> venue market; empty: each market under its name without "_"
    #: (BTCUSDT -> BTC_USDT).
    symbols: dict[str, str] = field(default_factory=dict)
    #: Recording seconds per wall second; 0 plays as fast as the venue can.
    speed: Annotated[float, Meta(ge=0, le=1_000_000)] = 1.0
    #: Start paused at the first record (a fresh data dir) or where the journal left off.
    paused: bool = False
    #: How client orders queue among replayed liquidity (see the README, "Replay"): the queue
    #: ahead shrinks only by recorded trades at the price (risk_averse), or also by a share of
    #: each decrease of the recorded size (prob).
    queue_model: Literal["risk_averse", "prob"] = "risk_averse"

    @property
    def enabled(self) -> bool:
        return bool(self.files)

    def symbol_map(self, markets: Iterable[str]) -> dict[str, str]:
        """Recorded symbol -> venue market, as configured or derived from the market names."""
        if self.symbols:
            return dict(self.symbols)
        return {symbol.replace("_", ""): symbol for symbol in markets}


class JournalConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    #: "full" fsyncs every group commit, "normal" leaves it to the OS, "off" keeps no journal
    #: at all (in-memory venue, nothing survives a restart).
    sync: Literal["full", "normal", "off"] = "full"
    #: Commands between snapshots; recovery replays at most this many journal entries.
    snapshot_every: Positive = 100_000
    #: Most commands made durable by one group commit.
    max_batch: Positive = 5000


#: The spot fee a market charges when it sets none, maker and taker alike: 0.2 %, the published
#: spot fee of the venue whose REST dialect ccxt's markets describe (they carry the same 0.2 %),
#: so a bot's PnL matches what it would pay there. The README names the venue.
DEFAULT_SPOT_FEE = "0.002"


class BusConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[bus]`: scale-out over NATS JetStream (`sandex.bus`); `sandex serve --bus` sets `url`."""

    #: The NATS server the engine publishes its committed batches to and answers gateways on
    #: (nats://HOST:PORT). None: one process, no bus.
    url: Annotated[str, Meta(pattern=r"^(nats|tls)://[^\s/]+$")] | None = None
    #: What the stream `SANDEX` keeps (the oldest messages go first; 0 = no limit of that kind).
    #: It is a cache of the journal: a gateway refills what the stream no longer has from the
    #: engine, so these only bound NATS's disk, never what a gateway can catch up on.
    stream_max_age_s: Annotated[int, Meta(ge=0)] = 24 * 3600
    stream_max_bytes: Annotated[int, Meta(ge=0)] = 1 << 30
    stream_max_msgs: Annotated[int, Meta(ge=0)] = 1_000_000


class MarketConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    symbol: str
    price_precision: Precision
    amount_precision: Precision
    min_amount: Money = "0"
    min_value: Money = "0"
    maker_fee: Money = DEFAULT_SPOT_FEE
    taker_fee: Money = DEFAULT_SPOT_FEE
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
# The whole file


class ConfigBase(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The whole file but the dialects' own `[<name>]` tables (`Config` adds those)."""

    server: ServerConfig = field(default_factory=ServerConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    bus: BusConfig = field(default_factory=BusConfig)
    #: Empty only while parsing: load_config fills in the demo markets when the file has none.
    markets: tuple[MarketConfig, ...] = ()
    accounts: tuple[AccountConfig, ...] = ()
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    #: Fault profiles in force at start (`[[faults]]`); `sandex faults` changes them live.
    faults: tuple[FaultProfile, ...] = ()
    replay: ReplayConfig = field(default_factory=ReplayConfig)

    @property
    def needs_demo_account(self) -> bool:
        """True when no accounts are declared: the venue then creates the "demo" account,
        whose credentials belong to the data dir (see sandex.demo)."""
        return not self.accounts

    def markets_as_core(self) -> list[Market]:
        return [market.to_market() for market in self.markets]

    def resolved_limits(self) -> Limits:
        return resolve_limits(self.limits)


def config_type(sections: Iterable[LimitsSection[Any]]) -> type[ConfigBase]:
    """`ConfigBase` plus a `[<name>]` table for each section that has `settings`."""
    composed = msgspec.defstruct(
        "Config",
        [(s.name, s.settings, field(default_factory=s.settings)) for s in sections if s.settings],
        bases=(ConfigBase,),
        module=__name__,
        forbid_unknown_fields=True,
        frozen=True,
        kw_only=True,
    )
    assert issubclass(composed, ConfigBase)
    return composed


if TYPE_CHECKING:

    class Config(ConfigBase, forbid_unknown_fields=True, frozen=True, kw_only=True):
        """The whole file; a dialect's `[<name>]` table is `Config.<name>` (looked up by name)."""

        def __getattr__(self, name: str) -> Any: ...

else:
    Config = config_type(SECTIONS)


def section_types() -> Iterator[type[msgspec.Struct]]:
    """Every Struct a config file is decoded into (tests check they all forbid unknown keys)."""
    seen: set[type] = set()

    def walk(node: Any) -> Iterator[type[msgspec.Struct]]:
        node = unwrap(node)
        if isinstance(node, mi.StructType):
            if node.cls not in seen:
                seen.add(node.cls)
                yield node.cls
                for f in node.fields:
                    yield from walk(f.type)
        elif isinstance(node, (mi.ListType, mi.VarTupleType, mi.DictType)):
            yield from walk(node.value_type if isinstance(node, mi.DictType) else node.item_type)

    yield from walk(mi.type_info(Config))
