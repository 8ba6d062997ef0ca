// The dashboard page: the feed's messages update state as they arrive, and the page repaints
// what changed once per animation frame, however many messages came in between (a busy market
// sends up to 20 book updates a second, the screen draws 60 frames: neither waits for the other).

import { Book } from "./book.js";
import { Candles } from "./candles.js";
import { Depth } from "./depth.js";
import { $, fill, h, toast } from "./dom.js";
import { FeedClient } from "./feed.js";
import { Ladder } from "./ladder.js";
import { renderAccounts, renderBlocked, renderFaults, renderHealth, renderSessions, renderTickers } from "./panels.js";
import { ReplayPanel } from "./replay.js";
import { Tape } from "./tape.js";

const LAG_WINDOW_MS = 10_000;

const state = {
  markets: new Map(), // symbol -> market info
  intervals: [],
  symbol: null,
  interval: "1m",
  tickers: [],
  accounts: [],
  status: null,
  feed: "connecting",
};
const dirty = new Set();
const book = new Book();
const ladder = new Ladder($("ladder"));
const tape = new Tape($("tape"));
const candles = new Candles($("candles"));
const depth = new Depth($("depth"));

// What tests and bench/dashboard.py read (window.sandexDashboard.stats).
const stats = {
  messages: 0,
  gaps: 0,
  snapshots: 0,
  paints: 0,
  lastSeq: 0, // the venue's seq in the newest message applied
  marketTs: 0, // the server's clock in the newest market message applied (book, trades, bars)
  paintedTs: 0, // ... and in the newest one painted
  lagMs: 0, // at the last paint: now - paintedTs
  maxLagMs: 0, // the largest lag over the last LAG_WINDOW_MS
  lastTradeId: 0,
  lastTradeTs: 0,
  bars: 0,
};
const lags = []; // [paint time, lag]

const feed = new FeedClient("/dashboard/feed", {
  // The server's hello follows the open, and selects the market again (a snapshot follows).
  onOpen: () => book.reset(state.symbol),
  onState: (feedState) => {
    state.feed = feedState;
    dirty.add("feed");
  },
  onMessage: receive,
});

function watch(request) {
  feed.send({ op: "watch", ...request });
}

function select(symbol) {
  if (!state.markets.has(symbol) || symbol === state.symbol) return;
  state.symbol = symbol;
  history.replaceState(null, "", `#${symbol}`);
  book.reset(symbol);
  tape.reset([]);
  candles.setMarket(state.markets.get(symbol));
  $("candles-symbol").textContent = symbol;
  $("market-select").value = symbol;
  watch({ symbol, interval: state.interval });
  dirty.add("book").add("tape").add("tickers");
}

function selectInterval(interval) {
  state.interval = interval;
  for (const button of $("intervals").children) button.classList.toggle("active", button.dataset.interval === interval);
  watch({ interval });
}

function receive(message) {
  stats.messages += 1;
  if (message.seq > stats.lastSeq) stats.lastSeq = message.seq;
  switch (message.type) {
    case "hello":
      return hello(message);
    case "book":
      if (message.symbol !== state.symbol) return; // sent before the page switched market
      if (message.snapshot) stats.snapshots += 1;
      if (!book.apply(message)) {
        // A diff for a book the page does not hold: something was missed. Ask for a snapshot.
        stats.gaps += 1;
        feed.send({ op: "resync" });
        return;
      }
      stats.marketTs = Math.max(stats.marketTs, message.ts);
      dirty.add("book");
      return;
    case "trades":
      if (message.symbol !== state.symbol) return;
      if (message.snapshot) tape.reset(message.trades);
      else tape.add(message.trades);
      if (tape.trades.length) {
        stats.lastTradeId = tape.trades[0][0];
        stats.lastTradeTs = tape.trades[0][1];
      }
      stats.marketTs = Math.max(stats.marketTs, message.ts);
      dirty.add("tape");
      return;
    case "bars":
      if (message.symbol !== state.symbol || message.interval !== state.interval) return;
      candles.receive(message);
      stats.marketTs = Math.max(stats.marketTs, message.ts);
      dirty.add("candles");
      return;
    case "tickers":
      state.tickers = message.tickers;
      dirty.add("tickers");
      return;
    case "accounts":
      state.accounts = message.accounts;
      dirty.add("accounts");
      return;
    case "status":
      state.status = message;
      dirty.add("status");
      return;
    case "error":
      toast(message.message);
      return;
  }
}

