"""The replicas serving one database, for the cluster that GET /api/v2/status reports.

Replicas do not gossip as Alertmanager's peers do: they share the database. So each process
announces itself there while it runs (a row it moves every ANNOUNCE_EVERY_S seconds) and
removes the row when it stops; a replica that died without stopping drops out of the list once
its row is STALE_AFTER_MS old, and its row is deleted after FORGET_AFTER_MS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from alertrouter.storage.database import Database
from alertrouter.storage.tables import replicas

log = logging.getLogger(__name__)

ANNOUNCE_EVERY_S = 10.0
STALE_AFTER_MS = 35_000  # three announcements missed, and some slack for a slow database
FORGET_AFTER_MS = 24 * 3_600_000
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True, slots=True)
class Replica:
    id: str
    name: str
    address: str
    started_at: int
    seen_at: int


def node_name() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def advertised_address(listen: str) -> str:
    """The configured listen address, with this host's name for a wildcard host (0.0.0.0
    is where it listens, not where it can be reached)."""
    host, _, port = listen.rpartition(":")
    return f"{socket.gethostname()}:{port}" if host in _WILDCARDS else listen


class Presence:
    """This process's row among the replicas: announced at start and then every
    ANNOUNCE_EVERY_S seconds, withdrawn at stop. A database that is down only delays it."""

    def __init__(
        self,
        db: Database,
        clock_ms: Callable[[], int],
        address: str,
        *,
        every: float = ANNOUNCE_EVERY_S,
    ) -> None:
        self._db = db
        self._clock_ms = clock_ms
        self._every = every
        self._task: asyncio.Task[None] | None = None
        self.id = uuid.uuid4().hex
        self.name = node_name()
        self.address = address
        self.started_at = clock_ms()

    def myself(self) -> Replica:
        return Replica(self.id, self.name, self.address, self.started_at, self._clock_ms())

    async def announce(self) -> None:
        now = self._clock_ms()
        row = {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "started_at": self.started_at,
            "seen_at": now,
        }
        insert = self._db.insert(replicas).values(row)
        upsert = insert.on_conflict_do_update(
            index_elements=[replicas.c.id],
            set_={"address": insert.excluded.address, "seen_at": insert.excluded.seen_at},
        )
        forget = sa.delete(replicas).where(replicas.c.seen_at < now - FORGET_AFTER_MS)

        def write(conn: sa.Connection) -> None:
            conn.execute(upsert)
            conn.execute(forget)

        await self._db.run_write(write)

    async def withdraw(self) -> None:
        def write(conn: sa.Connection) -> None:
            conn.execute(sa.delete(replicas).where(replicas.c.id == self.id))

        await self._db.run_write(write)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="replica-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.withdraw()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not remove this replica from the replicas table: %s", exc)

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.announce()
                if failing:
                    log.info("this replica is announced in the database again")
                failing = False
            except (SQLAlchemyError, OSError) as exc:
                if not failing:
                    log.warning("cannot announce this replica in the database: %s", exc)
                failing = True
            await asyncio.sleep(self._every)


async def live_replicas(db: Database, now: int) -> list[Replica]:
    """The replicas seen within STALE_AFTER_MS, longest running first."""
    columns = ("id", "name", "address", "started_at", "seen_at")
    query = (
        sa.select(*[replicas.c[name] for name in columns])
        .where(replicas.c.seen_at >= now - STALE_AFTER_MS)
        .order_by(replicas.c.started_at, replicas.c.id)
    )
    async with db.read() as conn:
        return [Replica(*row) for row in await conn.execute(query)]
