"""The Infoway dialect: Infoway's real-time quote WebSocket (trades, depth, klines).

Sans-I/O core, readable module by module:

- `codes`         — the numeric protocol, error and kline-type codes;
- `errors`        — refusals as exceptions with their wire code and message;
- `requests`      — decoding and validating client frames into typed requests;
- `subscriptions` — one connection's symbol sets (additive subscribes, the seeds' unsubscribes)
                    and the budget a key's connections share;
- `connection`    — one connection as a state machine: frame in, reply and topic changes out;
- `encoders`      — welcome, acks, errors and the trade/depth/kline pushes as JSON bytes;
- `symbols`       — `BTCUSDT` <-> `BTC_USDT`.

I/O and timing: `publisher` (venue events -> pushes, encoded once per topic), `heartbeat` (the
513 rule for the shared sweeper), `metrics`, and `routes` (the `/ws` endpoint, mounted by
`sandex.server.app`).
"""
