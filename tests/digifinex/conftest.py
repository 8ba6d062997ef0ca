from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import SandexServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandexServer]:
    """`sandex serve` in a subprocess: BTC_USDT/ETH_USDT, alice and bob, simulator off."""
    with SandexServer(tmp_path) as running:
        yield running
