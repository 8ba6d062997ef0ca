"""The matching engine, its books and its ledger: a deterministic function of commands.

`engine`, `book`, `orders` and `ledger` are compiled with mypyc when sandex is installed (see
setup.py); the compiled modules behave exactly like these sources (the engine benchmark checks
the event stream bit for bit). A compiled module shadows its source, so an edited source would be
silently ignored until the next build: in a source checkout, when any source is newer than its
build, or when SANDEX_PURE_PYTHON=1 is set, all four are loaded from source instead (with a
warning in the first case). `make install` / `make test` rebuild after an edit.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

#: The compiled modules, in the order they can be loaded from source.
COMPILED_MODULES = ("orders", "ledger", "book", "engine")


def _builds(folder: Path, name: str) -> list[Path]:
    return [*folder.glob(f"{name}.*.so"), *folder.glob(f"{name}.*.pyd")]


def _load_sources_if_needed() -> bool:
    """Load the compiled modules from source if forced or stale; True if they are compiled."""
    folder = Path(__file__).resolve().parent
    builds = {name: _builds(folder, name) for name in COMPILED_MODULES}
    if not all(builds.values()):
        return False  # not compiled (SANDEX_PURE_PYTHON=1 at install, or a source checkout)
    # Only in a source checkout (an editable install) can a source change after its build. An
    # installed wheel writes sources and builds in one go, in no particular order.
    in_checkout = folder.parents[1].name == "src" and (folder.parents[2] / "setup.py").exists()
    stale = [
        name
        for name in COMPILED_MODULES
        if in_checkout
        and (folder / f"{name}.py").stat().st_mtime > min(p.stat().st_mtime for p in builds[name])
    ]
    problem = ""
    if os.environ.get("SANDEX_PURE_PYTHON", "") == "1":
        pass  # asked for: no warning
    elif stale:
        problem = f"{', '.join(f'{n}.py' for n in stale)} changed since the engine was compiled"
    else:
        try:
            for name in COMPILED_MODULES:
                importlib.import_module(f"{__name__}.{name}")
            return True
        except ImportError as error:  # e.g. a partial build
            for name in COMPILED_MODULES:
                sys.modules.pop(f"{__name__}.{name}", None)
            problem = f"the compiled engine does not load ({error})"
    if problem:
        warnings.warn(
            f"sandex.core: {problem}; running the engine from source (slower). Rebuild with `make install`.",
            RuntimeWarning,
            stacklevel=2,
        )
    # All four from source: they call each other, and one compiled build is one unit.
    for name in COMPILED_MODULES:
        spec = importlib.util.spec_from_file_location(f"{__name__}.{name}", folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return False


#: True when the engine runs compiled (mypyc), False when it runs from source.
COMPILED: bool = _load_sources_if_needed()
