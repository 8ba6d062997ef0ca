"""Which build of the engine `sandex.core` runs: its mypyc-compiled modules, or their sources.

A compiled module shadows its source, so an edited source would be silently ignored until the
next build: in a source checkout, when any source is newer than its build, or when
SANDEX_PURE_PYTHON=1 is set, all of them are loaded from source instead (with a warning in the
first case). This looks at files, so it lives outside `core`, which does no I/O.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path


def _builds(folder: Path, name: str) -> list[Path]:
    return [*folder.glob(f"{name}.*.so"), *folder.glob(f"{name}.*.pyd")]


def load(package: str, init_file: str, modules: tuple[str, ...]) -> bool:
    """Load `package`'s compiled `modules` from source if forced or stale; True if compiled."""
    folder = Path(init_file).resolve().parent
    builds = {name: _builds(folder, name) for name in modules}
    if not all(builds.values()):
        return False  # not compiled (SANDEX_PURE_PYTHON=1 at install, or a source checkout)
    # Only in a source checkout (an editable install) can a source change after its build. An
    # installed wheel writes sources and builds in one go, in no particular order.
    in_checkout = folder.parents[1].name == "src" and (folder.parents[2] / "setup.py").exists()
    stale = [
        name
        for name in modules
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
            for name in modules:
                importlib.import_module(f"{package}.{name}")
            return True
        except ImportError as error:  # e.g. a partial build
            for name in modules:
                sys.modules.pop(f"{package}.{name}", None)
            problem = f"the compiled engine does not load ({error})"
    if problem:
        warnings.warn(
            f"{package}: {problem}; running the engine from source (slower). Rebuild with `make install`.",
            RuntimeWarning,
            stacklevel=3,
        )
    # All of them from source: they call each other, and one compiled build is one unit.
    for name in modules:
        spec = importlib.util.spec_from_file_location(f"{package}.{name}", folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return False
