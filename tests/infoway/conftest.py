from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.infoway.iw_support import Venue, running_venue


@pytest.fixture
async def venue(tmp_path: Path) -> AsyncIterator[Venue]:
    """The real server in-process with the default (strict) Infoway limits."""
    async with running_venue(tmp_path) as running:
        yield running
