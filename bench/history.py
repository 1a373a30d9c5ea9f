#!/usr/bin/env python3
"""History query benchmark: the incident list API's queries over a large history.

    .venv/bin/python bench/history.py [--backend sqlite|postgresql|both] [--incidents 1000000]
                                      [--days 365] [--repeat 200] [--explain] [--keep]
    .venv/bin/python bench/history.py --reuse postgresql://postgres@127.0.0.1:5432/<db> ...

1. Fill: a fresh database (an SQLite file in a temp directory and/or a new PostgreSQL
   database), migrated with `alertrouter.storage.migrate.upgrade` (the real schema and indexes),
   gets
   --incidents incidents spread over the last --days days, with their alerts, label index rows,
   search text, timeline events, escalations and outbox rows as the flush would have written
   them. The rows are generated here in chunks and loaded with COPY (asyncpg) and executemany
   (sqlite3, `synchronous=OFF` during the fill only). The secondary indexes are dropped for the
   load and re-created from their migrated definitions; then VACUUM ANALYZE / ANALYZE, as a
   deployment with autovacuum would have.
2. Measure: each query class runs --repeat times, with varied parameters, through the code the
   API runs: `parse_filter` / `parse_limit` / `parse_cursor` over the same query string, then
   `history.search` on an `open_database(url).read()` connection. Stats for a range go through
   `alertrouter.history.stats.compute`. Latency per call, from parsing to the returned page.
   Classes: (a) open P0s, (b) one service's last 7 days (noisy and quiet services), (c) free
   text (common, rare, absent terms), (d) page 2 of (b), (e) resolved P1s of one receiver in
   30 days, (f) stats for 30 and 7 days, (g) no filter, (h) a noisy service without a time
   range. Services, receivers and rare terms are read from the data, and "now" is the newest
   incident's time, so --reuse measures any filled database the same way. --http adds
   (a)/(b) over HTTP against the real aiohttp app (in this process, on a loopback port).
3. Report: p50/p99/max per query class and database, and with --explain the plans of the
   slowest call of each class (PostgreSQL EXPLAIN (ANALYZE, BUFFERS), SQLite EXPLAIN QUERY
   PLAN), with the time of each statement in that call.

Targets (PostgreSQL): p99 < 100 ms for open P0s and for one service's last 7 days, p99 < 1 s
for the 30-day stats. A miss prints MISS; only a harness failure exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import hashlib
import json
import math
import os
import random
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
try:
    import asyncpg
    import sqlalchemy as sa
except ImportError:  # re-run under the project's virtualenv
    if (VENV / "bin/python").exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), *sys.argv])
    raise
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from yarl import URL  # noqa: E402

from alertrouter.app import GC_YOUNG_THRESHOLD  # noqa: E402
from alertrouter.config.models import DEFAULT_RESPONSE_TARGETS  # noqa: E402
from alertrouter.core.values import Severity, format_labels  # noqa: E402
from alertrouter.history import queries as history  # noqa: E402
from alertrouter.history import stats  # noqa: E402
from alertrouter.history.search_index import search_text  # noqa: E402
from alertrouter.incidents.store import ALERT_SOURCE, SYSTEM_ACTOR  # noqa: E402
from alertrouter.server import history_params  # noqa: E402
from alertrouter.storage import migrate  # noqa: E402
from alertrouter.storage.database import Database, open_database  # noqa: E402

DAY_MS = 86_400_000
MINUTE_MS = 60_000
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
TARGET_LIST_P99_MS = 100.0
TARGET_STATS_P99_MS = 1000.0

# The generated history.
SEVERITY_SHARES = (0.02, 0.10, 0.38, 0.50)  # P0..P3
SEVERITY_LABELS = ("critical", "error", "warning", "info")  # the `severity` label's values
ACK_SHARE = (0.95, 0.85, 0.30, 0.08)  # resolved incidents that someone acknowledged first
TTA_MEDIAN_MIN = (3.0, 8.0, 30.0, 120.0)  # log-normal time to acknowledge, median
TTR_MEDIAN_MIN = (25.0, 45.0, 90.0, 240.0)  # log-normal time to resolve, median
TTA_SIGMA, TTR_SIGMA = 1.0, 1.3
OPEN_SHARE = 0.005  # the newest incidents are still open (one per group at most)
MANUAL_RESOLVE_SHARE = 0.15
OUTBOX_DAYS = 30  # sent notifications kept for the last days only
ALERTS_PER_INCIDENT = ((1, 0.60), (2, 0.85), (3, 1.0))  # cumulative
SERVICE_SKEW, ALERTNAME_SKEW = 1.2, 1.0  # Zipf exponents
TARGETS_MS = {level: int(t.total_seconds() * 1000) for level, t in DEFAULT_RESPONSE_TARGETS.items()}

SERVICE_STEMS = (
    "checkout", "payments", "ledger", "search", "catalog", "inventory", "shipping", "billing",
    "identity", "notifications", "recommendations", "pricing", "orders", "reviews", "media",
    "analytics", "reporting", "gateway", "accounts", "fraud",
)  # fmt: skip
SERVICE_SUFFIXES = ("", "-api", "-worker")
TEAMS = ("platform", "data", "payments", "storefront", "identity", "logistics", "growth", "sre")
COMPONENTS = (
    "Api", "Gateway", "Ingress", "Postgres", "Mysql", "Redis", "Kafka", "Rabbitmq",
    "Elasticsearch", "Etcd", "Node", "Kubelet", "Pod", "Deployment", "Cronjob", "Certificate",
    "Dns", "Loadbalancer", "Cdn", "ObjectStore", "Queue", "Worker", "Scheduler", "Cache",
    "Search", "Auth", "Payment", "Email", "Blackbox", "Prometheus",
)  # fmt: skip
# condition -> (summary, description with {instance} and {value}); the alertname is
# component + condition.
CONDITIONS = {
    "Down": ("{c} is down", "{instance} has not answered a scrape for {value:.0f} minutes"),
    "HighErrorRate": (
        "{c} 5xx error rate above threshold",
        "{instance}: {value:.1f}% of requests failed over the last 5 minutes",
    ),
    "HighLatency": (
        "{c} p99 latency is high",
        "{instance}: p99 latency {value:.0f} ms over the last 10 minutes",
    ),
    "DiskFilling": (
        "disk of {c} will fill within 24h",
        "{instance}: {value:.1f}% of /var/lib used and rising",
    ),
    "MemoryPressure": (
        "{c} memory usage is high",
        "{instance}: {value:.1f}% of the memory limit in use",
    ),
    "CrashLooping": (
        "{c} is restarting repeatedly",
        "{instance}: restarted {value:.0f} times in the last hour",
    ),
    "Saturated": ("{c} is saturated", "{instance}: cpu throttled {value:.0f}% of the time"),
    "QueueBacklog": (
        "{c} backlog is growing",
        "{instance}: {value:.0f} messages waiting, consumers are not keeping up",
    ),
    "ReplicationLag": ("{c} replicas are lagging", "{instance}: replication lag {value:.0f} s"),
    "CertificateExpiry": (
        "{c} certificate expires soon",
        "{instance}: the serving certificate expires in {value:.0f} days",
    ),
}
JOBS = {"Node": "node-exporter", "Kubelet": "kubelet", "Pod": "kube-state-metrics"}
ACK_VIA = (("slack", 0.65), ("pagerduty", 0.90), ("api", 0.96), ("cli", 1.0))  # cumulative
COMMON_TERMS = ("error rate", "latency", "disk", "restarting")
ABSENT_TERM = "no such text anywhere"

COLUMNS: dict[str, tuple[str, ...]] = {
    "incidents": (
        "id", "group_key", "route_key", "receiver", "title", "severity", "status",
        "group_labels", "opened_at", "acknowledged_at", "acknowledged_by", "resolved_at",
        "resolved_by", "updated_at", "acknowledged_via", "resolved_via", "search_text",
    ),
    "incident_alerts": (
        "incident_id", "fingerprint", "state", "muted_by", "first_seen_at", "updated_at",
    ),
    "incident_labels": ("incident_id", "name", "value", "opened_at"),
    "timeline_events": ("id", "incident_id", "at", "kind", "actor", "source", "detail"),
    "escalations": (
        "id", "incident_id", "policy", "step", "iteration", "receiver", "due_at", "status",
        "created_at", "updated_at",
    ),
    "outbox": (
        "id", "incident_id", "receiver", "integration", "stream", "op", "reason", "body",
        "rate_key", "status", "attempts", "created_at", "next_attempt_at", "deadline_at",
        "sent_at", "updated_at",
    ),
    "alerts": (
        "id", "fingerprint", "labels", "annotations", "generator_url", "severity", "starts_at",
        "ends_at", "updated_at",
    ),
}  # fmt: skip
SERIAL_TABLES = ("incidents", "timeline_events", "escalations", "outbox", "alerts")

Chunk = dict[str, list[tuple[Any, ...]]]


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def zipf_cumulative(n: int, exponent: float) -> list[float]:
    total, out = 0.0, []
    for rank in range(n):
        total += 1.0 / (rank + 1) ** exponent
        out.append(total)
    return out


def pick(rng: random.Random, items: Sequence[Any], cumulative: Sequence[float]) -> Any:
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


# -- the generated world: services, alert rules, groups, alerts


@dataclass(slots=True)
class Service:
    name: str
    team: str
    instances: list[str]
    # per P-level: the alertnames this service has at that level, and their Zipf weights
    alertnames: list[tuple[list[str], list[float]]]


@dataclass(slots=True)
class Group:
    key: str
    route_key: str
    receiver: str
    service: Service
    alertname: str
    severity: int
    labels_json: str
    base_pairs: list[tuple[str, str]]  # every label of its alerts but `instance`
    summary: str
    description: str
    runbook: str
    job: str


@dataclass(slots=True)
class Alert:
    id: int
    fingerprint: str
    group: Group
    labels_json: str
    fired_json: str  # the alert_fired timeline detail
    instance: str
    starts_at: int = 0
    ends_at: int | None = None
    description: str = ""


class World:
    """Services, teams, receivers and alert rules, the same for a given seed."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        names = [stem + suffix for suffix in SERVICE_SUFFIXES for stem in SERVICE_STEMS]
        rng.shuffle(names)  # rank (noise) is independent of the name
        self.alertname_parts: dict[str, tuple[str, str]] = {}
        pools: list[list[str]] = [[], [], [], []]
        for component in COMPONENTS:
            for condition in CONDITIONS:
                name = component + condition
                self.alertname_parts[name] = (component, condition)
                level = bisect.bisect_right([0.1, 0.3, 0.65], rng.random())
                pools[level].append(name)
        per_level = (2, 4, 10, 14)
        weights = zipf_cumulative(len(names), SERVICE_SKEW)
        top = weights[0]
        self.services: list[Service] = []
        for rank, name in enumerate(names):
            share = (weights[rank] - (weights[rank - 1] if rank else 0.0)) / top
            instances = [f"{name}-{i}" for i in range(max(2, round(40 * share)))]
            alertnames = []
            for level, k in enumerate(per_level):
                chosen = rng.sample(pools[level], k)
                alertnames.append((chosen, zipf_cumulative(k, ALERTNAME_SKEW)))
            self.services.append(Service(name, rng.choice(TEAMS), instances, alertnames))
        self.service_cumulative = weights
        self.users = {team: [f"{team}.oncall{i}@example.com" for i in range(6)] for team in TEAMS}
        self.groups: dict[tuple[str, str], Group] = {}
        self.alerts: dict[tuple[str, str], Alert] = {}

    def group(self, service: Service, alertname: str, severity: int) -> Group:
        found = self.groups.get((service.name, alertname))
        if found is not None:
            return found
        component, condition = self.alertname_parts[alertname]
        summary, description = CONDITIONS[condition]
        route_key = "{}/" + format_labels({"team": service.team})
        group_labels = {"alertname": alertname, "service": service.name}
        job = JOBS.get(component, service.name)
        base = {
            "alertname": alertname,
            "env": "prod",
            "job": job,
            "namespace": service.team,
            "service": service.name,
            "severity": SEVERITY_LABELS[severity],
            "team": service.team,
        }
        group = Group(
            key=f"{route_key}:{format_labels(group_labels)}",
            route_key=route_key,
            receiver=f"team-{service.team}",
            service=service,
            alertname=alertname,
            severity=severity,
            labels_json=compact(group_labels),
            base_pairs=sorted(base.items()),
            summary=f"{summary.format(c=component.lower())} in {service.name}",
            description=description,
            runbook=f"https://runbooks.example.com/{alertname}",
            job=job,
        )
        self.groups[(service.name, alertname)] = group
        return group

    def alert(self, group: Group, instance: str) -> Alert:
        found = self.alerts.get((group.key, instance))
        if found is not None:
            return found
        labels = dict(group.base_pairs)
        labels["instance"] = instance
        labels = dict(sorted(labels.items()))
        fingerprint = hashlib.blake2b(format_labels(labels).encode(), digest_size=8).hexdigest()
        level = Severity(group.severity).name
        fired = {
            "fingerprint": fingerprint,
            "alertname": group.alertname,
            "labels": labels,
            "severity": level,
        }
        alert = Alert(
            len(self.alerts) + 1, fingerprint, group, compact(labels), compact(fired), instance
        )
        self.alerts[(group.key, instance)] = alert
        return alert


