"""Hand-made recording files for the replay importer tests."""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandex.core.markets import Market, make_market
from sandex.replay import Recording, open_recording
from tests.support.server import SandexServer

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


PRICE_SCALE = Decimal(10) ** 2  # BTC_USDT in the tests: price_precision 2, amount_precision 6
SIZE_SCALE = Decimal(10) ** 6


def exact(text: str, scale: Decimal) -> int:
    value = Decimal(text) * scale
    assert value == value.to_integral_value(), text
    return int(value)


class NaiveBook:
    """Binance's documented procedure, written out plainly from the raw lines (json + Decimal),
    for one market's capture without gaps (the shipped sample): an independent reading to compare
    the importer, or a replayed venue's depth and trades, against. Scales: BTC_USDT's (2, 6)."""

    def __init__(self, path: Path) -> None:
        self.events: list[tuple[int, str, object]] = []  # (E ms, "reset"|"diff", levels)
        self.trades: list[tuple[int, int, int, str, int]] = []
        buffered: list[dict[str, object]] = []
        snapshot: dict[str, object] | None = None
        last: int | None = None
        with gzip.open(path, "rt") as lines:
            for line in lines:
                message = json.loads(line.split(" ", 1)[1])
                if "lastUpdateId" in message:
                    if last is None:
                        snapshot = message
                        pending, buffered = buffered, []
                        for diff in pending:
                            last = self._diff(diff, snapshot, last)
                            if last is not None:
                                snapshot = None
                    continue
                data = message["data"]
                if message["stream"].endswith("@trade"):
                    self.trades.append(
                        (
                            data["T"],
                            exact(data["p"], PRICE_SCALE),
                            exact(data["q"], SIZE_SCALE),
                            "sell" if data["m"] else "buy",
                            data["t"],
                        )
                    )
                elif "@depth" in message["stream"]:
                    if last is None and snapshot is None:
                        buffered.append(data)
                        continue
                    last = self._diff(data, snapshot, last)
                    if last is not None:
                        snapshot = None

    def _diff(
        self, diff: dict[str, object], snapshot: dict[str, object] | None, last: int | None
    ) -> int | None:
        first_id, last_id = diff["U"], diff["u"]
        assert isinstance(first_id, int) and isinstance(last_id, int)
        if last is None:
            assert snapshot is not None
            lid = snapshot["lastUpdateId"]
            assert isinstance(lid, int)
            if last_id <= lid:
                return None
            assert first_id <= lid + 1, "the sample has no gap"
            self.events.append((diff["E"], "reset", (snapshot["bids"], snapshot["asks"])))  # type: ignore[arg-type]
            self.events.append((diff["E"], "diff", (diff["b"], diff["a"])))  # the straddling diff
            return last_id
        if last_id <= last:
            return last
        assert first_id == last + 1, "the sample has no gap"
        self.events.append((diff["E"], "diff", (diff["b"], diff["a"])))  # type: ignore[arg-type]
        return last_id

    def book_at(self, time_ms: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for when, kind, (bid_levels, ask_levels) in self.events:  # type: ignore[misc]
            if when > time_ms:
                break
            if kind == "reset":
                bids.clear()
                asks.clear()
            for levels, book in ((bid_levels, bids), (ask_levels, asks)):
                for price, size in levels:
                    p, s = exact(price, PRICE_SCALE), exact(size, SIZE_SCALE)
                    if s:
                        book[p] = s
                    else:
                        book.pop(p, None)
        return sorted(bids.items(), reverse=True), sorted(asks.items())


def admin(server: SandexServer, path: str, body: dict[str, Any] | None = None) -> Any:
    """The replay's operator API (`/admin/replay{path}`): GET without a body, else POST it."""
    request = urllib.request.Request(
        f"{server.base_url}/admin/replay{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
