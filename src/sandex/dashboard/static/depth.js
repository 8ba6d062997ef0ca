// The depth chart: cumulative size by price, prices spaced by value, drawn by uPlot (vendored).

import uPlot from "./vendor/uPlot.esm.js";

const BID = "#26a69a";

function decimalsFor(increment) {
  return increment >= 1 ? 0 : Math.min(12, Math.ceil(-Math.log10(increment) - 1e-9));
}
const ASK = "#ef5350";

export class Depth {
  constructor(container) {
    this.container = container;
    const axis = { stroke: "#9aa7b8", grid: { stroke: "#1f2935", width: 1 }, ticks: { stroke: "#243040" } };
    this.plot = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: Math.max(120, container.clientHeight),
        scales: { x: { time: false } },
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // Price ticks with as many decimals as their spacing needs (0.1487, 0.1488, not 0.149 twice).
        axes: [{ ...axis, values: (u, splits, axis, space, increment) => splits.map((v) => v.toFixed(decimalsFor(increment))) }, { ...axis, size: 76 }],
        series: [
          {},
          { label: "bids", stroke: BID, fill: "rgba(38,166,154,0.18)", width: 1.5, paths: uPlot.paths.stepped({ align: -1 }), points: { show: false } },
          { label: "asks", stroke: ASK, fill: "rgba(239,83,80,0.18)", width: 1.5, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
        ],
      },
      [[], [], []],
      container,
    );
    new ResizeObserver(() => {
      this.plot.setSize({ width: Math.max(200, container.clientWidth), height: Math.max(120, container.clientHeight) });
    }).observe(container);
  }

  paint(book) {
    const bids = book.side("bids"); // best (highest) first
    const asks = book.side("asks"); // best (lowest) first
    const xs = [];
    const bidValues = [];
    const askValues = [];
    // Bids from the deepest (lowest price) up to the best, each point the size at or above it.
    let total = 0;
    const bidTotals = bids.map((level) => (total += level[3]));
    for (let i = bids.length - 1; i >= 0; i--) {
      xs.push(bids[i][2]);
      bidValues.push(bidTotals[i]);
      askValues.push(null);
    }
    total = 0;
    for (const level of asks) {
      total += level[3];
      xs.push(level[2]);
      bidValues.push(null);
      askValues.push(total);
    }
    this.plot.setData([xs, bidValues, askValues]);
  }
}
