"""The DBot dialect: DBot's trading WebSocket (`/trade/ws`) and automation REST API.

DBot automates on-chain trading: wallets copy the trades of target wallets, with take-profit /
stop-loss orders, limit orders and fast swaps. On sandex the venue is the chain (see
docs/dbot.md): a wallet is a sandex wallet, a pair is a market symbol, a token is its base
currency. The trading logic lives in `sandex.automation`; this package only
translates:

- `wire`: request envelope in, rpcResponse / error / subscribe replies out;
- `params`: every method's typed params; `convert`: decimals to the core's scaled integers;
- `api`: the method table, sans I/O (params -> a query answer or a command to submit);
- `views`, `notify`: core records and trade results as DBot's JSON;
- `routes`: the aiohttp endpoints, auth, liveness, rate limits and push fan-out.
"""
