// The trade tape: newest first, a fixed number of rows rewritten in place. Trades are
// identified by id, so a trade the snapshot and a round both carry is shown once.

import { clock, h } from "./dom.js";

export const TAPE_ROWS = 40;

export class Tape {
  constructor(container) {
    this.trades = []; // newest first: [id, ts, price, amount, taker side, own account]
    this.lastId = 0;
    this.rows = Array.from({ length: TAPE_ROWS }, () => {
      const cells = [h("span", { class: "price" }), h("span", { class: "num" }), h("span", { class: "num muted" })];
      return { row: h("div", { class: "tape-row" }, cells), cells, id: -1 };
    });
    container.replaceChildren(...this.rows.map((r) => r.row));
  }

  reset(trades) {
    this.trades = [];
    this.lastId = 0;
    this.add(trades);
  }

  // `trades` oldest first, as the feed sends them.
  add(trades) {
    for (const trade of trades) {
      if (trade[0] <= this.lastId) continue;
      this.lastId = trade[0];
      this.trades.unshift(trade);
    }
    if (this.trades.length > TAPE_ROWS) this.trades.length = TAPE_ROWS;
  }

  paint() {
    for (let i = 0; i < TAPE_ROWS; i++) {
      const slot = this.rows[i];
      const trade = this.trades[i];
      const id = trade ? trade[0] : -1;
      if (slot.id === id) continue;
      slot.id = id;
      if (!trade) {
        slot.row.className = "tape-row";
        slot.row.removeAttribute("data-trade-id");
        for (const cell of slot.cells) cell.textContent = "";
        continue;
      }
      slot.row.className = `tape-row ${trade[4]}${trade[5] ? " own" : ""}`;
      slot.row.dataset.tradeId = String(trade[0]);
      slot.row.title = trade[5] ? `${trade[5]}'s trade` : "";
      slot.cells[0].textContent = trade[2];
      slot.cells[1].textContent = trade[3];
      slot.cells[2].textContent = clock(trade[1]);
    }
  }
}
