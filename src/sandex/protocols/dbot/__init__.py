"""The DBot dialect: DBot's trading WebSocket (`/trade/ws`) and automation REST API.

DBot automates on-chain trading: wallets copy the trades of target wallets, with take-profit /
stop-loss orders, limit orders and fast swaps. On sandex the venue is the chain (see
docs/dbot.md): a wallet is a sandex wallet, a pair is a market symbol, a token is its base
currency. The trading logic is the engine plugin in `sandex.automation` (imported only through
its facade); this package translates, in the shape every dialect has:

- `wire`: request envelope in, rpcResponse / subscribe replies out; `errors`: DBot's `err: true`
  shape for the WebSocket and REST;
- `connection`: one WebSocket, sans I/O (a frame in, an `Outcome` out: a reply, or a call to run);
- `api`: the method table, sans I/O (params -> a query answer or a command to submit), with
  `params` (every method's typed params, DBot's names), `convert` (DBot's decimals to the
  plugin's scaled integers) and `views` (the plugin's records as DBot's JSON);
- `publisher`: trade results -> `tradeResultNotify` frames (the venue listener `on_events`);
- `routes`: the only module with aiohttp or the server's session: endpoints, auth, liveness,
  rate limits.
"""
