"""Debian's Chromium driven by Playwright, for the dashboard's browser tests.

Playwright never downloads a browser here: it launches the system's `/usr/bin/chromium`. Where
there is none, the browser tests skip with a message, except in CI (`CI=true`), where a missing
browser fails them: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip (fail, in CI) unless Playwright and the system's Chromium are both here."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright is not installed (pip install -e '.[test]')"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need a browser in CI: {problem}")
    pytest.skip(f"browser tests skipped: {problem}")


@contextmanager
def chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class ConsoleLog:
    """Everything a page printed as an error, and every uncaught exception in it."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"{message.type}: {message.text} ({message.location})")


def wait_until(page: Any, expression: str, timeout_s: float = 8.0) -> Any:
    """Polls a JavaScript expression from here until it is truthy; returns its value.

    Not `page.wait_for_function`: its polling evaluates a string inside the page, which the
    dashboard's Content-Security-Policy (no 'unsafe-eval') forbids, as it should.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s}s: {expression}")
        time.sleep(0.02)
