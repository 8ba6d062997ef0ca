"""Restarting the server between any two steps changes nothing.

The copy-trading scenario (create a task, the leader buys, the take-profit fires, the leader
sells, the task is disabled with its pnl orders) runs twice against a real `sandex serve`: once
straight through, once with a restart on the same data dir between every two steps (SIGKILL and clean stops in
turn).
Every notification, pnl order list and balance must be identical — including ids, trade ids and
block numbers, which come from the engine's counters. Only wall-clock fields are left out.

The leader trades through DBot's own fast buy/sell endpoint; the maker ladder is journaled into
the data dir before the first start.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dbot_harness import ACCOUNTS, LADDER, MARKETS, DbotWs, rest, seed_data_dir, swap, task_body

from tests.support.server import SandexServer

CONFIG = f'[server]\nhost = "127.0.0.1"\n[simulator]\nenabled = false\n{MARKETS}\n{ACCOUNTS}'
WALL_CLOCK = ("createAt", "timestamp", "expireAt")


def stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def balances(server: SandexServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.base_url}/admin/accounts", timeout=5) as response:
        accounts = json.loads(response.read())
    return {
        a["name"]: [w["balances"] for w in a["wallets"]]
        for a in accounts
        if a["name"] in ("leader", "follower")
    }


class Scenario:
    def __init__(self, server: SandexServer) -> None:
        self.server = server
        self.task_id = ""
        self.record: list[Any] = []

    async def pushes(self, count: int, action: Callable[[], Awaitable[Any]]) -> list[dict[str, Any]]:
        """Run `action` with a freshly connected follower; collect exactly `count` notifications."""
        client = await DbotWs.connect(self.server.ws_url("/trade/ws"), "follower-key", subscribe=[])
        try:
            await action()
            got = [await client.push(10) for _ in range(count)]
            await client.no_push(0.3)
        finally:
            await client.close()
        return got

    async def pnl_orders(self) -> list[dict[str, Any]]:
        _status, body = await rest(
            self.server.base_url,
            "GET",
            "/automation/pnl_orders_from_follow_order",
            "follower-key",
            params={"sourceId": self.task_id},
        )
        return body["res"]

    def note(self, step: str, value: Any) -> None:
        self.record.append((step, stable(value), balances(self.server)))

    # -- the steps ---------------------------------------------------------------------------

    async def create_task(self) -> None:
        _status, body = await rest(self.server.base_url, "GET", "/account/wallets", "leader-key")
        _status, body = await rest(
            self.server.base_url,
            "POST",
            "/automation/follow_order",
            "follower-key",
            task_body(
                "copy",
                [body["res"][0]["id"]],
                sell={"sellAmountType": "follow_ratio", "stopEarnPercent": 0.005, "stopLossPercent": 0.5},
            ),
        )
        self.task_id = body["res"]["id"]
        self.note("create", self.task_id)

    async def leader_buys(self) -> None:
        (copied,) = await self.pushes(1, lambda: swap(self.server.base_url, "leader-key", "buy", "10000"))
        assert (copied["state"], copied["type"], copied["id"].split("_")[0]) == ("done", "buy", self.task_id)
        self.note("copied buy", copied)

    async def take_profit_exists(self) -> None:
        orders = await self.pnl_orders()
        assert sorted(o["type"] for o in orders) == ["stop_loss", "take_profit"]
        assert all(o["state"] == "init" for o in orders)
        self.note("pnl orders", orders)

    async def price_rises(self) -> None:
        pushes = await self.pushes(2, lambda: swap(self.server.base_url, "leader-key", "buy", "45000"))
        assert sorted(p["subSource"] or p["type"] for p in pushes) == ["buy", "follow_take_profit"]
        self.note("take profit", pushes)

    async def leader_sells(self) -> None:
        (copied,) = await self.pushes(1, lambda: swap(self.server.base_url, "leader-key", "sell", "0.5"))
        assert (copied["state"], copied["type"]) == ("done", "sell")
        self.note("copied sell", copied)

    async def disable_with_pnl(self) -> None:
        _status, body = await rest(
            self.server.base_url,
            "PATCH",
            "/automation/follow_orders",
            "follower-key",
            {"ids": [self.task_id], "enabled": False, "closePnlOrder": "true"},
        )
        assert body == {"err": False, "res": ""}
        orders = await self.pnl_orders()
        assert [o["enabled"] for o in orders if o["state"] == "init"] == [False, False]
        self.note("disabled", orders)

    async def disabled_task_copies_nothing(self) -> None:
        await self.pushes(0, lambda: swap(self.server.base_url, "leader-key", "buy", "1000"))
        self.note("no copy", await self.pnl_orders())

    def steps(self) -> list[Callable[[], Awaitable[None]]]:
        return [
            self.create_task,
            self.leader_buys,
            self.take_profit_exists,
            self.price_rises,
            self.leader_sells,
            self.disable_with_pnl,
            self.disabled_task_copies_nothing,
        ]


async def run(workdir: Path, *, restart_between_steps: bool) -> list[Any]:
    server = SandexServer(workdir, CONFIG)
    await seed_data_dir(server.config_path, server.data_dir, LADDER)
    server.start()
    scenario = Scenario(server)
    try:
        for index, step in enumerate(scenario.steps()):
            if restart_between_steps and index:
                # Alternate a crash (journal replay) and a clean stop (recovery from the snapshot
                # written at shutdown, so the plugin's snapshot state is exercised too).
                await asyncio.to_thread(server.kill if index % 2 else server.stop)
                await asyncio.to_thread(server.start)
            await step()
    finally:
        server.stop()
    return scenario.record


async def test_restart_between_any_two_steps_gives_the_same_outcome(tmp_path: Path) -> None:
    straight = await run(tmp_path / "straight", restart_between_steps=False)
    restarted = await run(tmp_path / "restarted", restart_between_steps=True)
    assert [step for step, _, _ in straight] == [
        "create",
        "copied buy",
        "pnl orders",
        "take profit",
        "copied sell",
        "disabled",
        "no copy",
    ]
    for before, after in zip(straight, restarted, strict=True):
        assert before == after, before[0]
