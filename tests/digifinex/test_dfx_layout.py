"""The dialect's shape (issue 15): only `routes` touches aiohttp or a server session."""

from __future__ import annotations

import ast
from pathlib import Path

import sandex.protocols.digifinex as dialect

FOLDER = Path(dialect.__file__).parent
IO_MODULES = ("aiohttp", "sandex.server.session")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_routes_imports_aiohttp_or_the_session() -> None:
    offenders = {
        path.name: sorted(n for n in _imports(path) if n.startswith(IO_MODULES))
        for path in FOLDER.glob("*.py")
        if path.name != "routes.py"
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    assert {"wire.py", "errors.py", "connection.py", "api.py", "publisher.py", "routes.py"} <= {
        p.name for p in FOLDER.glob("*.py")
    }
