"""The driver at speed 0 (no server): several advances in flight at once, through a stand-in for
the venue's group commit, give exactly the commands (and so the events) of one step at a time."""

from __future__ import annotations

import asyncio
import hashlib

import msgspec
import pytest

from sandex.core.commands import Command
from sandex.core.engine import Engine
from sandex.core.events import Event
from sandex.core.markets import make_market
from sandex.replay import Recording, bundled, open_recording
from sandex.replay.commands import FINISHED, ReplayAdvance, ReplayControl
from sandex.replay.driver import STEP_MS, WINDOW, ReplayDriver
from sandex.replay.plugin import ReplayPlugin

MARKET = make_market("BTC_USDT", 2, 6, min_amount="0.00001", min_value="1")
WALL = 1_800_000_000_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return open_recording(
        [bundled("btcusdt")],
        markets={"BTC_USDT": MARKET},
        symbols={"BTCUSDT": "BTC_USDT"},
        data_dir=tmp_path_factory.mktemp("replay-data"),
    )


class GroupCommit:
    """The venue's contract with the driver: commands applied in submission order, each
    caller's future resolved once its batch is "durable" (here: the next loop turn)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.commands: list[Command] = []
        self.events: list[Event] = []
        self.batches: list[int] = []
        self._queue: list[tuple[Command, asyncio.Future[list[Event]]]] = []

    def execute(self, command: Command) -> asyncio.Future[list[Event]]:
        future: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        if not self._queue:
            asyncio.get_running_loop().call_soon(self._commit)
        self._queue.append((command, future))
        self.commands.append(command)
        return future

    def _commit(self) -> None:
        batch, self._queue = self._queue, []
        self.batches.append(len(batch))
        for command, future in batch:
            events = self.engine.apply(command, WALL)
            self.events += events
            future.set_result(events)


async def play_to_the_end(recording: Recording) -> GroupCommit:
    plugin = ReplayPlugin(recording)
    venue = GroupCommit(Engine([MARKET], plugins=[plugin]))

    async def execute(command: Command) -> list[Event]:
        return await venue.execute(command)

    driver = ReplayDriver(plugin, execute, speed=0.0, paused=False)
    await driver.start()
    deadline = asyncio.get_running_loop().time() + 60
    while driver.state != FINISHED and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    await driver.stop()
    return venue


def digest(events: list[Event]) -> str:
    return hashlib.sha256(b"".join(msgspec.msgpack.encode(e) for e in events)).hexdigest()


def test_speed_zero_sends_the_step_by_step_commands_several_at_a_time(recording: Recording) -> None:
    venue = asyncio.run(play_to_the_end(recording))
    assert recording.start_ms is not None and recording.end_ms is not None
    advances = [c for c in venue.commands if isinstance(c, ReplayAdvance)]
    expected, at = [], recording.start_ms
    while at < recording.end_ms:
        at = min(at + STEP_MS, recording.end_ms)
        expected.append(ReplayAdvance(list(recording.position_at(at)), at))
    assert advances == expected
    assert venue.commands[-1] == ReplayControl(FINISHED, 0.0, recording.end_ms)
    # They were in flight together (sharing commits), never more than WINDOW at once.
    assert max(venue.batches) == WINDOW
    # The events are those of one command per step, applied one at a time.
    engine = Engine([MARKET], plugins=[ReplayPlugin(recording)])
    alone = [event for command in venue.commands for event in engine.apply(command, WALL)]
    assert digest(venue.events) == digest(alone)
