"""Scale-out over NATS JetStream (issue 13): one engine, any number of stateless gateways.

- `wire`      subjects, the stream, and the typed messages both sides exchange;
- `engine`    the engine process's side (`sandex serve --bus`): publishes every committed batch
              of journal rows, fenced by JetStream's expected-last-sequence, answers commands,
              snapshots and journal reads by request/reply, and keeps its latest state in an
              object store (for a gateway that starts while the engine is down);
- `follower`  a gateway's copy of the venue: a `Venue` that applies the engine's journal rows
              (the engine is deterministic, so the same rows give the same state and events),
              forwards `submit` to the engine, and knows when its book is stale (refilling);
- `gateway`   a gateway's side of the bus: the snapshot, the stream, gap refills, the commands;
- `keys`      API key blocks shared by every process on the bus;
- `budgets`   rate-limit budgets shared by every process: a key's budget is the key's;
- `metrics`   the bus's counters and gauges on each process's `/metrics`.

The dialects run unchanged on a gateway: they see a `Venue` either way.
"""
