"""Config loading: the issue's example, the demo defaults, and errors that name the key."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import pytest

from sandex import demo
from sandex.config import (
    Config,
    ConfigError,
    load_config,
    parse_config,
    resolve_limits,
    section_types,
)
from sandex.protocols.dbot.limits import DBOT_PROFILES, DbotLimitsConfig
from sandex.protocols.digifinex.limits import DIGIFINEX_PROFILES, DigifinexLimitsConfig
from sandex.protocols.infoway.limits import INFOWAY_PROFILES, InfowayLimitsConfig

ISSUE_EXAMPLE = """\
[server]
host = "127.0.0.1"
port = 8765
[simulator]
enabled = true
seed = 7
[[markets]]
symbol = "BTC_USDT"
price_precision = 2
amount_precision = 6
min_amount = "0.0001"
min_value = "1"
[[accounts]]
name = "alice"
api_key = "alice-key"
secret = "alice-secret"
balances = { USDT = "1000000", BTC = "10" }
"""

# A minimal valid market, for cases that need one and then break something else.
MARKET = """\
[[markets]]
symbol = "ABC_USDT"
price_precision = 2
amount_precision = 4
initial_price = "10"
"""

ACCOUNT = """\
[[accounts]]
name = "bob"
api_key = "bob-key"
secret = "bob-secret"
"""


def fails(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "config.toml")
    return info.value


# --------------------------------------------------------------------------------------------
# Loading


def test_issue_example_loads_exactly(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ISSUE_EXAMPLE)
    config = load_config(path)

    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8765
    assert config.simulator.enabled is True
    assert config.simulator.seed == 7
    (market,) = config.markets
    assert (market.symbol, market.price_precision, market.amount_precision) == ("BTC_USDT", 2, 6)
    assert (market.min_amount, market.min_value) == ("0.0001", "1")
    # Not in the example: BTC_USDT is a demo market, so the simulator starts from its price.
    assert market.initial_price == "65000"
    (account,) = config.accounts
    assert (account.name, account.api_key, account.secret) == ("alice", "alice-key", "alice-secret")
    assert account.balances == {"USDT": "1000000", "BTC": "10"}
    assert not config.needs_demo_account

    (core,) = config.markets_as_core()
    assert (core.base, core.quote) == ("BTC", "USDT")
    assert core.min_amount == 100  # 0.0001 at 6 places
    assert core.min_value == 100_000_000  # 1 at 2 + 6 places
    assert core.maker_fee_ppm == core.taker_fee_ppm == 2000  # no fee set: DigiFinex's spot 0.2 %
    assert core.initial_price == 6_500_000


def test_defaults_are_the_demo_venue() -> None:
    config = load_config(None)
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8765)
    assert config.server.data_dir == "./data"
    assert config.server.log_level == "info"
    assert config.simulator == msgspec.convert(
        {"enabled": True, "seed": 7, "orders_per_second": 20.0, "levels": 10, "taker_ratio": 0.3},
        type(config.simulator),
    )
    assert (config.journal.sync, config.journal.snapshot_every, config.journal.max_batch) == (
        "full",
        100_000,
        5000,
    )
    assert config.markets == demo.DEMO_MARKETS
    assert config.needs_demo_account
    assert config.limits.session.send_buffer_limit_bytes == 4_194_304
    assert config.limits.session.max_frame_bytes == 4_194_304


def test_empty_file_is_the_demo_venue_too() -> None:
    assert parse_config("") == load_config(None)


def test_command_line_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ISSUE_EXAMPLE)
    config = load_config(path, host="0.0.0.0", port=9000, data_dir=tmp_path / "d", simulator=False)
    assert (config.server.host, config.server.port) == ("0.0.0.0", 9000)
    assert config.server.data_path == tmp_path / "d"
    assert config.simulator.enabled is False


def test_no_sim_lifts_the_initial_price_requirement(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MARKET.replace('initial_price = "10"\n', ""))
    with pytest.raises(ConfigError, match=r"markets\[0\]\.initial_price: is required"):
        load_config(path)
    assert load_config(path, simulator=False).markets[0].initial_price is None


def test_bad_port_flag_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--port: must be 0\.\.65535, got 70000$"):
        load_config(None, port=70000)


def test_missing_file_and_bad_toml_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load_config(missing)
    error = fails("[server\n")
    assert str(error).startswith("config.toml: not valid TOML:")


def test_full_config_with_every_section() -> None:
    text = f"""
