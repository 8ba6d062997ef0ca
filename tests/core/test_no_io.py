"""Layering (issue 15): nothing under core/ or marketdata/ does I/O. They are deterministic
functions of their inputs (commands, events, an injected clock), so they must not import
anything that reaches sockets, files, processes, threads or the event loop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sandex"

#: Top-level modules (and sandex's own) that mean I/O, or a way to it.
IO_MODULES = {
    "aiohttp", "asyncio", "http", "io", "logging", "mmap", "multiprocessing", "os", "pathlib",
    "requests", "select", "selectors", "shutil", "signal", "socket", "socketserver", "sqlite3",
    "ssl", "subprocess", "sys", "tempfile", "threading", "time", "urllib", "uvloop", "websockets",
    "sandex.server", "sandex.store", "sandex.venue", "sandex.protocols", "sandex.cli",
    "sandex.compiled_engine",
}  # fmt: skip
#: The one exception, and why: importing `sandex.core` chooses which build of the engine to load
#: (compiled or source), which reads the builds' files; that choice lives outside core, and no
#: engine module is involved in it.
ALLOWED = {"core/__init__.py": {"sandex.compiled_engine"}}
#: Builtins that open files or read the console.
IO_BUILTINS = {"open", "input", "print"}


def _modules() -> list[Path]:
    return sorted([*(SRC / "core").glob("*.py"), *(SRC / "marketdata").glob("*.py")])


def _imports(tree: ast.AST, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == io or name.startswith(io + ".") for io in IO_MODULES)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = f"sandex.{path.parent.name}"
    allowed = ALLOWED.get(f"{path.parent.name}/{path.name}", set())
    imported = {name for name in _imports(tree, package) if _forbidden(name) and name not in allowed}
    assert not imported, f"{path.name} imports {sorted(imported)}"
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS
    }
    assert not calls, f"{path.name} calls {sorted(calls)}"


def test_the_scan_sees_what_it_must() -> None:
    """The checker itself: it catches each way of importing I/O."""
    samples = {
        "import asyncio": "asyncio",
        "from os import path": "os",
        "import os.path": "os.path",
        "from ..store import journal": "sandex.store",
        "from ..venue import Venue": "sandex.venue",
    }
    for source, expected in samples.items():
        names = _imports(ast.parse(source), "sandex.core")
        assert expected in names and any(_forbidden(n) for n in names), source
    assert not any(_forbidden(n) for n in _imports(ast.parse("from .book import OrderBook"), "sandex.core"))
    assert len(_modules()) > 15
