"""Infoway's `[limits.infoway]` section: frame rate, heartbeat, symbol and connection budgets,
blocking abusive keys, depth."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from ..limits import Limit, LimitsSection, Positive, Profile

__all__ = ["INFOWAY_PROFILES", "SECTION", "InfowayLimits", "InfowayLimitsConfig"]


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


SECTION = LimitsSection("infoway", InfowayLimitsConfig, InfowayLimits, INFOWAY_PROFILES)
