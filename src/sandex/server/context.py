"""What a dialect's routes get from the server: the venue and the shared session machinery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from ..config import Config, Limits
from ..faults import FaultController
from ..venue import Venue
from .broadcast import Broadcaster
from .hub import TopicHub
from .liveness import LivenessSweeper
from .metrics import Metrics
from .ratelimits import KeyedLimiters, KeyGuard
from .registry import SessionRegistry
from .session import SessionConfig

if TYPE_CHECKING:
    from ..replay.driver import ReplayDriver


@dataclass
class ServerContext:
    config: Config
    limits: Limits
    venue: Venue
    hub: TopicHub
    registry: SessionRegistry
    metrics: Metrics
    sweeper: LivenessSweeper
    session_config: SessionConfig
    #: Fault injection (config `[[faults]]`, `/admin/faults`); inert while no profile is enabled.
    faults: FaultController
    #: Rounds of public market data (conflated, coalesced, paced): publishers add a source.
    broadcaster: Broadcaster
    #: Per-dialect key guards: one for every dialect (operators' blocks), replaced in its setup by
    #: a dialect whose limits also block keys for violations. The operator API and `sandex keys`
    #: block, list and unblock through them; a block closes the key's sessions (`app.py`).
    key_guards: dict[str, KeyGuard] = field(default_factory=dict)
    #: Per-key rate limiters whose budget is the key's, not the process's: with the bus, every
    #: process (engine and gateways) counts the others' accepted requests in them
    #: (`bus.budgets`). Named `dialect.what`; a dialect registers its own in its setup.
    shared_limiters: dict[str, KeyedLimiters] = field(default_factory=dict)
    #: The replay driver when `[replay]` plays a recording (`sandex replay`, `/admin/replay`).
    replay: ReplayDriver | None = None


#: The server context on the aiohttp app, for handlers that are not a dialect's (the operator API,
#: health, metrics).
CTX = web.AppKey("ctx", ServerContext)

#: The fault controller on the aiohttp app, so the shared session layer (`serve_session`) finds it
#: without every dialect having to pass it along.
FAULTS = web.AppKey("faults", FaultController)
