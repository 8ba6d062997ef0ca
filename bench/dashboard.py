"""The dashboard's feed rate and the page's update lag, at the venue's busiest market.

    python bench/dashboard.py                       # starts its own `sandex serve`, simulator at 400/s
    python bench/dashboard.py --rate 1000 --seconds 30
    python bench/dashboard.py --url http://127.0.0.1:8765   # an already running venue

Two readers of the feed, side by side, for `--seconds`:
- a plain WebSocket client on `/dashboard/feed` watching the busiest market (the most trades in
  24 h): messages per second, by type, bytes per second, and the feed's delay (arrival - the
  server's build time stamped in each message; same machine, same clock);
- the page itself in Debian's Chromium (skipped with --no-browser or where there is none): its
  update lag, from the server's build time of the newest message painted to the paint, as the
  page records it (`window.sandexDashboard.lags`), and its paints per second.

Prints one JSON object, then the same as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import websockets

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

CONFIG = """
[server]
host = "127.0.0.1"
[journal]
sync = "normal"
[simulator]
enabled = true
history = "1h"
orders_per_second = {rate}
tick_ms = 20
[[markets]]
symbol = "BTC_USDT"
price_precision = 2
amount_precision = 6
min_amount = "0.0001"
min_value = "1"
initial_price = "65000"
[[markets]]
symbol = "ETH_USDT"
price_precision = 2
amount_precision = 4
min_amount = "0.001"
min_value = "1"
initial_price = "3500"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(workdir: Path, rate: float) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "sandex.toml").write_text(CONFIG.format(rate=rate))
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandex.cli",
            "serve",
            "--config",
            "sandex.toml",
            "--data-dir",
            "data",
            "--port",
            str(port),
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"sandex serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("sandex serve did not become healthy")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def read_feed(base: str, seconds: float, market: asyncio.Future[str]) -> dict[str, Any]:
    ws_url = base.replace("http", "ws", 1) + "/dashboard/feed"
    async with websockets.connect(ws_url, origin=base, max_size=None) as ws:  # type: ignore[arg-type]
        tickers: list[dict[str, Any]] = []
        while not tickers:
            message = json.loads(await ws.recv())
            if message["type"] == "tickers":
                tickers = message["tickers"]
        busiest = max(tickers, key=lambda t: t["count"])["symbol"]
        market.set_result(busiest)  # the page watches the same one
        await ws.send(json.dumps({"op": "watch", "symbol": busiest}))
        counts: Counter[str] = Counter()
        delays: list[float] = []
        size = 0
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            try:
                raw = await asyncio.wait_for(ws.recv(), seconds - elapsed)
            except TimeoutError:
                break
            arrived = time.time() * 1000
            message = json.loads(raw)
            counts[message["type"]] += 1
            size += len(raw)
            if message["type"] in ("book", "trades", "bars"):
                delays.append(arrived - message["ts"])
        elapsed = time.monotonic() - started
    total = sum(counts.values())
    return {
        "market": busiest,
        "seconds": round(elapsed, 1),
        "messages_per_s": round(total / elapsed, 1),
        "by_type_per_s": {kind: round(n / elapsed, 1) for kind, n in sorted(counts.items())},
        "kib_per_s": round(size / 1024 / elapsed, 1),
        "feed_delay_ms": {
            "p50": round(percentile(delays, 0.5), 1),
            "p99": round(percentile(delays, 0.99), 1),
            "max": round(max(delays, default=float("nan")), 1),
        },
    }


async def watch_page(base: str, market_ready: asyncio.Future[str], seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    symbol = await market_ready
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1440, "height": 1400})
        await page.goto(f"{base}/dashboard#{symbol}")
        await asyncio.sleep(2)  # charts built, first snapshot painted
        before = await page.evaluate("({...window.sandexDashboard.stats})")
        started = time.monotonic()
        lags: list[float] = []
        seen = 0.0
        while time.monotonic() - started < seconds:
            await asyncio.sleep(min(5.0, seconds))
            # The page keeps the last 10 s of [paint time, lag]; take the new ones.
            samples = await page.evaluate("window.sandexDashboard.lags.map((s) => [s[0], s[1]])")
            lags.extend(lag for at, lag in samples if at > seen)
            seen = max((at for at, _ in samples), default=seen)
        elapsed = time.monotonic() - started
        after = await page.evaluate("({...window.sandexDashboard.stats})")
        await browser.close()
    return {
        "page_lag_ms": {
            "p50": round(statistics.median(lags), 1) if lags else None,
            "p99": round(percentile(lags, 0.99), 1),
            "max": round(max(lags, default=float("nan")), 1),
        },
        "paints_per_s": round((after["paints"] - before["paints"]) / elapsed, 1),
        "page_messages_per_s": round((after["messages"] - before["messages"]) / elapsed, 1),
        "gaps": after["gaps"],
    }


async def run(base: str, seconds: float, browser: bool) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    market: asyncio.Future[str] = loop.create_future()

    tasks = [read_feed(base, seconds, market)]
    if browser:
        tasks.append(watch_page(base, market, seconds))
    results = await asyncio.gather(*tasks)
    out: dict[str, Any] = dict(results[0])
    if browser:
        out.update(results[1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running venue (default: start one)")
    parser.add_argument("--rate", type=float, default=400, help="simulated orders/s per market (own server)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--no-browser", action="store_true", help="measure the feed only")
    args = parser.parse_args()
    browser = not args.no_browser and os.access(CHROMIUM, os.X_OK)
    if not args.no_browser and not browser:
        print(f"no Chromium at {CHROMIUM}: measuring the feed only", file=sys.stderr)
    process = None
    with tempfile.TemporaryDirectory(prefix="sandex-bench-dashboard-") as workdir:
        base = args.url
        if base is None:
            process, base = start_server(Path(workdir), args.rate)
            time.sleep(2)  # the simulator's live trading under way
        try:
            result = asyncio.run(run(base.rstrip("/"), args.seconds, browser))
        finally:
            if process is not None:
                process.send_signal(signal.SIGINT)
                process.wait(30)
    if process is not None:
        result["simulator_orders_per_s_per_market"] = args.rate
    print(json.dumps(result))
    print(f"busiest market        {result['market']}")
    print(
        f"feed messages/s       {result['messages_per_s']}  ({result['kib_per_s']} KiB/s)  {result['by_type_per_s']}"
    )
    delay = result["feed_delay_ms"]
    print(f"feed delay ms         p50 {delay['p50']}  p99 {delay['p99']}  max {delay['max']}")
    if "page_lag_ms" in result:
        lag = result["page_lag_ms"]
        print(f"page update lag ms    p50 {lag['p50']}  p99 {lag['p99']}  max {lag['max']}")
        print(f"page paints/s         {result['paints_per_s']}  (gaps {result['gaps']})")


if __name__ == "__main__":
    main()
