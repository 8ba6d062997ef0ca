"""Venue configuration: one TOML file, typed, checked completely before anything starts.

- `schema`   the sections as frozen msgspec Structs (a typo is an error, not a default);
- `limits`   `[limits]`: each dialect's section from its `protocols/<name>/limits.py`, composed,
             and the transport limits shared by all;
- `loading`  reading a file: shape (msgspec), command-line flags, meaning (`checks`);
- `errors`   `ConfigError` and the rewording of msgspec's messages, naming the key.
"""

from __future__ import annotations

from ..faults.profile import FaultProfile
from .errors import ConfigError
from .limits import Limits, LimitsConfig, SessionLimits, resolve_limits
from .loading import load_config, parse_config, parse_fault_profile
from .schema import (
    DEFAULT_DATA_DIR,
    MAX_PRECISION,
    SIMULATOR_ACCOUNTS,
    AccountConfig,
    BusConfig,
    Config,
    JournalConfig,
    MarketConfig,
    ServerConfig,
    SimulatorConfig,
    section_types,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "MAX_PRECISION",
    "SIMULATOR_ACCOUNTS",
    "AccountConfig",
    "BusConfig",
    "Config",
    "ConfigError",
    "FaultProfile",
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
