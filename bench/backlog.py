"""The parts of bench/delivery.py: a queued backlog written straight into the outbox, a loopback
webhook receiver that answers after a fixed latency and counts the requests open at once, the
baseline client, and `alertrouter serve` replicas."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import sqlalchemy as sa
from aiohttp import web

from alertrouter.delivery import outbox
from alertrouter.storage import migrate
from alertrouter.storage.database import open_database
from alertrouter.storage.tables import incidents

ROOT = Path(__file__).resolve().parent.parent
ALERTROUTER = ROOT / ".venv/bin/alertrouter"
RECEIVER = "hook"


class HarnessError(Exception):
    """The benchmark itself could not run (not a performance miss)."""


# ------------------------------------------------------------------------------ the database


@dataclass
class Storage:
    url: str
    admin_url: str = ""
    dbname: str = ""

    async def pending(self) -> int:
        return await self._scalar("SELECT count(*) FROM outbox WHERE status <> 'sent'")

    async def attempts(self) -> dict[int, int]:
        """seq -> attempts, for every row (the body carries the seq)."""
        db = open_database(self.url)
        try:
            async with db.read() as conn:
                query = sa.select(outbox.outbox.c.body, outbox.outbox.c.attempts)
                rows = (await conn.execute(query)).all()
        finally:
            await db.dispose()
        return {int(body["seq"]): int(attempts) for body, attempts in rows}

    async def _scalar(self, sql: str) -> int:
        db = open_database(self.url)
        try:
            async with db.read() as conn:
                return int((await conn.execute(sa.text(sql))).scalar_one())
        finally:
            await db.dispose()

    async def drop(self) -> None:
        if self.dbname:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            finally:
                await conn.close()


async def new_storage(backend: str, workdir: Path, admin_url: str, label: str) -> Storage:
    if backend == "sqlite":
        return Storage(f"sqlite:///{workdir / f'delivery-{label}.db'}")
    dbname = f"alertrouter_bench_delivery_{os.getpid()}_{label}_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{dbname}"')
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:
        raise HarnessError(f"cannot create a PostgreSQL database via {admin_url}: {exc}") from exc
    return Storage(f"{admin_url.rsplit('/', 1)[0]}/{dbname}", admin_url, dbname)


def message_body(seq: int, stream: int) -> dict[str, Any]:
    """About the size and shape of a webhook notification (Alertmanager v4 plus the incident)."""
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": f"Backlog{stream:04d}",
                "instance": f"node-{stream % 97}-{k}:9100",
                "job": "node",
                "severity": "critical",
                "team": "storage",
            },
            "annotations": {"summary": f"disk filling up on node-{stream % 97}-{k}"},
            "startsAt": "2026-12-10T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.bench/graph?g0.expr=up",
        }
        for k in range(3)
    ]
    return {
        "version": "4",
        "status": "firing",
        "receiver": RECEIVER,
        "groupLabels": {"alertname": f"Backlog{stream:04d}"},
        "externalURL": "http://alertrouter.bench",
        "alerts": alerts,
        "incident": {"id": stream + 1, "status": "triggered", "severity": "P0"},
        "seq": seq,
    }


async def fill(url: str, messages: int, streams: int) -> None:
    """Migrates the database, then queues `messages` webhook messages over `streams` incidents,
    interleaved as a storm queues them (each flush adds the next message of every incident)."""
    await asyncio.to_thread(migrate.upgrade, url)
    db = open_database(url)
    now = int(time.time() * 1000)

    def write(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(incidents),
            [
                {
                    "group_key": f'{{}}:{{alertname="Backlog{s:04d}"}}',
                    "route_key": "{}",
                    "receiver": RECEIVER,
                    "title": f"Backlog{s:04d}",
                    "severity": 0,
                    "status": "triggered",
                    "group_labels": {"alertname": f"Backlog{s:04d}"},
                    "opened_at": now,
                    "updated_at": now,
                }
                for s in range(streams)
            ],
        )
        ids = conn.execute(sa.select(incidents.c.id).order_by(incidents.c.id)).scalars().all()
        queued = [
            outbox.NewMessage(
                incident_id=ids[seq % streams],
                receiver=RECEIVER,
                integration="webhook:0",
                op="post",
                reason="first",
                body=message_body(seq, seq % streams),
                rate_key=None,
            )
            for seq in range(messages)
        ]
        outbox.enqueue(db, conn, [(m, now + 3_600_000) for m in queued], now)

    try:
        await db.run_write(write)
    finally:
        await db.dispose()


# ------------------------------------------------------------------------------ the receiver


@dataclass
class Receipt:
    seq: int
    sender: str  # the replica (its URL path) or "baseline"
    started: float
    ended: float = 0.0


@dataclass
class Receiver:
    """POST /hook/{sender}: answers 200 after `latency` seconds; counts the requests open."""

    latency: float
    receipts: list[Receipt] = field(default_factory=list)
    open_now: int = 0
    open_max: int = 0
    open_by: dict[str, int] = field(default_factory=dict)
    _area: float = 0.0  # integral of open_now over time
    _changed_at: float = 0.0
    _runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{sender}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, sender: str) -> str:
        return f"http://127.0.0.1:{self.port}/hook/{sender}"

    def reset(self) -> None:
        self.receipts.clear()
        self.open_now = self.open_max = 0
        self.open_by.clear()
        self._area, self._changed_at = 0.0, time.monotonic()

    def _count(self, delta: int, sender: str) -> None:
        now = time.monotonic()
        self._area += self.open_now * (now - self._changed_at)
        self._changed_at = now
        self.open_now += delta
        self.open_by[sender] = self.open_by.get(sender, 0) + delta
        self.open_max = max(self.open_max, self.open_now)

    def open_area(self) -> float:
        return self._area + self.open_now * (time.monotonic() - self._changed_at)

    def distinct(self) -> int:
        return len({r.seq for r in self.receipts})

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender = request.match_info["sender"]
        receipt = Receipt(int(body["seq"]), sender, time.monotonic())
        self.receipts.append(receipt)
        self._count(1, sender)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self._count(-1, sender)
            receipt.ended = time.monotonic()
        return web.json_response({"ok": True})


async def baseline(receiver: Receiver, messages: int, concurrency: int) -> float:
    """Messages per second when an asyncio client keeps `concurrency` requests open against the
    receiver: the achievable N / L on this machine."""
    bodies = [json.dumps(message_body(seq, seq % 500)).encode() for seq in range(messages)]
    url = receiver.url("baseline")
    next_body = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in next_body:
                headers = {"Content-Type": "application/json"}
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return messages / (time.monotonic() - started)


# ------------------------------------------------------------------------------ the replicas


def replica_config(path: Path, storage_url: str, hook_url: str, timeout: str, slots: int) -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    path.write_text(f"""\
# Generated by bench/delivery.py
server:
  listen: 127.0.0.1:{port}
  log_level: warning
storage:
  url: {json.dumps(storage_url)}
route:
  receiver: {RECEIVER}
  group_by: [alertname]
receivers:
  - name: {RECEIVER}
    webhook_configs:
      - url: {hook_url}
notifications:
  timeout: {timeout}
  concurrency: {{webhook: {slots}}}
""")
    return port


class Replica:
    """One `alertrouter serve` process, alone in its session; stopped by its own pid only."""

    def __init__(self, name: str, config: Path, port: int, log: Path) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(ALERTROUTER), "serve", "--no-upgrade", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=config.parent,
            )
        self.log = log

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise HarnessError(f"replica {self.name} exited on start:\n{self.tail()}")
                try:
                    async with session.get(f"{self.url}/-/ready") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise HarnessError(f"replica {self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, 30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
