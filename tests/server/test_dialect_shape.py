"""Every dialect has the same shape (issue 15, docs/architecture.md): the same files, and only
`routes.py` imports aiohttp or the server's sessions. Imports are read from the source, relative
ones resolved, so `from ...server.session import Session` counts too."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from sandex.protocols import DIALECTS

SHAPE = {"wire.py", "errors.py", "connection.py", "api.py", "publisher.py", "limits.py", "routes.py"}
IO_MODULES = ("aiohttp", "sandex.server.session")


def imported_modules(path: Path, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("name", DIALECTS)
def test_the_dialect_has_the_shape_and_only_routes_does_io(name: str) -> None:
    package = f"sandex.protocols.{name}"
    folder = Path(importlib.import_module(package).__file__ or "").parent
    assert {p.name for p in folder.glob("*.py")} >= SHAPE
    offenders = {
        path.name: sorted(m for m in imported_modules(path, package) if m.startswith(IO_MODULES))
        for path in folder.glob("*.py")
        if path.name != "routes.py"
    }
    assert {module: found for module, found in offenders.items() if found} == {}


def test_relative_imports_are_resolved() -> None:
    source = Path(__file__).with_name("shape_probe.py")
    source.write_text("from ...server.session import Session\nfrom . import wire\n")
    try:
        found = imported_modules(source, "sandex.protocols.dbot")
    finally:
        source.unlink()
    assert "sandex.server.session.Session" in found and "sandex.protocols.dbot.wire" in found
