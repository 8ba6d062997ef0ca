"""What a dialect's `limits.py` declares: its `[limits.<name>]` config section.

A section is a named profile plus explicit per-key overrides. The effective struct (`limits`)
holds every value; the TOML struct (`config`) holds a profile name and the same keys as optional
overrides. `None` means "take the profile's value", which is why an override cannot simply
default to the strict number. "strict" is what the real venue enforces; "relaxed" keeps the data
shapes (depth levels, push intervals) but switches off everything that disconnects or blocks a
client, for bot development under a debugger.

A dialect may also have settings that are not limits, in its own top-level `[<name>]` table
(`settings`). This module and the dialects' `limits.py` import no I/O and nothing of
`sandex.config`, which composes them into its `LimitsConfig` and `Config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta

__all__ = ["Limit", "LimitsSection", "Positive", "Profile"]

#: A limit where 0 means "off" / "unlimited".
Limit = Annotated[int, Meta(ge=0)]
#: A count or interval that has no "off" value (a depth of 0 levels is not a depth).
Positive = Annotated[int, Meta(ge=1)]
Profile = Literal["strict", "relaxed"]

L = TypeVar("L", bound=msgspec.Struct)


@dataclass(frozen=True)
class LimitsSection(Generic[L]):
    #: The dialect's name: its section is `[limits.<name>]`, its values `Limits.<name>`.
    name: str
    #: The TOML section: `profile` and an optional override per field of `limits`. Frozen,
    #: forbidding unknown fields, every field with a default.
    config: type[msgspec.Struct]
    #: The values the dialect enforces.
    limits: type[L]
    #: The profiles by name ("strict", "relaxed").
    profiles: Mapping[str, L]
    #: The dialect's own top-level `[<name>]` table, for settings that are not limits (no
    #: profiles), e.g. the chains DBot requests may name: a frozen Struct forbidding unknown
    #: fields, every field with a default; `Config.<name>` holds it. None: the dialect has none.
    settings: type[msgspec.Struct] | None = None

    def resolve(self, section: msgspec.Struct) -> L:
        """The profile `section` names, with its overrides applied."""
        base = self.profiles[section.profile]  # type: ignore[attr-defined]  # every section has one
        overrides = {
            name: value for name in base.__struct_fields__ if (value := getattr(section, name)) is not None
        }
        return msgspec.structs.replace(base, **overrides)
