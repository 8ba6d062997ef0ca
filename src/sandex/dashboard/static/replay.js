// The Replay panel: shown only while the venue replays a recording (the status message's
// `replay` is null otherwise). Built once and then updated in place, so a drag on the time
// slider is never undone by the next status message. Between status messages (one a second)
// the clock is carried forward locally at the replay's speed, as the venue's own clock runs.

import { h } from "./dom.js";

const SPEEDS = [0.5, 1, 2, 5, 10, 30, 60, 0]; // 0: as fast as the venue can
const speedLabel = (speed) => (speed === 0 ? "max" : `${speed}×`);
const pad = (n) => String(n).padStart(2, "0");

// A recording time in UTC, to the second (the candles' axis and the tape show UTC too).
export function stamp(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export class ReplayPanel {
  constructor(section, container, { onPause, onResume, onSpeed, onSeek }) {
    this.section = section;
    this.status = null;
    this.receivedAt = 0;
    this.dragging = false;
    this.state = h("span", { class: "badge", "data-testid": "replay-state" });
    this.clock = h("span", { class: "replay-clock mono", "data-testid": "replay-clock" });
    this.play = h("button", { "data-testid": "replay-play", "aria-label": "play", onclick: () => onResume() }, "▶ Play");
    this.pause = h("button", { "data-testid": "replay-pause", "aria-label": "pause", onclick: () => onPause() }, "❚❚ Pause");
    this.speed = h("select", { "data-testid": "replay-speed", "aria-label": "replay speed", onchange: () => onSpeed(Number(this.speed.value)) });
    this.slider = h("input", {
      type: "range",
      class: "replay-slider",
      step: "1",
      "data-testid": "replay-slider",
      "aria-label": "replay time",
      oninput: () => {
        this.dragging = true;
        this.clock.textContent = stamp(Number(this.slider.value));
      },
      onchange: () => {
        // Held at the chosen time until the venue answers, not pulled back by a status message
        // built before the seek.
        Promise.resolve(onSeek(Number(this.slider.value))).finally(() => (this.dragging = false));
      },
    });
    this.start = h("span", { class: "muted small mono", "data-testid": "replay-start" });
    this.end = h("span", { class: "muted small mono", "data-testid": "replay-end" });
    container.replaceChildren(
      h("div", { class: "replay-row" }, this.state, this.clock),
      h("div", { class: "replay-row" }, this.play, this.pause, h("label", { class: "muted" }, "speed ", this.speed)),
      this.slider,
      h("div", { class: "replay-range" }, this.start, this.end),
    );
  }

  // A status message's `replay` (or a write's answer): null hides the panel.
  update(replay, now = Date.now()) {
    this.section.hidden = replay === null;
    this.status = replay;
    this.receivedAt = now;
    if (replay === null) return;
    this.state.textContent = replay.state;
    this.state.className = `badge ${replay.state === "playing" ? "ok" : replay.state === "finished" ? "" : "bad"}`;
    this.play.disabled = replay.state !== "paused";
    this.pause.disabled = replay.state !== "playing";
    const speeds = SPEEDS.includes(replay.speed) ? SPEEDS : [...SPEEDS, replay.speed].sort((a, b) => (a || Infinity) - (b || Infinity));
    if (this.speed.options.length !== speeds.length) {
      this.speed.replaceChildren(...speeds.map((s) => h("option", { value: String(s) }, speedLabel(s))));
    }
    this.speed.value = String(replay.speed);
    this.slider.min = String(replay.start_ms);
    this.slider.max = String(replay.end_ms);
    this.start.textContent = stamp(replay.start_ms);
    this.end.textContent = stamp(replay.end_ms);
    this.tick(now);
  }

  // The replay clock now: the last status's, carried forward while playing at a finite speed.
  timeAt(now) {
    const r = this.status;
    if (r.state !== "playing" || r.speed === 0) return r.time_ms;
    return Math.min(r.time_ms + (now - this.receivedAt) * r.speed, Math.max(r.end_ms, r.time_ms));
  }

  // Called every animation frame; touches the DOM only when the shown second changes.
  tick(now = Date.now()) {
    if (this.status === null || this.dragging) return;
    const time = Math.floor(this.timeAt(now));
    const text = stamp(time);
    if (this.clock.textContent !== text) {
      this.clock.textContent = text;
      this.slider.value = String(time);
    }
  }
}
