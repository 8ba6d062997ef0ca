"""A real `sandex serve` in a subprocess, for end-to-end tests with real clients.

with SandexServer(tmp_path, CONFIG) as server:
    server.base_url        # http://127.0.0.1:PORT
    server.ws_url("/ws/v1/")
    server.kill()          # SIGKILL, for crash tests; server.start() again on the same data dir
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The fee lines of the test markets: the suites' fee figures are worked out at 0.1 %, so they
#: say so rather than follow the default (DigiFinex's 0.2 %, which has a test of its own).
FEE_TOML = """maker_fee = "0.001"
taker_fee = "0.001"
"""

#: The two test markets every end-to-end suite trades on (BTC_USDT: cents and micro-BTC).
MARKETS_TOML = (
    """
[[markets]]
symbol = "BTC_USDT"
price_precision = 2
amount_precision = 6
min_amount = "0.0001"
min_value = "1"
initial_price = "65000"
"""
    + FEE_TOML
    + """[[markets]]
symbol = "ETH_USDT"
price_precision = 2
amount_precision = 4
min_amount = "0.001"
min_value = "1"
initial_price = "3500"
"""
    + FEE_TOML
)

#: With the simulator off; suites that switch it on (replacing "[simulator]\nenabled = false")
#: keep `history = "0"`, so a server starts in a second rather than after simulating days.
BASE_CONFIG = (
    """
[server]
host = "127.0.0.1"
[simulator]
enabled = false
history = "0"
"""
    + MARKETS_TOML
    + """[[accounts]]
name = "alice"
api_key = "alice-key"
secret = "alice-secret"
balances = { USDT = "1000000", BTC = "10", ETH = "100" }
[[accounts]]
name = "bob"
api_key = "bob-key"
secret = "bob-secret"
balances = { USDT = "1000000", BTC = "10", ETH = "100" }
"""
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandexServer:
    def __init__(
        self,
        workdir: Path,
        config_text: str = BASE_CONFIG,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "sandex.toml"
        self.config_path.write_text(config_text)
        self.data_dir = self.workdir / "data"
        self.port = port or free_port()
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 30.0) -> SandexServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 (the server process owns it)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandex.cli",
                "serve",
                "--config",
                str(self.config_path),
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandex exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sandex did not become healthy in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final snapshot — a crash."""
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

    def __enter__(self) -> SandexServer:
        # `with server.start(timeout=...)` enters an already started server: start only once,
        # or the first process would outlive the block.
        if self.process is not None and self.process.poll() is None:
            return self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
