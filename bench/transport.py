"""Transport benches against a real `sandex serve` (DigiFinex WebSocket v1 and REST v3).

    python bench/transport.py fanout      [--conns 100 1000] [--seconds 5] [--runs 3]
    python bench/transport.py latency     [--rate 1000] [--subscribers 1000] [--seconds 10]
    python bench/transport.py connections [--conns 10000]

- fanout: market-data frames delivered per second to N subscribed clients while the simulator
  runs flat out, beside `bench/picows_server.py` broadcasting one of sandex's own push frames (the
  transport's limit). Clients: `bench/wsclient.py` in its own process.
- latency: `bench/latency_client.py` at a steady order rate while N other clients subscribe to the
  market's depth and trades (`bench/wsclient.py`).
- connections: server memory (RSS) per idle, signed-in connection.

Every server listens on 127.0.0.1 only and every run stops by itself. The machine has 2 cores:
the server gets one, the load clients share the other (and the other engineers' jobs share both).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
SANDEX = str(Path(sys.executable).with_name("sandex"))

ACCOUNTS = """
[[accounts]]
name = "alice"
api_key = "alice-key"
secret = "alice-secret"
balances = { USDT = "1000000000", BTC = "100000", ETH = "100000" }
[[accounts]]
name = "bob"
api_key = "bob-key"
secret = "bob-secret"
balances = { USDT = "1000000000", BTC = "100000", ETH = "100000" }
"""

BTC_ONLY = """
[[markets]]
symbol = "BTC_USDT"
price_precision = 2
amount_precision = 6
min_amount = "0.0001"
min_value = "1"
initial_price = "65000"
"""


def config_text(*, sim_rate: float | None, markets: str = "", sim_tick_ms: int = 50) -> str:
    sim = (
        "enabled = false"
        if sim_rate is None
        else f"enabled = true\norders_per_second = {sim_rate}\ntick_ms = {sim_tick_ms}"
    )
    return f'[server]\nhost = "127.0.0.1"\nlog_level = "warning"\n[simulator]\n{sim}\n' + markets + ACCOUNTS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
        return response.status == 200


@contextlib.contextmanager
def sandex_server(
    config: str,
    extra: tuple[str, ...] = (),
    ready: Callable[[int], bool] = _healthy,
    timeout: float = 30,
):
    """`sandex serve` (with `extra` arguments) on a fresh data dir and a free loopback port, once
    `ready(port)` (default: /healthz answers 200; an exception counts as not yet); yields
    (port, pid)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "sandex.toml"
        cfg.write_text(config)
        port = free_port()
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115 (the server process owns it)
        proc = subprocess.Popen(
            [
                SANDEX,
                "serve",
                "--config",
                str(cfg),
                "--data-dir",
                str(Path(tmp) / "data"),
                "--port",
                str(port),
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_raise_fd_limit,
        )
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    if ready(port):
                        break
                except Exception:  # not listening yet, or not ready yet
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    log.close()
                    raise RuntimeError(
                        "sandex did not start:\n" + (Path(tmp) / "server.log").read_text()[-2000:]
                    )
                time.sleep(0.2)
            yield port, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@contextlib.contextmanager
def picows_server(frame: bytes, seconds: float, burst: int = 8, coalesce: bool = False):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frame.bin"
        path.write_bytes(frame)
        port = free_port()
        proc = subprocess.Popen(
            [
                PYTHON,
                str(HERE / "picows_server.py"),
                "--port",
                str(port),
                "--frame-file",
                str(path),
                "--burst",
                str(burst),
                "--seconds",
                str(seconds),
            ]
            + (["--coalesce"] if coalesce else []),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=_raise_fd_limit,
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"listening":
                raise RuntimeError("picows server did not start")
            yield port, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def client(args: list[str], timeout: float) -> dict:
    out = subprocess.run([PYTHON, *args], capture_output=True, timeout=timeout, check=False)
    lines = [line for line in out.stdout.decode().splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"client failed ({out.returncode}): {out.stderr.decode()[-1500:]}")
    return json.loads(lines[-1])


#: Frames the picows baseline writes to a subscriber per round: about what one venue batch brings a
#: client subscribed to every public channel of the demo markets.
PICOWS_BURST = 8

SUBSCRIBE_ALL = [
    json.dumps({"id": i, "method": f"{channel}.subscribe", "params": []})
    for i, channel in enumerate(("depth", "trades", "ticker"), 1)
]


def capture_push(port: int) -> bytes:
    """One real market-data push from sandex (a depth diff or new trades), as the complete frame."""
    import asyncio

    import websockets

    sys.path.insert(0, str(ROOT / "src"))
    from sandex.server.framing import encode_frame

    async def grab() -> bytes:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/v1/", max_size=None) as ws:
            await ws.send(json.dumps({"id": 1, "method": "depth.subscribe", "params": ["BTC_USDT"]}))
            await ws.send(json.dumps({"id": 2, "method": "trades.subscribe", "params": ["BTC_USDT"]}))
            import zlib

            for _ in range(1000):
                payload = await ws.recv()
                message = json.loads(zlib.decompress(payload))
                if (
                    message.get("method") in ("depth.update", "trades.update")
                    and message["params"][0] is False
                ):
                    return payload
        raise RuntimeError("no market-data push seen")

    payload = asyncio.run(asyncio.wait_for(grab(), 30))
    return encode_frame(payload, binary=True)


#: The simulator "flat out": 2,000 orders/s on each of the 6 demo markets (12,000/s in all, about
#: what the engine and the journal sustain beside the fan-out on one core), sent every 5 ms.
FANOUT_SIM_RATE = 2000
FANOUT_SIM_TICK_MS = 5


def fanout(conns_list: list[int], seconds: float, runs: int, sim_rate: float = FANOUT_SIM_RATE) -> dict:
    """{conns: {"sandex": result, "picows": result, "frame_bytes": n}} (best of runs each)."""
    results: dict = {}
    with sandex_server(config_text(sim_rate=sim_rate, sim_tick_ms=FANOUT_SIM_TICK_MS)) as (port, _pid):
        frame = capture_push(port)
        url = f"ws://127.0.0.1:{port}/ws/v1/"
        for conns in conns_list:
            best = None
            for _ in range(runs):
                args = [
                    str(HERE / "wsclient.py"),
                    "fanout",
                    url,
                    "--conns",
                    str(conns),
                    "--seconds",
                    str(seconds),
                    "--warmup",
                    "2",
                ]
                for text in SUBSCRIBE_ALL:
                    args += ["--send", text]
                result = client(args, timeout=120 + seconds)
                if best is None or result["rate"] > best["rate"]:
                    best = result
            results.setdefault(conns, {})["sandex"] = best
    for conns in conns_list:
        for key, coalesce in (("picows", False), ("picows_coalesced", True)):
            best = None
            for _ in range(runs):
                with picows_server(frame, seconds=seconds + 60, burst=PICOWS_BURST, coalesce=coalesce) as (
                    port,
                    _pid,
                ):
                    args = [
                        str(HERE / "wsclient.py"),
                        "fanout",
                        f"ws://127.0.0.1:{port}/",
                        "--conns",
                        str(conns),
                        "--seconds",
                        str(seconds),
                        "--warmup",
                        "2",
                        "--send",
                        "subscribe",
                    ]
                    result = client(args, timeout=120 + seconds)
                if best is None or result["rate"] > best["rate"]:
                    best = result
            results[conns][key] = best
        results[conns]["frame_bytes"] = len(frame)
    return results


def ack_histogram(port: int) -> dict[float, float]:
    """The server's `sandex_command_ack_seconds` histogram: upper bound (s) -> cumulative count."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith("sandex_command_ack_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return buckets


def server_acks(before: dict[float, float], after: dict[float, float]) -> dict:
    """What the server's histogram says of the acks between two scrapes: how many, the share
    within 5 ms, and the bucket that holds the 99th percentile."""
    counts = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    total = counts.get(float("inf"), 0.0)
    if not total:
        return {"n": 0}
    p99 = next(le for le, c in counts.items() if c >= 0.99 * total)
    lower = max((le for le in counts if le < p99), default=0.0)
    return {
        "n": int(total),
        "within_5ms": counts.get(0.005, 0.0) / total,
        "p99_bucket_ms": (lower * 1000, p99 * 1000),
    }


def latency(rate: float, subscribers: int, seconds: float, warmup: float = 2.0) -> dict:
    with sandex_server(config_text(sim_rate=None, markets=BTC_ONLY)) as (port, _pid):
        base, ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/v1/"
        load = None
        if subscribers:
            args = [
                PYTHON,
                str(HERE / "wsclient.py"),
                "fanout",
                ws,
                "--conns",
                str(subscribers),
                "--warmup",
                "0",
                "--seconds",
                str(seconds + warmup + 20),
            ]
            for channel in ("depth", "trades"):
                args += [
                    "--send",
                    json.dumps({"id": 1, "method": f"{channel}.subscribe", "params": ["BTC_USDT"]}),
                ]
            load = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(3 + subscribers / 500)  # let them connect and subscribe
        try:
            before = ack_histogram(port)
            result = client(
                [
                    str(HERE / "latency_client.py"),
                    base,
                    ws,
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                    "--warmup",
                    str(warmup),
                ],
                timeout=seconds + warmup + 60,
            )
            result["server"] = server_acks(before, ack_histogram(port))
        finally:
            if load is not None:
                load.terminate()
                load.wait(10)
    result["subscribers"] = subscribers
    return result


def connections(conns: int) -> dict:
    with sandex_server(config_text(sim_rate=None, markets=BTC_ONLY)) as (port, pid):
        time.sleep(1.0)
        before = rss_kib(pid)
        proc = subprocess.Popen(
            [
                PYTHON,
                str(HERE / "wsclient.py"),
                "hold",
                f"ws://127.0.0.1:{port}/ws/v1/",
                "--conns",
                str(conns),
                "--auth",
                "alice-key:alice-secret",
                "--seconds",
                "120",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None and proc.stdin is not None
            ready = json.loads(proc.stdout.readline())
            time.sleep(2.0)  # let the server settle (buffers, the liveness sweeper)
            after = rss_kib(pid)
            proc.stdin.close()
            final = json.loads(proc.stdout.readline())
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return {
        "conns": conns,
        "signed_in": ready["answers"],
        "rss_before_kib": before,
        "rss_after_kib": after,
        "per_conn_kib": (after - before) / conns,
        "alive_at_end": final["alive_at_end"],
        "connect_s": ready["ready_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["fanout", "latency", "connections"])
    parser.add_argument("--conns", type=int, nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--subscribers", type=int, default=1000)
    args = parser.parse_args()
    if args.what == "fanout":
        print(json.dumps(fanout(args.conns or [100, 1000], args.seconds or 5, args.runs), indent=1))
    elif args.what == "latency":
        print(json.dumps(latency(args.rate, args.subscribers, args.seconds or 10), indent=1))
    else:
        print(json.dumps(connections((args.conns or [10000])[0]), indent=1))


if __name__ == "__main__":
    main()
