from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.fuzz_venue import FuzzVenue, fuzz_venue


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzVenue]:
    """One real in-process venue per fuzz module (see fuzz_venue.py)."""
    yield from fuzz_venue(tmp_path_factory.mktemp("fuzz"))


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis warns when an example's repr is large; oversized inputs are the point here.
    config.addinivalue_line("filterwarnings", "ignore::hypothesis.errors.HypothesisWarning")