class Filler:
    """Generates the history oldest first, in chunks of rows per table."""

    def __init__(self, world: World, incidents: int, days: int, now: int, seed: int) -> None:
        self.world = world
        self.total = incidents
        self.now = now
        self.start = now - days * DAY_MS
        self.seed = seed
        self.open_from = int(incidents * (1 - OPEN_SHARE))
        self.open_groups: set[str] = set()
        self.next_ids = dict.fromkeys(SERIAL_TABLES, 1)
        self.outbox_from = now - OUTBOX_DAYS * DAY_MS
        self.opened_detail = [compact({"severity": level.name}) for level in Severity]

    def chunks(self, size: int) -> Iterator[Chunk]:
        step = (self.now - MINUTE_MS - self.start) / self.total
        for first in range(0, self.total, size):
            count = min(size, self.total - first)
            rng = random.Random(self.seed * 1_000_003 + first)
            low = self.start + first * step
            times = sorted(int(low + rng.random() * count * step) for _ in range(count))
            chunk: Chunk = {table: [] for table in COLUMNS if table != "alerts"}
            for offset, opened in enumerate(times):
                self._incident(rng, first + offset, opened, chunk)
            yield chunk

    def _incident(self, rng: random.Random, index: int, opened: int, out: Chunk) -> None:
        world, now = self.world, self.now
        severity = bisect.bisect_right(SEVERITY_CUMULATIVE, rng.random())
        service = pick(rng, world.services, world.service_cumulative)
        names, weights = service.alertnames[severity]
        group = world.group(service, pick(rng, names, weights), severity)
        draw = rng.random()
        k = next(n for n, share in ALERTS_PER_INCIDENT if draw < share)
        instances = rng.sample(service.instances, min(k, len(service.instances)))
        alerts = [world.alert(group, i) for i in instances]

        iid = self.next_ids["incidents"]
        self.next_ids["incidents"] += 1
        is_open = index >= self.open_from and group.key not in self.open_groups
        if is_open:
            self.open_groups.add(group.key)
        acked_at = acked_by = acked_via = None
        if rng.random() < ACK_SHARE[severity]:
            at = opened + int(
                rng.lognormvariate(math.log(TTA_MEDIAN_MIN[severity]), TTA_SIGMA) * MINUTE_MS
            )
            if at < now:
                acked_at = at
                acked_by = rng.choice(world.users[service.team])
                acked_via = ACK_VIA[bisect.bisect_right([c for _, c in ACK_VIA], rng.random())][0]
        resolved_at = resolved_by = resolved_via = None
        if not is_open:
            ttr = int(rng.lognormvariate(math.log(TTR_MEDIAN_MIN[severity]), TTR_SIGMA) * MINUTE_MS)
            resolved_at = max(opened + ttr, (acked_at or opened) + 1000)
            if resolved_at >= now:
                resolved_at = max(now - 1000, opened + 1000, (acked_at or opened) + 1)
            if rng.random() < MANUAL_RESOLVE_SHARE:
                resolved_by = acked_by or rng.choice(world.users[service.team])
                resolved_via = acked_via or "slack"
            else:
                resolved_by, resolved_via = SYSTEM_ACTOR, ALERT_SOURCE
        status = "resolved" if not is_open else "acknowledged" if acked_at else "triggered"
        updated = max(opened, acked_at or 0, resolved_at or 0)

        annotations = []
        pairs = list(group.base_pairs)
        events = out["timeline_events"]
        tid = self.next_ids["timeline_events"]
        events.append(
            (tid, iid, opened, "incident_opened", SYSTEM_ACTOR, ALERT_SOURCE,
             self.opened_detail[severity])
        )  # fmt: skip
        tid += 1
        members = out["incident_alerts"]
        end = resolved_at if resolved_at is not None else now
        for j, alert in enumerate(alerts):
            seen = opened if j == 0 else min(opened + rng.randrange(300_000), end - 1)
            description = group.description.format(
                instance=alert.instance, value=rng.random() * 100
            )
            annotations.append(
                {"summary": group.summary, "description": description, "runbook_url": group.runbook}
            )
            pairs.append(("instance", alert.instance))
            state = "resolved" if resolved_at is not None else "firing"
            members.append(
                (iid, alert.fingerprint, state, None, seen, end if resolved_at else seen)
            )
            events.append(
                (tid, iid, seen, "alert_fired", SYSTEM_ACTOR, ALERT_SOURCE, alert.fired_json)
            )
            tid += 1
            alert.starts_at, alert.ends_at, alert.description = seen, resolved_at, description
        if acked_at is not None:
            events.append((tid, iid, acked_at, "incident_acknowledged", acked_by, acked_via, "{}"))
            tid += 1
        if resolved_at is not None:
            detail = '{"reason":"all alerts resolved"}' if resolved_via == ALERT_SOURCE else "{}"
            events.append(
                (tid, iid, resolved_at, "incident_resolved", resolved_by, resolved_via, detail)
            )
            tid += 1
        self.next_ids["timeline_events"] = tid

        title = f"{group.alertname}: {group.summary}"
        out["incidents"].append(
            (iid, group.key, group.route_key, group.receiver, title, severity, status,
             group.labels_json, opened, acked_at, acked_by, resolved_at, resolved_by, updated,
             acked_via, resolved_via, search_text("", title, annotations))
        )  # fmt: skip
        out["incident_labels"].extend((iid, n, v, opened) for n, v in pairs)

        if severity <= 1:
            target = opened + TARGETS_MS[Severity(severity)]
            late = acked_at is None or acked_at > target
            if late and target < (acked_at or resolved_at or now):
                eid = self.next_ids["escalations"]
                self.next_ids["escalations"] += 1
                out["escalations"].append(
                    (eid, iid, "", 1, 0, "oncall-secondary", target, "fired", opened, target)
                )
        if opened >= self.outbox_from:
            self._outbox(out["outbox"], iid, group, title, severity, opened, "post", "opened")
            if resolved_at is not None:
                self._outbox(
                    out["outbox"], iid, group, title, severity, resolved_at, "update", "resolved"
                )

    def _outbox(
        self,
        rows: list[tuple[Any, ...]],
        iid: int,
        group: Group,
        title: str,
        severity: int,
        at: int,
        op: str,
        reason: str,
    ) -> None:
        oid = self.next_ids["outbox"]
        self.next_ids["outbox"] += 1
        channel = f"#{group.service.team}-alerts"
        body = {
            "channel": channel,
            "text": f"[{Severity(severity).name}] {title}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{reason}*"}},
            ],
        }
        rows.append(
            (oid, iid, group.receiver, "slack:0", f"{iid}/slack:0/{group.receiver}", op, reason,
             compact(body), f"slack:{channel}", "sent", 1, at, at, at + 3_600_000, at + 300,
             at + 300)
        )  # fmt: skip

    def alert_rows(self) -> list[tuple[Any, ...]]:
        rows = []
        for alert in self.world.alerts.values():
            group = alert.group
            annotations = {
                "summary": group.summary,
                "description": alert.description,
                "runbook_url": group.runbook,
            }
            updated = alert.ends_at if alert.ends_at is not None else alert.starts_at
            rows.append(
                (alert.id, alert.fingerprint, alert.labels_json, compact(annotations),
                 f"http://prometheus.example.com/graph?g0.expr=ALERTS%7Balertname%3D%22{group.alertname}%22%7D",
                 group.severity, alert.starts_at, alert.ends_at, updated)
            )  # fmt: skip
        return rows


