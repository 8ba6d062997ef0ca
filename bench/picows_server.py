"""The transport's limit: a minimal picows WebSocket server that broadcasts one pre-encoded frame.

    python bench/picows_server.py --port 18800 --frame-file FRAME [--burst 8] [--coalesce] [--seconds 120]

Every connection that has sent at least one frame (its "subscribe") becomes a subscriber. A
broadcast loop then writes the same complete WebSocket frame bytes (built once, as sandex's hub
does) to every subscriber's transport, --burst times per round (one write call each, as sandex
writes one frame per topic that changed in a venue batch), yielding to the event loop between
rounds. A subscriber whose kernel buffer is full and whose user-space buffer passed 256 KiB is
skipped for that round (backpressure), so the figure the client counts is what the kernel
delivers, not what piles up in memory. Nothing else runs in this process: no matching, no
encoding, no Python per message beyond the write call.

It stops by itself after --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import resource

from picows import WSListener, ws_create_server

SKIP_ABOVE = 256 * 1024


class Subscriber(WSListener):
    def __init__(self, subscribers: dict) -> None:
        self.subscribers = subscribers
        self.transport = None

    def on_ws_connected(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport

    def on_ws_frame(self, transport, frame) -> None:  # type: ignore[no-untyped-def]
        self.subscribers[self] = transport.underlying_transport

    def on_ws_disconnected(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.subscribers.pop(self, None)


async def broadcast(subscribers: dict, frame: bytes, burst: int, coalesce: bool, stop_at: float) -> None:
    loop = asyncio.get_running_loop()
    if coalesce:
        # One write per subscriber per round carrying the whole burst: the fewest syscalls the
        # same bytes can take (what a server that gathers a batch's frames per subscriber does).
        frame, burst = frame * burst, 1
    while loop.time() < stop_at:
        if not subscribers:
            await asyncio.sleep(0.01)  # nobody to send to yet: do not spin
            continue
        for raw in tuple(subscribers.values()):
            if not raw.is_closing() and raw.get_write_buffer_size() < SKIP_ABOVE:
                write = raw.write
                for _ in range(burst):
                    write(frame)
        await asyncio.sleep(0)


async def serve(port: int, frame: bytes, burst: int, coalesce: bool, seconds: float) -> None:
    subscribers: dict = {}
    server = await ws_create_server(lambda request: Subscriber(subscribers), "127.0.0.1", port, backlog=4096)
    loop = asyncio.get_running_loop()
    print("listening", flush=True)
    await broadcast(subscribers, frame, burst, coalesce, loop.time() + seconds)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--frame-file", required=True, help="the complete frame (header + payload) to send")
    parser.add_argument("--burst", type=int, default=8, help="frames written to a subscriber per round")
    parser.add_argument("--coalesce", action="store_true", help="write each round's burst in one call")
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open(args.frame_file, "rb") as f:
        frame = f.read()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.port, frame, args.burst, args.coalesce, args.seconds))


if __name__ == "__main__":
    main()
