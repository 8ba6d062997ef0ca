// Candlesticks with volume, drawn by TradingView's Lightweight Charts (standalone production
// build, vendored). Its attribution logo stays on: it is the link to tradingview.com that the
// library's licence asks for, on the chart itself.

import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  createChart,
} from "./vendor/lightweight-charts.standalone.production.mjs";

const UP = "#26a69a";
const DOWN = "#ef5350";

export class Candles {
  constructor(container) {
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: "#161d26" },
        textColor: "#9aa7b8",
        attributionLogo: true,
      },
      grid: { vertLines: { color: "#1f2935" }, horzLines: { color: "#1f2935" } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#243040" },
      timeScale: { borderColor: "#243040", timeVisible: true, secondsVisible: false },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" },
      priceScaleId: "volume",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
    this.pending = null; // {snapshot, bars}: what the next paint draws
    this.lastTime = 0;
    this.count = 0;
  }

  setMarket(market) {
    const precision = market.price_precision;
    this.candles.applyOptions({
      priceFormat: { type: "price", precision, minMove: Number(`1e-${precision}`) },
    });
  }

  // Bars arrive as [open time ms, open, high, low, close, volume, trades]; several messages may
  // arrive between two frames, so they are merged here and drawn once.
  receive(message) {
    if (message.snapshot) this.pending = { snapshot: true, bars: new Map() };
    else if (!this.pending) this.pending = { snapshot: false, bars: new Map() };
    for (const bar of message.bars) this.pending.bars.set(bar[0], bar);
  }

  paint() {
    const pending = this.pending;
    if (!pending) return false;
    this.pending = null;
    const bars = [...pending.bars.values()].sort((a, b) => a[0] - b[0]);
    const candles = bars.map(toCandle);
    const volumes = bars.map(toVolume);
    if (pending.snapshot) {
      this.candles.setData(candles);
      this.volume.setData(volumes);
      this.count = candles.length;
      this.lastTime = candles.length ? candles[candles.length - 1].time : 0;
      this.chart.timeScale().scrollToRealTime();
      return true;
    }
    for (let i = 0; i < candles.length; i++) {
      if (candles[i].time < this.lastTime) continue; // older than what is drawn: already final
      if (candles[i].time > this.lastTime) this.count += 1;
      this.candles.update(candles[i]);
      this.volume.update(volumes[i]);
      this.lastTime = candles[i].time;
    }
    return true;
  }
}

function toCandle(bar) {
  return { time: bar[0] / 1000, open: Number(bar[1]), high: Number(bar[2]), low: Number(bar[3]), close: Number(bar[4]) };
}

function toVolume(bar) {
  return { time: bar[0] / 1000, value: Number(bar[5]), color: Number(bar[4]) >= Number(bar[1]) ? "rgba(38,166,154,0.5)" : "rgba(239,83,80,0.5)" };
}
