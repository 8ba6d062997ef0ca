"""A named fault profile: which connections it hits and which faults it injects.

One declaration serves the config file (`[[faults]]`), the operator API (`/admin/faults`) and
`sandex faults set`: all three decode into `FaultProfile`, so a key is spelled, typed and range
checked the same way everywhere. `problems` adds the checks msgspec cannot express.

Scope: `dialect` ("*" = every dialect) and optionally `api_key`. A profile with an `api_key`
only hits connections and requests made with that key; one without hits the whole dialect,
including connections that have not signed in yet (DigiFinex before `server.auth`).

Probabilities are floats in [0, 1]: they are rates, not money.
"""

from __future__ import annotations

import re
import zlib
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

__all__ = ["DIALECTS", "FaultProfile", "Probability", "problems", "profile_seed"]

Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
#: Delays are capped at 10 minutes: anything longer is a typo, not a network.
Millis = Annotated[int, Meta(ge=0, le=600_000)]
Seconds = Annotated[float, Meta(gt=0.0, le=86_400.0)]

DialectName = Literal["*", "digifinex", "infoway", "dbot"]
DIALECTS: Final = ("digifinex", "infoway", "dbot")

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class FaultProfile(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    name: str
    dialect: DialectName = "*"
    #: Only this key's connections and requests; None = every connection of the dialect.
    api_key: str | None = None
    enabled: bool = True
    #: Seed of this profile's random decisions; None derives one from the name, so a profile
    #: makes the same decisions in the same order on every run.
    seed: int | None = None

    # -- connections -------------------------------------------------------------------------
    #: Cut each matching WebSocket this many seconds after it opened (no close frame).
    drop_every_s: Seconds | None = None
    #: Once a second, cut each matching WebSocket with this probability.
    drop_probability: Probability = 0.0
    #: Stop answering pings: RFC 6455 ping frames and the dialect's own ping requests.
    ignore_pings: bool = False
    #: Hold every frame sent to a matching WebSocket for delay_ms plus 0..jitter_ms (order kept).
    delay_ms: Millis = 0
    jitter_ms: Millis = 0
    #: Refuse this share of WebSocket upgrades with HTTP 502.
    handshake_502_probability: Probability = 0.0

    # -- market data -------------------------------------------------------------------------
    #: A depth snapshot (DigiFinex clean snapshot, Infoway depth push) is replaced by an older one.
    stale_depth_probability: Probability = 0.0
    #: A depth update (DigiFinex diff, Infoway depth push) is not sent.
    skip_depth_probability: Probability = 0.0

    # -- order entry -------------------------------------------------------------------------
    #: Refuse new orders with this error code (DigiFinex REST `code`; DBot `err:true` with the code
    #: in the message); None = off.
    reject_orders_code: int | None = None
    reject_orders_message: str = "order rejected by sandex fault injection"
    reject_orders_probability: Probability = 1.0
    #: Pause the matching engine: every order entry path refuses, the simulator stops.
    #: The engine is shared, so this ignores `dialect` and may not name an `api_key`.
    pause_engine: bool = False

    def applies_to(self, dialect: str, key: str | None) -> bool:
        """True if this profile hits `dialect` traffic made with `key` (None = not signed in)."""
        if self.dialect != "*" and self.dialect != dialect:
            return False
        return self.api_key is None or self.api_key == key

    @property
    def touches_connections(self) -> bool:
        return bool(
            self.drop_every_s or self.drop_probability or self.ignore_pings or self.delay_ms or self.jitter_ms
        )

    @property
    def touches_depth(self) -> bool:
        return bool(self.stale_depth_probability or self.skip_depth_probability)


def profile_seed(profile: FaultProfile) -> int:
    """The seed of a profile's random decisions (stable across runs and machines)."""
    return profile.seed if profile.seed is not None else zlib.crc32(profile.name.encode())


def problems(profile: FaultProfile) -> list[tuple[str, str]]:
    """(field, message) for everything wrong with a decoded profile; empty when it is usable."""
    found: list[tuple[str, str]] = []
    if not _NAME.match(profile.name):
        found.append(("name", "must be 1-64 letters, digits, '_', '.' or '-'"))
    if profile.api_key is not None and not profile.api_key.strip():
        found.append(("api_key", "must not be empty (leave it out to hit every key)"))
    if profile.pause_engine and profile.api_key is not None:
        found.append(("pause_engine", "pauses the whole engine and cannot be limited to one api_key"))
    if profile.reject_orders_code == 0:
        found.append(("reject_orders_code", "0 means success; choose an error code"))
    return found
