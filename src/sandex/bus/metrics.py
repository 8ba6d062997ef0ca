"""The bus's metrics on `/metrics` (the engine's and every gateway's).

Plain integer fields bumped where things happen (as `server.metrics.DialectTally`: no lock per
row), turned into counter and gauge samples at scrape time by a collector registered in the
process's own `Metrics` registry. Only the command round trip is a prometheus `Histogram`: one
observation per forwarded command, at order-entry rates.

The engine fills the `published`/`served` side, a gateway the `received`/`refill` side; each
process exposes every family (the other side's stay at zero), so dashboards need no role label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..server.metrics import Metrics

__all__ = ["BusTally"]

#: (metric name, help, field) of the counters.
_COUNTERS = (
    (
        "sandex_bus_batches_published",
        "Stream messages the engine published (batches of journal rows).",
        "batches_published",
    ),
    ("sandex_bus_rows_published", "Journal rows the engine published to the stream.", "rows_published"),
    (
        "sandex_bus_publish_failures",
        "Publishes to the stream that failed and were retried.",
        "publish_failures",
    ),
    ("sandex_bus_commands_received", "Commands the engine received from gateways.", "commands_received"),
    ("sandex_bus_rows_served", "Journal rows the engine sent to gateways refilling a gap.", "rows_served"),
    ("sandex_bus_snapshots_served", "Snapshots the engine sent to joining gateways.", "snapshots_served"),
    ("sandex_bus_batches_received", "Stream messages this gateway received.", "batches_received"),
    ("sandex_bus_rows_received", "Journal rows this gateway received on the stream.", "rows_received"),
    (
        "sandex_bus_duplicate_rows",
        "Rows skipped because this copy had already applied them.",
        "duplicate_rows",
    ),
    ("sandex_bus_gaps", "Gaps detected by seq (or a stalled stream), each refilled from the engine.", "gaps"),
    ("sandex_bus_refills", "Refills from the engine's journal completed.", "refills"),
    ("sandex_bus_refill_rows", "Journal rows fetched from the engine by refills.", "refill_rows"),
    ("sandex_bus_commands_forwarded", "Commands this gateway forwarded to the engine.", "commands_forwarded"),
    (
        "sandex_bus_engine_unavailable",
        "Commands refused because the engine or the bus was unreachable.",
        "engine_unavailable",
    ),
    (
        "sandex_bus_stale_refusals",
        "Depth requests refused (or held past their bound) while this copy was known to be behind.",
        "stale_refusals",
    ),
    (
        "sandex_bus_rate_uses_sent",
        "Rate-limited requests this process told the others about.",
        "rate_uses_sent",
    ),
    (
        "sandex_bus_rate_uses_received",
        "Rate-limited requests other processes accepted, counted here.",
        "rate_uses_received",
    ),
)


class BusTally:
    __slots__ = (*(field for _, _, field in _COUNTERS), "command_seconds", "gauges")

    def __init__(self) -> None:
        self.batches_published = 0
        self.rows_published = 0
        self.publish_failures = 0
        self.commands_received = 0
        self.rows_served = 0
        self.snapshots_served = 0
        self.batches_received = 0
        self.rows_received = 0
        self.duplicate_rows = 0
        self.gaps = 0
        self.refills = 0
        self.refill_rows = 0
        self.commands_forwarded = 0
        self.engine_unavailable = 0
        self.stale_refusals = 0
        self.rate_uses_sent = 0
        self.rate_uses_received = 0
        #: Filled by `register`; a tally never registered (tests) observes nothing.
        self.command_seconds: Histogram | None = None
        #: name -> (help, read at scrape time).
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (doc, read)

    def observe_command(self, seconds: float) -> None:
        if self.command_seconds is not None:
            self.command_seconds.observe(seconds)

    def register(self, metrics: Metrics) -> None:
        """Expose this tally on `metrics`'s registry (once per process)."""
        self.command_seconds = Histogram(
            "sandex_bus_command_seconds",
            "A forwarded command's round trip to the engine: sent, journaled and applied there, answered.",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=metrics.registry,
        )
        metrics.registry.register(_BusCollector(self))


class _BusCollector(Collector):
    def __init__(self, tally: BusTally) -> None:
        self._tally = tally

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        tally = self._tally
        for name, doc, field in _COUNTERS:
            yield CounterMetricFamily(name, doc, value=getattr(tally, field))
        for name, (doc, read) in sorted(tally.gauges.items()):
            yield GaugeMetricFamily(name, doc, value=read())
