"""The reconnect example in docs/reliability.md runs as documented: against a live venue with
`drop_every_s` set through the CLI it sees several drops and data on every connection — and it
fails against a client that forgets to resubscribe, so it really checks something."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.server import BASE_CONFIG, ROOT, SandexServer

MARKER = "<!-- reconnect-example"


def example_source() -> str:
    text = (ROOT / "docs" / "reliability.md").read_text()
    after = text[text.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after, re.S)
    assert match is not None, "the reconnect example is missing from docs/reliability.md"
    return match.group(1)


def run_example(script: Path, server: SandexServer, seconds: str = "4") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), "--url", server.ws_url("/ws/v1/"), "--seconds", seconds],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_documented_reconnect_check_passes_and_catches_a_client_that_does_not_resubscribe(
    tmp_path: Path,
) -> None:
    config = BASE_CONFIG.replace(
        "[simulator]\nenabled = false", "[simulator]\nenabled = true\norders_per_second = 40"
    )
    with SandexServer(tmp_path, config) as server:
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "sandex.cli",
                "faults",
                "set",
                "flaky",
                "dialect=digifinex",
                "drop_every_s=1",
                "--config",
                str(server.config_path),
                "--data-dir",
                str(server.data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert cli.returncode == 0, cli.stderr
        good = tmp_path / "reconnect_check.py"
        good.write_text(example_source())
        result = run_example(good, server)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "reconnect logic OK" in result.stdout
        # A client whose reconnect forgets to subscribe again: the check must fail.
        broken = tmp_path / "broken_check.py"
        broken.write_text(
            example_source().replace(
                'await ws.send(json.dumps({"id": 1, "method": "depth.subscribe", "params": ["BTC_USDT"]}))',
                'if not getattr(connection, "done", False):\n'
                "                connection.done = True\n"
                '                await ws.send(json.dumps({"id": 1, "method": "depth.subscribe", "params": ["BTC_USDT"]}))',
            )
        )
        result = run_example(broken, server)
        assert result.returncode != 0 and "a reconnect did not resubscribe" in result.stderr
