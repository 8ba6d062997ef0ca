from __future__ import annotations

from collections.abc import Hashable

from sandex.server.hub import TopicHub


class FakeSession:
    def __init__(self, alive: bool = True) -> None:
        self.topics: set[Hashable] | None = None
        self.alive = alive
        self.got: list[bytes] = []

    def send_frame(self, frame: bytes) -> bool:
        if not self.alive:
            return False
        self.got.append(frame)
        return True


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
