"""Recovery: how long `Venue.open()` takes on a data dir whose journal holds ~1,000,000 events.

The journal is filled with exchange-core's mix (bench/engine.py, seeded), written straight into
the SQLite journal in large batches (building it through the group commit would only make the
setup slower). Then the venue is opened twice per run:

- without a snapshot: every command is replayed through the engine, the market data and the
  account data (what `Venue._recover` does);
- from a snapshot taken at the end of the journal: the snapshot is decoded and loaded, and the
  (empty) tail is replayed.

    python bench/recovery.py [--events 1000000] [--runs 3] [--keep DIR]

The data dir is built once (it is cached under --keep if given, keyed by its size and seed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import engine as engine_bench
from sandex.config import parse_config
from sandex.core.commands import encode_command
from sandex.store.datadir import DataDir
from sandex.store.journal import Journal
from sandex.venue import Venue

# Events per measured command on exchange-core's mix (about 1.7); used to size the journal.
EVENTS_PER_OP = 1.68

CONFIG = """
[server]
data_dir = "{data_dir}"
log_level = "warning"

[simulator]
enabled = false
seed = {seed}  # the engine's seed names the wallets: it must be the journal's

[journal]
sync = "normal"
snapshot_every = 1000000000

[[markets]]
symbol = "BTC_USDT"
price_precision = 2
amount_precision = 6
min_amount = "0.000001"

[[accounts]]
name = "bench"
api_key = "bench-key"
secret = "bench-secret"
"""


@dataclass
class RecoveryResult:
    commands: int
    events: int
    journal_bytes: int
    snapshot_bytes: int
    replay_seconds: float  # best open() without a snapshot
    snapshot_seconds: float  # best open() from a snapshot


def config_for(data_dir: Path, seed: int):
    return parse_config(CONFIG.format(data_dir=str(data_dir), seed=seed))


def build(data_dir: Path, events: int, seed: int) -> tuple[int, int]:
    """Fill a fresh data dir's journal; returns (commands, events the engine made for them)."""
    ops = int(events / EVENTS_PER_OP) + 1
    setup, measured = engine_bench.generate(ops, seed)
    commands = setup + measured
    # Count the events exactly (and keep going until there are enough).
    from sandex.core.engine import Engine

    engine = Engine([engine_bench.MARKET], seed=seed)
    made = 0
    rows = []
    for ts, command in enumerate(commands, 1):
        made += len(engine.apply(command, ts))
        rows.append((ts, encode_command(command)))
    datadir = DataDir(data_dir)
    journal = Journal(datadir.journal_path, sync="normal")
    for i in range(0, len(rows), 50_000):
        journal.append_batch(rows[i : i + 50_000])
    journal.close()
    return len(rows), made


async def open_venue(data_dir: Path, seed: int) -> tuple[float, Venue]:
    venue = Venue(config_for(data_dir, seed))
    gc.collect()
    started = time.perf_counter()
    await venue.open()
    return time.perf_counter() - started, venue


async def measure(data_dir: Path, runs: int, seed: int) -> tuple[float, float, int, int]:
    snapshots = DataDir(data_dir).snapshots_path
    replay = snap = float("inf")
    events = 0
    snapshot_bytes = 0
    for _ in range(runs):
        shutil.rmtree(snapshots, ignore_errors=True)
        seconds, venue = await open_venue(data_dir, seed)
        replay = min(replay, seconds)
        events = venue.engine.seq
        await venue.close()  # writes the snapshot the next open starts from
        snapshot_bytes = sum(p.stat().st_size for p in snapshots.glob("snapshot-*.bin"))
        seconds, venue = await open_venue(data_dir, seed)
        snap = min(snap, seconds)
        assert venue.engine.seq == events, "recovery from the snapshot ended somewhere else"
        await venue.close()
    return replay, snap, events, snapshot_bytes


def run(events: int = 1_000_000, runs: int = 3, seed: int = 1, keep: Path | None = None) -> RecoveryResult:
    import logging

    logging.getLogger("sandex").setLevel(logging.WARNING)  # no "recovered ..." line per open
    tmp = None
    if keep is not None:
        data_dir = keep / f"recovery-{events}-{seed}"
        marker = data_dir / "built"
        if not marker.exists():
            shutil.rmtree(data_dir, ignore_errors=True)
            commands, _ = build(data_dir, events, seed)
            marker.write_text(str(commands))
    else:
        tmp = tempfile.TemporaryDirectory()
        data_dir = Path(tmp.name) / "data"
        build(data_dir, events, seed)
    try:
        journal = DataDir(data_dir).journal_path
        with Journal(journal, sync="normal") as j:
            commands = j.last_seq()
        journal_bytes = sum(p.stat().st_size for p in journal.parent.glob(journal.name + "*"))
        replay, snap, made, snapshot_bytes = asyncio.run(measure(data_dir, runs, seed))
        return RecoveryResult(commands, made, journal_bytes, snapshot_bytes, replay, snap)
    finally:
        if tmp is not None:
            tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="cache the built data dir here")
    args = parser.parse_args()
    result = run(args.events, args.runs, args.seed, args.keep)
    print(
        f"journal: {result.commands:,} commands -> {result.events:,} events, "
        f"{result.journal_bytes / 2**20:,.0f} MiB; snapshot {result.snapshot_bytes / 2**20:,.1f} MiB"
    )
    print(
        f"recovery without snapshot: {result.replay_seconds:6.2f} s  ({result.commands / result.replay_seconds:,.0f} commands/s; best of {args.runs})"
    )
    print(f"recovery from snapshot   : {result.snapshot_seconds:6.2f} s  (best of {args.runs})")


if __name__ == "__main__":
    main()
