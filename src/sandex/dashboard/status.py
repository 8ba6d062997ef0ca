"""The venue's state at a glance, once a second: health, sessions per dialect, key blocks, faults.

Rates (events/s, frames/s, commit latency) are differences between two looks one period apart,
so nothing on the venue's hot path counts anything for the dashboard: the session tallies, the
sessions' own frame counters and the journal's commit histogram already exist for `/metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

from .. import operations
from ..server.context import ServerContext
from ..server.session import Session

JSON = dict[str, Any]

#: Sessions listed per dialect (the counts cover all of them).
SESSIONS_SHOWN = 200


def topic_name(topic: Hashable) -> str:
    """A hub topic as the page shows it: `("digifinex", "depth", "BTC_USDT")` -> "depth BTC_USDT".
    Private topics carry an account id, shown as it is."""
    if isinstance(topic, tuple):
        parts = [str(p) for p in topic[1:]] if len(topic) > 1 else [str(topic[0])]
        return " ".join(parts)
    return str(topic)


class StatusView:
    """Builds the status message; remembers the previous look for the rates."""

    def __init__(self, ctx: ServerContext, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self._monotonic = monotonic
        self.started = monotonic()
        self._last_at = self.started
        self._last_events = 0
        self._last_commits = (0.0, 0.0)  # (sum of seconds, count) of the commit histogram
        self._commit_ms: float | None = None
        #: id(session) -> (frames_in, frames_out) at the last look.
        self._frames: dict[int, tuple[int, int]] = {}

    def _commit_latency(self) -> float | None:
        """Mean commit latency (ms) since the last look; the last known one when none happened."""
        registry = self.ctx.metrics.registry
        total = registry.get_sample_value("sandex_journal_commit_seconds_sum") or 0.0
        count = registry.get_sample_value("sandex_journal_commit_seconds_count") or 0.0
        last_total, last_count = self._last_commits
        self._last_commits = (total, count)
        if count > last_count:
            self._commit_ms = round((total - last_total) / (count - last_count) * 1000, 3)
        return self._commit_ms

    def _session_row(self, session: Session, elapsed: float, seen: dict[int, tuple[int, int]]) -> JSON:
        before = self._frames.get(id(session))
        seen[id(session)] = (session.frames_in, session.frames_out)
        if before is None or elapsed <= 0:
            rate_in = rate_out = None
        else:
            rate_in = round((session.frames_in - before[0]) / elapsed, 1)
            rate_out = round((session.frames_out - before[1]) / elapsed, 1)
        account = self.ctx.venue.engine.account_by_key.get(session.key) if session.key else None
        guard = self.ctx.key_guards.get(session.dialect)
        return {
            "peer": session.peer,
            "key": session.key,
            "account": account.name if account is not None else None,
            "age_s": round(self._monotonic() - session.opened_at),
            "topics": sorted(topic_name(t) for t in session.topics or ()),
            "frames_in": session.frames_in,
            "frames_out": session.frames_out,
            "in_per_s": rate_in,
            "out_per_s": rate_out,
            "violations": guard.violations(session.key) if guard is not None and session.key else 0,
            "faults": session.faults is not None,
        }

    def build(self, events_total: int, tabs: int) -> JSON:
        ctx = self.ctx
        venue = ctx.venue
        now = self._monotonic()
        elapsed = now - self._last_at
        events_per_s = (events_total - self._last_events) / elapsed if elapsed > 0 else 0.0
        self._last_at, self._last_events = now, events_total
        committer = venue.committer
        seen: dict[int, tuple[int, int]] = {}
        sessions: dict[str, JSON] = {}
        for dialect in ctx.key_guards:
            live = ctx.registry.sessions(dialect)
            tally = ctx.metrics.tally(dialect)
            sessions[dialect] = {
                "count": len(live),
                "sessions": [self._session_row(s, elapsed, seen) for s in live[:SESSIONS_SHOWN]],
                "limits": {
                    "ws_rate_limit_violations": tally.rate_limit_violations,
                    "rest_rate_limit_violations": tally.rest_rate_limit_violations,
                    "slow_consumer_drops": tally.slow_consumer_drops,
                    "stalled_consumer_drops": tally.stalled_consumer_drops,
                },
            }
        self._frames = seen
        return {
            "health": {
                "uptime_s": round(now - self.started),
                "journal": {
                    "sync": ctx.config.journal.sync,
                    "state": "off" if committer is None else ("halted" if committer.halted else "ok"),
                    "halt_reason": committer.halt_reason
                    if committer is not None and committer.halted
                    else None,
                    "seq": venue.applied_seq,
                    "commit_ms": self._commit_latency() if committer is not None else None,
                },
                "order_entry": venue.order_entry_error,
                "connections": {dialect: ctx.registry.count(dialect) for dialect in ctx.key_guards},
                "events_per_s": round(events_per_s, 1),
                "dashboard_tabs": tabs,
            },
            "sessions": sessions,
            "blocked": operations.blocked_keys(ctx),
            "faults": operations.faults_state(ctx),
            # The replay's state, clock and range when the venue replays a recording, else null
            # (the page hides its Replay panel).
            "replay": operations.replay_status(ctx) if ctx.replay is not None else None,
        }
