"""The duplicate guard's memory: within the window a fingerprint is known, after it it is not, and
what it remembers stays bounded."""

from __future__ import annotations

from sandex.server.duplicates import DuplicateGuard


def test_a_fingerprint_is_a_replay_within_the_window_from_another_owner_only() -> None:
    guard = DuplicateGuard(60.0)
    assert not guard.seen(("k", "1000"), owner="conn-1", now=100.0)
    assert not guard.seen(("k", "1000"), owner="conn-1", now=101.0)  # the same connection again
    assert guard.seen(("k", "1000"), owner="conn-2", now=159.0)
    assert not guard.seen(("k", "1000"), owner="conn-2", now=160.5)  # the window has passed
    assert not guard.seen(("k", "1001"), owner="conn-2", now=160.5)


def test_memory_is_bounded_by_the_window_and_the_cap() -> None:
    guard = DuplicateGuard(10.0, max_entries=100)
    for i in range(50):
        guard.seen(i, now=float(i))
    assert len(guard) == 11  # only the last 10 s are kept
    for i in range(1000):
        guard.seen(("burst", i), now=50.0)
    assert len(guard) == 100
    assert guard.seen(("burst", 999), owner="other", now=50.0)
