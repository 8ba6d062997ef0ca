"""Loading a config file: shape, command-line flags, then meaning.

1. shape — `tomllib` reads the text and `msgspec.convert` checks types, ranges and enums; its
   errors are reworded by `errors.explain`;
2. flags — `--host`, `--port`, `--data-dir`, `--no-sim` replace what the file says;
3. meaning — `checks.check`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ..core.numbers import NumberError, parse_scaled
from ..faults.profile import FaultProfile
from ..faults.profile import problems as fault_problems
from .checks import check
from .errors import ConfigError, explain
from .schema import Config, MarketConfig

__all__ = ["load_config", "parse_config", "parse_fault_profile"]


def load_config(
    path: Path | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    data_dir: str | Path | None = None,
    simulator: bool | None = None,
    replay: list[str] | None = None,
    speed: float | None = None,
    paused: bool | None = None,
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
    config = _apply_replay_flags(config, replay, speed, paused)
    check(config, source)
    return config


def parse_config(text: str, source: str = "<string>") -> Config:
    """Check TOML text as load_config does (without command-line flags)."""
    config = _parse_shape(text, source)
    check(config, source)
    return config


def parse_fault_profile(fields: Mapping[str, Any], source: str = "fault profile") -> FaultProfile:
    """One fault profile from plain values (the operator API, `sandex faults set`), checked and
    explained exactly as a `[[faults]]` entry of the config file; errors name the field."""
    raw = {"faults": [dict(fields)]}
    try:
        profile = msgspec.convert(raw, Config).faults[0]
    except msgspec.ValidationError as exc:
        key, message = explain(str(exc), raw, Config)
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
        key, message = explain(str(exc), raw, Config)
        raise ConfigError(source, key, f"{source}: {message}") from None
    # Imported here because sandex.demo builds its defaults from this module's structs.
    from ..demo import DEMO_MARKETS

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


def _apply_replay_flags(
    config: Config, files: list[str] | None, speed: float | None, paused: bool | None
) -> Config:
    """`--replay FILE...`, `--speed X`, `--paused` over the `[replay]` section."""
    replay = config.replay
    if files:
        replay = msgspec.structs.replace(replay, files=tuple(files))
    if speed is not None:
        if not 0 <= speed <= 1_000_000:
            raise ConfigError("--speed", "replay.speed", f"--speed: must be 0..1000000, got {speed}")
        replay = msgspec.structs.replace(replay, speed=speed)
    if paused is not None:
        replay = msgspec.structs.replace(replay, paused=paused)
    return msgspec.structs.replace(config, replay=replay)


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
