"""The DigiFinex dialect: spot WebSocket v1 (`/ws/v1/`) and REST v3 (`/v3/...`).

Sans-I/O modules (no sockets, no aiohttp; tests drive them with plain values):

- `errors`        the dialect's error codes (viabtc-style WebSocket codes, REST codes) as exceptions
- `wire`          JSON + zlib encoding of every server frame, framed once for all subscribers
- `requests`      decoding and validation of WebSocket requests into typed values
- `subscriptions` the per-connection subscription model (accumulating, empty unsubscribe = all)
- `signing`       HMAC checks for `server.auth` and for REST's ACCESS-* headers
- `pushes`        payloads of every push (trades, depth, tickers, orders, order_algo, balances)
- `views`         REST response bodies built from market data and account data
- `orders`        the REST order form decoded into engine commands, engine rejects mapped to codes

I/O glue on top of them: `publisher` (venue listener: encodes each event once and fans it out),
`ws` (one connection's request handling), `rest` (aiohttp handlers) and `routes` (mounting).
"""
