"""The dashboard: the venue at a glance in a browser, at `/dashboard` on the venue's port.

- `feed`: the venue listener and the rounds that build each tab's JSON messages (no I/O);
- `views`, `status`: what the page shows of the venue, as plain JSON values;
- `routes`: the page, its files, the feed socket and the writes, behind the operator guard
  (the only aiohttp module here);
- `static/`: the page itself, plain ES modules with no build step, and the vendored chart
  libraries (`static/vendor/VENDORED.md`).
"""
