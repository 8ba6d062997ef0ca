// The order-book ladder: a fixed set of DOM rows per side, built once and rewritten in place,
// so a repaint changes text, never the document's structure. Asks above the spread (best ask
// lowest), bids below (best bid highest); a row with own orders is marked and shows their size.

import { h } from "./dom.js";

export const ROWS = 12;

function makeRow(side) {
  const cells = {
    price: h("span", { class: "price" }),
    size: h("span", { class: "num" }),
    total: h("span", { class: "num" }),
    own: h("span", { class: "num own-size" }),
    bar: h("div", { class: "bar" }),
  };
  const row = h("div", { class: `ladder-row ${side} empty` }, cells.price, cells.size, cells.total, cells.own, cells.bar);
  return { row, cells, key: "" };
}

export class Ladder {
  constructor(container) {
    this.asks = Array.from({ length: ROWS }, () => makeRow("ask"));
    this.bids = Array.from({ length: ROWS }, () => makeRow("bid"));
    this.spread = h("div", { class: "spread", "data-testid": "spread" }, "—");
    container.replaceChildren(
      h("div", { "data-testid": "ladder-asks" }, this.asks.map((r) => r.row)),
      this.spread,
      h("div", { "data-testid": "ladder-bids" }, this.bids.map((r) => r.row)),
    );
  }

  paint(book) {
    const asks = book.side("asks").slice(0, ROWS);
    const bids = book.side("bids").slice(0, ROWS);
    const cumulate = (levels) => {
      let total = 0;
      return levels.map((level) => (total += level[3]));
    };
    const askTotals = cumulate(asks);
    const bidTotals = cumulate(bids);
    const widest = Math.max(askTotals[askTotals.length - 1] || 0, bidTotals[bidTotals.length - 1] || 0) || 1;
    // Asks: row 0 at the top is the deepest shown, the last row is the best ask.
    for (let i = 0; i < ROWS; i++) {
      const at = ROWS - 1 - i;
      this.fillRow(this.asks[i], asks[at], askTotals[at], widest, book.ownAt("sell", asks[at]?.[0]));
      this.fillRow(this.bids[i], bids[i], bidTotals[i], widest, book.ownAt("buy", bids[i]?.[0]));
    }
    if (asks.length && bids.length) {
      const spread = asks[0][2] - bids[0][2];
      const decimals = (asks[0][0].split(".")[1] || "").length;
      this.spread.textContent = `spread ${spread.toFixed(decimals)}`;
    } else {
      this.spread.textContent = "—";
    }
  }

  fillRow(slot, level, total, widest, own) {
    const key = level ? `${level[0]}|${level[1]}|${total}|${own || ""}` : "";
    if (key === slot.key) return;
    slot.key = key;
    const { cells, row } = slot;
    if (!level) {
      row.classList.add("empty");
      row.classList.remove("own");
      row.removeAttribute("data-price");
      cells.price.textContent = cells.size.textContent = cells.total.textContent = cells.own.textContent = "";
      cells.bar.style.width = "0";
      return;
    }
    row.classList.remove("empty");
    row.classList.toggle("own", Boolean(own));
    row.dataset.price = level[0];
    cells.price.textContent = level[0];
    cells.size.textContent = level[1];
    cells.total.textContent = formatTotal(total, level[1]);
    cells.own.textContent = own ? `● ${own}` : "";
    cells.bar.style.width = `${Math.min(100, (total / widest) * 100).toFixed(1)}%`;
  }
}

// A running total with as many decimals as the sizes it adds up (display only).
function formatTotal(total, sample) {
  const decimals = (sample.split(".")[1] || "").length;
  return total.toFixed(decimals);
}
