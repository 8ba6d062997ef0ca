"""Infoway keeps even its timers in `routes` (issue 15): no other module imports asyncio either,
beside the shape every dialect has (tests/server/test_dialect_shape.py)."""

from __future__ import annotations

from pathlib import Path

import sandex.protocols.infoway as infoway
from tests.server.test_dialect_shape import imported_modules

FOLDER = Path(infoway.__file__).parent


def test_only_routes_imports_aiohttp_sessions_or_asyncio() -> None:
    io_modules = ("aiohttp", "sandex.server.session", "asyncio")
    offenders = {
        path.name: sorted(m for m in imported_modules(path, infoway.__name__) if m.startswith(io_modules))
        for path in FOLDER.glob("*.py")
        if path.name != "routes.py"
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
