"""Infoway's own Prometheus series, registered on the server's metrics registry.

Labels are small fixed sets (channel, error code, refusal reason); symbols never become labels,
since a client can invent any number of unknown ones. Frame counts, connections, rate-limit
violations and blocked keys come from the shared server metrics.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class InfowayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.unknown_symbols = Counter(
            "sandex_infoway_unknown_symbols",
            "Subscriptions to symbols sandex does not list (acked, then silent).",
            ["channel"],
            registry=registry,
        )
        self.errors = Counter(
            "sandex_infoway_errors",
            "Error frames sent, by Infoway error code.",
            ["code"],
            registry=registry,
        )
        self.refused_upgrades = Counter(
            "sandex_infoway_refused_upgrades",
            "WebSocket upgrades refused before the handshake, by reason.",
            ["reason"],
            registry=registry,
        )
        self.key_blocks = Counter(
            "sandex_infoway_key_blocks",
            "API keys blocked after repeated rate-limit disconnects.",
            registry=registry,
        )
        self.rest_errors = Counter(
            "sandex_infoway_rest_errors",
            "REST calls refused, by Infoway `ret` code (401 bad key, 501 rate limit, 5xx bad requests).",
            ["ret"],
            registry=registry,
        )
