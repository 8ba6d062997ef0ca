from __future__ import annotations

import websockets

from sandex.server.metrics import Metrics

from .echo import wait_for


def test_render_without_traffic() -> None:
    metrics = Metrics()
    metrics.engine_events.labels(type="OrderAccepted").inc()
    metrics.journal_commit_seconds.observe(0.003)
    metrics.journal_batch_size.observe(17)
    body, content_type = metrics.render()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'sandex_engine_events_total{type="OrderAccepted"} 1.0' in text
    assert "sandex_journal_commit_seconds_bucket" in text
    assert "sandex_journal_batch_size_count 1.0" in text
    assert "# TYPE sandex_ws_connections gauge" in text


async def test_render_reflects_sessions(echo_server) -> None:
    server = await echo_server()
    server.guard.record_violation("k")
    for _ in range(server.guard.max_violations):
        server.guard.record_violation("blocked-key")
    async with websockets.connect(server.url) as ws:
        await ws.send("a")
        assert await ws.recv() == "a"
        await wait_for(lambda: server.registry.count() == 1)
        text = server.metrics.render()[0].decode()
    assert 'sandex_ws_connections{dialect="echo"} 1.0' in text
    assert 'sandex_ws_frames_in_total{dialect="echo"} 1.0' in text
    assert 'sandex_ws_frames_out_total{dialect="echo"} 1.0' in text
    assert 'sandex_ws_slow_consumer_drops_total{dialect="echo"} 0.0' in text
    assert 'sandex_ws_rate_limit_violations_total{dialect="echo"} 0.0' in text
    assert 'sandex_blocked_keys{dialect="echo"} 1.0' in text
