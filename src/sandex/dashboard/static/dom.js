// Small DOM helpers. Every text the venue sends (account names, keys, reject messages, fault
// names) goes in as a text node, never as HTML.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function $(id) {
  return document.getElementById(id);
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

// Times are shown in UTC, as the candles' time axis shows them.
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hh}h`;
  if (hh) return `${hh}h ${pad(mm)}m`;
  return `${mm}m ${pad(s % 60)}s`;
}

// A table with a header row; `rows` are arrays of cells (a Node or a value; a value that looks
// like a number is right-aligned).
export function table(head, rows, { testid, numeric = [] } = {}) {
  const numericSet = new Set(numeric);
  return h(
    "table",
    { class: "grid", "data-testid": testid },
    h("thead", {}, h("tr", {}, head.map((name, i) => h("th", { class: numericSet.has(i) ? "num" : null }, name)))),
    h(
      "tbody",
      {},
      rows.map((cells) =>
        h("tr", {}, cells.map((cell, i) => h("td", { class: numericSet.has(i) ? "num" : null }, cell))),
      ),
    ),
  );
}

// Replaces a container's children with `nodes`.
export function fill(container, ...nodes) {
  container.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

let toastTimer = 0;
export function toast(message, kind = "error") {
  const el = $("toast");
  el.textContent = message;
  el.className = `toast show ${kind === "info" ? "info" : ""}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = "toast"), 4000);
}
