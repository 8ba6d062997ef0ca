"""Prometheus metrics for `GET /metrics`, in their own `CollectorRegistry`.

Per-frame counts are the hot path (a publish to 1,000 subscribers is 1,000 frames out), so they
are NOT prometheus `Counter` children — each `.inc()` takes a lock. Sessions instead bump plain
integer fields of a per-dialect `DialectTally`, and a custom collector turns the tallies into
counter samples at scrape time. Gauges that are really "the current size of something"
(connections, blocked keys) are read from their owners at scrape time for the same reason: no
double bookkeeping that could drift.

Labels are limited to the dialect name and the engine event type: both are small fixed sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter as CounterChild

    from ..core.events import Event
    from ..marketdata.service import MarketDataUpdate


class DialectTally:
    """Running totals for one dialect's sessions; sessions increment the fields directly."""

    __slots__ = (
        "frames_in",
        "frames_out",
        "rate_limit_violations",
        "rest_rate_limit_violations",
        "slow_consumer_drops",
        "stalled_consumer_drops",
    )

    def __init__(self) -> None:
        self.frames_in = 0
        self.frames_out = 0
        self.slow_consumer_drops = 0
        self.stalled_consumer_drops = 0
        self.rate_limit_violations = 0
        self.rest_rate_limit_violations = 0


class Metrics:
    """Every sandex metric, owned by one registry (one instance per running app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._tallies: dict[str, DialectTally] = {}
        self._connections: Callable[[], Mapping[str, int]] | None = None
        self._blocked: dict[str, Callable[[], int]] = {}

        self.engine_events = Counter(
            "sandex_engine_events",
            "Events emitted by the matching engine, by event type.",
            ["type"],
            registry=self.registry,
        )
        self.journal_commit_seconds = Histogram(
            "sandex_journal_commit_seconds",
            "Latency of one journal group commit (write + fsync).",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self.journal_batch_size = Histogram(
            "sandex_journal_batch_size",
            "Commands per journal group commit.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=self.registry,
        )
        self.command_ack_seconds = Histogram(
            "sandex_command_ack_seconds",
            "Time from a client's command reaching the venue to its acknowledgement (journaled, "
            "applied, its own pushes written): the server's part of an order's latency.",
            buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.faults_injected = Counter(
            "sandex_faults_injected",
            "Faults injected by fault profiles, by dialect and fault.",
            ["dialect", "fault"],
            registry=self.registry,
        )
        self.registry.register(_SessionCollector(self))

    def count_fault(self, dialect: str, fault: str) -> None:
        """A fault profile injected `fault` (rare by nature: a labelled Counter is fine here)."""
        self.faults_injected.labels(dialect=dialect, fault=fault).inc()

    def tally(self, dialect: str) -> DialectTally:
        """The shared tally for `dialect`, created on first use."""
        tally = self._tallies.get(dialect)
        if tally is None:
            tally = self._tallies[dialect] = DialectTally()
        return tally

    def track_connections(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Read live connections per dialect from `counts` (e.g. `SessionRegistry.counts`)."""
        self._connections = counts

    def track_blocked_keys(self, dialect: str, count: Callable[[], int]) -> None:
        """Read the number of blocked keys of `dialect` from `count` (`KeyGuard.blocked_count`)."""
        self._blocked[dialect] = count

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for the `/metrics` route."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def count_events(metrics: Metrics) -> Callable[[list[Event], MarketDataUpdate], None]:
    """A venue listener counting engine events by type into `sandex_engine_events`."""
    counters: dict[str, CounterChild] = {}

    def listener(events: list[Event], update: MarketDataUpdate) -> None:
        tallies: dict[str, int] = {}
        for event in events:
            name = type(event).__name__
            tallies[name] = tallies.get(name, 0) + 1
        for name, count in tallies.items():
            counter = counters.get(name)
            if counter is None:
                counter = counters[name] = metrics.engine_events.labels(type=name)
            counter.inc(count)

    return listener


class _SessionCollector(Collector):
    """Turns tallies and live counts into metric families at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def describe(self) -> list[Metric]:
        # Empty: skip the registration-time collect (the owners are wired up later).
        return []

    def collect(self) -> Iterator[Metric]:
        m = self._m
        tallies = sorted(m._tallies.items())
        for name, doc, field in (
            ("sandex_ws_frames_in", "WebSocket data frames received.", "frames_in"),
            ("sandex_ws_frames_out", "WebSocket frames sent.", "frames_out"),
            (
                "sandex_ws_slow_consumer_drops",
                "Sessions dropped because their send buffer overflowed.",
                "slow_consumer_drops",
            ),
            (
                "sandex_ws_stalled_consumer_drops",
                "Sessions dropped because their unsent frames did not drain in time "
                "([limits.session] send_drain_timeout_s).",
                "stalled_consumer_drops",
            ),
            (
                "sandex_ws_rate_limit_violations",
                "Frames refused by a per-connection rate limit.",
                "rate_limit_violations",
            ),
            (
                "sandex_rest_rate_limit_violations",
                "REST requests refused by a rate limit.",
                "rest_rate_limit_violations",
            ),
        ):
            family = CounterMetricFamily(name, doc, labels=["dialect"])
            for dialect, tally in tallies:
                family.add_metric([dialect], getattr(tally, field))
            yield family

        connections = GaugeMetricFamily(
            "sandex_ws_connections", "Open WebSocket sessions.", labels=["dialect"]
        )
        if m._connections is not None:
            for dialect, count in sorted(m._connections().items()):
                connections.add_metric([dialect], count)
        yield connections

        blocked = GaugeMetricFamily("sandex_blocked_keys", "API keys currently blocked.", labels=["dialect"])
        for dialect, count_fn in sorted(m._blocked.items()):
            blocked.add_metric([dialect], count_fn())
        yield blocked
