"""Tables, engines and dialect helpers. SQLite (default, WAL) and PostgreSQL are both first-class.

Times are stored as integer milliseconds since the epoch (UTC): exact, portable across both
databases, and cheap to compare and add in SQL (`due_at <= :now`, `next_flush_at + ...`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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


WriteFn = Callable[[sa.Connection], T]


class BulkStatement:
    """A statement compiled once for one dialect and run as executemany straight through the
    driver: no per-row bind processing in SQLAlchemy. For statements without RETURNING whose
    parameters are plain ints and strings (no JSON), on the write path's hottest loops."""

    def __init__(self, statement: sa.Executable, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError(f"{dialect.name} does not use positional parameters")
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup)

    def run(self, conn: sa.Connection, rows: Sequence[Mapping[str, object]]) -> None:
        if rows:
            conn.exec_driver_sql(self.sql, [tuple(row[k] for k in self.order) for row in rows])


@dataclass
class Database:
    """The engines of one database.

    Every write transaction is one synchronous function, `run_write(fn)`: it runs with a
    Connection inside BEGIN ... COMMIT and may not await. On SQLite it runs on the one writer
    thread, with a plain sqlite3 connection, so a whole transaction costs one hand-off between
    threads (aiosqlite pays one per cursor operation, ~20 per transaction). Writes take the lock
    up front (BEGIN IMMEDIATE), so writers wait on the busy timeout instead of failing on a lock
    upgrade. On PostgreSQL it runs on an asyncpg connection through SQLAlchemy's greenlet bridge.
    Reads are async (`read()`) and never block on the writer (WAL, MVCC).
    """

    url: str
    reader: AsyncEngine
    async_writer: AsyncEngine | None = None  # PostgreSQL
    sync_writer: sa.Engine | None = None  # SQLite
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)
    _writer_conn: sa.Connection | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """Statements built once per database (their dialect is this database's)."""
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]  # type: ignore[no-any-return]

    @property
    def is_sqlite(self) -> bool:
        return self.reader.dialect.name == "sqlite"

    @property
    def dialect(self) -> sa.Dialect:
        return self.sync_writer.dialect if self.sync_writer is not None else self.reader.dialect

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT with ON CONFLICT support."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    def for_update(self, select: sa.Select[Any], *, skip_locked: bool = False) -> sa.Select[Any]:
        """Row locks on PostgreSQL; on SQLite the write transaction already excludes others."""
        return select if self.is_sqlite else select.with_for_update(skip_locked=skip_locked)

    async def run_write(self, fn: WriteFn[T]) -> T:
        if self.sync_writer is not None:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self._sqlite_transaction, fn
            )
        assert self.async_writer is not None
        async with self.async_writer.begin() as conn:
            return await conn.run_sync(fn)

    def _close_writer(self) -> None:
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None
        assert self.sync_writer is not None
        self.sync_writer.dispose()

    def _sqlite_transaction(self, fn: WriteFn[T]) -> T:
        """On the writer thread: one connection kept open across transactions (a pool checkout
        per transaction costs more than the statements of a small one)."""
        assert self.sync_writer is not None
        conn = self._writer_conn
        if conn is None or conn.closed:
            conn = self._writer_conn = self.sync_writer.connect()
        try:
            with conn.begin():
                return fn(conn)
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                conn.close()
                self._writer_conn = None
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.reader.dispose()
        if self.async_writer is not None and self.async_writer is not self.reader:
            await self.async_writer.dispose()
        if self.sync_writer is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_writer)
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def open_database(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10) -> Database:
    target = async_url(url)
    if make_url(target).get_backend_name() == "sqlite":
        reader = create_async_engine(target, pool_size=4, max_overflow=4)
        _configure_sqlite(reader.sync_engine, busy_timeout_ms, immediate=False)
        sync_url = make_url(target).set(drivername="sqlite+pysqlite")
        writer = sa.create_engine(
            sync_url,
            poolclass=sa.pool.SingletonThreadPool,
            pool_reset_on_return=None,  # every write transaction ends in commit or rollback
            connect_args={"check_same_thread": False},
        )
        _configure_sqlite(writer, busy_timeout_ms, immediate=True)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        return Database(url, reader, sync_writer=writer, _executor=executor)
    engine = create_async_engine(
        target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
    return Database(url, engine, async_writer=engine)


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit survives power loss too; group commit makes the fsync per batch cheap.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