function hello(message) {
  state.markets = new Map(message.markets.map((m) => [m.symbol, m]));
  state.intervals = message.intervals;
  const picker = $("market-select");
  fill(picker, message.markets.map((m) => h("option", { value: m.symbol }, m.symbol)));
  picker.onchange = () => select(picker.value);
  fill(
    $("intervals"),
    message.intervals.map((interval) =>
      h(
        "button",
        {
          class: interval === state.interval ? "active" : null,
          dataset: { interval },
          "data-testid": `interval-${interval}`,
          onclick: () => selectInterval(interval),
        },
        interval,
      ),
    ),
  );
  const wanted = decodeURIComponent(location.hash.slice(1));
  const symbol = state.markets.has(wanted) ? wanted : state.symbol && state.markets.has(state.symbol) ? state.symbol : message.markets[0]?.symbol;
  state.symbol = null;
  if (symbol) select(symbol);
}

// -- writes: the same operations as `sandex keys` / `sandex faults`, behind the operator guard --

async function write(path, body = {}) {
  let response;
  try {
    response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (error) {
    toast(`request failed: ${error}`);
    return null;
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    toast(answer.error || `HTTP ${response.status}`);
    return null;
  }
  return answer;
}

async function unblock(key, dialect) {
  const done = await write(`/dashboard/api/keys/${encodeURIComponent(key)}/unblock?dialect=${encodeURIComponent(dialect)}`);
  if (done) toast(`${key} unblocked on ${done.unblocked.join(", ") || "no dialect (it was not blocked)"}`, "info");
}

async function switchFault(name, enabled, input) {
  input.disabled = true;
  const done = await write(`/dashboard/api/faults/${encodeURIComponent(name)}/${enabled ? "enable" : "disable"}`);
  input.disabled = false;
  if (!done) {
    input.checked = !enabled;
    return;
  }
  state.status = { ...state.status, faults: done };
  dirty.add("status");
}

// The replay's controls: the same operations as `sandex replay pause|resume|speed|seek`.
async function replayWrite(action, body = {}) {
  const done = await write(`/dashboard/api/replay/${action}`, body);
  if (!done) return;
  state.status = { ...state.status, replay: done };
  dirty.add("status");
}

const replay = new ReplayPanel($("replay").closest("section"), $("replay"), {
  onPause: () => replayWrite("pause"),
  onResume: () => replayWrite("resume"),
  onSpeed: (speed) => replayWrite("speed", { speed }),
  onSeek: (time) => replayWrite("seek", { time }),
});

// -- painting, once per frame ---------------------------------------------------------------

function paint() {
  const now = Date.now();
  const painted = dirty.size > 0;
  if (dirty.has("book")) {
    ladder.paint(book);
    depth.paint(book);
  }
  if (dirty.has("tape")) tape.paint();
  if (dirty.has("candles") && candles.paint()) stats.bars = candles.count;
  if (dirty.has("tickers")) renderTickers($("tickers"), state.tickers, state.symbol, select);
  if (dirty.has("accounts")) renderAccounts($("accounts"), state.accounts);
  if (dirty.has("status") && state.status) {
    renderHealth($("health"), state.status.health);
    renderSessions($("sessions"), state.status.sessions);
    renderBlocked($("blocked"), state.status.blocked, unblock);
    renderFaults($("faults"), state.status.faults, switchFault);
    replay.update(state.status.replay ?? null);
  }
  replay.tick(now);
  if (stats.marketTs && (dirty.has("book") || dirty.has("tape") || dirty.has("candles"))) {
    stats.paintedTs = stats.marketTs;
    stats.lagMs = now - stats.paintedTs;
    lags.push([now, stats.lagMs]);
  }
  while (lags.length && lags[0][0] < now - LAG_WINDOW_MS) lags.shift();
  stats.maxLagMs = lags.reduce((most, [, lag]) => Math.max(most, lag), 0);
  if (painted || dirty.has("feed")) {
    const feedState = $("feed-state");
    feedState.className = `feed-state ${state.feed}`;
    feedState.textContent =
      state.feed === "live" ? `live · seq ${stats.lastSeq} · lag ${stats.lagMs} ms` : state.feed === "down" ? "disconnected, retrying…" : "connecting…";
  }
  if (painted) stats.paints += 1;
  dirty.clear();
  requestAnimationFrame(paint);
}

window.sandexDashboard = { stats, state, book, tape, candles, lags, receive, replay };
feed.connect();
requestAnimationFrame(paint);