[server]
host = "0.0.0.0"
port = 0
data_dir = "/var/lib/sandex"
log_level = "debug"
[simulator]
enabled = true
seed = 42
orders_per_second = 5
levels = 20
taker_ratio = 0.5
[journal]
sync = "off"
snapshot_every = 10
max_batch = 1
[limits.digifinex]
profile = "strict"
depth_levels = 10
[limits.infoway]
profile = "relaxed"
frames_per_minute = 120
[limits.dbot]
rest_calls_per_minute = 0
[limits.session]
max_frame_bytes = 65536
{MARKET}
maker_fee = "0"
taker_fee = "0.0025"
min_amount = "0.0001"
min_value = "0.000001"
[[accounts]]
name = "carol"
api_key = "c"
secret = "s"
wallets = ["margin", "bot-1"]
balances = {{ USDT = "0.000000000000000001", ABC = "12345678901234567890.5" }}
"""
    config = parse_config(text)
    assert config.simulator.orders_per_second == 5.0  # TOML integer accepted for a rate
    assert config.journal.sync == "off"
    assert config.accounts[0].wallets == ("margin", "bot-1")
    (market,) = config.markets_as_core()
    assert (market.maker_fee_ppm, market.taker_fee_ppm) == (0, 2500)
    limits = config.resolved_limits()
    assert limits.digifinex.idle_timeout_s == 60 and limits.digifinex.depth_levels == 10
    assert limits.infoway.frames_per_minute == 120 and limits.infoway.heartbeat_timeout_s == 0
    assert limits.dbot.rest_calls_per_minute == 0 and limits.dbot.heartbeat_timeout_s == 60
    assert limits.session.max_frame_bytes == 65536


# --------------------------------------------------------------------------------------------
# Unknown keys


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour = 1", "colour"),
        # `faults` is a known section now ([[faults]]); an unknown table is still named.
        ("[fault]\ndrop = 0.1", "fault"),
        ("[[faults]]\nname = 'flaky'\ndrop = 0.1", "faults[0].drop"),
        ("[server]\nprot = 1", "server.prot"),
        ("[simulator]\nenable = false", "simulator.enable"),
        ("[journal]\nfsync = true", "journal.fsync"),
        ("[limits]\nbinance = {}", "limits.binance"),
        ("[limits.digifinex]\nidle_timeout = 5", "limits.digifinex.idle_timeout"),
        ("[limits.infoway]\nframes_per_second = 5", "limits.infoway.frames_per_second"),
        ("[limits.dbot]\nheartbeat = 5", "limits.dbot.heartbeat"),
        ("[limits.session]\nprofile = 'strict'", "limits.session.profile"),
        (MARKET + MARKET.replace("ABC", "XYZ") + "prize_precision = 2\n", "markets[1].prize_precision"),
        (MARKET + ACCOUNT + "balance = {}\n", "accounts[0].balance"),
    ],
)
def test_unknown_key_is_named(text: str, key: str) -> None:
    error = fails(text)
    assert str(error) == f'config.toml: unknown key "{key}"'
    assert error.key == key


def test_any_currency_key_is_allowed_in_balances() -> None:
    config = parse_config(MARKET + ACCOUNT + 'balances = { ZZZ9 = "1", PEPE = "7" }\n')
    assert set(config.accounts[0].balances) == {"ZZZ9", "PEPE"}


def test_every_section_forbids_unknown_keys() -> None:
    sections = list(section_types())
    assert Config in sections and len(sections) >= 10
    for cls in sections:
        assert cls.__struct_config__.forbid_unknown_fields, cls


# --------------------------------------------------------------------------------------------
# Bad values


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[server]\nport = "8765"', "server.port", 'expected an integer, got a string "8765"'),
        ("[server]\nport = 65536", "server.port", "must be <= 65535, got 65536"),
        ("[server]\nport = -1", "server.port", "must be >= 0, got -1"),
        ('[server]\nhost = ""', "server.host", "must not be empty"),
        ('[server]\nlog_level = "loud"', "server.log_level", '"loud" is not one of'),
        ('[simulator]\nenabled = "yes"', "simulator.enabled", "expected true or false"),
        ("[simulator]\ntaker_ratio = 1.5", "simulator.taker_ratio", "must be <= 1"),
        ("[simulator]\nlevels = 0", "simulator.levels", "must be >= 1"),
        ('[journal]\nsync = "fast"', "journal.sync", '"fast" is not one of "full", "normal", "off"'),
        ("[journal]\nmax_batch = 0", "journal.max_batch", "must be >= 1"),
        ('[limits.infoway]\nprofile = "lax"', "limits.infoway.profile", '"lax" is not one of'),
        ("[limits.infoway]\nframes_per_minute = -1", "limits.infoway.frames_per_minute", "must be >= 0"),
        ("[limits.infoway]\nmax_symbols_per_key = -1", "limits.infoway.max_symbols_per_key", "must be >= 0"),
        (
            '[limits.infoway]\nmax_symbols_per_key = "10"',
            "limits.infoway.max_symbols_per_key",
            "expected an integer",
        ),
        ("[limits.digifinex]\ndepth_levels = 0", "limits.digifinex.depth_levels", "must be >= 1"),
        (
            "[limits.digifinex]\nrest_private_per_second = -1",
            "limits.digifinex.rest_private_per_second",
            "must be >= 0, got -1",
        ),
        (
            '[limits.digifinex]\nrest_public_per_second = "50"',
            "limits.digifinex.rest_public_per_second",
            'expected an integer, got a string "50"',
        ),
        (
            'markets = { symbol = "BTC_USDT" }',
            "markets",
            "expected an array of tables ([[markets]]), got a table",
        ),
        ("markets = []", "markets", "at least one [[markets]] entry"),
        (
            '[[markets]]\nsymbol = "ABC_USDT"\nprice_precision = 2',
            "markets[0].amount_precision",
            "missing required key",
        ),
        (
            MARKET.replace("price_precision = 2", "price_precision = -1"),
            "markets[0].price_precision",
            "must be >= 0, got -1",
        ),
        (
            MARKET.replace("amount_precision = 4", "amount_precision = 13"),
            "markets[0].amount_precision",
            "must be <= 12",
        ),
        (
            MARKET.replace("price_precision = 2", "price_precision = 10").replace(
                "amount_precision = 4", "amount_precision = 9"
            ),
            "markets[0].amount_precision",
            "price_precision + amount_precision is 19; at most 18",
        ),
        (MARKET.replace("ABC_USDT", "abc_usdt"), "markets[0].symbol", '"abc_usdt" is not BASE_QUOTE'),
        (MARKET.replace("ABC_USDT", "ABCUSDT"), "markets[0].symbol", "is not BASE_QUOTE"),
        (MARKET.replace("ABC_USDT", "ABC-USDT"), "markets[0].symbol", "is not BASE_QUOTE"),
        (MARKET.replace("ABC_USDT", "USDT_USDT"), "markets[0].symbol", "against itself"),
        (MARKET + MARKET, "markets[1].symbol", '"ABC_USDT" is already defined by markets[0]'),
        (MARKET + 'min_amount = "abc"\n', "markets[0].min_amount", '"abc" is not a decimal number'),
        (MARKET + 'min_amount = "0.00001"\n', "markets[0].min_amount", "more than 4 decimal places"),
        (MARKET + 'min_value = "0.0000001"\n', "markets[0].min_value", "more than 6 decimal places"),
        (MARKET + 'min_value = "-1"\n', "markets[0].min_value", "must not be negative"),
        (MARKET + 'maker_fee = "0.0000001"\n', "markets[0].maker_fee", "more than 6 decimal places"),
        (MARKET + 'taker_fee = "1"\n', "markets[0].taker_fee", "must be below 1"),
        (MARKET.replace('"10"', '"10.001"'), "markets[0].initial_price", "more than 2 decimal places"),
        (MARKET.replace('"10"', '"0"'), "markets[0].initial_price", "must be above 0"),
        (
            MARKET.replace('initial_price = "10"\n', ""),
            "markets[0].initial_price",
            "is required while the simulator",
        ),
        (
            MARKET + ACCOUNT + ACCOUNT.replace("bob-key", "other"),
            "accounts[1].name",
            '"bob" is already used by accounts[0]',
        ),
        (
            MARKET + ACCOUNT + ACCOUNT.replace("bob", "eve", 1),
            "accounts[1].api_key",
            "is already used by accounts[0]",
        ),
        (MARKET + ACCOUNT.replace('"bob-key"', '"bob key"'), "accounts[0].api_key", "without spaces"),
        (MARKET + ACCOUNT.replace('"bob-secret"', '""'), "accounts[0].secret", "must be non-empty"),
        (MARKET + ACCOUNT + 'balances = { usdt = "1" }\n', "accounts[0].balances.usdt", "is not a currency"),
        (
            MARKET + ACCOUNT + 'balances = { USDT = "1e5" }\n',
            "accounts[0].balances.USDT",
            '"1e5" is not a decimal number',
        ),
        (
            MARKET + ACCOUNT + 'balances = { USDT = "0.0000000000000000001" }\n',
            "accounts[0].balances.USDT",
            "more than 18 decimal places",
        ),
        (MARKET + ACCOUNT + 'wallets = ["a", "a"]\n', "accounts[0].wallets[1]", '"a" is listed twice'),
        (
            MARKET + ACCOUNT + "wallets = [1]\n",
            "accounts[0].wallets[0]",
            "expected a string, got an integer 1",
        ),
    ],
)
def test_bad_value_is_named(text: str, key: str, message: str) -> None:
    error = fails(text)
    assert error.key == key
    assert str(error).startswith("config.toml: ")
    assert key in str(error)
    assert message in str(error)


def test_messages_read_as_in_the_issue() -> None:
    assert (
        str(fails(MARKET + 'min_amount = "abc"\n'))
        == 'config.toml: markets[0].min_amount: "abc" is not a decimal number'
    )


@pytest.mark.parametrize(
    ("line", "key", "suggestion"),
    [
        ("min_value = 1.5", "markets[0].min_value", 'min_value = "1.5"'),
        ("min_amount = 1e-3", "markets[0].min_amount", 'min_amount = "0.001"'),
        ("maker_fee = 0.001", "markets[0].maker_fee", 'maker_fee = "0.001"'),
        ("min_value = 1", "markets[0].min_value", 'min_value = "1"'),
    ],
)
def test_toml_numbers_as_money_are_refused_with_a_fix(line: str, key: str, suggestion: str) -> None:
    error = fails(MARKET + line + "\n")
    assert error.key == key
    assert "quote it" in str(error)
    assert suggestion in str(error)


def test_float_balance_names_the_currency() -> None:
    error = fails(MARKET + ACCOUNT + 'balances = { USDT = "1", BTC = 1.5 }\n')
    assert error.key == "accounts[0].balances.BTC"
    assert 'quote it: BTC = "1.5"' in str(error)


# --------------------------------------------------------------------------------------------
# Limits profiles


def test_profiles_have_the_documented_defaults() -> None:
    limits = resolve_limits(Config().limits)
    # Infoway and DBot default to the real venue's rules, DigiFinex to no idle timeout.
    assert limits.infoway == INFOWAY_PROFILES["strict"]
    assert limits.dbot == DBOT_PROFILES["strict"]
    assert limits.digifinex == DIGIFINEX_PROFILES["relaxed"]
    strict = INFOWAY_PROFILES["strict"]
    assert msgspec.structs.asdict(strict) == {
        "frames_per_minute": 60,
        "heartbeat_timeout_s": 60,
        "max_symbols_per_type": 600,
        "max_symbols_per_key": 5000,
        "max_connections_per_key": 512,
        "block_after_disconnects": 5,
        "block_window_s": 600,
        "block_duration_s": 3600,
        "depth_levels": 5,
        "depth_push_interval_ms": 100,
        "rest_calls_per_minute": 1200,
    }
    assert INFOWAY_PROFILES["relaxed"].rest_calls_per_minute == 0
    assert DIGIFINEX_PROFILES["strict"].idle_timeout_s == 60
    assert DIGIFINEX_PROFILES["relaxed"].idle_timeout_s == 0
    for profiles in (DIGIFINEX_PROFILES, INFOWAY_PROFILES):
        assert profiles["strict"].depth_levels == profiles["relaxed"].depth_levels
    assert (DIGIFINEX_PROFILES["strict"].depth_levels, DIGIFINEX_PROFILES["strict"].max_connection_age_s) == (
        30,
        0,
    )
    rest_budgets = {
        name: (p.rest_private_per_second, p.rest_public_per_second) for name, p in DIGIFINEX_PROFILES.items()
    }
    assert rest_budgets == {"strict": (20, 50), "relaxed": (0, 0)}
    assert DBOT_PROFILES["strict"].heartbeat_timeout_s == 60
    assert DBOT_PROFILES["strict"].rest_calls_per_minute == 600


def test_overrides_win_over_the_profile() -> None:
    config = parse_config(
        MARKET
        + """
