"""Market-data rounds (`server.broadcast`): coalesced per subscriber, sliced, paced, fault-aware."""

from __future__ import annotations

import asyncio
import time

import pytest

from sandex.faults import FaultController
from sandex.faults.profile import FaultProfile
from sandex.server.broadcast import Broadcaster, Push
from sandex.server.hub import TopicHub
from tests.support.recording import RecordingSubscriber

DEPTH = ("digifinex", "depth", "BTC_USDT")
TRADES = ("digifinex", "trades", "BTC_USDT")


Sub = RecordingSubscriber


def setup(n: int, source: list[Push], **kwargs: object) -> tuple[Broadcaster, list[Sub]]:
    hub = TopicHub()
    subs = [Sub() for _ in range(n)]
    for sub in subs:
        hub.subscribe(DEPTH, sub)
        hub.subscribe(TRADES, sub)
    broadcaster = Broadcaster(hub, **kwargs)  # type: ignore[arg-type]

    def collect() -> list[Push]:
        out, source[:] = list(source), []
        return out

    broadcaster.add_source(collect)
    return broadcaster, subs


def test_a_round_is_one_write_per_subscriber_with_all_its_frames_in_order() -> None:
    pending = [Push(TRADES, b"<t>"), Push(DEPTH, b"<d>", skippable=True)]
    broadcaster, subs = setup(5, pending)
    assert broadcaster.run_round() == 5
    assert all(sub.writes == [(b"<t><d>", 2)] for sub in subs)
    assert broadcaster.run_round() == 0  # the source is drained: nothing to send twice


async def test_rounds_leave_the_loop_free_between_slices() -> None:
    pending = [Push(DEPTH, b"<d>")]
    broadcaster, subs = setup(100, pending, slice_size=10)
    progress: list[int] = []

    async def order_path() -> None:
        # Runs while the round is under way: it sees part of the subscribers written, not all.
        for _ in range(5):
            await asyncio.sleep(0)
            progress.append(sum(1 for sub in subs if sub.writes))

    broadcaster.start()
    broadcaster.wake()
    await asyncio.gather(order_path(), asyncio.sleep(0.05))
    await broadcaster.stop()
    assert all(sub.writes == [(b"<d>", 1)] for sub in subs)
    assert any(0 < seen < 100 for seen in progress), progress


async def test_wakes_while_a_round_runs_are_conflated_into_the_next_round() -> None:
    pending: list[Push] = []
    broadcaster, subs = setup(50, pending, slice_size=5)
    broadcaster.start()
    for i in range(20):  # twenty batches in quick succession
        pending.append(Push(TRADES, b"<t%d>" % i))
        broadcaster.wake()
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    await broadcaster.stop()
    got = b"".join(data for data, _ in subs[0].writes)
    assert got == b"".join(b"<t%d>" % i for i in range(20))  # every push, in order, once
    assert len(subs[0].writes) < 20  # ...in fewer writes than batches
    assert all(sub.writes == subs[0].writes for sub in subs)


async def test_min_interval_spaces_rounds() -> None:
    pending: list[Push] = []
    broadcaster, _subs = setup(1, pending, min_interval_s=0.05)
    broadcaster.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < 0.3:
        pending.append(Push(TRADES, b"t"))
        broadcaster.wake()
        await asyncio.sleep(0.005)
    await broadcaster.stop()
    assert 3 <= broadcaster.rounds <= 8, broadcaster.rounds  # ~6 in 0.3 s, not ~60


class SlowSub(Sub):
    """A subscriber whose write costs 1 ms, as a slice of real sends does."""

    def send_frames(self, data: bytes, count: int) -> bool:
        time.sleep(0.001)
        return super().send_frames(data, count)


async def round_seconds(orders_in_flight: bool) -> float:
    hub = TopicHub()
    subs = [SlowSub() for _ in range(12)]
    for sub in subs:
        hub.subscribe(DEPTH, sub)
    broadcaster = Broadcaster(hub, share=0.25, slice_size=3, orders_in_flight=lambda: orders_in_flight)
    broadcaster.add_source(lambda: [Push(DEPTH, b"<d>")] if broadcaster.rounds == 0 else [])
    loop = asyncio.get_running_loop()
    started = loop.time()
    broadcaster.start()
    broadcaster.wake()
    while broadcaster.rounds == 0:
        await asyncio.sleep(0.001)
    elapsed = loop.time() - started
    await broadcaster.stop()
    assert all(sub.writes == [(b"<d>", 1)] for sub in subs)
    return elapsed


async def test_while_orders_are_in_flight_fan_out_takes_about_its_share_of_the_time() -> None:
    # 12 writes of 1 ms in slices of 3: 12 ms of sending. With orders in flight, each of the
    # first three slices is followed by a rest of 3x its cost (share 0.25): about 12 + 27 ms.
    idle = await round_seconds(orders_in_flight=False)
    busy = await round_seconds(orders_in_flight=True)
    assert idle < 0.030, idle
    assert busy > 0.030 and busy > 2.5 * idle, (idle, busy)


def test_share_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        Broadcaster(TopicHub(), share=0)


def test_faulted_sessions_get_frame_by_frame_with_the_depth_faults_applied() -> None:
    controller = FaultController([FaultProfile(name="skip", skip_depth_probability=1.0)])
    hub = TopicHub()
    plain, faulted = Sub(), Sub()
    for sub in (plain, faulted):
        hub.subscribe(DEPTH, sub)
        hub.subscribe(TRADES, sub)
    controller.attach(faulted, "digifinex", None)  # type: ignore[arg-type]
    assert faulted.faults is not None
    pending = [Push(TRADES, b"<t>"), Push(DEPTH, b"<d>", skippable=True)]
    broadcaster = Broadcaster(hub, controller)
    broadcaster.add_source(lambda: pending)
    broadcaster.run_round()
    assert plain.writes == [(b"<t><d>", 2)]
    assert faulted.writes == [(b"<t>", 1)]  # the depth diff was withheld from it alone


def test_a_failing_source_does_not_stop_the_others() -> None:
    hub = TopicHub()
    sub = Sub()
    hub.subscribe(TRADES, sub)
    broadcaster = Broadcaster(hub)

    def broken() -> list[Push]:
        raise RuntimeError("dialect bug")

    broadcaster.add_source(broken)
    broadcaster.add_source(lambda: [Push(TRADES, b"<t>")])
    assert broadcaster.run_round() == 1
    assert sub.writes == [(b"<t>", 1)]
