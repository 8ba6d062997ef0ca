"""A client whose reader has hung: it never reads again, while its writer keeps asking for depth
snapshots. Run as its own process by the overload test, so its work does not slow the test's
1,000 readers:  python -m tests.chaos.stalled_client PORT

Prints `cut after N requests in S s` once the server disconnects it (a send fails), or
`never cut` after the time limit.
"""

from __future__ import annotations

import asyncio
import sys
import time

from tests.server.rawws import RawClient

REQUEST = b'{"id":1,"method":"depth.subscribe","params":["BTC_USDT","ETH_USDT"]}'


async def main(port: int, limit_s: float = 30.0) -> None:
    # A tiny TCP window: what it does not read piles up in the kernel, then in sandex.
    client = await RawClient.connect(port, "/ws/v1/", rcvbuf=4096)
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < limit_s:
        try:
            for _ in range(10):
                await client.send(REQUEST)
                sent += 1
        except OSError:
            print(f"cut after {sent} requests in {time.monotonic() - started:.2f} s", flush=True)
            return
        await asyncio.sleep(0.005)
    print("never cut", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
