"""`--bus` and `[bus]` are checked before anything starts, naming what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandex.config import ConfigError, parse_config
from tests.support.server import BASE_CONFIG


def _sandex(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandex.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_bus_url_in_the_config_file() -> None:
    config = parse_config(BASE_CONFIG + '\n[bus]\nurl = "nats://127.0.0.1:4222"\n')
    assert config.bus.url == "nats://127.0.0.1:4222"
    assert parse_config(BASE_CONFIG).bus.url is None


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[bus]\nurl = "http://127.0.0.1:4222"\n', "bus.url"),
        ('[bus]\nuri = "nats://127.0.0.1:4222"\n', "bus.uri"),
        ('[bus]\nurl = "nats://127.0.0.1:4222"\n[journal]\nsync = "off"\n', "bus.url"),
    ],
)
def test_bad_bus_settings_name_the_key(extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE_CONFIG + "\n" + extra)
    assert key in str(caught.value)


def test_serve_refuses_a_bad_bus_url(tmp_path: Path) -> None:
    done = _sandex(
        "serve", "--bus", "http://127.0.0.1:4222", "--no-sim", "--data-dir", str(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 2 and "--bus" in done.stderr


def test_gateway_refuses_a_bad_bus_url_and_needs_one(tmp_path: Path) -> None:
    done = _sandex("gateway", "--bus", "127.0.0.1:4222", cwd=tmp_path)
    assert done.returncode == 2 and "--bus" in done.stderr
    done = _sandex("gateway", cwd=tmp_path)
    assert done.returncode == 2 and "--bus" in done.stderr
