"""DigiFinex's `[limits.digifinex]` section: idle timeout, depth, forced reconnect, REST budgets."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from ..limits import Limit, LimitsSection, Positive, Profile

__all__ = ["DIGIFINEX_PROFILES", "SECTION", "DigifinexLimits", "DigifinexLimitsConfig"]


class DigifinexLimits(msgspec.Struct, frozen=True, kw_only=True):
    idle_timeout_s: int  # 0 = connections without traffic are never closed
    depth_levels: int
    depth_snapshot_interval_s: int
    max_connection_age_s: int  # 0 = no forced reconnect
    rest_private_per_second: int  # per API key; 0 = unlimited
    rest_public_per_second: int  # per client IP; 0 = unlimited


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


class DigifinexLimitsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    # Relaxed by default: DigiFinex's idle timeout would surprise anyone pausing in a debugger.
    profile: Profile = "relaxed"
    idle_timeout_s: Limit | None = None
    depth_levels: Positive | None = None
    depth_snapshot_interval_s: Positive | None = None
    max_connection_age_s: Limit | None = None
    rest_private_per_second: Limit | None = None
    rest_public_per_second: Limit | None = None


SECTION = LimitsSection("digifinex", DigifinexLimitsConfig, DigifinexLimits, DIGIFINEX_PROFILES)
