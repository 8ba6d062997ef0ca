"""The recordings shipped inside the package (package data under `samples/`), by name.

(Not `data/`: the repository's .gitignore ignores every `data/` directory, run data dirs.)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .records import Format


@dataclass(frozen=True, slots=True)
class BundledRecording:
    name: str
    file: str  # under sandex/replay/samples/
    format: Format
    symbols: dict[str, str]  # recorded symbol -> the demo venue's market
    licence: str  # the notice beside it
    description: str
    #: Other names a config may give it (the issue's example config says "btcusdt_20240808.gz").
    aliases: tuple[str, ...] = ()


BUNDLED: dict[str, BundledRecording] = {
    "btcusdt": BundledRecording(
        name="btcusdt",
        file="binance-spot-btcusdt_20240808.gz",
        format="binance-stream",
        symbols={"BTCUSDT": "BTC_USDT"},
        licence="LICENSE.hftbacktest",
        description="346 s of Binance spot BTCUSDT on 2024-08-08 (depth@100ms, trades), captured by hftbacktest's collector (MIT)",
        aliases=("btcusdt_20240808.gz", "binance-spot-btcusdt_20240808.gz"),
    ),
}


def bundled(name: str) -> Path:
    """The path of a shipped recording, e.g. bundled("btcusdt")."""
    entry = BUNDLED.get(name.lower())
    if entry is None:
        raise KeyError(f"no bundled recording {name!r}; there are: {', '.join(sorted(BUNDLED))}")
    return Path(str(files("sandex.replay") / "samples" / entry.file))


def resolve(name: str | Path, base: Path | None = None) -> Path:
    """A recording file named in a config or on a command line: an existing path (relative to
    `base` if given), else a bundled recording by name or alias ("btcusdt")."""
    path = Path(name)
    candidate = path if base is None or path.is_absolute() else base / path
    if candidate.exists():
        return candidate
    for entry in BUNDLED.values():
        if str(name).lower() in (entry.name, *entry.aliases):
            return bundled(entry.name)
    raise FileNotFoundError(
        f"no recording {str(name)!r}: not a file, nor a bundled name ({', '.join(sorted(BUNDLED))})"
    )