[limits.infoway]
profile = "relaxed"
heartbeat_timeout_s = 30
block_after_disconnects = 3
[limits.digifinex]
profile = "strict"
idle_timeout_s = 0
rest_public_per_second = 0
"""
    )
    limits = config.resolved_limits()
    assert limits.infoway == msgspec.structs.replace(
        INFOWAY_PROFILES["relaxed"], heartbeat_timeout_s=30, block_after_disconnects=3
    )
    assert limits.digifinex == msgspec.structs.replace(
        DIGIFINEX_PROFILES["strict"], idle_timeout_s=0, rest_public_per_second=0
    )


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("", 5000),
        ('profile = "relaxed"', 0),
        ("max_symbols_per_key = 0", 0),
        ('profile = "relaxed"\nmax_symbols_per_key = 40', 40),
    ],
    ids=["strict", "relaxed", "off", "relaxed-override"],
)
def test_the_key_symbol_budget_follows_the_profile_and_overrides(section: str, expected: int) -> None:
    limits = parse_config(MARKET + "[limits.infoway]\n" + section + "\n").resolved_limits()
    assert limits.infoway.max_symbols_per_key == expected


@pytest.mark.parametrize(
    ("section", "profiles"),
    [
        (DigifinexLimitsConfig, DIGIFINEX_PROFILES),
        (InfowayLimitsConfig, INFOWAY_PROFILES),
        (DbotLimitsConfig, DBOT_PROFILES),
    ],
)
def test_every_limit_can_be_overridden(
    section: type[msgspec.Struct], profiles: dict[str, msgspec.Struct]
) -> None:
    # Guards against adding a limit to the effective struct and forgetting the TOML key.
    assert set(profiles) == {"strict", "relaxed"}
    effective_fields = set(profiles["strict"].__struct_fields__)
    assert set(section.__struct_fields__) == effective_fields | {"profile"}


# --------------------------------------------------------------------------------------------
# Demo


def test_demo_markets_are_valid_and_as_specified() -> None:
    shapes = {m.symbol: (m.price_precision, m.amount_precision, m.initial_price) for m in demo.DEMO_MARKETS}
    assert shapes == {
        "BTC_USDT": (2, 6, "65000"),
        "ETH_USDT": (2, 4, "3500"),
        "SOL_USDT": (3, 3, "150"),
        "XRP_USDT": (4, 1, "0.6"),
        "DOGE_USDT": (5, 0, "0.15"),
        "ETH_BTC": (6, 4, "0.054"),
    }
    for market in load_config(None).markets_as_core():
        assert market.maker_fee_ppm == market.taker_fee_ppm == 2000  # DigiFinex's spot 0.2 %
        assert market.min_amount > 0 and market.min_value > 0
        # The minimum order is reachable at the starting price with a few multiples of it.
        assert market.initial_price * market.min_amount < 100 * market.min_value


def test_demo_account_is_valid_and_funded() -> None:
    credentials = demo.generate_demo_credentials(random.Random(1))
    config = demo.with_demo_account(load_config(None), credentials)
    (account,) = config.accounts
    assert account.name == "demo"
    assert (account.api_key, account.secret) == (credentials.api_key, credentials.secret)
    assert account.balances == {
        "USDT": "1000000",
        "BTC": "10",
        "ETH": "100",
        "SOL": "1000",
        "XRP": "100000",
        "DOGE": "1000000",
    }
    # Round-trip through TOML-shaped data: the demo venue passes the same checks as a file.
    assert parse_config(_to_toml(config)) == config
    currencies = {c for m in config.markets for c in (m.base, m.quote)}
    assert currencies <= set(account.balances)


def test_with_demo_account_keeps_declared_accounts() -> None:
    config = parse_config(ISSUE_EXAMPLE)
    credentials = demo.generate_demo_credentials(random.Random(1))
    assert demo.with_demo_account(config, credentials) is config


def test_demo_credentials_are_random_hex_and_reproducible() -> None:
    a = demo.generate_demo_credentials(random.Random(5))
    b = demo.generate_demo_credentials(random.Random(5))
    c = demo.generate_demo_credentials(random.Random(6))
    assert a == b and a != c
    assert len(a.api_key) == 32 and len(a.secret) == 64
    assert int(a.api_key, 16) >= 0 and int(a.secret, 16) >= 0  # hex digits only
    assert demo.generate_demo_credentials(random.SystemRandom()) != a


# --------------------------------------------------------------------------------------------
# Fault profiles ([[faults]])

FAULTS = """\
[[faults]]
name = "flaky-ws"
dialect = "digifinex"
drop_every_s = 30
delay_ms = 50
jitter_ms = 20
[[faults]]
name = "alice-rejects"
api_key = "alice-key"
enabled = false
reject_orders_code = 20011
reject_orders_message = "insufficient balance (injected)"
reject_orders_probability = 0.5
[[faults]]
name = "hold"
pause_engine = true
"""


def test_fault_profiles_load_with_their_defaults() -> None:
    flaky, rejects, hold = parse_config(MARKET + FAULTS).faults
    assert (flaky.name, flaky.dialect, flaky.api_key, flaky.enabled) == ("flaky-ws", "digifinex", None, True)
    assert (flaky.drop_every_s, flaky.delay_ms, flaky.jitter_ms) == (30.0, 50, 20)
    assert flaky.drop_probability == flaky.handshake_502_probability == 0.0 and not flaky.ignore_pings
    assert (rejects.dialect, rejects.api_key, rejects.enabled) == ("*", "alice-key", False)
    assert (rejects.reject_orders_code, rejects.reject_orders_probability) == (20011, 0.5)
    assert hold.pause_engine and hold.reject_orders_code is None
    assert parse_config(MARKET).faults == ()


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        (
            'name = "x"\ndialect = "binance"',
            "faults[0].dialect",
            'is not one of "*", "dbot", "digifinex", "infoway"',
        ),
        ('name = "x"\ndrop_probability = 1.5', "faults[0].drop_probability", "must be <= 1.0, got 1.5"),
        ('name = "x"\ndelay_ms = -1', "faults[0].delay_ms", "must be >= 0, got -1"),
        ('name = "x"\ndrop_every_s = 0', "faults[0].drop_every_s", "must be > 0.0, got 0"),
        (
            'name = "x"\nignore_pings = "yes"',
            "faults[0].ignore_pings",
            'expected true or false, got a string "yes"',
        ),
        ('name = "two words"', "faults[0].name", "must be 1-64 letters"),
        (
            'name = "x"\npause_engine = true\napi_key = "k"',
            "faults[0].pause_engine",
            "cannot be limited to one api_key",
        ),
        ('name = "x"\nreject_orders_code = 0', "faults[0].reject_orders_code", "0 means success"),
        ("drop_every_s = 1", "faults[0].name", 'missing required key "faults[0].name"'),
    ],
)
def test_bad_fault_profiles_name_the_key(entry: str, key: str, message: str) -> None:
    error = fails(MARKET + "[[faults]]\n" + entry + "\n")
    assert error.key == key
    assert message in str(error)


def test_fault_profile_names_are_unique() -> None:
    error = fails(MARKET + '[[faults]]\nname = "a"\n[[faults]]\nname = "a"\n')
    assert error.key == "faults[1].name" and "already used by faults[0]" in str(error)


def test_faults_must_be_an_array_of_tables() -> None:
    error = fails(MARKET + '[faults]\nname = "a"\n')
    assert error.key == "faults" and "expected an array of tables ([[faults]])" in str(error)


def _to_toml(config: Config) -> str:
    """A minimal TOML writer for the demo config (strings, ints, floats, bools, tables)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    def table(header: str, data: dict[str, object]) -> list[str]:
        lines = [header]
        nested: list[str] = []
        for k, v in data.items():
            if isinstance(v, dict) and k != "balances":
                nested += table(f"[{header.strip('[]')}.{k}]", v)
            elif v is not None:
                lines.append(f"{k} = {value(v)}")
        return lines + nested

    data = msgspec.to_builtins(config)
    lines: list[str] = []
    for name in ("server", "simulator", "journal", "limits"):
        lines += table(f"[{name}]", data[name])
    for name in ("markets", "accounts"):
        for entry in data[name]:
            lines += table(f"[[{name}]]", entry)
    return "\n".join(lines) + "\n"
