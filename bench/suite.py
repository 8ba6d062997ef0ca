"""`make bench`: every benchmark of issue 6, the replay's of issue 12 and scale-out's of issue 13, one table.

    python bench/suite.py [--runs 3] [--quick] [--only engine,fanout,latency,connections,recovery,replay,cluster]

Each figure is the best of --runs runs (the machine has 2 cores and is shared, so the best run is
the least disturbed one); a figure and its peer or baseline are measured in the same invocation,
one right after the other. Sections that fail print the reason in the table instead of a number.
--quick runs smaller sizes (a smoke test of the harness, not figures to quote).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

Row = tuple[str, str, str, str, str, str]  # figure, measured, target, peer/baseline, ratio, met


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def engine_from_source(runs: int, ops: int) -> float | None:
    """The engine's journal-off rate with its sources instead of the compiled build (own process:
    the choice is made at import)."""
    import re
    import subprocess

    env = {**os.environ, "SANDEX_PURE_PYTHON": "1"}
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "engine.py"),
            "--ops",
            str(ops),
            "--runs",
            str(runs),
            "--no-journal",
            "--no-peers",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    found = re.search(r"journal off\s*:\s*([\d,]+) ops/s", done.stdout)
    return float(found.group(1).replace(",", "")) if found else None


def section_engine(runs: int, quick: bool) -> list[Row]:
    import engine as eb
    from peers import NOT_ADAPTED, run_peers

    ops = 60_000 if quick else 300_000
    rows: list[Row] = []
    verify = eb.verify(1)
    ok = all(good for _, good, _ in verify if True)
    setup, measured = eb.generate(ops, 1)
    # Rounds interleave sandex and the peers, so each best-of samples the same moments.
    off = None
    best: dict = {}
    for _ in range(runs):
        result = eb.run_memory(setup, measured, 1)
        if off is None or result.rate > off.rate:
            off = result
        for peer in run_peers(setup, measured):
            if peer.name not in best or peer.rate > best[peer.name].rate:
                best[peer.name] = peer
    on = eb.best_of(runs, lambda: asyncio.run(eb.run_journal(setup, measured, 1)))
    ran = [p for p in best.values() if not p.error and p.ops]
    fastest = max(ran, key=lambda p: p.rate) if ran else None
    target = 2 * fastest.rate if fastest else 0
    rows.append(
        (
            f"Engine, journal off, ops/s ({ops:,} ops; {off.trades:,} trades; events "
            f"{'verified' if ok else 'DIFFER FROM REFERENCE'})",
            fmt_rate(off.rate),
            f">= 2x fastest peer ({fmt_rate(target)})",
            f"{fastest.name} {fmt_rate(fastest.rate)}" if fastest else "none ran",
            f"{off.rate / fastest.rate:.2f}x" if fastest else "-",
            met(off.rate >= target if fastest else None),
        )
    )
    import sandex.core

    source_rate = engine_from_source(runs, ops)
    rows[-1] = (
        rows[-1][0].replace(
            "Engine, journal off",
            "Engine (compiled, mypyc), journal off"
            if sandex.core.COMPILED
            else "Engine (from source: not compiled), journal off",
        ),
        *rows[-1][1:],
    )
    if sandex.core.COMPILED and source_rate:
        rows.append(
            (
                "  same engine run from source (SANDEX_PURE_PYTHON=1)",
                fmt_rate(source_rate),
                "",
                f"compiled {fmt_rate(off.rate)}",
                f"compiled {off.rate / source_rate:.2f}x",
                "",
            )
        )
    rows.append(
        (
            "Engine, journal on (group commit, fsync), acknowledged ops/s",
            fmt_rate(on.rate),
            ">= 50,000",
            f"journal off {fmt_rate(off.rate)}",
            f"{on.rate / off.rate:.2f}x",
            met(on.rate >= 50_000),
        )
    )
    for peer in sorted(best.values(), key=lambda p: -p.rate):
        if peer.error:
            rows.append((f"  peer {peer.name} {peer.version}", "did not run", "", peer.error, "-", ""))
            continue
        trades = "n/a" if peer.trades is None else f"{peer.trades:,}"
        scope = "" if peer.ops == len(measured) else f", first {peer.ops:,} ops"
        rows.append(
            (
                f"  peer {peer.name} {peer.version} ({trades} trades{scope})",
                fmt_rate(peer.rate),
                "",
                f"sandex {fmt_rate(off.rate)}",
                f"sandex {off.rate / peer.rate:.2f}x",
                "",
            )
        )
    for name, why in NOT_ADAPTED.items():
        rows.append((f"  peer {name}", "not run", "", why, "-", ""))
    return rows


def section_fanout(runs: int, quick: bool) -> list[Row]:
    import transport

    conns = [100, 1000] if not quick else [50, 200]
    PICOWS = f"{transport.PICOWS_BURST} frames"
    result = transport.fanout(conns, seconds=3 if quick else 5, runs=runs)
    rows: list[Row] = []
    for n in conns:
        s, p, c = result[n]["sandex"], result[n]["picows"], result[n]["picows_coalesced"]
        lost = f"; {s['disconnected_during']} dropped" if s["disconnected_during"] else ""
        last = n == max(conns)
        # The transport's limit is the better of the two picows servers (same bytes, same burst;
        # one writes each frame, the other a round's frames in one call).
        limit = max(p["rate"], c["rate"])
        sim = f"sim {transport.FANOUT_SIM_RATE * 6:,} orders/s in {transport.FANOUT_SIM_TICK_MS} ms ticks"
        rows.append(
            (
                f"Fan-out, {n:,} subscribers, frames delivered/s ({sim}; avg payload "
                f"{s['avg_payload']:.0f} B{lost})",
                fmt_rate(s["rate"]),
                ">= 0.8x transport limit" if last else "",
                f"picows, {PICOWS} in one write: {fmt_rate(c['rate'])}",
                f"{s['rate'] / c['rate']:.2f}x",
                met(s["rate"] >= 0.8 * limit) if last else "",
            )
        )
        rows.append(
            (
                f"  same, beside picows writing each frame ({result[n]['frame_bytes']} B) on its own",
                "",
                "",
                f"picows, frame by frame: {fmt_rate(p['rate'])}",
                f"{s['rate'] / p['rate']:.2f}x",
                "",
            )
        )
    return rows


def section_latency(runs: int, quick: bool) -> list[Row]:
    import transport

    best = None
    for _ in range(runs):
        r = transport.latency(rate=1000, subscribers=200 if quick else 1000, seconds=5 if quick else 10)
        if best is None or r["order_update"].get("p99", 1e9) < best["order_update"].get("p99", 1e9):
            best = r
    assert best is not None
    o, t = best["order_update"], best["trades_update"]

    def pcts(d: dict) -> str:
        return f"{d['p50']:.1f} / {d['p99']:.1f} / {d['p999']:.1f} ms" if d.get("n") else "no samples"

    subs = best["subscribers"]
    missing = best["orders_without_push"] + best["error_count"]
    # The same without the subscribers: what the order path alone costs at this rate.
    alone = transport.latency(rate=1000, subscribers=0, seconds=5 if quick else 10)

    def server(d: dict) -> str:
        if not d.get("n"):
            return "no samples"
        low, high = d["p99_bucket_ms"]
        return f"{100 * d['within_5ms']:.1f} % within 5 ms; p99 in ({low:g}, {high:g}] ms"

    return [
        (
            f"Latency REST order -> own order.update, p50/p99/p999 ({best['rate_sent']:,.0f} orders/s, {subs:,} "
            f"subscribers, n={o.get('n', 0):,}{f', {missing} lost' if missing else ''})",
            pcts(o),
            "p99 <= 5 ms",
            f"no subscribers: {pcts(alone['order_update'])}",
            "-",
            met(o.get("p99", 1e9) <= 5),
        ),
        (
            "  the server's part of it (submit -> journaled, applied, push written; its /metrics "
            f"histogram, n={best['server'].get('n', 0):,}, warm-up included)",
            server(best["server"]),
            "",
            f"no subscribers: {server(alone['server'])}",
            "-",
            "",
        ),
        (
            f"Latency trade -> trades.update, p50/p99/p999 (n={t.get('n', 0):,})",
            pcts(t),
            "",
            f"no subscribers: {pcts(alone['trades_update'])}",
            "-",
            "",
        ),
    ]


def section_connections(runs: int, quick: bool) -> list[Row]:
    import transport

    conns = 2000 if quick else 10_000
    best = None
    for _ in range(runs):
        r = transport.connections(conns)
        if best is None or r["per_conn_kib"] < best["per_conn_kib"]:
            best = r
    assert best is not None
    return [
        (
            f"Memory per idle signed-in connection at {conns:,} (server RSS {best['rss_before_kib'] / 1024:.0f} -> "
            f"{best['rss_after_kib'] / 1024:.0f} MiB)",
            f"{best['per_conn_kib']:.1f} KiB",
            "<= 30 KiB",
            "",
            "-",
            met(best["per_conn_kib"] <= 30),
        )
    ]


def section_recovery(runs: int, quick: bool) -> list[Row]:
    import recovery

    events = 100_000 if quick else 1_000_000
    # The 1M-event data dir takes a while to build: keep it between runs (outside the repo).
    cache = Path(os.environ.get("SANDEX_BENCH_CACHE", Path(tempfile.gettempdir()) / "sandex-bench-cache"))
    cache.mkdir(parents=True, exist_ok=True)
    r = recovery.run(events, runs, 1, cache)
    return [
        (
            f"Recovery without snapshot ({r.commands:,} commands, {r.events:,} events, "
            f"{r.journal_bytes / 2**20:.0f} MiB journal)",
            f"{r.replay_seconds:.2f} s",
            "",
            "",
            "-",
            "",
        ),
        (
            f"Recovery from a snapshot ({r.snapshot_bytes / 2**20:.0f} MiB) of the same journal",
            f"{r.snapshot_seconds:.2f} s",
            "<= 5 s",
            f"no snapshot {r.replay_seconds:.2f} s",
            f"{r.replay_seconds / r.snapshot_seconds:.0f}x faster",
            met(r.snapshot_seconds <= 5),
        ),
    ]


def section_replay(runs: int, quick: bool) -> list[Row]:
    import replay

    result = replay.run(1 if quick else runs, 10 if quick else 100)
    peer = result.get("hftbacktest")
    peer_text = (
        "hftbacktest: "
        + (peer.error if peer.error else f"{fmt_rate(peer.rate)} ({peer.real_time:,.0f}x real time)")
        if peer is not None
        else "hftbacktest did not run"
    )
    rows: list[Row] = []
    for figure in result.figures:
        if figure.name == "hftbacktest":
            continue
        label = replay.LABELS[figure.name].format(n=result.subscribers)
        if figure.error:
            rows.append((f"Replay: {label}", "failed", "", figure.error[:120], "-", "NO"))
            continue
        aimed = figure.name in ("engine", "server")
        rows.append(
            (
                f"{'Replay, speed 0, updates/s: ' if figure.name == 'engine' else '  '}{label.strip()} "
                f"({figure.updates:,} updates, {figure.real_time:,.0f}x real time"
                f"{'; events ' + result.verified if figure.name == 'engine' else ''})",
                fmt_rate(figure.rate),
                ">= 500,000" if aimed else "",
                peer_text if not rows else "",
                replay.ratio(figure, peer),
                met(figure.rate >= 500_000) if aimed else "",
            )
        )
    return rows


def section_cluster(runs: int, quick: bool) -> list[Row]:
    """Issue 13: NATS, the engine and gateways (one run: each figure takes a whole cluster)."""
    import cluster

    return cluster.measure(quick=quick, seconds=5.0, rate=1000, subscribers=1000)


SECTIONS = {
    "engine": section_engine,
    "fanout": section_fanout,
    "latency": section_latency,
    "connections": section_connections,
    "recovery": section_recovery,
    "replay": section_replay,
    "cluster": section_cluster,
}


def render(rows: list[Row]) -> str:
    header = ("figure", "measured", "target", "peer / baseline", "ratio", "met")
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(6)]
    lines = ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |" for r in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    started = time.time()
    load = os.getloadavg()
    rows: list[Row] = []
    for name in args.only.split(","):
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        t0 = time.time()
        try:
            rows += SECTIONS[name](args.runs, args.quick)
        except Exception as exc:  # one broken section must not hide the others
            traceback.print_exc()
            rows.append((name, "failed", "", f"{type(exc).__name__}: {exc}"[:120], "-", "NO"))
        print(f"   {name} took {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    print()
    print(
        f"sandex benchmarks, {datetime.datetime.now():%Y-%m-%d %H:%M}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average at start {load[0]:.2f}; best of {args.runs} runs per figure"
        f"{' (QUICK: smaller sizes)' if args.quick else ''}; {time.time() - started:.0f} s in all"
    )
    print(render(rows))


if __name__ == "__main__":
    main()
