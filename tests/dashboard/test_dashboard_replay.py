"""Issue 14's replay controls in a real browser: Debian's Chromium (Playwright) on the dashboard
of a real `sandex serve --replay btcusdt --paused`. Each control is checked against the venue's
own replay clock (`/admin/replay`, what `sandex replay status` reads); the page must print no
console error."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import SandexServer

from .browser import ConsoleLog, wait_until

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (fails in CI) with the reason
    expect = None

TIMEOUT_MS = 8000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandexServer]:
    workdir = tmp_path_factory.mktemp("dashboard-replay")
    with SandexServer(workdir, extra_args=("--replay", "btcusdt", "--paused")) as running:
        yield running


def venue_replay(server: SandexServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.base_url}/admin/replay", timeout=10) as answer:
        status: dict[str, Any] = json.loads(answer.read())
    return status


@pytest.fixture
def page(browser: Any, server: SandexServer) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    log = ConsoleLog(page)
    page.goto(f"{server.base_url}/dashboard#BTC_USDT")
    expect(page.get_by_test_id("feed-state")).to_contain_text("live", timeout=TIMEOUT_MS)
    yield page
    errors = list(log.errors)
    page.close()
    assert errors == [], errors


def test_the_panel_shows_the_replay_and_its_controls_drive_the_venues_clock(
    page: Any, server: SandexServer
) -> None:
    panel = page.get_by_test_id("replay")
    expect(panel).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("replay-state")).to_have_text("paused", timeout=TIMEOUT_MS)
    first = venue_replay(server)
    assert first["state"] == "paused"
    clock = page.get_by_test_id("replay-clock")
    shown = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(first["time_ms"] // 1000))
    expect(clock).to_have_text(shown)
    expect(page.get_by_test_id("replay-play")).to_be_enabled()
    expect(page.get_by_test_id("replay-pause")).to_be_disabled()

    # Play: the venue's clock runs, at the speed chosen in the page.
    with page.expect_response(lambda r: r.url.endswith("/dashboard/api/replay/speed")) as answer:
        page.get_by_test_id("replay-speed").select_option("10")
    assert answer.value.status == 200
    assert venue_replay(server)["speed"] == 10
    with page.expect_response(lambda r: r.url.endswith("/dashboard/api/replay/resume")) as answer:
        page.get_by_test_id("replay-play").click()
    assert answer.value.status == 200
    expect(page.get_by_test_id("replay-state")).to_have_text("playing", timeout=TIMEOUT_MS)
    before = venue_replay(server)
    time.sleep(1.0)
    after = venue_replay(server)
    assert after["state"] == "playing"
    assert after["time_ms"] - before["time_ms"] >= 5000  # ten times wall time, on a loaded machine
    expect(clock).not_to_have_text(shown)  # the page's clock moves too

    # Pause: the venue's clock stops.
    with page.expect_response(lambda r: r.url.endswith("/dashboard/api/replay/pause")) as answer:
        page.get_by_test_id("replay-pause").click()
    assert answer.value.status == 200
    expect(page.get_by_test_id("replay-state")).to_have_text("paused", timeout=TIMEOUT_MS)
    stopped = venue_replay(server)
    assert stopped["state"] == "paused"
    time.sleep(0.6)
    assert venue_replay(server)["time_ms"] == stopped["time_ms"]

    # Seek: a click at 3/4 of the slider moves the venue's clock to about that time.
    slider = page.get_by_test_id("replay-slider")
    box = slider.bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/dashboard/api/replay/seek")) as answer:
        slider.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    assert answer.value.status == 200
    chosen = answer.value.request.post_data_json["time"]
    span = first["end_ms"] - first["start_ms"]
    target = first["start_ms"] + 0.75 * span
    assert abs(chosen - target) <= 0.03 * span
    sought = venue_replay(server)
    assert sought["state"] == "paused" and sought["time_ms"] == chosen
    wait_until(page, f"window.sandexDashboard.state.status.replay.time_ms === {chosen}")
    expect(slider).to_have_value(str(chosen))
    expect(clock).to_have_text(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(chosen // 1000)))

    # For a look: the panel and the page beside the venue's files.
    page.get_by_test_id("replay").screenshot(path=str(server.workdir / "replay-panel.png"))
    page.screenshot(path=str(server.workdir / "replay-page.png"), full_page=True)


def test_a_replay_write_without_the_pages_origin_is_refused(server: SandexServer) -> None:
    import http.client

    def post(path: str, headers: dict[str, str], body: bytes) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("POST", path, body=body, headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()

    own = f"http://127.0.0.1:{server.port}"
    json_type = {"Content-Type": "application/json"}
    before = venue_replay(server)
    assert post("/dashboard/api/replay/resume", json_type, b"{}") == 403
    assert post("/dashboard/api/replay/resume", {**json_type, "Origin": "http://evil.example"}, b"{}") == 403
    assert post("/dashboard/api/replay/speed", {**json_type, "Origin": own}, b'{"speed": "fast"}') == 400
    assert venue_replay(server)["state"] == before["state"]
