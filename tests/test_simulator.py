"""The simulator: seeded, deterministic, and it makes a live two-sided market."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import aiohttp
import ccxt
import msgspec
import pytest
import websockets

from sandex.config import ConfigError, parse_config
from sandex.core.events import TradeEvent
from sandex.demo import DEMO_MARKETS
from sandex.sim.runner import MAKER, TAKER, Simulator, simulate
from sandex.venue import Venue
from tests.support.server import MARKETS_TOML, SandexServer


def _markets():
    return [m.to_market() for m in DEMO_MARKETS]


def _hash(events) -> str:
    return hashlib.sha256(b"".join(msgspec.json.encode(e) for e in events)).hexdigest()


def test_same_seed_same_event_stream() -> None:
    assert _hash(simulate(_markets(), seed=7, steps=400)) == _hash(simulate(_markets(), seed=7, steps=400))
    assert _hash(simulate(_markets(), seed=7, steps=400)) != _hash(simulate(_markets(), seed=8, steps=400))


def test_every_market_trades_near_its_initial_price() -> None:
    events = simulate(_markets(), seed=3, steps=1500)
    for market in _markets():
        trades = [e for e in events if isinstance(e, TradeEvent) and e.symbol == market.symbol]
        assert len(trades) > 20, market.symbol
        for trade in trades:
            assert 0.5 * market.initial_price < trade.price < 1.5 * market.initial_price


# ---------------------------------------------------------------------------- no keys (issue 16.1)

SIM_CONFIG = (
    """
[server]
host = "127.0.0.1"
[simulator]
enabled = true
seed = 7
history = "0"
"""
    + MARKETS_TOML
    + """[[accounts]]
name = "alice"
api_key = "alice-key"
secret = "alice-secret"
balances = { USDT = "1000", BTC = "1" }
"""
)

#: What the simulator's accounts used to be reachable with: `f"{name}-{seed}"`, `f"{name}-secret"`.
DERIVED = [("sim-maker-7", "sim-maker-secret"), ("sim-taker-7", "sim-taker-secret")]


def _ccxt(base_url: str, key: str, secret: str) -> ccxt.digifinex:
    exchange = ccxt.digifinex({"apiKey": key, "secret": secret, "enableRateLimit": False})
    exchange.urls["api"]["rest"] = base_url
    return exchange


def _assert_unreachable(server: SandexServer, key: str, secret: str) -> None:
    exchange = _ccxt(server.base_url, key, secret)
    with pytest.raises(ccxt.AuthenticationError):
        exchange.fetch_balance()
    with pytest.raises(ccxt.AuthenticationError):
        exchange.fetch_open_orders("BTC/USDT")  # the maker's quotes, which it could then cancel
    with pytest.raises(ccxt.AuthenticationError):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 60000)

    async def other_dialects() -> None:
        async with aiohttp.ClientSession() as http:
            body = {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": "10"}
            async with http.post(
                server.base_url + "/automation/swap_order", json=body, headers={"X-API-KEY": key}
            ) as response:
                assert response.status == 401, await response.text()
            async with http.get(server.base_url + "/account/wallets", headers={"X-API-KEY": key}) as response:
                assert response.status == 401
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(server.ws_url(f"/ws?business=crypto&apikey={key}")):
                pass
        assert refused.value.response.status_code == 401

    asyncio.run(other_dialects())


def _sim_accounts_have_traded(server: SandexServer) -> None:
    """The simulator runs (so its accounts exist) while the derived keys are refused."""
    exchange = _ccxt(server.base_url, "alice-key", "alice-secret")
    deadline = time.monotonic() + 20
    while not exchange.fetch_trades("BTC/USDT"):
        assert time.monotonic() < deadline, "the simulator made no trades"
        time.sleep(0.2)


def test_the_simulators_accounts_are_reachable_through_no_dialect(tmp_path: Path) -> None:
    with SandexServer(tmp_path, SIM_CONFIG) as server:
        _sim_accounts_have_traded(server)
        for key, secret in DERIVED:
            _assert_unreachable(server, key, secret)
        # The real key still works: the refusal is about the simulator's accounts only.
        assert "USDT" in _ccxt(server.base_url, "alice-key", "alice-secret").fetch_balance()


async def test_a_data_dir_with_the_old_derivable_keys_loses_them(tmp_path: Path) -> None:
    """A journal written when the simulator's accounts had keys: on start they are revoked."""
    config = parse_config(
        SIM_CONFIG.replace('host = "127.0.0.1"', f'host = "127.0.0.1"\ndata_dir = "{tmp_path}"')
    )
    venue = Venue(config)
    await venue.open()
    for name in (MAKER, TAKER):
        await venue.create_account(name, f"{name}-7", f"{name}-secret", internal=True)
    await venue.close()

    venue = Venue(config)
    await venue.open()
    assert "sim-maker-7" in venue.engine.account_by_key  # as the old version left it
    simulator = Simulator(venue, config.simulator)
    await simulator.start()
    await simulator.stop()
    assert not {"sim-maker-7", "sim-taker-7"} & set(venue.engine.account_by_key)
    assert venue.account_named(MAKER) is not None and venue.account_named(MAKER).api_key == ""  # type: ignore[union-attr]
    await venue.close()
    # And it stays so after a restart (the revocation is journaled).
    venue = Venue(config)
    await venue.open()
    assert not {"sim-maker-7", "sim-taker-7"} & set(venue.engine.account_by_key)
    await venue.close()


