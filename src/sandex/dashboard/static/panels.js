// The slower panels, rebuilt from the feed's messages (at most a few times a second, and only
// when what they show changed): health strip, 24 h tickers, accounts, sessions, key blocks,
// fault profiles.

import { clock, duration, fill, h, table } from "./dom.js";

const chip = (label, value, kind = "") => h("span", { class: `chip ${kind}` }, label, " ", h("b", {}, value));

export function renderHealth(container, health) {
  const journal = health.journal;
  const journalText =
    journal.state === "off"
      ? "off (in memory)"
      : `${journal.state}${journal.halt_reason ? `: ${journal.halt_reason}` : ""} · seq ${journal.seq}` +
        (journal.commit_ms === null ? "" : ` · commit ${journal.commit_ms.toFixed(2)} ms`);
  const connections = Object.entries(health.connections).map(([dialect, n]) => `${dialect} ${n}`).join(" · ");
  fill(
    container,
    chip("up", duration(health.uptime_s)),
    h("span", { "data-testid": "health-journal" }, chip("journal", journalText, journal.state === "halted" ? "bad" : "ok")),
    h(
      "span",
      { "data-testid": "health-order-entry" },
      chip("order entry", health.order_entry ? `halted: ${health.order_entry}` : "open", health.order_entry ? "bad" : "ok"),
    ),
    chip("connections", connections || "none"),
    h("span", { "data-testid": "health-events" }, chip("events/s", health.events_per_s.toFixed(0))),
  );
}

export function renderTickers(container, tickers, selected, onSelect) {
  fill(
    container,
    tickers.map((t) => {
      const change = Number(t.change);
      return h(
        "tr",
        {
          class: t.symbol === selected ? "selected" : null,
          "data-symbol": t.symbol,
          onclick: () => onSelect(t.symbol),
        },
        h("td", {}, h("b", {}, t.symbol)),
        h("td", { class: "num" }, t.last),
        h("td", { class: `num ${change > 0 ? "up" : change < 0 ? "down" : ""}` }, `${change > 0 ? "+" : ""}${t.change}%`),
        h("td", { class: "num" }, t.high),
        h("td", { class: "num" }, t.low),
        h("td", { class: "num" }, t.volume),
        h("td", { class: "num" }, t.count),
      );
    }),
  );
}

const none = (text) => h("div", { class: "empty-note" }, text);

function balances(account) {
  const rows = [];
  for (const wallet of account.wallets) {
    for (const [currency, { free, held }] of Object.entries(wallet.balances)) {
      rows.push([account.wallets.length > 1 ? `${wallet.name} ${currency}` : currency, free, held]);
    }
  }
  if (!rows.length) return none("no balances");
  return table(["currency", "free", "held"], rows, { testid: `balances-${account.name}`, numeric: [1, 2] });
}

function orders(account) {
  if (!account.open_orders.length) return none("no open orders");
  const rows = account.open_orders
    .slice(0, 10)
    .map(([id, symbol, side, kind, price, amount, filled, status]) => [id, symbol, h("span", { class: side === "buy" ? "up" : "down" }, side), kind, price, amount, filled, status]);
  const more = account.open_order_count > rows.length ? h("div", { class: "muted small" }, `${account.open_order_count} open in all`) : null;
  return [table(["id", "market", "side", "type", "price", "amount", "filled", "status"], rows, { testid: `orders-${account.name}`, numeric: [0, 4, 5, 6] }), more];
}

function fills(account) {
  if (!account.fills.length) return none("no fills yet");
  const rows = account.fills
    .slice(0, 8)
    .map(([id, ts, symbol, side, role, price, amount, fee]) => [clock(ts), symbol, h("span", { class: side === "buy" ? "up" : "down" }, side), role, price, amount, fee]);
  return table(["time", "market", "side", "role", "price", "amount", "fee"], rows, { testid: `fills-${account.name}`, numeric: [4, 5, 6] });
}

function rejects(account) {
  if (!account.rejects.length) return none("no rejects since start");
  const rows = account.rejects.slice(0, 5).map(([ts, symbol, code, message]) => [clock(ts), symbol || "—", code, h("span", { class: "wrap" }, message)]);
  return table(["time", "market", "code", "message"], rows, { testid: `rejects-${account.name}` });
}

function tasks(account) {
  if (!account.tasks.length && !account.results.length) {
    return none(account.automation_orders ? `${account.automation_orders} automation orders waiting` : "no copy-trading tasks");
  }
  const taskRows = account.tasks.map((t) => [
    t.name,
    h("span", { class: `badge ${t.enabled ? "ok" : ""}` }, t.enabled ? "on" : "off"),
    t.targets.join(", "),
    t.last ? `${t.last[3]} ${t.last[4]} ${t.last[5]}${t.last[6] ? ` (${t.last[6]})` : ""}` : "—",
  ]);
  const resultRows = account.results.slice(0, 5).map(([ts, source, , state, side, symbol, error]) => [clock(ts), source, `${state} ${side} ${symbol}`, error || ""]);
  return [
    taskRows.length ? table(["task", "state", "follows", "last result"], taskRows, { testid: `tasks-${account.name}` }) : null,
    account.automation_orders ? h("div", { class: "muted small" }, `${account.automation_orders} automation orders waiting`) : null,
    resultRows.length ? table(["time", "source", "result", "error"], resultRows) : null,
  ];
}

