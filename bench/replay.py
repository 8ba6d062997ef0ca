"""Replay throughput at speed 0 on the bundled BTCUSDT sample, beside hftbacktest (issue 12).

    python bench/replay.py [--runs 3] [--subscribers 100] [--quick] [--json]

The sample (`bundled("btcusdt")`, 346 s of Binance spot: 13,207 messages, 135,830 level updates
plus trades) is played four ways in one invocation, each the best of --runs:

- engine path: the recording cut into `ReplayAdvance` commands of STEP_MS (as the driver does at
  speed 0), applied by an `Engine` with the replay plugin, every command's events fed to
  `MarketData` (no journal, no server);
- server, no subscribers: a real `sandex serve --replay btcusdt --speed 0 --paused`, timed from
  `POST /admin/replay/resume` until `GET /admin/replay` says "finished" (then sought back to the
  start for the next run);
- server, N subscribers: the same with N DigiFinex WebSocket clients (picows, own process) each
  subscribed to depth and trades of BTC_USDT over real sockets;
- hftbacktest: the same capture converted by its own `binancefutures.convert` (the spot lines
  given the fields the futures layout has and spot lacks: see `hftbacktest_data`), then a
  backtest (HashMapMarketDepthBacktest) stepping through every event with `elapse(STEP_MS)`
  from numba.

Updates = level updates plus trades (a diff of 20 levels counts 20): sandex's `Recording.rows`,
hftbacktest's depth, snapshot and trade events (17 more: the diffs before the first snapshot,
which sandex's Binance synchronisation drops). x real time = recording seconds per wall second.
The engine path also checks its events and market data against hashes taken before the
optimisation work (main at bd1bba6), so a faster replay is known to be the same replay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import http.client
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

#: Recording time per command at speed 0 (the driver's STEP_MS), and hftbacktest's elapse step.
STEP_MS = 250
WALL = 1_800_000_000_000  # the commands' (wall) time: never the replayed market's clock
#: sha256 of every event of the engine path, and of market data after each command (top 50, the
#: 1m and 1d bars, the ticker) plus its final state, taken on main at bd1bba6, before the
#: optimisation work. (The events are those of 92fda4a too; its market data differed only where
#: a replayed market's ticker now carries the market's clock and its state keeps that clock.)
REFERENCE_EVENTS = "4b996d4b8381f989ed0bf33bccb56d9fa987aefae3712da0a92bfb3d67a456a0"
REFERENCE_MARKETDATA = "8ac904748cd87a74f65bb761d6b610704ecad075f5fa88cc295f711815f4e6c3"

SERVER_CONFIG = '[server]\nhost = "127.0.0.1"\nlog_level = "warning"\n[simulator]\nenabled = false\n'


@dataclass
class Figure:
    name: str
    updates: int
    seconds: float
    span_s: float
    note: str = ""
    error: str = ""

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def real_time(self) -> float:
        return self.span_s / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    figures: list[Figure] = field(default_factory=list)
    runs: int = 0
    subscribers: int = 0
    verified: str = ""

    def get(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)


# ---------------------------------------------------------------------------------- the sample
def open_sample(data_dir: Path) -> Any:
    from sandex.core.markets import make_market
    from sandex.replay import BUNDLED, bundled, open_recording

    market = make_market("BTC_USDT", 2, 6, min_amount="0.00001", min_value="1")
    recording = open_recording(
        [bundled("btcusdt")],
        markets={"BTC_USDT": market},
        symbols=BUNDLED["btcusdt"].symbols,
        data_dir=data_dir,
    )
    return market, recording


def span_s(recording: Any) -> float:
    return (recording.end_ms - recording.start_ms) / 1000


# ---------------------------------------------------------------------------------- engine path
def engine_run(market: Any, recording: Any, *, marketdata: bool = True, verify: bool = False) -> Any:
    """One full replay; the time of the commands (seconds), or with verify the two hashes."""
    import msgspec

    from sandex.core.engine import Engine
    from sandex.marketdata.service import MarketData
    from sandex.replay.commands import ReplayAdvance, ReplayLoad
    from sandex.replay.plugin import ReplayPlugin

    engine = Engine([market], plugins=[ReplayPlugin(recording)])
    md = MarketData([market])
    md.apply(engine.apply(ReplayLoad(recording.digest, recording.start_ms, 0.0, "playing"), WALL))
    commands = []
    at = recording.start_ms
    while at < recording.end_ms:
        at = min(at + STEP_MS, recording.end_ms)
        commands.append(ReplayAdvance(list(recording.position_at(at)), at))
    apply, feed = engine.apply, md.apply
    if verify:
        events, tops = hashlib.sha256(), hashlib.sha256()
        for command in commands:
            out = apply(command, WALL)
            feed(out)
            for event in out:
                events.update(msgspec.msgpack.encode(event))
            tops.update(msgspec.msgpack.encode(md.top("BTC_USDT", 50)))
            tops.update(msgspec.msgpack.encode([md.current_bar("BTC_USDT", i) for i in ("1m", "1d")]))
            tops.update(msgspec.msgpack.encode(md.ticker("BTC_USDT")))
        tops.update(md.to_state())
        return events.hexdigest(), tops.hexdigest()
    started = time.perf_counter()
    if marketdata:
        for command in commands:
            feed(apply(command, WALL))
    else:
        for command in commands:
            apply(command, WALL)
    return time.perf_counter() - started


def engine_figures(runs: int, market: Any, recording: Any) -> tuple[list[Figure], str]:
    found = engine_run(market, recording, verify=True)
    verified = (
        "verified"
        if found == (REFERENCE_EVENTS, REFERENCE_MARKETDATA)
        else f"DIFFER FROM main@bd1bba6 (events {found[0][:12]}, market data {found[1][:12]})"
    )
    best_md = best_alone = float("inf")
    for _ in range(runs):  # interleaved, so both best-ofs sample the same moments
        best_md = min(best_md, engine_run(market, recording))
        best_alone = min(best_alone, engine_run(market, recording, marketdata=False))
    rows, span = recording.rows, span_s(recording)
    return [
        Figure("engine", rows, best_md, span, f"events {verified}"),
        Figure("engine-alone", rows, best_alone, span),
    ], verified


# ---------------------------------------------------------------------------------- server path
class _Admin:
    """The operator API over one kept-alive connection: a status poll then costs the server a
    request, not a connection as well (polled every 10 ms, that was 10 % of its time)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._http: http.client.HTTPConnection | None = None

    def __call__(self, path: str = "", body: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in (1, 2):  # once more on a fresh connection if the kept one was closed
            if self._http is None:
                self._http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self._http.request(
                    "GET" if body is None else "POST",
                    "/admin/replay" + path,
                    body=None if body is None else json.dumps(body),
                    headers={"Content-Type": "application/json"},
                )
                response = self._http.getresponse()
                answer: dict[str, Any] = json.loads(response.read())
                if response.status != 200:
                    raise RuntimeError(f"{path or 'status'}: HTTP {response.status}: {answer}")
                return answer
            except (OSError, http.client.HTTPException):
                self._http.close()
                self._http = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def play_once(admin: _Admin, poll_s: float = 0.01) -> float:
    """Resume a paused replay at its start; the seconds until the server says it finished."""
    started = time.perf_counter()
    admin("/resume", {})
    while admin()["state"] != "finished":
        time.sleep(poll_s)
    return time.perf_counter() - started


def rewind(admin: _Admin) -> None:
    status = admin()
    admin("/seek", {"time": status["start_ms"]})
    while admin()["state"] != "paused":
        time.sleep(0.01)


@contextlib.contextmanager
def subscribers(port: int, conns: int):
    """`replay.py subscribe` in its own process; yields a function returning its counts."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "subscribe", f"ws://127.0.0.1:{port}/ws/v1/", "--conns", str(conns)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def report() -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("report\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"subscriber client died: {proc.stderr.read()[-1500:] if proc.stderr else ''}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    try:
        ready = json.loads(proc.stdout.readline() or "{}")
        if ready.get("connected") != conns:
            raise RuntimeError(f"subscribers did not connect: {ready}")
        yield report
    finally:
        proc.stdin.close()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def settle(report: Any, quiet_s: float = 0.3) -> dict[str, Any]:
    """The clients' counts once no frame has come for quiet_s."""
    last = report()
    while True:
        time.sleep(quiet_s)
        now = report()
        if now["frames"] == last["frames"]:
            return now
        last = now


def server_figures(runs: int, conns: int, rows: int, span: float) -> list[Figure]:
    cmd_args = ("--replay", "btcusdt", "--speed", "0", "--paused")
    figures: list[Figure] = []
    with _server(cmd_args) as port:
        admin = _Admin(port)
        alone = float("inf")
        for run in range(runs):
            if run:
                rewind(admin)
            alone = min(alone, play_once(admin))
        figures.append(Figure("server", rows, alone, span))
        if conns:
            rewind(admin)
            with subscribers(port, conns) as report:
                best, frames, drain = float("inf"), 0, 0.0
                for run in range(runs):
                    if run:
                        rewind(admin)
                    before = settle(report)
                    t0 = time.monotonic()
                    seconds = play_once(admin)
                    after = settle(report)
                    if seconds < best:
                        best, frames = seconds, after["frames"] - before["frames"]
                        drain = after["last"] - t0
                note = f"{frames:,} frames delivered; the last {drain:.2f} s after resume"
                figures.append(Figure("server-subscribed", rows, best, span, note))
    return figures


@contextlib.contextmanager
def _server(extra: tuple[str, ...]):
    """`sandex serve` (transport.sandex_server) with `extra` arguments, once its replay is loaded
    and paused; yields the port."""
    import transport

    def loaded(port: int) -> bool:
        return bool(_Admin(port)()["state"] == "paused")

    # The first start imports the sample.
    with transport.sandex_server(SERVER_CONFIG, extra, ready=loaded, timeout=120) as (port, _pid):
        yield port


# ---------------------------------------------------------------------------------- hftbacktest
def hftbacktest_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hftbacktest")
    except PackageNotFoundError:
        return None


def hftbacktest_data(sample: Path, scratch: Path) -> Any:
    """The capture in hftbacktest's event format, by its own Binance converter.

    The converter reads the futures stream layout; a spot capture lacks two fields of it, which
    are filled in (nothing else changes): a depth update's transaction time `T` (spot has only
    the event time `E`, taken for it), a trade's `X` (spot prints are all market trades), and a
    bookTicker's `e` (skipped by the converter, as sandex skips them) - and the REST snapshot's
    `T`, its local receive time.
    """
    import contextlib as _contextlib
    import io

    from hftbacktest.data.utils import binancefutures

    shimmed = scratch / "btcusdt-futures-layout.gz"
    with gzip.open(sample, "rt") as lines, gzip.open(shimmed, "wt", compresslevel=1) as out:
        for line in lines:
            local, _, body = line.partition(" ")
            message = json.loads(body)
            data = message.get("data")
            if data is None:
                message["T"] = int(local) // 1_000_000
            elif "e" not in data:
                data["e"] = "bookTicker"
            elif data["e"] == "depthUpdate":
                data["T"] = data["E"]
            elif data["e"] == "trade":
                data["X"] = "MARKET"
            out.write(f"{local} {json.dumps(message, separators=(',', ':'))}\n")
    with _contextlib.redirect_stdout(io.StringIO()):  # it narrates its steps
        return binancefutures.convert(str(shimmed), buffer_size=1_000_000)


def hftbacktest_figure(runs: int, scratch: Path, span: float) -> Figure:
    name = "hftbacktest"
    installed = hftbacktest_version()
    if installed is None:
        return Figure(name, 0, 0.0, span, error="not installed (make bench installs it)")
    from hftbacktest import (
        DEPTH_EVENT,
        DEPTH_SNAPSHOT_EVENT,
        LOCAL_EVENT,
        TRADE_EVENT,
        BacktestAsset,
        HashMapMarketDepthBacktest,
    )
    from numba import njit

    from sandex.replay import bundled

    data = hftbacktest_data(bundled("btcusdt"), scratch)
    kinds = data["ev"][(data["ev"] & LOCAL_EVENT) != 0] & 0xFF
    updates = int(sum((kinds == kind).sum() for kind in (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, TRADE_EVENT)))

    @njit  # type: ignore[misc]
    def elapse_all(hbt: Any, step_ns: int) -> int:
        steps = 0
        while hbt.elapse(step_ns) == 0:
            steps += 1
        return steps

    def once() -> float:
        asset = (
            BacktestAsset()
            .data([data])
            .linear_asset(1.0)
            .constant_order_latency(0, 0)
            .risk_adverse_queue_model()
            .no_partial_fill_exchange()
            .trading_value_fee_model(0.0, 0.0)
            .tick_size(0.01)
            .lot_size(0.00001)
            .last_trades_capacity(0)
        )
        hbt = HashMapMarketDepthBacktest([asset])
        started = time.perf_counter()
        elapse_all(hbt, STEP_MS * 1_000_000)
        seconds = time.perf_counter() - started
        hbt.close()
        return seconds

    once()  # numba compiles on the first call: not timed
    best = min(once() for _ in range(runs))
    return Figure(name, updates, best, span, f"hftbacktest {installed}, elapse({STEP_MS} ms) from numba")


# ---------------------------------------------------------------------------------- all of it
LABELS = {
    "engine": "sandex engine path (ReplayAdvance -> engine plugin -> market data)",
    "engine-alone": "  same, engine and plugin only (no market data)",
    "server": "sandex serve --speed 0, no subscribers",
    "server-subscribed": "sandex serve --speed 0, {n} WS subscribers (depth + trades)",
    "hftbacktest": "hftbacktest, elapse loop over the same capture",
}


def run(runs: int = 3, conns: int = 100) -> Result:
    result = Result(runs=runs, subscribers=conns)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        market, recording = open_sample(scratch / "replay")
        span = span_s(recording)
        figures, result.verified = engine_figures(runs, market, recording)
        result.figures += figures
        try:
            result.figures += server_figures(runs, conns, recording.rows, span)
        except Exception as exc:  # a broken server must not hide the other figures
            result.figures.append(Figure("server", 0, 0.0, span, error=f"{type(exc).__name__}: {exc}"[:200]))
        try:
            result.figures.append(hftbacktest_figure(runs, scratch, span))
        except Exception as exc:
            result.figures.append(
                Figure("hftbacktest", 0, 0.0, span, error=f"{type(exc).__name__}: {exc}"[:200])
            )
    return result


def ratio(figure: Figure, peer: Figure | None) -> str:
    if peer is None or peer.error or not peer.rate or figure.error:
        return "-"
    return f"{figure.rate / peer.rate:.3f}x"


def render(result: Result) -> str:
    peer = result.get("hftbacktest")
    header = ("", "updates", "seconds", "updates/s", "x real time", "ratio to hftbacktest")
    table = [header]
    for f in result.figures:
        label = LABELS[f.name].format(n=result.subscribers)
        if f.error:
            table.append((label, "-", "-", f.error, "-", "-"))
            continue
        table.append(
            (
                label,
                f"{f.updates:,}",
                f"{f.seconds:.3f}",
                f"{f.rate:,.0f}",
                f"{f.real_time:,.0f}x",
                ratio(f, peer),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
        for r in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    notes = [
        f"  {LABELS[f.name].format(n=result.subscribers).strip()}: {f.note}" for f in result.figures if f.note
    ]
    return "\n".join(lines + notes)


# ---------------------------------------------------------------------------------- subscriber client
async def subscribe_main(url: str, conns: int) -> None:
    """Own process: conns DigiFinex clients subscribed to depth and trades of BTC_USDT; prints
    {"connected"} once all are answered, then {"frames", "bytes", "last"} per "report" line on
    stdin (last: time.monotonic() of the latest frame), and exits when stdin closes."""
    from picows import WSListener, WSMsgType, ws_connect

    stats = {"frames": 0, "bytes": 0, "last": 0.0, "connected": 0}
    sends = [
        json.dumps({"id": 1, "method": "depth.subscribe", "params": ["BTC_USDT"]}).encode(),
        json.dumps({"id": 2, "method": "trades.subscribe", "params": ["BTC_USDT"]}).encode(),
    ]
    clock = time.monotonic

    class Client(WSListener):  # type: ignore[misc]
        def on_ws_connected(self, transport: Any) -> None:
            stats["connected"] += 1
            for text in sends:
                transport.send(WSMsgType.TEXT, text)

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            stats["frames"] += 1
            stats["bytes"] += frame.payload_size
            stats["last"] = clock()

    transports = []
    for start in range(0, conns, 100):
        connected = await asyncio.gather(
            *(
                ws_connect(Client, url, max_frame_size=64 * 1024 * 1024)
                for _ in range(min(100, conns - start))
            )
        )
        transports += [transport for transport, _listener in connected]
    # Each client answers two subscriptions and gets a clean depth and trades push: 4 frames.
    deadline = clock() + 30
    while stats["frames"] < 4 * conns and clock() < deadline:
        await asyncio.sleep(0.05)
    print(json.dumps({"connected": stats["connected"]}), flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        print(json.dumps({key: stats[key] for key in ("frames", "bytes", "last")}), flush=True)
    for transport in transports:
        transport.disconnect()
    await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "subscribe"])
    parser.add_argument("url", nargs="?", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--conns", type=int, default=100, help="(subscribe mode)")
    parser.add_argument("--quick", action="store_true", help="1 run, 10 subscribers: a smoke run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.mode == "subscribe":
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        asyncio.run(subscribe_main(args.url, args.conns))
        return
    runs, conns = (1, 10) if args.quick else (args.runs, args.subscribers)
    result = run(runs, conns)
    if args.json:
        print(json.dumps([vars(f) | {"rate": f.rate, "real_time": f.real_time} for f in result.figures]))
        return
    print(
        f"replay at speed 0, bundled BTCUSDT sample, best of {runs} runs; engine path events {result.verified}"
    )
    print(render(result))


if __name__ == "__main__":
    main()
