"""The Infoway dialect: Infoway's real-time quote WebSocket and its REST market data.

The common dialect shape, sans-I/O but for `routes`:

- `wire`          — the numeric protocol codes and kline types; client frames decoded and
                    validated into typed requests; welcome, acks, errors, pushes and REST bodies
                    encoded as JSON bytes;
- `errors`        — the WebSocket error codes and REST `ret` codes, refusals as exceptions;
- `connection`    — one WebSocket connection as a state machine: frame in, reply and topic
                    changes out (with `subscriptions`: additive subscribes, the seeds'
                    unsubscribes, the budget a key's connections share);
- `api`           — the REST calls: plain parameters in, the envelope's data out;
- `publisher`     — venue events -> pushes, encoded once per topic (`on_events`);
- `symbols`       — `BTCUSDT` <-> `BTC_USDT`; `metrics` — Infoway's own Prometheus series;
- `routes`        — the `/ws` endpoint, the REST routes, the heartbeat rule and the push timers:
                    the only module that touches aiohttp or the server's sessions.
"""
