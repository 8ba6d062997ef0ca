"""Topic fan-out: who listens to what, and delivering pre-built frames to all of them.

A topic is any hashable key, by convention `(dialect, channel, symbol[, ...])`, e.g.
`("digifinex", "depth", "BTC_USDT")`. A topic's subscribers are kept in an insertion-ordered dict
(delivery order is deterministic), and each subscriber remembers its own topics in its `topics`
slot, so a disconnect costs O(its own topics), not O(all topics).

Two ways out:

- `publish(topic, frame)`: the same frame bytes to every subscriber of one topic, at once. Private
  pushes (one account's orders and balances) and replies take this path.
- `plan(pushes)`: a whole round of public pushes, coalesced. Subscribers with the same set of
  topics (the usual case: a thousand bots watching the same markets) form one *group*; a group's
  frames of the round are joined into one `bytes` once, and each member gets that object in one
  write. Per subscriber the work is the write and nothing else. `server.broadcast` runs the rounds.

A subscriber's `topics` is a frozenset replaced on every (un)subscribe, never mutated: it is both
the subscriber's own list and its group key, and a round can tell a member that changed its
subscriptions meanwhile by identity.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Protocol


class Subscriber(Protocol):
    """What the hub needs from a session (`Session` satisfies it)."""

    topics: frozenset[Hashable] | None

    def send_frame(self, frame: bytes) -> bool: ...

    def send_frames(self, data: bytes, count: int) -> bool: ...


#: One step of a round: `data` (one frame, or several joined) for each of `members`.
Delivery = tuple[bytes, int, tuple[Subscriber, ...]]


class TopicHub:
    __slots__ = ("_groups", "_topics")

    def __init__(self) -> None:
        self._topics: dict[Hashable, dict[Subscriber, None]] = {}
        #: subscription set -> the subscribers holding exactly that set.
        self._groups: dict[frozenset[Hashable], dict[Subscriber, None]] = {}

    # -- membership --------------------------------------------------------------------------

    def subscribe(self, topic: Hashable, session: Subscriber) -> bool:
        """Add `session` to `topic`; False if it was already subscribed."""
        subs = self._topics.get(topic)
        if subs is None:
            subs = self._topics[topic] = {}
        elif session in subs:
            return False
        subs[session] = None
        old = session.topics
        self._regroup(session, old, (old | {topic}) if old else frozenset((topic,)))
        return True

    def unsubscribe(self, topic: Hashable, session: Subscriber) -> bool:
        """Remove `session` from `topic`; False if it was not subscribed."""
        subs = self._topics.get(topic)
        if subs is None or session not in subs:
            return False
        del subs[session]
        if not subs:
            del self._topics[topic]  # empty topics must not pile up: symbols come and go
        old = session.topics
        if old is not None:
            self._regroup(session, old, (old - {topic}) or None)
        return True

    def unsubscribe_all(self, session: Subscriber) -> int:
        """Remove `session` from every topic (on disconnect); returns how many."""
        own = session.topics
        if not own:
            return 0
        self._regroup(session, own, None)
        for topic in own:
            subs = self._topics.get(topic)
            if subs is not None:
                subs.pop(session, None)
                if not subs:
                    del self._topics[topic]
        return len(own)

    def _regroup(
        self, session: Subscriber, old: frozenset[Hashable] | None, new: frozenset[Hashable] | None
    ) -> None:
        groups = self._groups
        if old:
            members = groups.get(old)
            if members is not None:
                members.pop(session, None)
                if not members:
                    del groups[old]
        session.topics = new
        if new:
            members = groups.get(new)
            if members is None:
                members = groups[new] = {}
            members[session] = None

    # -- views -------------------------------------------------------------------------------

    def subscribers(self, topic: Hashable) -> list[Subscriber]:
        """A snapshot of `topic`'s subscribers, in subscription order."""
        subs = self._topics.get(topic)
        return list(subs) if subs else []

    def has_subscribers(self, topic: Hashable) -> bool:
        """Publishers check this first and skip encoding when nobody listens."""
        return topic in self._topics  # empty topics are deleted, so presence means listeners

    def topics(self) -> list[Hashable]:
        return list(self._topics)

    def group_count(self) -> int:
        """How many distinct subscription sets there are (one joined buffer each per round)."""
        return len(self._groups)

    def __len__(self) -> int:
        return len(self._topics)

    # -- delivery ----------------------------------------------------------------------------

    def publish(self, topic: Hashable, frame: bytes) -> int:
        """Write the same `frame` bytes to every subscriber of `topic`; returns deliveries.

        A subscriber that is closing, lost, or is dropped as a slow consumer by this very write
        does not count. Dead subscribers stay listed until their session ends and calls
        `unsubscribe_all`; their `send_frame` returns False at once.
        """
        subs = self._topics.get(topic)
        if not subs:
            return 0
        delivered = 0
        # Iterate a snapshot: a dialect callback may (un)subscribe while we deliver, and the
        # copy is ~0.1% of the cost of the socket writes it precedes.
        for session in tuple(subs):
            if session.send_frame(frame):
                delivered += 1
        return delivered

    @staticmethod
    def publish_to(sessions: Iterable[Subscriber], frame: bytes) -> int:
        """Write `frame` to each of `sessions` (e.g. one account's private-channel sessions)."""
        delivered = 0
        for session in sessions:
            if session.send_frame(frame):
                delivered += 1
        return delivered

    def plan(self, pushes: Sequence[tuple[Hashable, bytes]]) -> list[Delivery]:
        """Coalesce one round of `(topic, frame)` pushes: per subscription group, the frames of
        the round it listens to, in round order, joined once; with the group's members.

        The plan is a snapshot: a session that subscribes after it is made is not in it (it got
        its first push at subscribe time, built from the same state the round was), and one that
        unsubscribes meanwhile may get the round's frames one last time.
        """
        if not pushes:
            return []
        wanted = {topic for topic, _ in pushes}
        out: list[Delivery] = []
        for sig, members in self._groups.items():
            if sig.isdisjoint(wanted):
                continue
            frames = [frame for topic, frame in pushes if topic in sig]
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            out.append((data, len(frames), tuple(members)))
        return out