SEVERITY_CUMULATIVE = [sum(SEVERITY_SHARES[: i + 1]) for i in range(len(SEVERITY_SHARES) - 1)]


# -- loading


class PgLoader:
    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None
        self.indexes: list[tuple[str, str]] = []

    async def start(self) -> None:
        self.conn = await asyncpg.connect(pg_dsn(self.url))
        self.indexes = [
            (r["indexname"], r["indexdef"])
            for r in await self.conn.fetch(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
                """,
                list(COLUMNS),
            )
        ]
        for name, _ in self.indexes:
            await self.conn.execute(f'DROP INDEX "{name}"')
        # No foreign key triggers during the load: the rows are consistent by construction.
        await self.conn.execute("SET session_replication_role = replica")

    async def load(self, chunk: Chunk) -> None:
        for table, rows in chunk.items():
            if rows:
                await self.conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])

    async def finish(self, log: Callable[[str], None]) -> None:
        conn = self.conn
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        for _, definition in self.indexes:
            await conn.execute(definition)
        log(f"  postgresql: {len(self.indexes)} indexes in {time.perf_counter() - started:.0f} s")
        for table in SERIAL_TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        log(f"  postgresql: VACUUM (ANALYZE) in {time.perf_counter() - started:.0f} s")
        await conn.close()


class SqliteLoader:
    """All of it on one thread of its own (the sqlite3 connection stays on it)."""

    def __init__(self, url: str, *, analyze: bool = True) -> None:
        self.path = make_url(url).database
        self.analyze = analyze
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-fill")
        self.conn: sqlite3.Connection | None = None
        self.indexes: list[tuple[str, str]] = []

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def start(self) -> None:
        await self._run(self._start)

    def _start(self) -> None:
        conn = self.conn = sqlite3.connect(str(self.path), isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")  # the fill only; alertrouter sets FULL
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("PRAGMA foreign_keys=OFF")
        tables = ",".join(f"'{t}'" for t in COLUMNS)
        self.indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _ in self.indexes:
            conn.execute(f'DROP INDEX "{name}"')

    async def load(self, chunk: Chunk) -> None:
        await self._run(self._load, chunk)

    def _load(self, chunk: Chunk) -> None:
        assert self.conn is not None
        self.conn.execute("BEGIN")
        for table, rows in chunk.items():
            if rows:
                columns = COLUMNS[table]
                self.conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    rows,
                )
        self.conn.execute("COMMIT")

    async def finish(self, log: Callable[[str], None]) -> None:
        await self._run(self._finish, log)
        self.executor.shutdown()

    def _finish(self, log: Callable[[str], None]) -> None:
        conn = self.conn
        assert conn is not None
        started = time.perf_counter()
        for _, definition in self.indexes:
            conn.execute(definition)
        log(f"  sqlite: {len(self.indexes)} indexes in {time.perf_counter() - started:.0f} s")
        if self.analyze:
            started = time.perf_counter()
            conn.execute("ANALYZE")
            log(f"  sqlite: ANALYZE in {time.perf_counter() - started:.0f} s")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


Loader = PgLoader | SqliteLoader


def pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pg_admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(pg_dsn(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fill(
    loaders: Sequence[tuple[str, Loader]],
    ns: argparse.Namespace,
    now: int,
    log: Callable[[str], None],
) -> dict[str, float]:
    """Generates the history once and loads every chunk into each database side by side."""
    world = World(ns.seed)
    filler = Filler(world, ns.incidents, ns.days, now, ns.seed)
    started = time.perf_counter()
    for _, loader in loaders:
        await loader.start()
    generating = 0.0
    loaded = 0
    counts = dict.fromkeys(COLUMNS, 0)
    chunks = filler.chunks(ns.chunk)
    while True:
        t0 = time.perf_counter()
        chunk = next(chunks, None)
        generating += time.perf_counter() - t0
        if chunk is None:
            break
        await asyncio.gather(*(loader.load(chunk) for _, loader in loaders))
        loaded += len(chunk["incidents"])
        for table, rows in chunk.items():
            counts[table] += len(rows)
        if loaded % (ns.chunk * 10) == 0 or loaded == ns.incidents:
            log(f"  {loaded:,} incidents after {time.perf_counter() - started:.0f} s")
    alert_rows = filler.alert_rows()
    counts["alerts"] = len(alert_rows)
    await asyncio.gather(*(loader.load({"alerts": alert_rows}) for _, loader in loaders))
    rows_done = time.perf_counter()
    log(
        f"  rows: {', '.join(f'{t} {n:,}' for t, n in counts.items())}; "
        f"{rows_done - started:.0f} s ({generating:.0f} s generating)"
    )
    timings = {"rows_s": rows_done - started, "generate_s": generating}
    for name, loader in loaders:
        t0 = time.perf_counter()
        await loader.finish(log)
        timings[f"{name}_finish_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    log(f"  open incidents: {len(filler.open_groups):,}; groups {len(world.groups):,}")
    return timings


# -- measuring


@dataclass(slots=True)
class Executed:
    statement: str
    parameters: Any
    seconds: float


class Recorder:
    """The statements each measured call ran, with their times (driver-level)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.current: list[Executed] | None = None
        self._started: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, *_args: Any) -> None:
        self._started[id(conn)] = time.perf_counter()

    def _after(self, conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        started = self._started.pop(id(conn), None)
        if self.current is not None and started is not None:
            self.current.append(Executed(statement, parameters, time.perf_counter() - started))


@dataclass(slots=True)
class Call:
    query: str
    seconds: float
    rows: int
    total: int
    statements: list[Executed]


@dataclass
class ClassResult:
    key: str
    name: str
    database: str
    calls: list[Call] = field(default_factory=list)
    note: str = ""

    def quantile(self, q: float) -> float:
        ordered = sorted(c.seconds for c in self.calls)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000

    @property
    def slowest(self) -> Call:
        return max(self.calls, key=lambda c: c.seconds)


@dataclass(slots=True)
class QueryClass:
    key: str
    name: str
    variants: list[str]
    kind: str = "list"  # list | stats
    target_ms: float | None = None  # p99, PostgreSQL


@dataclass(slots=True)
class Discovered:
    now: int
    noisy: list[str]
    quiet: list[str]
    receivers: list[str]
    rare_terms: list[str]


async def discover(db: Database) -> Discovered:
    """Parameters from the data itself (so --reuse works on any filled database)."""
    async with db.read() as conn:
        latest = await conn.scalar(sa.text("SELECT max(opened_at) FROM incidents"))
        if latest is None:
            raise SystemExit("the database has no incidents")
        now = int(latest) + MINUTE_MS
        week = now - 7 * DAY_MS
        by_service = (
            await conn.execute(
                sa.text(
                    "SELECT value, count(*) AS n FROM incident_labels WHERE name = 'service' "
                    "AND opened_at >= :since GROUP BY value ORDER BY n DESC, value"
                ),
                {"since": week},
            )
        ).all()
        receivers = (
            await conn.execute(sa.text("SELECT DISTINCT receiver FROM incidents ORDER BY 1"))
        ).scalars()
        rare = (
            await conn.execute(
                sa.text(
                    "SELECT value, count(*) AS n FROM incident_labels WHERE name = 'alertname' "
                    "GROUP BY value ORDER BY n, value LIMIT 3"
                )
            )
        ).all()
    quiet = [r.value for r in by_service if r.n >= 1][-3:]
    return Discovered(
        now=now,
        noisy=[r.value for r in by_service[:3]],
        quiet=quiet,
        receivers=list(receivers),
        rare_terms=[r.value.lower() for r in rare],
    )


def query_classes(d: Discovered) -> list[QueryClass]:
    def service(names: list[str]) -> list[str]:
        return [f'filter=service="{s}"&since=7d' for s in names]

    return [
        QueryClass("a", "open P0s", ["status=open&severity=P0"], target_ms=TARGET_LIST_P99_MS),
        QueryClass("b", "service, 7 days (noisy)", service(d.noisy), target_ms=TARGET_LIST_P99_MS),
        QueryClass("b", "service, 7 days (quiet)", service(d.quiet), target_ms=TARGET_LIST_P99_MS),
        QueryClass("c", "text (common)", [f"q={t}" for t in COMMON_TERMS]),
        QueryClass("c", "text (rare)", [f"q={t}" for t in d.rare_terms]),
        QueryClass("c", "text (no match)", [f"q={ABSENT_TERM}"]),
        QueryClass("d", "service, 7 days, page 2", service(d.noisy + d.quiet)),
        QueryClass(
            "e",
            "resolved P1, receiver, 30 days",
            [f"status=resolved&severity=P1&receiver={r}&since=30d" for r in d.receivers],
        ),
        QueryClass("f", "stats, 30 days", ["since=30d"], kind="stats"),
        QueryClass("f", "stats, 7 days", ["since=7d"], kind="stats"),
        # Not in the list, but as common: the unfiltered list (the /incidents page as
        # first opened), and a noisy service without a time range.
        QueryClass("g", "no filter (newest first)", [""]),
        QueryClass("h", "service, all time (noisy)", [f'filter=service="{s}"' for s in d.noisy]),
    ]


async def list_call(db: Database, query_string: str, now: int) -> tuple[int, int, str | None]:
    """What GET /api/v1/incidents?<query_string> runs, minus the JSON."""
    query = URL("/?" + query_string).query
    where = history_params.parse_filter(query, now)
    limit, cursor = history_params.parse_limit(query), history_params.parse_cursor(query)
    async with db.read() as conn:
        page = await history.search(conn, where, limit=limit, after=cursor)
    return len(page.incidents), page.total, page.next.encode() if page.next else None


async def stats_call(db: Database, query_string: str, now: int) -> tuple[int, int]:
    """What GET /api/v1/stats?<query_string> runs, minus the JSON: (services, incidents)."""
    query = URL("/?" + query_string).query
    stats_query = history_params.parse_stats_query(query, now, TARGETS_MS)
    async with db.read() as conn:
        result = await stats.compute(conn, stats_query)
    return len(result.by_service), result.overall.opened


async def measure(
    name: str, url: str, ns: argparse.Namespace, log: Callable[[str], None]
) -> list[ClassResult]:
    db = open_database(url)
    recorder = Recorder(db.reader.sync_engine)
    try:
        found = await discover(db)
        log(
            f"  {name}: noisy {found.noisy}, quiet {found.quiet}, rare terms {found.rare_terms}, "
            f"{len(found.receivers)} receivers"
        )
        results = []
        for qc in query_classes(found):
            if ns.only and qc.key not in ns.only:
                continue
            result = ClassResult(qc.key, qc.name, name)
            results.append(result)
            variants = list(qc.variants)
            if qc.key == "d":  # page 2: the cursor page 1 handed out
                variants = []
                for variant in qc.variants:
                    _, _, cursor = await list_call(db, variant, found.now)
                    if cursor is not None:
                        variants.append(f"{variant}&cursor={cursor}")
                if not variants:
                    result.note = "no service has a second page"
                    continue
            repeat = ns.stats_repeat if qc.kind == "stats" else ns.repeat
            for variant in variants:  # warm-up, not measured
                await one_call(db, qc, variant, found.now)
            for i in range(repeat):
                variant = variants[i % len(variants)]
                recorder.current = []
                started = time.perf_counter()
                rows, total = await one_call(db, qc, variant, found.now)
                elapsed = time.perf_counter() - started
                result.calls.append(Call(variant, elapsed, rows, total, recorder.current))
                recorder.current = None
            log(
                f"  {name} ({qc.key}) {qc.name}: p50 {result.quantile(0.5):.1f} ms, "
                f"p99 {result.quantile(0.99):.1f} ms"
            )
        if ns.explain:
            await explain_all(db, results, log)
        if ns.http:
            results += await measure_http(name, url, found, ns, log)
        return results
    finally:
        await db.dispose()


async def one_call(
    db: Database,
    qc: QueryClass,
    variant: str,
    now: int,
) -> tuple[int, int]:
    if qc.kind == "stats":
        return await stats_call(db, variant, now)
    rows, total, _ = await list_call(db, variant, now)
    return rows, total


async def explain_all(db: Database, results: list[ClassResult], log: Callable[[str], None]) -> None:
    postgres = not db.is_sqlite
    for result in results:
        if not result.calls:
            continue
        call = result.slowest
        lines = [
            f"=== {result.database} ({result.key}) {result.name}: slowest call "
            f"{call.seconds * 1000:.1f} ms  ?{call.query}"
        ]
        for i, executed in enumerate(call.statements, 1):
            if not executed.statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # BEGIN
            lines.append(f"--- statement {i}: {executed.seconds * 1000:.1f} ms")
            lines.append(inline_sql(executed.statement, executed.parameters))
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
            async with db.read() as conn:
                plan = (
                    await conn.exec_driver_sql(prefix + executed.statement, executed.parameters)
                ).all()
                await conn.rollback()
            if postgres:
                lines += [f"    {row[0]}" for row in plan]
            else:
                lines += sqlite_plan_lines(plan)
        log("\n".join(lines))


def inline_sql(statement: str, parameters: Any) -> str:
    """The statement with its parameters shown, for reading (not for running)."""
    text = " ".join(statement.split())
    if isinstance(parameters, dict):
        return f"{text}\n    params: {parameters}"
    values = list(parameters or ())
    if not values:
        return text
    if "$1" in text:  # asyncpg: $n, replaced from the highest n down
        for n in range(len(values), 0, -1):
            text = text.replace(f"${n}", repr(values[n - 1]))
        return text
    return f"{text}\n    params: {values}"


def sqlite_plan_lines(plan: Sequence[Any]) -> list[str]:
    depth: dict[int, int] = {0: 0}
    out = []
    for node_id, parent, _, detail in plan:
        depth[node_id] = depth.get(parent, 0) + 1
        out.append("    " + "  " * depth[node_id] + detail)
    return out


# -- over HTTP (optional): a real alertrouter app on a loopback port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def running_service(url: str, now: int, workdir: Path) -> AsyncIterator[str]:
    from aiohttp import web

    from alertrouter.app import Service as AppService
    from alertrouter.config import load_config_file

    port = free_port()
    path = workdir / f"history-bench-{port}.yml"
    path.write_text(
        "route:\n  receiver: default\nreceivers:\n  - name: default\n"
        f"storage:\n  url: '{url}'\nserver:\n  log_level: warning\n"
    )
    service = AppService(
        load_config_file(path, environ={}),
        config_path=path,
        clock_ms=lambda: now,
        run_scheduler=False,
    )
    runner = web.AppRunner(service.build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def measure_http(
    name: str, url: str, found: Discovered, ns: argparse.Namespace, log: Callable[[str], None]
) -> list[ClassResult]:
    import aiohttp

    results = []
    with tempfile.TemporaryDirectory(prefix="history-http-") as tmp:
        async with (
            running_service(url, found.now, Path(tmp)) as base,
            aiohttp.ClientSession() as session,
        ):
            for qc in query_classes(found)[:3]:
                result = ClassResult(qc.key, qc.name + " [HTTP]", name)
                for i in range(-len(qc.variants), ns.repeat):
                    variant = qc.variants[i % len(qc.variants)]
                    started = time.perf_counter()
                    async with session.get(f"{base}/api/v1/incidents?{variant}") as response:
                        body = await response.json()
                        if response.status != 200:
                            raise RuntimeError(f"HTTP {response.status}: {body}")
                    elapsed = time.perf_counter() - started
                    if i >= 0:
                        result.calls.append(
                            Call(variant, elapsed, len(body["incidents"]), body["total"], [])
                        )
                log(f"  {name} ({qc.key}) {result.name}: p99 {result.quantile(0.99):.1f} ms")
                results.append(result)
    return results


# -- report


def render(results: list[ClassResult]) -> str:
    header = (
        f"{'query':<40} {'database':<10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'rows':>5} {'total':>15} {'n':>4}  target"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        label = f"({r.key}) {r.name}"
        if not r.calls:
            lines.append(f"{label:<40} {r.database:<10} {r.note}")
            continue
        rows = sorted({c.rows for c in r.calls})
        totals = sorted({c.total for c in r.calls})
        rows_text = str(rows[0]) if len(rows) == 1 else f"{rows[0]}-{rows[-1]}"
        total_text = f"{totals[0]:,}" if len(totals) == 1 else f"{totals[0]:,}-{totals[-1]:,}"
        p99 = r.quantile(0.99)
        verdict = ""
        target = target_of(r)
        if target is not None and r.database == "postgresql" and "[HTTP]" not in r.name:
            verdict = f"{'PASS' if p99 < target else 'MISS'} (p99 < {target:.0f} ms)"
        lines.append(
            f"{label:<40} {r.database:<10} {r.quantile(0.5):>8.1f} {p99:>8.1f} "
            f"{r.slowest.seconds * 1000:>8.1f} {rows_text:>5} {total_text:>15} "
            f"{len(r.calls):>4}  {verdict}"
        )
    return "\n".join(lines)


def target_of(result: ClassResult) -> float | None:
    if result.key in ("a", "b"):
        return TARGET_LIST_P99_MS
    if result.key == "f" and "30 days" in result.name:
        return TARGET_STATS_P99_MS
    return None


def database_size(name: str, url: str) -> int:
    if name == "sqlite":
        path = Path(str(make_url(url).database))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())

    async def size() -> int:
        conn = await asyncpg.connect(pg_dsn(url))
        try:
            return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
        finally:
            await conn.close()

    return asyncio.run(size())


# -- main


def serving_loop() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


@dataclass
class Target:
    name: str  # sqlite | postgresql
    url: str
    created: bool  # made by this run (filled, and dropped unless --keep)
    dbname: str = ""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--chunk", type=int, default=20_000, help="incidents per load transaction")
    ap.add_argument("--repeat", type=int, default=200, help="calls per list query class")
    ap.add_argument("--stats-repeat", type=int, default=20, help="calls per stats class")
    ap.add_argument("--only", default="", help="query classes to run, e.g. ab (default all)")
    ap.add_argument("--explain", action="store_true", help="plans of each class's slowest call")
    ap.add_argument("--http", action="store_true", help="also (a)/(b) over HTTP, in-process app")
    ap.add_argument(
        "--sqlite-no-analyze",
        action="store_true",
        help="no ANALYZE after the SQLite fill (alertrouter itself never runs it)",
    )
    ap.add_argument("--pg-url", default=DEFAULT_PG_URL, help="the PostgreSQL server (admin)")
    ap.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="URL",
        help="measure this filled database instead of filling one (repeatable)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the databases this run filled")
    ap.add_argument("--json", metavar="FILE", help="also write the calls as JSON")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    ns.only = set(ns.only)

    def log(text: str) -> None:
        print(text, flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="alertrouter-history-"))
    targets: list[Target] = []
    for url in ns.reuse:
        backend = make_url(url).get_backend_name()
        targets.append(Target("sqlite" if backend == "sqlite" else "postgresql", url, False))
    if not ns.reuse:
        if ns.backend in ("sqlite", "both"):
            targets.append(Target("sqlite", f"sqlite:///{workdir / 'history.db'}", True))
        if ns.backend in ("postgresql", "both"):
            dbname = f"alertrouter_history_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            base = make_url(ns.pg_url)
            url = base.set(database=dbname).render_as_string(hide_password=False)
            targets.append(Target("postgresql", url, True, dbname))
    report: dict[str, Any] = {"incidents": ns.incidents, "days": ns.days, "databases": {}}
    try:
        fresh = [t for t in targets if t.created]
        if fresh:
            for t in fresh:
                if t.name == "postgresql":
                    asyncio.run(pg_admin(ns.pg_url, f'CREATE DATABASE "{t.dbname}"'))
                started = time.perf_counter()
                migrate.upgrade(t.url)
                log(f"{t.name}: migrated in {time.perf_counter() - started:.1f} s ({t.url})")
            now = int(time.time() * 1000)
            log(f"filling {ns.incidents:,} incidents over {ns.days} days into {len(fresh)} db(s)")
            loaders: list[tuple[str, Loader]] = [
                (
                    t.name,
                    PgLoader(t.url)
                    if t.name == "postgresql"
                    else SqliteLoader(t.url, analyze=not ns.sqlite_no_analyze),
                )
                for t in fresh
            ]
            report["fill"] = asyncio.run(fill(loaders, ns, now, log))
            log(f"fill time: {report['fill']['total_s']:.0f} s")
        results: list[ClassResult] = []
        for t in targets:
            size = database_size(t.name, t.url)
            report["databases"][t.name] = {"url": t.url, "bytes": size}
            log(f"{t.name}: {size / 2**30:.2f} GiB; measuring")
            # As `alertrouter serve` runs: uvloop, and the start-up objects frozen for the GC.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
            with asyncio.Runner(loop_factory=serving_loop()) as runner:
                results += runner.run(measure(t.name, t.url, ns, log))
        log("")
        log(render(results))
        if ns.json:
            report["results"] = [
                {
                    "key": r.key,
                    "name": r.name,
                    "database": r.database,
                    "note": r.note,
                    "calls": [
                        {"query": c.query, "ms": c.seconds * 1000, "rows": c.rows, "total": c.total}
                        for c in r.calls
                    ],
                }
                for r in results
            ]
            Path(ns.json).write_text(json.dumps(report, indent=1))
        return 0
    finally:
        for t in targets:
            if not t.created:
                continue
            if ns.keep:
                log(f"kept {t.name}: {t.url}")
            elif t.name == "postgresql":
                try:
                    asyncio.run(
                        pg_admin(ns.pg_url, f'DROP DATABASE IF EXISTS "{t.dbname}" WITH (FORCE)')
                    )
                except Exception as exc:  # report, keep going
                    log(f"could not drop database {t.dbname}: {exc}")
        if not ns.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
