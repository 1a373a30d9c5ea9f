#!/usr/bin/env python3
"""People benchmark: who is on call, and the per-person statistics, at scale.

    .venv/bin/python bench/people.py [--backend sqlite|postgresql|both] [--repeat 300]
                                     [--schedules 50] [--users 500] [--weeks 52]

1. Fill: a fresh database (an SQLite file and/or a new PostgreSQL database, migrated with the
   real schema) and a generated configuration: --users users, --schedules schedules of two
   layers each (a weekly rotation of 8 users and a daily business-hours cover of 2, restricted
   by a time interval in another zone), a year (--weeks) of overrides, 5 a week per schedule
   (replace and add, 2 hours to 2 days long), and a year of incidents with pages and
   acknowledgements by person (about 20 incidents a day, each paging one or two people).
2. Measure, over HTTP against the real aiohttp app (in this process, on a loopback port), each
   --repeat times with varied parameters:
   (a) who is on call at an instant of the year (`GET /api/v1/schedules/{name}/oncall?at=`,
       what `alertrouter schedules who --url` asks),
   (b) the same offline, as `alertrouter schedules who --config` computes it (no database),
   (c) the people statistics for everyone (`GET /api/v1/stats/people`), over 7 days (the
       API's default window) and over 30 days,
   (d) the same for one person over 90 days,
   (e) all schedules now and next (`GET /api/v1/schedules`).
   Baseline, in the same run: `GET /-/healthy` on the same server, so the ratio says what the
   work costs beyond an HTTP round trip on this (shared, noisy) machine. The server is
   measured as `alertrouter serve` runs: its collector tuned, and after the warm-up its
   scheduler starts with (the last year's hours on call, a fortnight per step).
3. Report p50/p99/max per class, the ratio of p99 to the baseline's, and PASS/MISS against the
   target p99 < 50 ms for (a), (b), (c) and (d). Only a harness failure exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if Path(sys.executable).resolve() != VENV_PYTHON.resolve() and VENV_PYTHON.exists():
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])
sys.path.insert(0, str(ROOT))

TARGET_P99_MS = 50.0
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp()) * 1000
ZONES = ["Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo", "UTC"]


def config_text(database_url: str, schedules: int, users: int) -> str:
    lines = [
        "route:",
        "  receiver: team",
        "receivers:",
        "  - name: team",
        "storage:",
        f"  url: '{database_url}'",
        "server:",
        "  log_level: warning",
        "time_intervals:",
        "  - name: new-york-business-hours",
        "    time_intervals:",
        "      - weekdays: ['monday:friday']",
        "        times: [{start_time: '09:00', end_time: '17:00'}]",
        "        location: America/New_York",
        "users:",
    ]
    for n in range(users):
        lines += [
            f"  - name: user{n:03d}",
            f"    full_name: User {n}",
            f"    time_zone: {ZONES[n % len(ZONES)]}",
        ]
    lines.append("schedules:")
    per = max(10, users // schedules)
    for s in range(schedules):
        members = [f"user{(s * per + i) % users:03d}" for i in range(10)]
        lines += [
            f"  - name: team{s:02d}",
            f"    time_zone: {ZONES[s % len(ZONES)]}",
            "    layers:",
            "      - name: weekly",
            "        rotation: weekly",
            '        handoff: "2026-01-05T09:00"',
            f"        users: [{', '.join(members[:8])}]",
            "      - name: cover",
            "        rotation: daily",
            '        handoff: "2026-01-05T09:00"',
            f"        users: [{', '.join(members[8:])}]",
            "        active_time_intervals: [new-york-business-hours]",
        ]
    return "\n".join(lines) + "\n"


def fill_rows(
    schedules: int, users: int, weeks: int, rng: random.Random
) -> tuple[list[dict], list[dict], list[dict]]:
    per = max(10, users // schedules)
    start = NOW_MS - weeks * WEEK_MS
    overrides = []
    for s in range(schedules):
        members = [f"user{(s * per + i) % users:03d}" for i in range(10)]
        for week in range(weeks):
            for _ in range(5):
                begins = start + week * WEEK_MS + rng.randrange(WEEK_MS)
                overrides.append(
                    {
                        "schedule": f"team{s:02d}",
                        "kind": rng.choice(("replace", "replace", "add")),
                        "users": rng.sample(members, rng.choice((1, 1, 2))),
                        "starts_at": begins,
                        "ends_at": begins + rng.randrange(2 * 3_600_000, 2 * DAY_MS),
                        "comment": "cover",
                        "created_at": begins - DAY_MS,
                        "created_by": rng.choice(members),
                        "source": "api",
                    }
                )
    incidents, activity = [], []
    for n in range(weeks * 7 * 20):
        opened = start + rng.randrange(weeks * WEEK_MS)
        incidents.append(
            {
                "id": n + 1,
                "group_key": f"g{n}",
                "route_key": "{}",
                "receiver": "team",
                "title": f"Incident {n}",
                "severity": rng.randrange(4),
                "status": "resolved",
                "group_labels": {},
                "opened_at": opened,
                "resolved_at": opened + 3_600_000,
                "updated_at": opened + 3_600_000,
            }
        )
        schedule = rng.randrange(schedules)
        members = [f"user{(schedule * per + i) % users:03d}" for i in range(10)]
        paged = rng.sample(members, rng.choice((1, 1, 2)))
        for k, user in enumerate(paged):
            at = opened + 300_000 * (k + 1)
            activity.append(
                {
                    "user_name": user,
                    "incident_id": n + 1,
                    "kind": "paged",
                    "at": at,
                    "schedule": f"team{schedule:02d}",
                    "response_ms": None,
                    "detail": {"via": ["slack", "email"], "policy": "p", "step": k + 1},
                }
            )
        acker = paged[-1]
        activity.append(
            {
                "user_name": acker,
                "incident_id": n + 1,
                "kind": "acknowledged",
                "at": opened + 300_000 * len(paged) + rng.randrange(30_000, 900_000),
                "schedule": None,
                "response_ms": rng.randrange(30_000, 900_000),
                "detail": {},
            }
        )
    return overrides, incidents, activity


async def fill(database_url: str, ns: argparse.Namespace, log: Callable[[str], None]) -> None:
    import sqlalchemy as sa

    from alertrouter.storage import migrate
    from alertrouter.storage.database import open_database
    from alertrouter.storage.people_tables import person_activity, schedule_overrides
    from alertrouter.storage.tables import incidents

    await asyncio.to_thread(migrate.upgrade, database_url)
    overrides, incident_rows, activity = fill_rows(
        ns.schedules, ns.users, ns.weeks, random.Random(7)
    )
    db = open_database(database_url)
    try:
        for table, rows in (
            (schedule_overrides, overrides),
            (incidents, incident_rows),
            (person_activity, activity),
        ):
            for i in range(0, len(rows), 5000):
                chunk = rows[i : i + 5000]
                await db.run_write(lambda conn, t=table, c=chunk: conn.execute(sa.insert(t), c))
        await db.run_write(lambda conn: conn.exec_driver_sql("ANALYZE"))
    finally:
        await db.dispose()
    log(
        f"  filled: {len(overrides):,} overrides, {len(incident_rows):,} incidents, "
        f"{len(activity):,} pages and acknowledgements"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def running_service(config_path: Path) -> AsyncIterator[str]:
    from aiohttp import web

    from alertrouter.app import Service, _tune_gc
    from alertrouter.config import load_config_file

    service = Service(
        load_config_file(config_path, environ={}),
        config_path=config_path,
        clock_ms=lambda: NOW_MS,
        run_scheduler=False,
    )
    port = free_port()
    runner = web.AppRunner(service.build_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    _tune_gc()  # as `alertrouter serve` does once it has started
    # What the scheduler of `serve` does in its second minute: the last year's hours on
    # call, computed ahead a fortnight at a time (the benchmark's windows fall anywhere in it).
    started = time.perf_counter()
    await service.scheduler.warm_statistics()
    print(f"  warm-up: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def timed(repeat: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    for i in range(min(20, repeat)):  # warm up: connections, caches, the first plans
        await call(-1 - i)
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    backend: str, database_url: str, ns: argparse.Namespace, log: Callable[[str], None]
) -> list[tuple[str, str, list[float]]]:
    import aiohttp

    from alertrouter.config import load_config_file
    from alertrouter.people.definitions import schedules_from_config
    from alertrouter.people.oncall import versions_of, who

    rng = random.Random(11)
    year_ms = ns.weeks * WEEK_MS
    results: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="people-bench-") as tmp:
        path = Path(tmp) / "config.yml"
        path.write_text(config_text(database_url, ns.schedules, ns.users))
        await fill(database_url, ns, log)
        config = load_config_file(path, environ={}).config
        offline = {name: versions_of(s) for name, s in schedules_from_config(config).items()}
        names = sorted(offline)
        async with running_service(path) as base, aiohttp.ClientSession() as session:

            async def get(url: str) -> None:
                async with session.get(base + url) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url}: HTTP {response.status}")

            def instant(i: int) -> str:
                at = NOW_MS - rng.randrange(year_ms)
                return dt.datetime.fromtimestamp(at / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

            async def offline_who(i: int) -> None:
                at = NOW - dt.timedelta(milliseconds=rng.randrange(year_ms))
                who(offline[names[i % len(names)]], at)

            def window(days: int) -> str:
                end = NOW_MS - rng.randrange(year_ms - days * DAY_MS)
                start = end - days * DAY_MS
                iso = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime(  # noqa: E731
                    "%Y-%m-%dT%H:%M:%SZ"
                )
                return f"from={iso(start)}&to={iso(end)}"

            classes: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
                ("baseline: GET /-/healthy", lambda i: get("/-/healthy")),
                (
                    "(a) who, GET .../oncall?at=",
                    lambda i: get(
                        f"/api/v1/schedules/{names[i % len(names)]}/oncall?at={instant(i)}"
                    ),
                ),
                ("(b) who, offline (no database)", offline_who),
                (
                    "(c) people stats, 7 days (default)",
                    lambda i: get(f"/api/v1/stats/people?{window(7)}"),
                ),
                ("(c) people stats, 30 days", lambda i: get(f"/api/v1/stats/people?{window(30)}")),
                (
                    "(d) one person's stats, 90 days",
                    lambda i: get(
                        f"/api/v1/stats/people?{window(90)}&user=user{rng.randrange(ns.users):03d}"
                    ),
                ),
                ("(e) all schedules, now and next", lambda i: get("/api/v1/schedules")),
            ]
            for name, call in classes:
                repeat = ns.repeat if not name.startswith("(e)") else max(20, ns.repeat // 10)
                samples = await timed(repeat, call)
                log(f"  {backend} {name}: p99 {quantile(samples, 0.99):.1f} ms")
                results.append((name, backend, samples))
    return results


def render(results: list[tuple[str, str, list[float]]]) -> str:
    header = (
        f"{'class':<36} {'database':<10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'p99/baseline':>12}  target"
    )
    lines = [header, "-" * len(header)]
    baselines = {db: quantile(s, 0.99) for name, db, s in results if name.startswith("baseline")}
    for name, db, samples in results:
        p99 = quantile(samples, 0.99)
        ratio = p99 / baselines[db] if baselines.get(db) else float("nan")
        verdict = ""
        if name[:3] in ("(a)", "(b)", "(c)", "(d)"):
            verdict = f"{'PASS' if p99 < TARGET_P99_MS else 'MISS'} (p99 < {TARGET_P99_MS:.0f} ms)"
        lines.append(
            f"{name:<36} {db:<10} {statistics.median(samples):>8.2f} {p99:>8.2f} "
            f"{max(samples):>8.2f} {ratio:>12.1f}  {verdict}"
        )
    return "\n".join(lines)


async def run(ns: argparse.Namespace) -> None:
    import asyncpg

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    backends = ["sqlite", "postgresql"] if ns.backend == "both" else [ns.backend]
    results = []
    for backend in backends:
        log(f"{backend}:")
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="people-db-") as tmp:
                results += await measure(backend, f"sqlite:///{tmp}/bench.db", ns, log)
        else:
            name = f"people_bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(ns.pg_url + "/postgres")
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                results += await measure(backend, f"{ns.pg_url}/{name}", ns, log)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    print(render(results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--schedules", type=int, default=50)
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
