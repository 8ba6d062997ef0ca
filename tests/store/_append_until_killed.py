"""Child process for the crash test: append forever, print each acknowledged seq.

Usage: python _append_until_killed.py JOURNAL_PATH

Prints one line per acknowledgement, ``<seq> <body>``, flushed immediately, so the
parent knows exactly what was acknowledged before it sends SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys

from sandex.store.group_commit import GroupCommitter
from sandex.store.journal import Journal


async def main(path: str) -> None:
    journal = Journal(path, sync="full")
    committer = GroupCommitter(journal)
    out = sys.stdout

    async def writer(w: int) -> None:
        i = 0
        while True:
            body = f"w{w}-{i}"
            seq = await committer.append(i, body.encode())
            out.write(f"{seq} {body}\n")
            out.flush()
            i += 1

    await asyncio.gather(*(writer(w) for w in range(50)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