export function renderAccounts(container, accounts) {
  if (!accounts.length) {
    fill(container, none("no accounts with an API key"));
    return;
  }
  fill(
    container,
    h(
      "div",
      { class: "account-grid" },
      accounts.map((account) =>
        h(
          "div",
          { class: "account", "data-testid": `account-${account.name}` },
          h(
            "div",
            { class: "account-head" },
            h("span", { class: "name" }, account.name),
            h("span", { class: "mono muted small" }, account.api_key),
            Object.keys(account.blocked).map((dialect) => h("span", { class: "badge bad" }, `blocked on ${dialect}`)),
          ),
          h(
            "div",
            { class: "account-cols" },
            h("div", {}, h("h3", {}, "Balances"), balances(account), h("h3", {}, "Copy trading and automation"), tasks(account)),
            h("div", {}, h("h3", {}, "Open orders"), orders(account), h("h3", {}, "Rejects"), rejects(account)),
            h("div", {}, h("h3", {}, "Recent fills"), fills(account)),
          ),
        ),
      ),
    ),
  );
}

const rate = (value) => (value === null ? "—" : value.toFixed(1));

export function renderSessions(container, sessions) {
  fill(
    container,
    Object.entries(sessions).map(([dialect, view]) => {
      const limits = view.limits;
      const head = h(
        "div",
        { class: "dialect-head" },
        h("span", { class: "name" }, dialect),
        h("span", {}, `${view.count} connected`),
        h(
          "span",
          { class: "muted small" },
          `limit violations: ws ${limits.ws_rate_limit_violations} · rest ${limits.rest_rate_limit_violations} · ` +
            `slow consumers cut ${limits.slow_consumer_drops} · stalled ${limits.stalled_consumer_drops}`,
        ),
      );
      const rows = view.sessions.map((s) => [
        s.peer,
        s.account ? `${s.account} (${s.key})` : s.key || "—",
        duration(s.age_s),
        h("span", { class: "wrap" }, s.topics.join(", ") || "—"),
        rate(s.in_per_s),
        rate(s.out_per_s),
        s.frames_out,
        s.violations,
        s.faults ? h("span", { class: "badge bad" }, "faults") : "",
      ]);
      return h(
        "div",
        { class: "dialect", "data-testid": `sessions-${dialect}` },
        head,
        rows.length
          ? table(["peer", "key", "age", "subscriptions", "in/s", "out/s", "frames out", "violations", ""], rows, { numeric: [4, 5, 6, 7] })
          : null,
      );
    }),
  );
}

export function renderBlocked(container, blocked, onUnblock) {
  if (!blocked.length) {
    fill(container, none("no key is blocked"));
    return;
  }
  const rows = blocked.map((b) => [
    b.dialect,
    h("span", { class: "mono" }, b.key),
    b.expires_in_s === null ? "until unblocked" : `${duration(b.expires_in_s)} left`,
    b.violations,
    h("button", { "data-testid": `unblock-${b.dialect}-${b.key}`, onclick: () => onUnblock(b.key, b.dialect) }, "Unblock"),
  ]);
  fill(container, table(["dialect", "key", "expires", "violations", ""], rows, { numeric: [3] }));
}

const PROFILE_META = new Set(["name", "dialect", "api_key", "enabled", "seed", "injected", "reject_orders_message"]);

function profileSummary(profile) {
  const parts = [];
  for (const [field, value] of Object.entries(profile)) {
    if (PROFILE_META.has(field) || !value) continue;
    if (field === "reject_orders_probability" && profile.reject_orders_code === null) continue;
    parts.push(value === true ? field : `${field}=${value}`);
  }
  return parts.join(", ") || "injects nothing";
}

export function renderFaults(container, faults, onSwitch) {
  const profiles = faults.profiles;
  const paused = faults.paused ? h("div", { class: "badge bad" }, `engine paused: ${faults.paused}`) : null;
  if (!profiles.length) {
    fill(container, paused, none("no fault profiles (add them with `sandex faults set` or [[faults]] in the config)"));
    return;
  }
  fill(
    container,
    paused,
    profiles.map((profile) => {
      const input = h("input", {
        type: "checkbox",
        "data-testid": `fault-switch-${profile.name}`,
        "aria-label": `fault profile ${profile.name}`,
        checked: profile.enabled,
        onchange: (event) => onSwitch(profile.name, event.target.checked, event.target),
      });
      const injected = Object.entries(profile.injected).map(([fault, n]) => `${fault} ${n}`).join(" · ");
      return h(
        "div",
        { class: "profile", "data-testid": `fault-${profile.name}` },
        h("label", { class: "switch" }, input, h("span", { class: "slider" })),
        h(
          "div",
          {},
          h("b", {}, profile.name),
          " ",
          h("span", { class: "muted" }, `${profile.dialect === "*" ? "every dialect" : profile.dialect}${profile.api_key ? ` · key ${profile.api_key}` : ""}`),
        ),
        h("div", { class: "what" }, profileSummary(profile), injected ? ` — injected: ${injected}` : ""),
      );
    }),
  );
}
