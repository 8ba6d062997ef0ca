"""The matching engine, its books and its ledger: a deterministic function of commands.

`engine`, `book`, `orders` and `ledger` are compiled with mypyc when sandex is installed (see
setup.py); the compiled modules behave exactly like these sources (the engine benchmark checks
the event stream bit for bit). A compiled module shadows its source, so an edited source would be
silently ignored until the next build: in a source checkout, when any source is newer than its
build, or when SANDEX_PURE_PYTHON=1 is set, all four are loaded from source instead (with a
warning in the first case). `make install` / `make test` rebuild after an edit.
"""

from __future__ import annotations

from ..compiled_engine import load

#: The compiled modules, in the order they can be loaded from source.
COMPILED_MODULES = ("orders", "ledger", "book", "engine")

#: True when the engine runs compiled (mypyc), False when it runs from source. Which one is
#: chosen in sandex.compiled_engine: it reads the builds' files, and nothing in core does I/O.
COMPILED: bool = load(__name__, __file__, COMPILED_MODULES)
