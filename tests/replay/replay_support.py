"""Hand-made recording files for the replay importer tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from sandex.core.markets import Market, make_market
from sandex.replay import Recording, open_recording

MARKETS: dict[str, Market] = {
    "BTC_USDT": make_market("BTC_USDT", 2, 6),
    "ETH_USDT": make_market("ETH_USDT", 2, 4),
}
SYMBOLS = {"BTCUSDT": "BTC_USDT"}
Levels = Sequence[tuple[str, str]]


def depth(E: int, U: int, u: int, bids: Levels = (), asks: Levels = (), s: str = "BTCUSDT") -> str:
    data = {
        "e": "depthUpdate",
        "E": E,
        "s": s,
        "U": U,
        "u": u,
        "b": [list(b) for b in bids],
        "a": [list(a) for a in asks],
    }
    return f"{E * 1_000_000 - 5} " + json.dumps({"stream": f"{s.lower()}@depth@100ms", "data": data})


def snapshot(last_update_id: int, bids: Levels = (), asks: Levels = (), local_ms: int = 1) -> str:
    body = {"lastUpdateId": last_update_id, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}
    return f"{local_ms * 1_000_000} " + json.dumps(body)


def trade(T: int, t: int, p: str, q: str, m: bool, s: str = "BTCUSDT") -> str:
    data = {"e": "trade", "E": T + 1, "s": s, "t": t, "p": p, "q": q, "T": T, "m": m, "M": True}
    return f"{T * 1_000_000} " + json.dumps({"stream": f"{s.lower()}@trade", "data": data})


def book_ticker(u: int, s: str = "BTCUSDT") -> str:
    data = {"u": u, "s": s, "b": "1.00", "B": "1", "a": "2.00", "A": "1"}
    return "7 " + json.dumps({"stream": f"{s.lower()}@bookTicker", "data": data})


def write(path: Path, lines: Iterable[str], *, compress: bool | None = None) -> Path:
    text = "".join(f"{line}\n" for line in lines).encode()
    if compress if compress is not None else path.suffix == ".gz":
        text = gzip.compress(text, mtime=0)
    path.write_bytes(text)
    return path


def play(
    paths: Iterable[Path],
    data_dir: Path,
    symbols: Mapping[str, str] = SYMBOLS,
    **options: object,
) -> Recording:
    return open_recording(list(paths), markets=MARKETS, symbols=symbols, data_dir=data_dir, **options)  # type: ignore[arg-type]
