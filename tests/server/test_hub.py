from __future__ import annotations

from collections.abc import Hashable

from sandex.server.hub import TopicHub


class FakeSession:
    def __init__(self, alive: bool = True) -> None:
        self.topics: frozenset[Hashable] | None = None
        self.alive = alive
        self.got: list[bytes] = []

    def send_frame(self, frame: bytes) -> bool:
        if not self.alive:
            return False
        self.got.append(frame)
        return True

    def send_frames(self, data: bytes, count: int) -> bool:
        return self.send_frame(data)


T1 = ("digifinex", "depth", "BTC_USDT")
T2 = ("digifinex", "trades", "BTC_USDT")


def test_subscribe_and_unsubscribe() -> None:
    hub = TopicHub()
    a, b = FakeSession(), FakeSession()
    assert not hub.has_subscribers(T1)
    assert hub.subscribe(T1, a)
    assert not hub.subscribe(T1, a)  # idempotent
    assert hub.subscribe(T1, b) and hub.subscribe(T2, a)
    assert hub.subscribers(T1) == [a, b]
    assert a.topics == {T1, T2}
    assert hub.unsubscribe(T1, a)
    assert not hub.unsubscribe(T1, a)
    assert hub.subscribers(T1) == [b] and a.topics == {T2}
    assert hub.unsubscribe(T1, b)
    assert not hub.has_subscribers(T1)  # empty topics are removed
    assert hub.topics() == [T2]


def test_unsubscribe_all_touches_only_own_topics() -> None:
    hub = TopicHub()
    a, b = FakeSession(), FakeSession()
    for topic in (T1, T2):
        hub.subscribe(topic, a)
    hub.subscribe(T1, b)
    assert hub.unsubscribe_all(a) == 2
    assert a.topics is None
    assert hub.subscribers(T1) == [b]
    assert not hub.has_subscribers(T2)
    assert hub.unsubscribe_all(a) == 0


def test_publish_delivers_the_same_object_and_counts_live_ones() -> None:
    hub = TopicHub()
    sessions = [FakeSession(alive=i % 3 != 0) for i in range(9)]
    for s in sessions:
        hub.subscribe(T1, s)
    frame = b"\x81\x05hello"
    assert hub.publish(T1, frame) == 6
    assert hub.publish(T2, frame) == 0
    for s in sessions:
        assert s.got == ([frame] if s.alive else [])
        if s.alive:
            assert s.got[0] is frame  # framed once, shared, never copied
    assert hub.publish_to(sessions[:3], frame) == 2


def test_publish_tolerates_changes_during_delivery() -> None:
    hub = TopicHub()

    class Leaver(FakeSession):
        def send_frame(self, frame: bytes) -> bool:
            hub.unsubscribe(T1, self)
            return super().send_frame(frame)

    a, b = Leaver(), FakeSession()
    hub.subscribe(T1, a)
    hub.subscribe(T1, b)
    assert hub.publish(T1, b"x") == 2
    assert hub.subscribers(T1) == [b]


T3 = ("digifinex", "ticker", "BTC_USDT")


def test_subscriptions_group_sessions_by_their_exact_topic_set() -> None:
    hub = TopicHub()
    a, b, c = FakeSession(), FakeSession(), FakeSession()
    for session in (a, b):
        hub.subscribe(T1, session)
        hub.subscribe(T2, session)
    hub.subscribe(T2, c)
    assert hub.group_count() == 2  # {T1, T2}: a and b; {T2}: c
    hub.subscribe(T1, c)
    assert hub.group_count() == 1 and a.topics == b.topics == c.topics == {T1, T2}
    hub.unsubscribe(T2, b)
    assert hub.group_count() == 2 and b.topics == {T1}
    hub.unsubscribe(T1, b)
    assert b.topics is None and hub.group_count() == 1  # nothing left: in no group
    hub.unsubscribe_all(a)
    hub.unsubscribe_all(c)
    assert hub.group_count() == 0 and len(hub) == 0  # nothing piles up


def test_plan_joins_each_groups_frames_once_in_round_order() -> None:
    hub = TopicHub()
    both = [FakeSession() for _ in range(3)]
    for session in both:
        hub.subscribe(T2, session)  # subscription order differs from round order on purpose
        hub.subscribe(T1, session)
    only_ticker, only_depth = FakeSession(), FakeSession()
    hub.subscribe(T3, only_ticker)
    hub.subscribe(T1, only_depth)
    plan = hub.plan([(T1, b"<depth>"), (T2, b"<trades>")])
    by_members = {members: (data, count) for data, count, members in plan}
    assert by_members[tuple(both)] == (b"<depth><trades>", 2)
    assert by_members[(only_depth,)] == (b"<depth>", 1)
    assert len(plan) == 2  # the ticker-only session hears nothing of this round
    assert hub.plan([]) == []


def test_plan_is_a_snapshot_of_the_groups() -> None:
    hub = TopicHub()
    a = FakeSession()
    hub.subscribe(T1, a)
    plan = hub.plan([(T1, b"x")])
    late = FakeSession()
    hub.subscribe(T1, late)  # joined after the plan was made: got its first push already
    assert [members for _, _, members in plan] == [(a,)]
