"""Trade on sandex with ccxt's `digifinex` class — unchanged, only its base URL points at sandex.

    sandex serve                      # prints the demo account's api_key and secret
    python examples/digifinex_ccxt.py --key KEY --secret SECRET [--url http://127.0.0.1:8765]

(or set SANDEX_KEY / SANDEX_SECRET). It reads the market, rests a post-only bid below it, cancels
it, buys with a market order sized in USDT, and shows the fills and the balance they left.
"""

from __future__ import annotations

import argparse
import os

import ccxt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SANDEX_URL", "http://127.0.0.1:8765"))
    parser.add_argument("--key", default=os.environ.get("SANDEX_KEY"))
    parser.add_argument("--secret", default=os.environ.get("SANDEX_SECRET"))
    parser.add_argument("--symbol", default="BTC/USDT")
    args = parser.parse_args()
    if not args.key or not args.secret:
        parser.error("--key and --secret are required (`sandex serve` prints the demo account's)")

    # enableRateLimit=False only because sandex does not rate-limit REST; keep ccxt's throttle if
    # the bot must also behave against the real venue.
    exchange = ccxt.digifinex({"apiKey": args.key, "secret": args.secret, "enableRateLimit": False})
    exchange.urls["api"]["rest"] = args.url  # the one change: sandex instead of DigiFinex

    exchange.load_markets()
    symbol = args.symbol
    ticker = exchange.fetch_ticker(symbol)
    book = exchange.fetch_order_book(symbol, 5)
    print(f"{symbol}: last {ticker['last']}  bid {ticker['bid']}  ask {ticker['ask']}  "
          f"24h volume {ticker['baseVolume']}")
    print(f"  top of book: {book['bids'][:1]} / {book['asks'][:1]}")

    # A post-only bid 2 % under the best bid rests on the book; then cancel it.
    market = exchange.market(symbol)
    best_bid = book["bids"][0][0] if book["bids"] else ticker["last"]
    price = float(exchange.price_to_precision(symbol, best_bid * 0.98))
    amount = max(market["limits"]["amount"]["min"] or 0, 20 / price)
    resting = exchange.create_order(symbol, "limit", "buy", amount, price, {"postOnly": True})
    print(f"  resting bid {resting['id']}: {exchange.fetch_order(resting['id'], symbol)['status']}")
    exchange.cancel_order(resting["id"], symbol)
    print(f"  after cancel: {exchange.fetch_order(resting['id'], symbol)['status']}")

    # A market buy spending 25 USDT (DigiFinex sizes market buys in quote).
    bought = exchange.create_market_buy_order_with_cost(symbol, 25)
    filled = exchange.fetch_order(bought["id"], symbol)
    print(f"  market buy {bought['id']}: filled {filled['filled']} at {filled['average']} ({filled['status']})")
    for trade in exchange.fetch_my_trades(symbol)[-3:]:
        print(f"  fill {trade['id']}: {trade['side']} {trade['amount']} @ {trade['price']} "
              f"fee {trade['fee']['cost']} {trade['fee']['currency']}")
    balance = exchange.fetch_balance()
    for currency in (market["base"], market["quote"]):
        print(f"  {currency}: free {balance[currency]['free']}  used {balance[currency]['used']}")


if __name__ == "__main__":
    main()
