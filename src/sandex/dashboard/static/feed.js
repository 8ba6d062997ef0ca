// The page's end of the feed: one WebSocket to /dashboard/feed, reconnecting with backoff.
// Messages are JSON objects with `type`, `seq` (the venue's event sequence number when the
// server built it) and `ts` (the server's clock, ms).

const MIN_BACKOFF_MS = 300;
const MAX_BACKOFF_MS = 5000;

export class FeedClient {
  constructor(path, { onMessage, onOpen, onState }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onMessage = onMessage;
    this.onOpen = onOpen;
    this.onState = onState;
    this.socket = null;
    this.backoff = MIN_BACKOFF_MS;
    this.messages = 0;
    this.bytes = 0;
    this.reconnects = 0;
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.onState("connecting");
    socket.addEventListener("open", () => {
      this.backoff = MIN_BACKOFF_MS;
      this.onState("live");
      this.onOpen();
    });
    socket.addEventListener("message", (event) => {
      this.messages += 1;
      this.bytes += event.data.length;
      this.onMessage(JSON.parse(event.data));
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.onState("down");
      this.reconnects += 1;
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  send(request) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(request));
      return true;
    }
    return false;
  }
}
