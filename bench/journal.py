"""Journal throughput: group-committed appends and read-back.

    .venv/bin/python bench/journal.py [--rows 200000] [--submitters 1000] [--sync full]

Appends ``--rows`` 100-byte commands through a GroupCommitter from ``--submitters``
concurrent coroutines (each awaits its ack before sending the next, like a client
waiting for an order ack), then streams them back with ``Journal.read_from``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sandex.store.group_commit import GroupCommitter
from sandex.store.journal import Journal


async def append_phase(journal: Journal, rows: int, submitters: int) -> tuple[float, GroupCommitter]:
    committer = GroupCommitter(journal)
    body = bytes(100)
    per_submitter, extra = divmod(rows, submitters)

    async def submitter(n: int) -> None:
        for i in range(n):
            await committer.append(i, body)

    started = time.perf_counter()
    await asyncio.gather(*(submitter(per_submitter + (s < extra)) for s in range(submitters)))
    elapsed = time.perf_counter() - started
    await committer.close()
    return elapsed, committer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--submitters", type=int, default=1000)
    parser.add_argument("--sync", choices=["full", "normal"], default="full")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to put the journal (default: a temp dir)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        journal = Journal(Path(tmp) / "journal.sqlite", sync=args.sync)
        elapsed, committer = asyncio.run(append_phase(journal, args.rows, args.submitters))
        assert journal.last_seq() == args.rows
        print(
            f"append  {args.rows:,} rows x 100 B, {args.submitters} submitters, sync={args.sync}: "
            f"{args.rows / elapsed:,.0f} rows/s ({elapsed:.2f} s, {committer.batches} batches, "
            f"{committer.rows / committer.batches:,.0f} rows/batch)"
        )

        started = time.perf_counter()
        count = sum(1 for _ in journal.read_from(0))
        elapsed = time.perf_counter() - started
        assert count == args.rows
        print(f"read    {count:,} rows: {count / elapsed:,.0f} rows/s ({elapsed:.2f} s)")
        journal.close()


if __name__ == "__main__":
    main()
