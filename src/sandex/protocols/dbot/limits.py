"""DBot's `[limits.dbot]` section: heartbeat timeout and the REST call budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import msgspec
from msgspec import Meta

from ..limits import Limit, LimitsSection, Profile

__all__ = ["DBOT_PROFILES", "SECTION", "DbotConfig", "DbotLimits", "DbotLimitsConfig"]


class DbotLimits(msgspec.Struct, frozen=True, kw_only=True):
    heartbeat_timeout_s: int  # 0 = never disconnect a silent client
    rest_calls_per_minute: int  # 0 = unlimited


DBOT_PROFILES: Mapping[str, DbotLimits] = {
    "strict": DbotLimits(heartbeat_timeout_s=60, rest_calls_per_minute=600),
    "relaxed": DbotLimits(heartbeat_timeout_s=0, rest_calls_per_minute=0),
}


class DbotLimitsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    profile: Profile = "strict"
    heartbeat_timeout_s: Limit | None = None
    rest_calls_per_minute: Limit | None = None


class DbotConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[dbot]`: the chains DBot requests may name (every chain trades on the venue)."""

    chains: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")], ...],
        Meta(min_length=1),
    ] = ("solana", "ethereum", "base", "bsc", "tron")


SECTION = LimitsSection("dbot", DbotLimitsConfig, DbotLimits, DBOT_PROFILES, settings=DbotConfig)
