"""Replay import throughput on the shipped BTCUSDT sample.

    .venv/bin/python bench/replay_import.py [--runs 3] [--json]

Imports `bundled("btcusdt")` (346 s of Binance spot: 41,249 lines, ~124,000 depth levels, 9,757
trades) into a fresh directory `--runs` times and prints the best run: records/s (level rows of
book messages plus trades, a diff of 20 levels counting 20), messages/s and source lines/s. Then
the cost of a start that reuses the stored form, and of reading every record back.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

from sandex.core.markets import make_market
from sandex.replay import BUNDLED, bundled, import_source

MARKETS = {"BTC_USDT": make_market("BTC_USDT", 2, 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args()
    path = bundled("btcusdt")
    symbols = BUNDLED["btcusdt"].symbols
    with gzip.open(path) as file:
        lines = sum(1 for _ in file)

    best = float("inf")
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            started = time.perf_counter()
            source = import_source(path, markets=MARKETS, symbols=symbols, data_dir=Path(scratch) / str(run))
            best = min(best, time.perf_counter() - started)
        started = time.perf_counter()
        reused = import_source(path, markets=MARKETS, symbols=symbols, data_dir=Path(scratch) / "0")
        reuse = time.perf_counter() - started
        started = time.perf_counter()
        count = sum(1 for _ in reused.records())
        read = time.perf_counter() - started
        stored_bytes = reused.path.stat().st_size

    records = source.rows  # every level row of a book message, plus one row per trade
    result = {
        "import_seconds": round(best, 4),
        "records": records,
        "records_per_s": round(records / best),
        "messages_per_s": round(len(source) / best),
        "lines_per_s": round(lines / best),
        "reuse_seconds": round(reuse, 4),
        "read_records_per_s": round(records / read),
        "read_messages": count,
        "stored_bytes": stored_bytes,
        "source_bytes": path.stat().st_size,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"replay import, {path.name} (best of {args.runs}):")
    print(f"  {records:,} records ({len(source):,} messages, {lines:,} lines) in {best:.3f} s")
    print(
        f"  {result['records_per_s']:,} records/s, {result['messages_per_s']:,} messages/s, {result['lines_per_s']:,} lines/s"
    )
    print(
        f"  reuse of the stored form: {reuse * 1000:.1f} ms; reading it back: {result['read_records_per_s']:,} records/s"
    )
    print(f"  stored form {stored_bytes:,} bytes (source {result['source_bytes']:,} bytes gzip)")


if __name__ == "__main__":
    main()
