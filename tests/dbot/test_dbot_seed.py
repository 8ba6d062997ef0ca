"""The seed: batchToggleFollowOrder sent by DBot's own Node.js and Python examples.

The examples in `examples/` are the seed's code with only the URL changed (and the Python
example's `true` written as Python's `True`). The seed's task ids are ids of tasks in someone's
DBot account; here they are replaced by the ids of three tasks the test creates first (sandex
generates task ids itself, see docs/dbot.md), and the seed's literal ids are shown to be what
they are on a fresh venue: unknown, so `err: true`, with nothing changed.

The long test keeps both examples connected for 65 s (their 30 s ping loops are the only traffic)
while a silent connection is closed by the default 60 s heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import websockets
from dbot_harness import ACCOUNTS, MARKETS, rest, task_body
from websockets.exceptions import ConnectionClosed

from tests.support.server import SandexServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_IDS = ["m8zl720z0043pp", "m81lt5qn043csv", "m7cpk8n00043l1"]
SEED_FRAME = {
    "id": 1761291309,
    "method": "batchToggleFollowOrder",
    "params": {"ids": SEED_IDS, "enabled": True, "closePnlOrder": "false"},
}
SEED_RESPONSE = {"method": "rpcResponse", "id": 1761291309, "result": {"err": False}}
CONFIG = f'[server]\nhost = "127.0.0.1"\n[simulator]\nenabled = false\n{MARKETS}\n{ACCOUNTS}'


def example(name: str, server: SandexServer, ids: list[str], workdir: Path) -> Path:
    """The example from examples/, pointed at this server with the follower's key and task ids."""
    text = (EXAMPLES / name).read_text()
    assert text.count("ws://127.0.0.1:8765/trade/ws/") == 1 and text.count("YOUR_API_KEY") == 1
    text = text.replace("ws://127.0.0.1:8765/trade/ws/", server.ws_url("/trade/ws/")).replace(
        "YOUR_API_KEY", "follower-key"
    )
    for seed_id, task_id in zip(SEED_IDS, ids, strict=True):
        assert text.count(seed_id) == 1
        text = text.replace(seed_id, task_id)
    path = workdir / name
    path.write_text(text)
    return path


async def create_disabled_tasks(server: SandexServer) -> list[str]:
    _status, body = await rest(server.base_url, "GET", "/account/wallets", "leader-key")
    leader = body["res"][0]["id"]
    ids = []
    for name in ("a", "b", "c"):
        _status, body = await rest(
            server.base_url,
            "POST",
            "/automation/follow_order",
            "follower-key",
            task_body(name, [leader], enabled=False),
        )
        ids.append(body["res"]["id"])
    return ids


async def enabled_flags(server: SandexServer) -> list[bool]:
    _status, body = await rest(server.base_url, "GET", "/automation/follow_orders", "follower-key")
    return [task["enabled"] for task in body["res"]]


async def send_frame(server: SandexServer, frame: dict) -> dict:
    async with websockets.connect(
        server.ws_url("/trade/ws/"), additional_headers={"x-api-key": "follower-key"}
    ) as ws:
        await ws.send(json.dumps(frame))
        return json.loads(await ws.recv())


async def wait_for_line(path: Path, process: subprocess.Popen, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.strip():
            return text.strip().splitlines()[0]
        assert process.poll() is None, f"{path.name} exited: {text}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"no output from {path.name} in {timeout}s")


def dbot_connections(server: SandexServer) -> int:
    with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=5) as response:
        return json.loads(response.read())["connections"].get("dbot", 0)


async def test_seed_literal_ids_are_unknown_and_change_nothing(tmp_path: Path) -> None:
    with SandexServer(tmp_path, CONFIG) as server:
        ids = await create_disabled_tasks(server)
        answer = await send_frame(server, SEED_FRAME)
        assert answer["id"] == 1761291309 and answer["result"]["err"] is True
        assert all(seed_id in answer["result"]["res"] for seed_id in SEED_IDS)
        assert await enabled_flags(server) == [False, False, False]
        answer = await send_frame(server, {**SEED_FRAME, "params": {**SEED_FRAME["params"], "ids": ids}})
        assert answer == SEED_RESPONSE
        assert await enabled_flags(server) == [True, True, True]


@pytest.mark.slow
async def test_seed_examples_get_the_seed_response_and_stay_connected_past_60s(
    tmp_path: Path, node_ws: Path
) -> None:
    with SandexServer(tmp_path, CONFIG) as server:
        ids = await create_disabled_tasks(server)
        silent = await websockets.connect(
            server.ws_url("/trade/ws"), additional_headers={"x-api-key": "leader-key"}, ping_interval=None
        )
        silent_opened = time.monotonic()
        node_out, python_out = tmp_path / "node.out", tmp_path / "python.out"
        env = dict(os.environ, NODE_PATH=str(node_ws), PYTHONUNBUFFERED="1")
        node_script = example("dbot_batch_toggle_copy_trading.js", server, ids, tmp_path)
        python_script = example("dbot_batch_toggle_copy_trading.py", server, ids, tmp_path)
        node = subprocess.Popen(
            [shutil.which("node") or "node", str(node_script)],
            stdout=node_out.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        python = subprocess.Popen(
            [sys.executable, str(python_script)],
            stdout=python_out.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        started = time.monotonic()
        try:
            node_line = await wait_for_line(node_out, node)
            assert node_line.startswith("res: ")
            assert json.loads(node_line[len("res: ") :]) == SEED_RESPONSE
            assert json.loads(await wait_for_line(python_out, python)) == SEED_RESPONSE
            assert await enabled_flags(server) == [True, True, True]

            # The silent connection is closed by the 60 s heartbeat timeout (the sweeper runs every second).
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(silent.recv(), 75)
            silent_for = time.monotonic() - silent_opened
            assert 59.5 <= silent_for <= 64, silent_for

            await asyncio.sleep(max(0.0, 65 - (time.monotonic() - started)))
            # Both examples are still running: their ping loops kept them connected (a ping on a
            # closed socket would have crashed either one), and the server still counts them.
            assert node.poll() is None, node_out.read_text()
            assert python.poll() is None, python_out.read_text()
            assert dbot_connections(server) == 2
            assert (
                len(node_out.read_text().splitlines()) == 1 and len(python_out.read_text().splitlines()) == 1
            )
        finally:
            for process in (node, python):
                process.kill()
                process.wait(10)
