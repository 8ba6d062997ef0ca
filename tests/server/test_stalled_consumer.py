"""Issue 16 item 5: a client that stops reading is cut in bounded time, not only once its backlog
passes the (default 4 MiB) size limit: when its unsent frames have not drained for
`[limits.session] send_drain_timeout_s`. Counted in /metrics. A real `sandex serve` with the
simulator trading, a raw client with a tiny TCP window that subscribes to everything and then
never reads again, and a websockets client that reads and is left alone."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import websockets

from tests.server.rawws import RawClient
from tests.support.server import BASE_CONFIG, SandexServer

CONFIG = (
    BASE_CONFIG.replace(
        "[simulator]\nenabled = false", "[simulator]\nenabled = true\norders_per_second = 50\nlevels = 30"
    )
    + "\n[limits.session]\nsend_drain_timeout_s = 1\n"
)
SUBSCRIBE = [
    b'{"id":1,"method":"depth.subscribe","params":["BTC_USDT","ETH_USDT"]}',
    b'{"id":2,"method":"trades.subscribe","params":["BTC_USDT","ETH_USDT"]}',
    b'{"id":3,"method":"ticker.subscribe","params":["BTC_USDT","ETH_USDT"]}',
]
#: Asked for again and again while the reader has hung: each answer is a full depth snapshot.
SNAPSHOT = b'{"id":4,"method":"depth.subscribe","params":["BTC_USDT","ETH_USDT"]}'


def get(server: SandexServer, path: str) -> str:
    with urllib.request.urlopen(server.base_url + path, timeout=5) as response:
        return str(response.read().decode())


def metric(server: SandexServer, name: str, dialect: str) -> float:
    for line in get(server, "/metrics").splitlines():
        if line.startswith(f'{name}{{dialect="{dialect}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_client_that_stops_reading_is_cut_when_its_backlog_does_not_drain(tmp_path: Path) -> None:
    with SandexServer(tmp_path, CONFIG) as server:
        async with websockets.connect(server.ws_url("/ws/v1/")) as reader:
            for request in SUBSCRIBE:
                await reader.send(request.decode())
            stalled = await RawClient.connect(server.port, "/ws/v1/", rcvbuf=4096)
            for request in SUBSCRIBE:
                await stalled.send(request)
            started = time.monotonic()
            # Hung reader: nothing is read from here on. A few snapshots a second build a backlog
            # far below the 4 MiB size limit; then the client goes quiet altogether, so only the
            # simulator's pushes (and the sweeper) are left to notice.
            try:
                for _ in range(40):
                    await stalled.send(SNAPSHOT)
                    await asyncio.sleep(0.05)
            except OSError:
                pass  # cut already
            cut_after = None
            while time.monotonic() - started < 20:
                if json.loads(get(server, "/healthz"))["connections"].get("digifinex") == 1:
                    cut_after = time.monotonic() - started
                    break
                await asyncio.sleep(0.2)
            assert cut_after is not None, "the client that stopped reading was never cut"
            assert metric(server, "sandex_ws_stalled_consumer_drops_total", "digifinex") == 1
            assert metric(server, "sandex_ws_slow_consumer_drops_total", "digifinex") == 0
            assert "dropping stalled digifinex consumer" in server.log()
            # The client that reads is still served: it keeps getting pushes.
            frames = 0
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                await asyncio.wait_for(reader.recv(), 3)
                frames += 1
            assert frames > 0
            stalled.close()
