"""The dialects sandex speaks, one folder each, all of the same shape (docs/architecture.md).

Adding a dialect is its folder plus one line below. Its `limits.py` declares `SECTION`, its
`[limits.<name>]` config section (read by the config loader, without importing any I/O), and its
`routes.py` declares `REGISTRATION`, what the server mounts (`sandex.server.dialects.Dialect`).
The server, the config loader and the CLI iterate these; none of them names a dialect.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..server.dialects import Dialect
    from .limits import LimitsSection

DIALECTS: Final = (
    "digifinex",
    "infoway",
    "dbot",
)


def limits_sections() -> list[LimitsSection[Any]]:
    """Every dialect's config section, in `DIALECTS` order (imports no aiohttp)."""
    return [importlib.import_module(f"{__name__}.{name}.limits").SECTION for name in DIALECTS]


def registrations() -> list[Dialect]:
    """Every dialect's registration, in `DIALECTS` order (imports each dialect's routes)."""
    return [importlib.import_module(f"{__name__}.{name}.routes").REGISTRATION for name in DIALECTS]
