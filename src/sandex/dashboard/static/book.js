// The selected market's book as the page holds it: a snapshot, then diffs. Each diff names the
// seq of the book it applies to (`prev`); holding another one means a message was missed, and
// the caller asks for a snapshot.

export class Book {
  constructor() {
    this.reset(null);
  }

  reset(symbol) {
    this.symbol = symbol;
    this.seq = null; // null: waiting for a snapshot
    this.bids = new Map(); // price string -> size string
    this.asks = new Map();
    this.own = new Map(); // "side price" -> own size string
    this.version = 0;
  }

  // Applies a `book` message; returns false on a gap (the book is then left waiting).
  apply(message) {
    if (message.snapshot) {
      this.bids = new Map(message.bids);
      this.asks = new Map(message.asks);
    } else {
      if (this.seq === null) return true; // a snapshot is on its way; ignore diffs until then
      if (message.prev !== this.seq) {
        this.seq = null;
        return false;
      }
      for (const [price, size] of message.bids) update(this.bids, price, size);
      for (const [price, size] of message.asks) update(this.asks, price, size);
    }
    this.own = new Map(message.own.map(([side, price, size]) => [`${side} ${price}`, size]));
    this.seq = message.seq;
    this.version += 1;
    return true;
  }

  // [[price, size, priceNumber, sizeNumber], ...] best first.
  side(name) {
    const levels = [...(name === "bids" ? this.bids : this.asks)].map(([p, s]) => [p, s, Number(p), Number(s)]);
    levels.sort(name === "bids" ? (a, b) => b[2] - a[2] : (a, b) => a[2] - b[2]);
    return levels;
  }

  ownAt(side, price) {
    return this.own.get(`${side} ${price}`);
  }
}

function update(levels, price, size) {
  if (Number(size) === 0) levels.delete(price);
  else levels.set(price, size);
}
