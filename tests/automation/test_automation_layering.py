"""Where automation sits (issue 15): plain engine logic behind one facade.

- `sandex.automation` imports no I/O and nothing of the server, config or dialects;
- DBot imports it only through the facade (`sandex.automation`), never a submodule;
- in `protocols/dbot/`, only `routes.py` imports aiohttp or the server's session.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sandex"
IO_MODULES = {"asyncio", "aiohttp", "socket", "selectors", "ssl", "os", "io", "pathlib", "shutil", "sqlite3"}


def imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    package = ["sandex", *path.relative_to(SRC).parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            if node.module is None:  # `from .. import automation`
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_automation_imports_no_io_and_no_outer_layer() -> None:
    for path in sorted((SRC / "automation").glob("*.py")):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in IO_MODULES, (path.name, name)
            assert not name.startswith(
                ("sandex.server", "sandex.protocols", "sandex.config", "sandex.venue")
            ), (
                path.name,
                name,
            )
        assert "open(" not in path.read_text(), path.name


def test_dbot_uses_the_automation_facade_and_only_routes_does_io() -> None:
    for path in sorted((SRC / "protocols" / "dbot").glob("*.py")):
        names = imports(path)
        submodules = [n for n in names if n.startswith("sandex.automation.")]
        assert not submodules, (path.name, submodules)
        if path.name != "routes.py":
            assert not [n for n in names if n.split(".")[0] == "aiohttp" or n == "sandex.server.session"], (
                path.name
            )
    assert "sandex.core.copytrading" not in {n for p in SRC.rglob("*.py") for n in imports(p)}
    assert not list((SRC / "core").glob("copy*.py"))
