"""What a dialect gives the server to be mounted: its `routes.py` declares one `Dialect` as
`REGISTRATION`, and `sandex.protocols.registrations()` lists them.

The server (`app.py`) calls the hooks in `DIALECTS` order, the config loader reads `limits` (the
same `SECTION` as the dialect's `limits.py`), and `sandex serve` prints `banner`. A blocked key's
open connections are closed with `blocked_close_code`, whoever blocked it (an operator or the
dialect's own limits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..protocols.limits import LimitsSection

if TYPE_CHECKING:
    from ..config import Config
    from ..core.plugin import EnginePlugin
    from .context import ServerContext

Hook = Callable[["ServerContext"], Awaitable[None]]


@dataclass(frozen=True)
class Dialect:
    #: Its folder's name under `sandex/protocols`, the session registry's and the metrics' label.
    name: str
    #: Its `[limits.<name>]` section (its `limits.SECTION`).
    limits: LimitsSection[Any]
    #: Routes, publishers and liveness policies, before the app starts.
    setup: Callable[[web.Application, ServerContext], None]
    #: Deterministic engine extensions this dialect needs (copy trading), made before the venue.
    engine_plugins: Callable[[Config], list[EnginePlugin]] | None = None
    #: Run after the venue is open, and before it closes.
    startup: Hook | None = None
    shutdown: Hook | None = None
    #: Lines for the start-up message; `{http}` and `{ws}` become the venue's base URLs.
    banner: Sequence[str] = ()
    #: The close code (and reason) the dialect's connections get when their key is blocked.
    blocked_close_code: int = 1008
    blocked_close_reason: str = "API key blocked"
    #: Closes a just-blocked key's open connections itself, for a dialect that says something
    #: before the close (Infoway's 511 error frame); returns how many. None: the registry closes
    #: them with `blocked_close_code`.
    close_blocked: Callable[[ServerContext, str], int] | None = None

    def banner_lines(self, http: str, ws: str) -> list[str]:
        return [line.format(http=http, ws=ws) for line in self.banner]
