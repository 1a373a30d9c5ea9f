"""Tables, engines and dialect helpers. SQLite (default, WAL) and PostgreSQL are both first-class.

Times are stored as integer milliseconds since the epoch (UTC): exact, portable across both
databases, and cheap to compare and add in SQL (`due_at <= :now`, `next_flush_at + ...`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys
Millis = sa.BigInteger

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("fingerprint", sa.String(32), primary_key=True),
    sa.Column("labels", Json, nullable=False),
    sa.Column("annotations", Json, nullable=False),
    sa.Column("generator_url", sa.Text, nullable=False, server_default=""),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=True),  # NULL while firing
    sa.Column("updated_at", Millis, nullable=False),
)
sa.Index(
    "ix_alerts_firing",
    alerts.c.fingerprint,
    sqlite_where=alerts.c.ends_at.is_(None),
    postgresql_where=alerts.c.ends_at.is_(None),
)

alert_occurrences = sa.Table(
    "alert_occurrences",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "fingerprint",
        sa.String(32),
        sa.ForeignKey("alerts.fingerprint", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=True),
    sa.UniqueConstraint("fingerprint", "starts_at"),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("route_key", sa.Text, nullable=False),
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("due_at", Millis, nullable=True),  # NULL: nothing pending
    sa.Column("next_flush_at", Millis, nullable=True),  # last flush + group_interval
    sa.Column("last_flushed_at", Millis, nullable=True),
    sa.Column("group_wait_ms", Millis, nullable=False),
    sa.Column("group_interval_ms", Millis, nullable=False),
    sa.Column("repeat_interval_ms", Millis, nullable=False),
)
sa.Index("ix_groups_due_at", groups.c.due_at)

group_alerts = sa.Table(
    "group_alerts",
    metadata,
    sa.Column(
        "group_key", sa.Text, sa.ForeignKey("groups.key", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "fingerprint",
        sa.String(32),
        sa.ForeignKey("alerts.fingerprint", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("matchers", Json, nullable=False),
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=False, index=True),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("group_key", sa.Text, nullable=False, index=True),
    sa.Column("route_key", sa.Text, nullable=False),
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("group_labels", Json, nullable=False),
    sa.Column("opened_at", Millis, nullable=False, index=True),
    sa.Column("acknowledged_at", Millis, nullable=True),
    sa.Column("acknowledged_by", sa.String(255), nullable=True),
    sa.Column("resolved_at", Millis, nullable=True),
    sa.Column("resolved_by", sa.String(255), nullable=True),
    sa.Column("updated_at", Millis, nullable=False),
)
# The database guarantees one open incident per aggregation group.
sa.Index(
    "uq_incidents_open_group",
    incidents.c.group_key,
    unique=True,
    sqlite_where=incidents.c.resolved_at.is_(None),
    postgresql_where=incidents.c.resolved_at.is_(None),
)

incident_alerts = sa.Table(
    "incident_alerts",
    metadata,
    sa.Column(
        "incident_id", Id, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "fingerprint",
        sa.String(32),
        sa.ForeignKey("alerts.fingerprint", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("state", sa.String(16), nullable=False),  # firing | resolved
    sa.Column("muted_by", sa.Text, nullable=True),
    sa.Column("first_seen_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

timeline_events = sa.Table(
    "timeline_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "incident_id",
        Id,
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", Millis, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("detail", Json, nullable=False),
)


def to_millis(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def from_millis(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def async_url(url: str) -> str:
    """sqlite:///x.db -> sqlite+aiosqlite:///x.db; postgresql://... -> postgresql+asyncpg://..."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


@dataclass
class Database:
    """The engines of one database. On SQLite, writes take the database lock up front
    (BEGIN IMMEDIATE), so concurrent writers wait on the busy timeout instead of failing on a
    lock upgrade; reads use a separate engine and never block on writers (WAL)."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """Statements built once per database (their dialect is this database's)."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]  # type: ignore[no-any-return]

    @property
    def is_sqlite(self) -> bool:
        return self.writer.dialect.name == "sqlite"

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT with ON CONFLICT support."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    def for_update(self, select: sa.Select[Any], *, skip_locked: bool = False) -> sa.Select[Any]:
        """Row locks on PostgreSQL; on SQLite the write transaction already excludes others."""
        return select if self.is_sqlite else select.with_for_update(skip_locked=skip_locked)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await asyncio.gather(self.writer.dispose(), self.reader.dispose())


def open_database(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10) -> Database:
    target = async_url(url)
    if make_url(target).get_backend_name() == "sqlite":
        writer = create_async_engine(target, pool_size=1, max_overflow=0, pool_timeout=60)
        reader = create_async_engine(target, pool_size=4, max_overflow=4)
        _configure_sqlite(writer, busy_timeout_ms, immediate=True)
        _configure_sqlite(reader, busy_timeout_ms, immediate=False)
        return Database(url, writer, reader)
    engine = create_async_engine(
        target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
    return Database(url, engine, engine)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit survives power loss too; group commit makes the fsync per batch cheap.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
