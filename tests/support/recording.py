"""A hub subscriber that records its writes instead of sending them."""

from __future__ import annotations

from collections.abc import Hashable


class RecordingSubscriber:
    """Records each write as (bytes, frames in it); `faults` as a session's fault state."""

    def __init__(self, faults: object = None) -> None:
        self.topics: frozenset[Hashable] | None = None
        self.faults = faults
        self.writes: list[tuple[bytes, int]] = []

    def send_frame(self, frame: bytes) -> bool:
        self.writes.append((frame, 1))
        return True

    def send_frames(self, data: bytes, count: int) -> bool:
        self.writes.append((data, count))
        return True
