"""A real full disk and a real read-only data directory, under a real `sandex serve`.

The data directory is a small tmpfs mounted for the test (it needs root, or at least
CAP_SYS_ADMIN; elsewhere the tests skip and say so). No test hook in sandex is involved: the
journal's writes fail the way they fail in production.

Full disk: orders are acknowledged until a write fails; from then on order entry (DigiFinex REST,
DBot) refuses with a clear error and /healthz says why; space comes back, a background probe
notices, order entry resumes. After a SIGKILL and a restart, the venue holds exactly the orders
that were acknowledged: none lost, and none of the refused ones.

Read-only: a server started on a data directory it cannot write refuses to start, naming the
problem; the same directory made writable again starts with everything in it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.digifinex.dfx_support import rest
from tests.support.server import BASE_CONFIG, SandexServer

ALICE = ("alice-key", "alice-secret")
CONFIG = BASE_CONFIG + '\n[limits.dbot]\nprofile = "relaxed"\n'


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a ballast file until the filesystem is full (unbuffered, down to the last page)."""
    ballast = directory / "ballast"
    with open(ballast, "wb", buffering=0) as out:
        for size in (1 << 20, 1 << 16, 4096, 512):
            chunk = b"\0" * size
            try:
                while True:
                    out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return ballast


def health(server: SandexServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.base_url + "/healthz", timeout=5) as response:
        return json.loads(response.read())


def order(server: SandexServer, n: int) -> tuple[str, dict[str, Any]]:
    """Order number n has its own price, so every attempt can be found (or not) later."""
    price = f"{50000 + n}.{n % 100:02d}"
    return price, rest(
        server.base_url,
        "POST",
        "/v3/spot/order/new",
        {"symbol": "BTC_USDT", "type": "buy", "price": price, "amount": "0.001"},
        ALICE,
    )


def dbot_swap(server: SandexServer) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.base_url + "/automation/swap_order",
        method="POST",
        data=json.dumps(
            {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": "10"}
        ).encode(),
        headers={"X-API-KEY": "bob-key", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def order_prices(server: SandexServer) -> set[Decimal]:
    """Prices of every order alice has, open or finished."""
    reply = rest(server.base_url, "GET", "/v3/spot/order/history", {"limit": "500"}, ALICE)
    assert reply["code"] == 0
    return {Decimal(str(row["price"])) for row in reply["data"]}


def test_disk_full_halts_order_entry_then_resumes_and_acknowledged_orders_survive(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "24m") as data:
        server = SandexServer(tmp_path, CONFIG)
        assert server.data_dir == data
        server.start()
        try:
            acked: set[Decimal] = set()
            n = 0
            for _ in range(20):
                n += 1
                price, reply = order(server, n)
                assert reply["code"] == 0, reply
                acked.add(Decimal(price))
            ballast = fill(data)
            refusal = None
            for _ in range(20000):  # the WAL reuses the space it has first; keep writing until it needs more
                n += 1
                price, reply = order(server, n)
                if reply["code"] == 0:
                    acked.add(Decimal(price))
                    continue
                refusal = reply
                break
            assert refusal is not None, "the journal never ran out of space"
            assert refusal["code"] == 50000
            assert "database or disk is full" in refusal["msg"] and "order entry" in refusal["msg"], refusal
            # Halted: refused at once, everywhere, with the reason; /healthz says so too.
            n += 1
            _, again = order(server, n)
            assert (
                again["code"] == 50000
                and "order entry halted" in again["msg"]
                and "disk is full" in again["msg"]
            )
            status, body = dbot_swap(server)
            assert status == 503 and body["err"] is True and "disk is full" in body["res"], body
            assert "disk is full" in health(server)["order_entry"]
            ballast.unlink()
            deadline = time.monotonic() + 15
            while "order_entry" in health(server):
                assert time.monotonic() < deadline, "order entry did not resume after space came back"
                time.sleep(0.2)
            for _ in range(5):
                n += 1
                price, reply = order(server, n)
                assert reply["code"] == 0, reply
                acked.add(Decimal(price))
            assert dbot_swap(server)[0] == 200
            served_before = order_prices(server)
            server.kill()
            server.start()
            # Exactly what was acknowledged: nothing lost, nothing refused sneaked in.
            assert order_prices(server) == acked == served_before
            assert "journal write failed" in server.log() and "order entry resumed" in server.log()
        finally:
            server.stop()


def test_read_only_data_directory_refuses_to_start_with_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "16m") as data:
        server = SandexServer(tmp_path, CONFIG)
        with server:
            _, reply = order(server, 1)
            assert reply["code"] == 0
        remount = subprocess.run(["mount", "-o", "remount,ro", str(data)], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remount.stderr.strip()}")
        try:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sandex.cli",
                    "serve",
                    "--config",
                    str(server.config_path),
                    "--data-dir",
                    str(data),
                    "--port",
                    str(server.port),
                ],
                capture_output=True,
                text=True,
                timeout=30,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
            assert result.returncode != 0
            output = result.stdout + result.stderr
            assert "Read-only file system" in output and str(data) in output, output[-2000:]
            assert "Traceback" not in output, output[-3000:]
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(data)], capture_output=True)
        with server:
            assert order_prices(server) == {Decimal("50001.01")}
