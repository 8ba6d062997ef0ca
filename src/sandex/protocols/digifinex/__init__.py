"""The DigiFinex dialect: spot WebSocket v1 (`/ws/v1/`) and REST v3 (`/v3/...`).

The dialect's common shape (every dialect has it); only `routes` imports aiohttp or the server's
session, everything else is sans-I/O and tests drive it with plain values:

- `wire`          JSON + zlib encoding of every server frame, framed once for all subscribers
- `errors`        the dialect's error codes (viabtc-style WebSocket codes, REST codes) as exceptions
- `connection`    one WebSocket connection: a request frame in, an `Outcome` out (reply, topic
                  changes, first pushes, sign-in)
- `api`           the REST v3 handlers: parameters (and the signed-in account) in, bodies out;
                  REST authentication and rate limits
- `publisher`     the venue listener (`on_events`): encodes each event once and fans it out
- `routes`        mounting: the aiohttp handlers, applying outcomes to sessions

Helpers of those: `requests` (decoding and validation of WebSocket requests into typed values),
`subscriptions` (per-connection subscription model: accumulating, empty unsubscribe = all),
`signing` (HMAC checks for `server.auth` and REST's ACCESS-* headers), `pushes` (payloads of
every push), `views` (REST response bodies), `order_fields` (order and trigger fields in
DigiFinex terms) and `orders` (the REST order form read into engine commands, engine rejects
read back as REST codes). The dialect's config section, `limits`, lives beside them.
"""
