#!/usr/bin/env python3
"""Ingest throughput with one serving worker and with two, in the same run, and their ratio.

    .venv/bin/python bench/workers.py [--backend postgresql|sqlite|both] [--rounds 2]
                                      [--scenarios 1,100] [--duration 10]

For each backend and scenario (alerts per webhook payload), a fresh `alertrouter serve` with
`server.workers: 1`, then one with `server.workers: 2`, each on an empty database, takes the
closed-loop load of bench/ingest.py (wrk, the same bodies, the same mix) for a warm-up and
then --duration seconds. With --rounds N the pair runs N times, alternating, so a drift of the
machine's speed shows as spread instead of as a difference between the two. The script prints
each pass, then per scenario the median of each and the ratio two ÷ one.

Other options (--concurrency, --warmup, --client, --pg-url, --wait-idle, ...) are
bench/ingest.py's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # bench/ingest.py (it re-runs itself under .venv/bin/python)

WORKER_COUNTS = (1, 2)


def parse_args(argv: Sequence[str] | None) -> tuple[int, argparse.Namespace]:
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--help", "-h", action="store_true")
    own, rest = ap.parse_known_args(argv)
    if own.help:
        print(__doc__)
        sys.exit(0)
    if own.rounds < 1:
        ap.error("--rounds: at least 1")
    if not any(a.startswith("--backend") for a in rest):
        rest = ["--backend", "postgresql", *rest]
    ns = ingest.parse_args([*rest, "--no-paced"])
    return own.rounds, ns


def main(argv: Sequence[str] | None = None) -> int:
    rounds, ns = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="alertrouter-bench-workers-"))
    bench = ingest.Bench(ns, workdir)
    rows: list[str] = []
    summary: list[str] = []
    try:
        for backend in ns.backends:
            bench.current_backend = backend
            for k in ns.scenarios:
                rates: dict[int, list[float]] = {n: [] for n in WORKER_COUNTS}
                for round_ in range(rounds):
                    for workers in WORKER_COUNTS:
                        ns.workers = workers
                        result = ingest.ScenarioResult(backend, k)
                        bench.run_alertrouter(result)
                        run = result.alertrouter
                        assert run is not None
                        rates[workers].append(run.rps * k)
                        rows.append(
                            f"{backend:>10} {k:>7} {round_ + 1:>5} {workers:>7} "
                            f"{run.rps * k:>10,.0f} {run.p99_ms:>7.1f} {run.non200:>7} "
                            f"{run.machine_cpu:>8.0%} {run.loadgen_cpu:>8.0%}"
                        )
                        bench.log(rows[-1])
                one, two = (statistics.median(rates[n]) for n in WORKER_COUNTS)
                summary.append(
                    f"{backend:>10} {k:>7} {one:>12,.0f} {two:>12,.0f} {two / one:>8.2f}x"
                    f"   (one: {_spread(rates[1])}; two: {_spread(rates[2])})"
                )
            for storage in bench.storages:
                storage.drop()
            bench.storages.clear()
    except ingest.HarnessError as exc:
        print(f"\nharness failure: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"machine: {ingest.machine_description()}; client {ns.client}, {ns.duration:g}s passes")
    print("   backend payload round workers   alerts/s  p99 ms non-200  machine  loadgen")
    print("\n".join(rows))
    print("\nmedian alerts/s, one worker and two, and the ratio two / one")
    print("    backend payload          one          two    ratio")
    print("\n".join(summary))
    for warning in dict.fromkeys(bench.warnings):
        print(f"warning: {warning}")
    return 0


def _spread(values: list[float]) -> str:
    return "–".join(f"{v:,.0f}" for v in (min(values), max(values)))


if __name__ == "__main__":
    sys.exit(main())
