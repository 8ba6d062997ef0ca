"""The dialect's shape: only `routes` touches aiohttp or the server's sessions (issue 15)."""

from __future__ import annotations

import ast
from pathlib import Path

import sandex.protocols.infoway as infoway

FOLDER = Path(infoway.__file__).parent
IO_MODULES = ("aiohttp", "sandex.server.session", "asyncio")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_routes_imports_aiohttp_sessions_or_asyncio() -> None:
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.startswith(IO_MODULES))
        for path in FOLDER.glob("*.py")
        if path.name != "routes.py"
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
    assert {"wire.py", "errors.py", "connection.py", "api.py", "publisher.py", "routes.py"} <= {
        p.name for p in FOLDER.glob("*.py")
    }
