"""The compiled engine (mypyc, built by `pip install`) and the sources behave the same.

Each mode runs in its own interpreter: which one `sandex.core` loads is decided at import time.
The event stream of a seeded 20,000-operation run on exchange-core's mix is hashed and compared
with the hash recorded from the engine before any performance work (bench/engine.py REFERENCE).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sandex.core

ROOT = Path(__file__).resolve().parents[2]
CORE = Path(sandex.core.__file__).resolve().parent

PROBE = """
import sys, warnings
warnings.simplefilter("always")
sys.path.insert(0, {bench!r})
import sandex.core, sandex.core.engine as engine_module
import engine as bench_engine
setup, measured = bench_engine.generate(20_000, 1)
digest, events, trades = bench_engine.event_hash(setup, measured, 1)
print(sandex.core.COMPILED, engine_module.__file__.endswith(".py"), digest, trades)
"""


def probe(
    env_extra: dict[str, str], pythonpath: str | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {**os.environ, **env_extra}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    code = PROBE.format(bench=str(ROOT / "bench"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done, done.stdout.split()


def reference() -> str:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import engine as bench_engine
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return bench_engine.REFERENCE[("exchange-core", 20_000, 1)]


def compiled_build_present() -> bool:
    return all(list(CORE.glob(f"{name}.*.so")) for name in sandex.core.COMPILED_MODULES)


def test_the_installed_engine_is_the_compiled_one_when_built() -> None:
    if not compiled_build_present():
        pytest.skip(
            "sandex was installed without the compiled engine (no C compiler, or SANDEX_PURE_PYTHON=1)"
        )
    if os.environ.get("SANDEX_PURE_PYTHON") == "1":
        pytest.skip("SANDEX_PURE_PYTHON=1 is set: this run asked for the engine from source")
    from sandex.core import engine as engine_module

    assert sandex.core.COMPILED
    assert not engine_module.__file__.endswith(".py")


def test_compiled_and_source_engines_produce_the_reference_events() -> None:
    expected = reference()
    _, pure = probe({"SANDEX_PURE_PYTHON": "1"})
    assert pure[:2] == ["False", "True"], pure
    assert pure[2] == expected
    _, default = probe({"SANDEX_PURE_PYTHON": ""})
    assert default[2] == expected
    assert default[:2] == (["True", "False"] if compiled_build_present() else ["False", "True"])


def copy_with_newer_engine_source(tmp_path: Path, *, checkout: bool) -> Path:
    """A copy of the installed tree (sources and builds) whose engine.py is newer than its build,
    laid out as a source checkout (src/ beside setup.py) or as an installed package."""
    src = CORE.parents[1]
    copy = tmp_path / "src"
    shutil.copytree(src / "sandex", copy / "sandex", ignore=shutil.ignore_patterns("__pycache__"))
    for shared in src.glob("*__mypyc*"):
        shutil.copy2(shared, copy / shared.name)
    if checkout:
        (tmp_path / "setup.py").write_text("")
    later = time.time() + 5
    os.utime(copy / "sandex" / "core" / "engine.py", (later, later))
    return copy


def test_an_edited_source_in_a_checkout_runs_from_source_with_a_warning(tmp_path: Path) -> None:
    if not compiled_build_present():
        pytest.skip("sandex was installed without the compiled engine: nothing can go stale")
    copy = copy_with_newer_engine_source(tmp_path, checkout=True)
    done, out = probe({"SANDEX_PURE_PYTHON": ""}, pythonpath=str(copy))
    assert out[:2] == ["False", "True"], out
    assert out[2] == reference()
    assert "engine.py changed since the engine was compiled" in done.stderr


def test_an_installed_package_uses_its_build_whatever_the_file_times(tmp_path: Path) -> None:
    # pip writes a wheel's sources and builds in no particular order: no staleness check there.
    if not compiled_build_present():
        pytest.skip("sandex was installed without the compiled engine")
    copy = copy_with_newer_engine_source(tmp_path, checkout=False)
    done, out = probe({"SANDEX_PURE_PYTHON": ""}, pythonpath=str(copy))
    assert out[:2] == ["True", "False"], out
    assert "changed since" not in done.stderr
