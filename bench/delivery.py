#!/usr/bin/env python3
"""Delivery from a deep backlog: how fast `alertrouter serve` drains a queued outbox, against what
the receiver allows, and how long a killed replica's messages wait for another one.

    .venv/bin/python bench/delivery.py [--backend sqlite|postgresql|both] [--messages 2000]
                                       [--shapes many,long] [--replicas 1,2] [--no-takeover]

For each backend, shape and replica count: a fresh database gets --messages webhook messages
queued straight into the outbox (bench/backlog.py), over many incidents (`many`: --streams, as
a storm queues them) or a few long ones (`long`: --long-streams; a stream's rows go out in
order, one at a time). Then 1 or 2 `alertrouter serve` processes (notifications.concurrency
webhook --slots each, timeout --timeout) drain it into a loopback receiver that answers each
POST after --latency seconds and counts the requests open at once.

N, the requests that can be open at once, is min(replicas x slots, streams); L the latency.
The ideal drain rate is N / L. In the same invocation, before each case, an asyncio client
keeps N requests open against the same receiver (the baseline: what this machine achieves
at N / L). Printed per case: drain rate (messages / first request to last answer), the steady
rate (middle 80 % of the requests), max and mean open requests, the replicas' CPU, and the
ratio drain / baseline and drain / ideal. PASS when drain / baseline >= 0.7.

Takeover (PostgreSQL and SQLite, many streams, 2 replicas): one replica is SIGKILLed once half
the messages have arrived. Its claimed rows (attempts >= 2 at the end) wait for their lease;
printed: how long they waited after the kill before the other replica sent them, that none
was lost, and that the messages received twice are among them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH.parent / ".venv"
try:
    import aiohttp  # noqa: F401
except ImportError:  # re-run under the project's virtualenv
    if (VENV / "bin/python").exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), *sys.argv])
    raise
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from backlog import (  # noqa: E402
    HarnessError,
    Receiver,
    Replica,
    Storage,
    baseline,
    fill,
    new_storage,
    replica_config,
)
from ingest import machine_cpu_ticks, machine_description, process_cpu_seconds  # noqa: E402

TARGET = 0.7
REPLICA_NAMES = ("a", "b")


@dataclass
class Case:
    backend: str
    shape: str
    replicas: int
    streams: int
    slots: int

    @property
    def n(self) -> int:
        return min(self.replicas * self.slots, self.streams)


@dataclass
class Drain:
    delivered: int
    seconds: float
    steady: float
    open_max: int
    open_mean: float
    replica_cpu: float  # cores
    machine_cpu: float  # cores
    complete: bool

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Takeover:
    killed_open: int  # requests of the killed replica open at the kill
    taken_over: int  # rows it had claimed that the other replica sent
    waits: list[float]  # seconds from the kill to each of those being sent again
    duplicates: int
    duplicates_among_taken: bool
    lost: int


class Bench:
    def __init__(self, ns: argparse.Namespace, workdir: Path) -> None:
        self.ns = ns
        self.workdir = workdir
        self.receiver = Receiver(ns.latency)
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        print(line, flush=True)

    async def storage(self, backend: str, label: str, streams: int) -> Storage:
        storage = await new_storage(backend, self.workdir, self.ns.pg_url, label)
        await fill(storage.url, self.ns.messages, streams)
        return storage

    def start(self, storage: Storage, count: int, label: str) -> list[Replica]:
        replicas = []
        for name in REPLICA_NAMES[:count]:
            config = self.workdir / f"{label}-{name}.yaml"
            port = replica_config(
                config, storage.url, self.receiver.url(name), self.ns.timeout, self.ns.slots
            )
            replicas.append(Replica(name, config, port, self.workdir / f"{label}-{name}.log"))
        return replicas

    async def drain(self, case: Case, label: str) -> Drain:
        storage = await self.storage(case.backend, label, case.streams)
        self.receiver.reset()
        busy0, total0 = machine_cpu_ticks()
        replicas = self.start(storage, case.replicas, label)
        cpu0 = {r.name: process_cpu_seconds(r.proc.pid) for r in replicas}
        try:
            await asyncio.gather(*(r.ready() for r in replicas))
            complete = await self.until_drained(storage)
            cpu = sum(process_cpu_seconds(r.proc.pid) - cpu0[r.name] for r in replicas)
            busy1, total1 = machine_cpu_ticks()
        finally:
            for replica in replicas:
                await replica.stop()
            await storage.drop()
        receipts = self.receiver.receipts
        first = min(r.started for r in receipts)
        last = max(r.ended for r in receipts)
        seconds = last - first
        starts = sorted(r.started for r in receipts)
        lo, hi = starts[len(starts) // 10], starts[len(starts) * 9 // 10]
        return Drain(
            delivered=self.receiver.distinct(),
            seconds=seconds,
            steady=(len(starts) * 8 // 10) / (hi - lo) if hi > lo else 0.0,
            open_max=self.receiver.open_max,
            open_mean=self.receiver.open_area() / seconds if seconds else 0.0,
            replica_cpu=cpu / seconds if seconds else 0.0,
            machine_cpu=(busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1),
            complete=complete,
        )

    async def until_drained(self, storage: Storage) -> bool:
        deadline = time.monotonic() + self.ns.max_wait
        while time.monotonic() < deadline:
            if self.receiver.distinct() >= self.ns.messages and not await storage.pending():
                return True
            await asyncio.sleep(0.1)
        return False

    async def takeover(self, backend: str) -> Takeover:
        storage = await self.storage(backend, "takeover", self.ns.streams)
        self.receiver.reset()
        replicas = self.start(storage, 2, "takeover")
        killed, survivor = replicas
        try:
            await asyncio.gather(*(r.ready() for r in replicas))
            deadline = time.monotonic() + self.ns.max_wait
            while self.receiver.distinct() < self.ns.messages // 2:
                if time.monotonic() > deadline:
                    raise HarnessError("takeover: half the backlog not delivered in time")
                await asyncio.sleep(0.01)
            killed_open = self.receiver.open_by.get(killed.name, 0)
            killed.kill()
            killed_at = time.monotonic()
            await self.until_drained(storage)
            attempts = await storage.attempts()
        finally:
            for replica in replicas:
                await replica.stop()
            await storage.drop()
        taken = {seq for seq, n in attempts.items() if n >= 2}
        counts = Counter(r.seq for r in self.receiver.receipts)
        duplicates = {seq for seq, n in counts.items() if n > 1}
        waits = []
        for seq in taken:
            again = [
                r.started
                for r in self.receiver.receipts
                if r.seq == seq and r.sender == survivor.name and r.started >= killed_at
            ]
            if again:
                waits.append(min(again) - killed_at)
        return Takeover(
            killed_open=killed_open,
            taken_over=len(taken),
            waits=sorted(waits),
            duplicates=sum(counts[seq] - 1 for seq in duplicates),
            duplicates_among_taken=duplicates <= taken,
            lost=self.ns.messages - len(counts),
        )


def row(case: Case, base: float, drain: Drain, ideal: float) -> str:
    ratio = drain.rate / base if base else 0.0
    verdict = "PASS" if ratio >= TARGET and drain.complete else "MISS"
    partial = "" if drain.complete else f" (only {drain.delivered} drained)"
    return (
        f"{case.backend:>10} {case.shape:>5} {case.replicas:>3} {case.n:>3} {ideal:>7.0f} "
        f"{base:>8.0f} {drain.rate:>7.1f} {drain.steady:>7.1f} {drain.open_max:>4} "
        f"{drain.open_mean:>5.1f} {drain.replica_cpu:>6.0%} {drain.machine_cpu:>6.0%} "
        f"{ratio:>6.2f} {drain.rate / ideal:>6.2f}  {verdict}{partial}"
    )


HEADER = (
    "   backend shape rep   N  N/L/s  base/s  drain/s steady/s max  mean  r.cpu  m.cpu /base /ideal"
)


async def run(ns: argparse.Namespace, workdir: Path) -> int:
    bench = Bench(ns, workdir)
    await bench.receiver.start()
    rows: list[str] = []
    takeovers: list[str] = []
    try:
        for backend in ns.backends:
            for shape in ns.shapes:
                streams = ns.streams if shape == "many" else ns.long_streams
                for replicas in ns.replicas:
                    case = Case(backend, shape, replicas, streams, ns.slots)
                    bench.receiver.reset()
                    base = await baseline(bench.receiver, ns.baseline_messages, case.n)
                    label = f"{shape}{replicas}"
                    drain = await bench.drain(case, label)
                    rows.append(row(case, base, drain, case.n / ns.latency))
                    bench.say(rows[-1])
            if ns.takeover:
                result = await bench.takeover(backend)
                takeovers.append(takeover_line(backend, result))
                bench.say(takeovers[-1])
    except HarnessError as exc:
        print(f"\nharness failure: {exc}", file=sys.stderr)
        return 1
    finally:
        await bench.receiver.close()
    print(f"\nmachine: {machine_description()}; load average {os.getloadavg()[0]:.2f}")
    print(
        f"{ns.messages} messages, latency {ns.latency * 1000:.0f} ms, {ns.slots} webhook slots "
        f"per replica, timeout {ns.timeout}; PASS: drain >= {TARGET} x baseline"
    )
    print(HEADER)
    print("\n".join(rows))
    if takeovers:
        print("\ntakeover (2 replicas, one SIGKILLed at half the backlog)")
        print("\n".join(takeovers))
    return 0


def takeover_line(backend: str, t: Takeover) -> str:
    waits = t.waits or [0.0]
    ok = t.lost == 0 and t.duplicates_among_taken and t.duplicates <= t.taken_over
    return (
        f"{backend:>10}: open at the kill {t.killed_open}, taken over {t.taken_over}, "
        f"waited {min(waits):.1f}-{max(waits):.1f} s (median {statistics.median(waits):.1f}), "
        f"received twice {t.duplicates} (all among those taken over: "
        f"{t.duplicates_among_taken}), lost {t.lost}  {'OK' if ok else 'FAIL'}"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", default="both", help="sqlite, postgresql or both")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--baseline-messages", type=int, default=1000)
    ap.add_argument("--shapes", default="many,long")
    ap.add_argument("--replicas", default="1,2")
    ap.add_argument("--streams", type=int, default=500, help="incidents of the many shape")
    ap.add_argument("--long-streams", type=int, default=8, help="incidents of the long shape")
    ap.add_argument("--slots", type=int, default=8, help="webhook concurrency per replica")
    ap.add_argument("--latency", type=float, default=0.05, help="receiver's answer, seconds")
    ap.add_argument("--timeout", default="2s", help="notifications.timeout")
    ap.add_argument("--max-wait", type=float, default=120.0, help="seconds allowed per drain")
    ap.add_argument("--no-takeover", dest="takeover", action="store_false")
    ap.add_argument("--takeover-only", action="store_true", help="skip the drain cases")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ns = ap.parse_args(argv)
    ns.backends = ["sqlite", "postgresql"] if ns.backend == "both" else ns.backend.split(",")
    ns.shapes = [] if ns.takeover_only else ns.shapes.split(",")
    ns.replicas = [int(r) for r in ns.replicas.split(",")]
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="alertrouter-bench-delivery-"))
    try:
        return asyncio.run(run(ns, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
