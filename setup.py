"""Build step: the matching engine's modules are compiled with mypyc (see bench/README.md).

They are ordinary typed Python; mypyc turns them into C extensions, about 1.5x faster on the
engine benchmark, with the same events bit for bit. The compilation is optional: without a C
compiler, or with `SANDEX_PURE_PYTHON=1` at install, sandex installs and runs from source, and
`sandex.core` also runs from source when a source is newer than its build.
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

#: The engine's hot path. Compiled together, so calls between them are native calls.
COMPILED = [
    "src/sandex/core/engine.py",
    "src/sandex/core/book.py",
    "src/sandex/core/orders.py",
    "src/sandex/core/ledger.py",
]


class OptionalBuildExt(build_ext):
    """A failed compilation leaves the pure-Python engine in place instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler, no Python headers, ...
            print(f"sandex: compiling the engine failed ({error}); it will run from source", file=sys.stderr)


ext_modules = []
if os.environ.get("SANDEX_PURE_PYTHON", "") != "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(["--ignore-missing-imports", *COMPILED], opt_level="3")

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