# ---------------------------------------------------------------------------- history (issue 16.12)


def test_a_venue_started_with_history_serves_three_days_of_klines(tmp_path: Path) -> None:
    config = SIM_CONFIG.replace('history = "0"', 'history = "3d"')
    server = SandexServer(tmp_path, config)
    started = time.monotonic()
    with server.start(timeout=180):
        took = time.monotonic() - started
        exchange = _ccxt(server.base_url, "alice-key", "alice-secret")
        now = exchange.milliseconds()
        for symbol in ("BTC/USDT", "ETH/USDT"):
            hours = exchange.fetch_ohlcv(symbol, "1h", since=now - 3 * 86_400_000, limit=200)
            assert 71 <= len(hours) <= 73, (symbol, len(hours))
            assert hours[0][0] <= now - 71 * 3_600_000
            assert all(bar[5] > 0 for bar in hours)  # every hour traded
            minutes = exchange.fetch_ohlcv(symbol, "1m", limit=500)
            assert len(minutes) >= 400  # about two trades a minute: few minutes without one
            ticker = exchange.fetch_ticker(symbol)
            assert ticker["baseVolume"] and ticker["baseVolume"] > 0
            assert ticker["open"] and ticker["high"] >= ticker["low"] > 0
            assert len(exchange.fetch_trades(symbol, limit=100)) == 100
        # The history ends now: the simulator goes on trading live from there.
        assert hours[-1][0] >= now - 2 * 3_600_000
    assert "simulated 3d of history" in server.log()
    print(f"started with 3 days of history (2 markets) in {took:.1f}s")


async def test_history_is_deterministic_for_a_seed_and_an_end(tmp_path: Path) -> None:
    def at_fixed_end() -> float:
        return 1_750_000_000.0

    digests = []
    for run in ("a", "b"):
        text = SIM_CONFIG.replace('history = "0"', 'history = "2h"').replace(
            'host = "127.0.0.1"', f'host = "127.0.0.1"\ndata_dir = "{tmp_path / run}"'
        )
        config = parse_config(text)
        venue = Venue(config, clock=at_fixed_end)
        events: list = []
        venue.listeners.append(lambda batch, update, into=events: into.extend(batch))
        simulator = Simulator(venue, config.simulator)
        await venue.open(prepare=simulator.prepare)
        await venue.close()
        trades = [e for e in events if isinstance(e, TradeEvent)]
        assert len(trades) > 100
        assert min(t.ts for t in trades) >= 1_750_000_000_000 - 2 * 3_600_000
        assert max(t.ts for t in trades) <= 1_750_000_000_000
        digests.append(_hash(events))
    assert digests[0] == digests[1]


@pytest.mark.parametrize("name", ["sim-maker", "sim-taker"])
def test_no_configured_account_takes_a_simulator_accounts_name(name: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(SIM_CONFIG.replace('name = "alice"', f'name = "{name}"'))
    assert refused.value.key == "accounts[0].name"
    assert "simulator" in str(refused.value)
