"""`[limits]`: every dialect's section, composed from the dialects' own `limits.py`, and the
transport limits every dialect shares (`[limits.session]`).

`LimitsConfig` (what the file says) and `Limits` (what the server enforces, after profiles and
overrides) are built from `sandex.protocols.limits_sections()`, so a new dialect's section
appears here without this module naming it: `limits.<dialect>` is that dialect's struct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta, field

from ..protocols import limits_sections

__all__ = ["Limits", "LimitsConfig", "SessionLimits", "resolve_limits"]


class SessionLimits(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Transport limits shared by every dialect; no profiles, they protect the server."""

    send_buffer_limit_bytes: Annotated[int, Meta(ge=1024)] = 4 * 1024 * 1024
    max_frame_bytes: Annotated[int, Meta(ge=1024)] = 4 * 1024 * 1024
    #: A client to whom nothing of its backlog (frames sent, not yet acknowledged) has been
    #: delivered for this long is cut, however small the backlog: a reader that stopped must not
    #: hold a connection and its buffers for minutes. 0: off.
    send_drain_timeout_s: Annotated[float, Meta(ge=0, le=3600)] = 10.0


SECTIONS = tuple(limits_sections())

if TYPE_CHECKING:
    # What type checkers see: the composed structs, with each dialect's section as an attribute
    # of its own type in that dialect's `limits.py` (looked up by name, hence Any here).

    class LimitsConfig(msgspec.Struct, frozen=True, kw_only=True):
        session: SessionLimits = field(default_factory=SessionLimits)

        def __getattr__(self, name: str) -> Any: ...

    class Limits(msgspec.Struct, frozen=True, kw_only=True):
        """The limits the server enforces, after profiles and overrides are applied."""

        session: SessionLimits

        def __getattr__(self, name: str) -> Any: ...

else:
    LimitsConfig = msgspec.defstruct(
        "LimitsConfig",
        [(s.name, s.config, field(default_factory=s.config)) for s in SECTIONS]
        + [("session", SessionLimits, field(default_factory=SessionLimits))],
        module=__name__,
        forbid_unknown_fields=True,
        frozen=True,
        kw_only=True,
    )
    Limits = msgspec.defstruct(
        "Limits",
        [(s.name, s.limits) for s in SECTIONS] + [("session", SessionLimits)],
        module=__name__,
        frozen=True,
        kw_only=True,
    )


def resolve_limits(limits: LimitsConfig) -> Limits:
    """Turn each dialect's profile + overrides into the values the server enforces."""
    resolved = {s.name: s.resolve(getattr(limits, s.name)) for s in SECTIONS}
    return Limits(**resolved, session=limits.session)
