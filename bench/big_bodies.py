#!/usr/bin/env python3
"""Health latency while 9 MiB webhook bodies arrive (issue 13, item 5).

    .venv/bin/python bench/big_bodies.py [--senders 4] [--rounds 3] [--labels 150]
                                         [--chars 60000] [--idle-seconds 3] [--backend sqlite]

A fresh `alertrouter serve` with the default limits (SQLite file, or a throwaway PostgreSQL
database). A poller thread GETs `/-/healthy` every 10 ms on a keep-alive connection, first with
no other load (the baseline, same run), then while --senders threads each POST --rounds bodies
of one alert with --labels labels of --chars characters and no `fingerprint` (the server
computes it). Prints the answers' statuses, how many of the alerts were stored, and the health
latency p50/p99/max with and without the big bodies and their ratio. Target: health p99 under
load < 100 ms, every big body answered 200.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
try:
    import aiohttp  # noqa: F401  (only to find the project's virtualenv)
except ImportError:  # re-run under the project's virtualenv
    if (VENV / "bin/python").exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), *sys.argv])
    raise
sys.path.insert(0, str(ROOT))

from bench.ingest import free_port, new_storage, percentile  # noqa: E402
from tests.integration.processes import ServeProcess, http_status  # noqa: E402
from tests.payloads import big_alert, payload  # noqa: E402

TARGET_P99_MS = 100.0
INGEST_PATH = "/api/v1/alertmanager"


class HealthPoller(threading.Thread):
    """GET /-/healthy every `interval` seconds on one keep-alive connection; latencies in ms
    with the time each request started."""

    def __init__(self, port: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self._port = port
        self._interval = interval
        self._stopping = threading.Event()
        self.samples: list[tuple[float, float]] = []
        self.failures = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)
        while not self._stopping.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", "/-/healthy")
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)
                ok = False
            elapsed = time.perf_counter() - started
            if ok:
                self.samples.append((started, elapsed * 1000))
            else:
                self.failures += 1
            self._stopping.wait(max(0.0, self._interval - elapsed))
        conn.close()

    def between(self, start: float, end: float) -> list[float]:
        return sorted(ms for at, ms in self.samples if start <= at <= end)

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def post(port: int, body: bytes) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        conn.request("POST", INGEST_PATH, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started
    finally:
        conn.close()


def config_text(port: int, storage_url: str, group_wait: str) -> str:
    return f"""
server:
  listen: 127.0.0.1:{port}
  log_level: warning
storage:
  url: '{storage_url}'
route:
  receiver: default
  group_by: [instance]  # one group per alert (each big body has its own instance)
  group_wait: {group_wait}
receivers:
  - name: default
"""


def summary(label: str, values: Sequence[float]) -> str:
    if not values:
        return f"  {label:<20} no samples"
    return (
        f"  {label:<20} n={len(values):<4} p50 {percentile(values, 50):7.1f} ms  "
        f"p90 {percentile(values, 90):7.1f} ms  p99 {percentile(values, 99):7.1f} ms  "
        f"max {max(values):7.1f} ms"
    )


def run(ns: argparse.Namespace, workdir: Path) -> bool:
    storage = new_storage(ns.backend, workdir, ns.pg_url, "big")
    try:
        return _measure(ns, workdir, storage.url, storage.count_alerts)
    finally:
        storage.drop()


def _measure(
    ns: argparse.Namespace, workdir: Path, storage_url: str, count: Callable[[], int | None]
) -> bool:
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(config_text(port, storage_url, ns.group_wait))
    bodies = [
        [
            json.dumps(payload(big_alert(f"s{s}r{r}", labels=ns.labels, chars=ns.chars))).encode()
            for r in range(ns.rounds)
        ]
        for s in range(ns.senders)
    ]
    size_mib = len(bodies[0][0]) / 2**20
    with ServeProcess(config, workdir / "alertrouter.log") as server:
        server.wait_for(lambda: http_status(f"http://127.0.0.1:{port}/-/ready") == 200, "ready")
        poller = HealthPoller(port)
        poller.start()
        idle_start = time.perf_counter()
        time.sleep(ns.idle_seconds)
        idle = poller.between(idle_start, time.perf_counter())

        results: list[tuple[int, float]] = []

        def send(own: list[bytes]) -> None:
            for body in own:
                results.append(post(port, body))

        senders = [threading.Thread(target=send, args=(own,)) for own in bodies]
        load_start = time.perf_counter()
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join()
        load_end = time.perf_counter()
        time.sleep(ns.tail_seconds)
        load = poller.between(load_start, load_end)
        tail = poller.between(load_end, time.perf_counter())
        poller.stop()
        stored = count()

    statuses = Counter(status for status, _ in results)
    expected = ns.senders * ns.rounds
    print(
        f"{ns.backend}: {ns.senders} senders x {ns.rounds} bodies of {size_mib:.2f} MiB "
        f"(one alert, {ns.labels} labels of {ns.chars:,} characters, no fingerprint)"
    )
    print(f"  answers: {dict(sorted(statuses.items()))}; stored alerts: {stored}/{expected}")
    post_ms = sorted(seconds * 1000 for _, seconds in results)
    print(summary("POST latency", post_ms))
    print("health (/-/healthy every 10 ms):")
    print(summary("idle (baseline)", idle))
    print(summary("during big bodies", load))
    print(summary(f"{ns.tail_seconds:g} s after them", tail))
    if poller.failures:
        print(f"  health failures: {poller.failures}")
    ok = bool(idle and load) and statuses == Counter({200: expected}) and stored == expected
    if idle and load:
        ratio = percentile(load, 99) / percentile(idle, 99)
        print(f"  ratio under load / idle: p99 {ratio:.1f}x, max {max(load) / max(idle):.1f}x")
        verdict = percentile(load, 99) < TARGET_P99_MS
        ok &= verdict
        print(
            f"  {'PASS' if verdict else 'MISS'}  health p99 under load "
            f"{percentile(load, 99):.1f} ms (target < {TARGET_P99_MS:g} ms)"
        )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=4, help="concurrent big-body clients")
    parser.add_argument("--rounds", type=int, default=3, help="bodies per sender, one at a time")
    parser.add_argument("--labels", type=int, default=150)
    parser.add_argument("--chars", type=int, default=60_000, help="characters per label value")
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--group-wait", default="30s", help="0s: each alert's group flushes (opens an incident)"
    )
    parser.add_argument("--tail-seconds", type=float, default=2.0, help="polling after the POSTs")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alertrouter-big-") as tmp:
        ok = run(ns, Path(tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
