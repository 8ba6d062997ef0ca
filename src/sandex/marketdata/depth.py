"""Depth diffs over a top-N window, and the client side that proves them exact.

A dialect that publishes depth as "snapshot, then diffs" (DigiFinex `depth.update`) has no sequence
number, so the diffs must be exact: a client that starts from a clean top-N snapshot and applies
every diff in order must hold exactly the current top-N. Diffing the two *windows* (not the books)
gives that for free, including the two edge cases a level-by-level change feed gets wrong:

- a better level arrives and pushes the N-th level out of the window: the pushed-out level is in
  the old window and not in the new one, so it is sent with quantity 0 (the client drops it);
- levels are removed and deeper ones move up into the window: they are in the new window and not
  in the old one, so they are sent with their quantity (the client learns them).

`DepthView` is the publisher's side: it remembers what it last sent for one symbol and depth.
"""

from __future__ import annotations

from msgspec import Struct

from .book import BookView, Level, Top


class DepthDiff(Struct, frozen=True, gc=False):
    """Changed levels per side: (price, new qty), qty 0 meaning "drop this level".

    Bids are listed descending and asks ascending (best first), like a Top.
    """

    bids: list[Level]
    asks: list[Level]

    def __bool__(self) -> bool:
        return bool(self.bids or self.asks)


class DepthDiffError(ValueError):
    """A diff left the client with more levels than its window holds (the publisher missed a drop)."""


def _side_diff(prev: list[Level], new: list[Level], descending: bool) -> list[Level]:
    old = dict(prev)
    changes: list[Level] = []
    for price, qty in new:
        # New level, or a level whose qty changed (including one that came back into the window).
        if old.pop(price, None) != qty:
            changes.append((price, qty))
    # What is left was in the old window and is not in the new one: removed, or pushed out.
    changes.extend((price, 0) for price in old)
    # Prices are unique within a side, so sorting the tuples sorts by price.
    changes.sort(reverse=descending)
    return changes


def depth_diff(prev_top: Top, new_top: Top) -> DepthDiff:
    """What changed between two top-N windows of the same N (see the module doc)."""
    return DepthDiff(
        bids=_side_diff(prev_top[0], new_top[0], descending=True),
        asks=_side_diff(prev_top[1], new_top[1], descending=False),
    )


def _apply_side(
    levels: list[Level], changes: list[Level], n: int, descending: bool, side: str
) -> list[Level]:
    book = dict(levels)
    for price, qty in changes:
        if qty > 0:
            book[price] = qty
        else:
            book.pop(price, None)
    # A client that does not trim would keep a stale level forever; do not trim either, so that a
    # missed drop shows up as an error instead of being hidden.
    if len(book) > n:
        raise DepthDiffError(f"{side}: client holds {len(book)} levels after the diff, window is {n}")
    return sorted(book.items(), reverse=descending)


def apply_diff(top: Top, diff: DepthDiff, n: int) -> Top:
    """The client's side: apply a diff to the top-N it holds and return the new top-N.

    Raises DepthDiffError when a side ends up with more than `n` levels.
    """
    return (
        _apply_side(top[0], diff.bids, n, descending=True, side="bids"),
        _apply_side(top[1], diff.asks, n, descending=False, side="asks"),
    )


class DepthView:
    """What one publisher last sent for one symbol at one depth: a snapshot, then diffs."""

    __slots__ = ("_sent", "depth")

    def __init__(self, depth: int) -> None:
        if depth <= 0:
            raise ValueError("depth must be positive")
        self.depth = depth
        self._sent: Top = ([], [])

    def snapshot(self, book: BookView) -> Top:
        """A clean top-N snapshot; later diffs are relative to it."""
        self._sent = book.top(self.depth)
        return self._sent

    def diff(self, book: BookView) -> DepthDiff | None:
        """The diff since the last snapshot or diff, or None when the window did not change."""
        new = book.top(self.depth)
        diff = depth_diff(self._sent, new)
        if not diff:
            return None
        self._sent = new
        return diff

    @property
    def sent(self) -> Top:
        """The window the client holds now (after the last snapshot or diff)."""
        return self._sent
