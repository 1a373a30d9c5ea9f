"""Tables, engines and dialect helpers. SQLite (default, WAL) and PostgreSQL are both first-class.

Times are stored as integer milliseconds since the epoch (UTC): exact, portable across both
databases, and cheap to compare and add in SQL (`due_at <= :now`, `next_flush_at + ...`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alertrouter.storage.walcheckpoint import WalCheckpointer

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

# Alerts are found by fingerprint, but the tables that grow with every new alert (occurrences,
# group members) refer to the sequential `id`: their index entries then go to the end of each
# b-tree instead of a random page, which writes about a quarter of the pages per transaction.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(32), nullable=False, unique=True),
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
    alerts.c.id,
    sqlite_where=alerts.c.ends_at.is_(None),
    postgresql_where=alerts.c.ends_at.is_(None),
)

alert_occurrences = sa.Table(
    "alert_occurrences",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("alert_id", Id, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("starts_at", Millis, nullable=False),
    sa.Column("ends_at", Millis, nullable=True),
    sa.UniqueConstraint("alert_id", "starts_at"),
)
# Ended occurrences by end time: what history retention deletes (incidents.retention). Partial,
# so an occurrence that starts adds no entry, and one that ends adds it near the index's end.
sa.Index(
    "ix_alert_occurrences_ended",
    alert_occurrences.c.ends_at,
    sqlite_where=alert_occurrences.c.ends_at.is_not(None),
    postgresql_where=alert_occurrences.c.ends_at.is_not(None),
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
        "alert_id",
        Id,
        sa.ForeignKey("alerts.id", ondelete="CASCADE"),
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
    sa.Column("opened_at", Millis, nullable=False),
    sa.Column("acknowledged_at", Millis, nullable=True),
    sa.Column("acknowledged_by", sa.String(255), nullable=True),
    sa.Column("resolved_at", Millis, nullable=True),
    sa.Column("resolved_by", sa.String(255), nullable=True),
    sa.Column("updated_at", Millis, nullable=False),
    # Where the acknowledgement / resolution came from: slack, api, cli, pagerduty; resolutions
    # by the alerts themselves say "alertmanager".
    sa.Column("acknowledged_via", sa.String(32), nullable=True),
    sa.Column("resolved_via", sa.String(32), nullable=True),
    # The first acknowledgement, kept through un-acknowledge and re-trigger (acknowledged_at is
    # the current one): time to acknowledge runs to it.
    sa.Column("first_acknowledged_at", Millis, nullable=True),
    # Lower-cased title and annotation values of the incident's alerts: the free-text search.
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
)
# The history queries list newest first, (opened_at, id) descending, narrowed by one of these.
# SQLite appends the rowid (id) to every index by itself; PostgreSQL needs it spelled out.
sa.Index("ix_incidents_opened_at_id", incidents.c.opened_at, incidents.c.id)
sa.Index(
    "ix_incidents_open_severity",
    incidents.c.severity,
    incidents.c.opened_at,
    incidents.c.id,
    sqlite_where=incidents.c.resolved_at.is_(None),
    postgresql_where=incidents.c.resolved_at.is_(None),
)
sa.Index("ix_incidents_severity", incidents.c.severity, incidents.c.opened_at, incidents.c.id)
sa.Index("ix_incidents_status", incidents.c.status, incidents.c.opened_at, incidents.c.id)
sa.Index("ix_incidents_receiver", incidents.c.receiver, incidents.c.opened_at, incidents.c.id)
sa.Index(
    "ix_incidents_acknowledged_by",
    incidents.c.acknowledged_by,
    incidents.c.opened_at,
    incidents.c.id,
)
sa.Index("ix_incidents_resolved_at", incidents.c.resolved_at)
# The database guarantees one open incident per aggregation group.
sa.Index(
    "uq_incidents_open_group",
    incidents.c.group_key,
    unique=True,
    sqlite_where=incidents.c.resolved_at.is_(None),
    postgresql_where=incidents.c.resolved_at.is_(None),
)

# Every label pair of every alert an incident has held: label matchers over the history find
# incidents here. `opened_at` is the incident's, so "service=db, last 7 days" is one index range.
incident_labels = sa.Table(
    "incident_labels",
    metadata,
    sa.Column(
        "incident_id", Id, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, primary_key=True),
    sa.Column("opened_at", Millis, nullable=False),
)
sa.Index(
    "ix_incident_labels_lookup",
    incident_labels.c.name,
    incident_labels.c.value,
    incident_labels.c.opened_at,
    incident_labels.c.incident_id,
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

# The next escalation step of each incident that is escalating (escalation.py).
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "incident_id",
        Id,
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("policy", sa.String(255), nullable=False),  # "" for the P-level default
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),  # 0, then 1..repeat
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("due_at", Millis, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | fired | cancelled
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)
sa.Index(
    "ix_escalations_pending",
    escalations.c.due_at,
    sqlite_where=escalations.c.status == "pending",
    postgresql_where=escalations.c.status == "pending",
)

# Signed requests already acted on (Slack actions, PagerDuty webhooks): a replay is refused.
inbound_requests = sa.Table(
    "inbound_requests",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("received_at", Millis, nullable=False, index=True),
)

# Per (group, receiver, integration): what the last notification reported (state.notification_log).
notification_log = sa.Table(
    "notification_log",
    metadata,
    sa.Column("group_key", sa.Text, primary_key=True),
    sa.Column("receiver", sa.String(255), primary_key=True),
    sa.Column("integration", sa.String(64), primary_key=True),  # e.g. "slack:0"
    sa.Column("firing", Json, nullable=False),  # fingerprints
    sa.Column("resolved", Json, nullable=False),
    sa.Column("notified_at", Millis, nullable=False),
    sa.Column("incident_id", Id, nullable=True),  # the incident that notification was about
)

# Rendered messages waiting for (or done with) delivery: the only queue of outgoing requests.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "incident_id",
        Id,
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("receiver", sa.String(255), nullable=False),
    sa.Column("integration", sa.String(64), nullable=False),
    # Messages of one stream (incident x receiver x integration) are delivered in order.
    sa.Column("stream", sa.String(400), nullable=False),
    sa.Column("op", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("rate_key", sa.String(400), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Millis, nullable=False),
    sa.Column("next_attempt_at", Millis, nullable=False),
    sa.Column("deadline_at", Millis, nullable=False),
    sa.Column("lease_until", Millis, nullable=True),  # set while a worker is sending it
    sa.Column("sent_at", Millis, nullable=True),
    sa.Column("updated_at", Millis, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_kind", sa.String(32), nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
)
sa.Index(
    "ix_outbox_pending",
    outbox.c.next_attempt_at,
    sqlite_where=outbox.c.status == "pending",
    postgresql_where=outbox.c.status == "pending",
)
# A row waits while an earlier row of its stream is pending: the claim's check, per row.
sa.Index(
    "ix_outbox_pending_stream",
    outbox.c.stream,
    outbox.c.id,
    sqlite_where=outbox.c.status == "pending",
    postgresql_where=outbox.c.status == "pending",
)
sa.Index("ix_outbox_status_id", outbox.c.status, outbox.c.id)

# What later messages of a stream refer to, e.g. the Slack channel and ts of the incident message.
delivery_threads = sa.Table(
    "delivery_threads",
    metadata,
    sa.Column("stream", sa.String(400), primary_key=True),
    sa.Column("ref", Json, nullable=False),
    sa.Column("updated_at", Millis, nullable=False),
)

# Per rate key (e.g. one Slack channel), the earliest time the next message may go out; shared
# by every replica, so a channel's rate holds however many processes deliver.
rate_slots = sa.Table(
    "rate_slots",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("next_at", Millis, nullable=False),
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


class DriverStatement:
    """A statement compiled once for one dialect and run on the driver's own cursor.

    For the write path's hot loops: there SQLAlchemy's per-execution work (execution context,
    events, result set-up, per-row bind processing) costs several times what SQLite spends
    running the statement. Parameters still go through the columns' bind processors (JSON),
    and driver errors come out as SQLAlchemy's DBAPIError, like any other statement's.
    `key_of` maps each bind name to the (row index, key) it takes its value from, for
    statements with several rows of VALUES (see MultiRowInsert).
    """

    def __init__(
        self,
        statement: sa.Executable,
        dialect: sa.Dialect,
        *,
        key_of: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError(f"{dialect.name} does not use positional parameters")
        self.sql = str(compiled)
        # Each placeholder's (row index, row key); single-row statements use key = bind name.
        self.order = tuple(
            key_of[name] if key_of is not None else (0, name) for name in compiled.positiontup
        )
        processors = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in compiled.positiontup
        ]
        self._processors = tuple(processors) if any(processors) else None
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error

    def params(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        if self._processors is None:
            return tuple([rows[i][key] for i, key in self.order])
        return tuple(
            [
                value if process is None or value is None else process(value)
                for (i, key), process in zip(self.order, self._processors, strict=True)
                for value in (rows[i][key],)
            ]
        )

    def run_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """executemany, one parameter set per row (single-row statements)."""
        if rows:
            self._execute(conn, [self.params((row,)) for row in rows], many=True)

    def fetch(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Runs once with all of `rows` bound (as many as the statement was compiled for)."""
        return self._execute(conn, self.params(rows), many=False)

    def _execute(self, conn: sa.Connection, params: Any, *, many: bool) -> list[Any]:
        cursor = conn.connection.cursor()
        try:
            if many:
                cursor.executemany(self.sql, params)
                return []
            cursor.execute(self.sql, params)
            return cursor.fetchall() if cursor.description is not None else []
        except self._dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(
                self.sql, params, exc, self._dbapi_error, dialect=conn.dialect
            ) from exc
        finally:
            cursor.close()


class MultiRowInsert:
    """An INSERT ... RETURNING of any number of rows, as multi-row statements whose sizes are
    powers of two up to `chunk` (100 rows: 64 + 32 + 4). Each size is compiled once, so a
    long-running process compiles at most log2(chunk) + 1 statements, not one per batch size
    (a compile takes tens of milliseconds). `build(values)` makes the statement from one dict
    of typed bind parameters per row."""

    def __init__(
        self,
        table: sa.Table,
        keys: Sequence[str],
        build: Callable[[list[dict[str, Any]]], sa.Executable],
        dialect: sa.Dialect,
        *,
        chunk: int = 64,
    ) -> None:
        self._table = table
        self._keys = tuple(keys)
        self._build = build
        self._dialect = dialect
        self._chunk = chunk
        self._compiled: dict[int, DriverStatement] = {}

    def _statement(self, size: int) -> DriverStatement:
        statement = self._compiled.get(size)
        if statement is None:
            values, key_of = [], {}
            for i in range(size):
                row = {}
                for key in self._keys:
                    name = f"r{i}_{key}"
                    row[key] = sa.bindparam(name, type_=self._table.c[key].type)
                    key_of[name] = (i, key)
                values.append(row)
            statement = DriverStatement(self._build(values), self._dialect, key_of=key_of)
            self._compiled[size] = statement
        return statement

    def fetch(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The RETURNING rows of all chunks, in order."""
        out: list[Any] = []
        start = 0
        while start < len(rows):
            size = min(self._chunk, 1 << ((len(rows) - start).bit_length() - 1))
            out.extend(self._statement(size).fetch(conn, rows[start : start + size]))
            start += size
        return out


@dataclass
class Database:
    """The engines of one database.

    Every write transaction is one synchronous function, `run_write(fn)`: it runs with a
    Connection inside BEGIN ... COMMIT and may not await. On PostgreSQL it runs on an asyncpg
    connection through SQLAlchemy's greenlet bridge. Reads are async (`read()`) and never block
    on the writer (WAL, MVCC).

    On SQLite all writes of a process go through one plain sqlite3 connection, one transaction
    at a time, and take the write lock up front (BEGIN IMMEDIATE). `run_write(fn)` runs the
    whole transaction on the writer thread: one hand-off between threads per transaction
    (aiosqlite pays one per cursor operation). `run_write(fn, inline=True)`, for ingest's short
    group commits, runs BEGIN and the statements on the event loop and hands only COMMIT (the
    fsync) to the writer thread: the writer thread otherwise waited for the GIL after each
    statement while the loop parsed requests, and a transaction took twice as long. Inline
    transactions never wait on the loop: when the lock is taken (another worker process,
    another program) they go to the writer thread, which waits there up to the busy timeout.
    """

    url: str
    reader: AsyncEngine
    async_writer: AsyncEngine | None = None  # PostgreSQL
    sync_writer: sa.Engine | None = None  # SQLite
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)
    _writer_conn: sa.Connection | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock_fd: int | None = field(default=None, repr=False)
    _checkpointer: WalCheckpointer | None = field(default=None, repr=False)
    _turn: asyncio.Lock | None = field(default=None, repr=False)  # one transaction at a time
    _busy_timeout_ms: int = field(default=5000, repr=False)

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

    async def run_write(self, fn: WriteFn[T], *, inline: bool = False) -> T:
        if self.sync_writer is not None:
            if self._turn is None:
                self._turn = asyncio.Lock()
            async with self._turn:
                if inline and self._try_write_lock():
                    return await self._inline_transaction(fn)
                return await self._on_writer_thread(fn)
        assert self.async_writer is not None
        async with self.async_writer.begin() as conn:
            return await conn.run_sync(fn)

    def _close_writer(self) -> None:
        if self._writer_conn is not None:
            self._writer_conn.close()
            self._writer_conn = None
        assert self.sync_writer is not None
        self.sync_writer.dispose()

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serializes the writers of all processes on this database (`server.workers`) in the
        kernel: waiting on SQLite's own lock polls with sleeps of up to 100 ms."""
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _try_write_lock(self) -> bool:
        if self._lock_fd is None:
            return True
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _write_unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def _on_writer_thread(self, fn: WriteFn[T]) -> T:
        """The whole transaction, waits for the lock included, on the writer thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._sqlite_transaction, fn
        )

    async def _inline_transaction(self, fn: WriteFn[T]) -> T:
        """BEGIN and the statements on the event loop, only COMMIT (the fsync) on the writer
        thread."""
        conn = self._writer_conn
        if conn is None or conn.closed:  # connecting may wait for locks: not on the loop
            self._write_unlock()
            return await self._on_writer_thread(fn)
        raw = conn.connection.driver_connection
        try:
            raw.execute("BEGIN IMMEDIATE")  # the writer connection's busy timeout is 0
        except sqlite3.Error as exc:
            self._write_unlock()
            if getattr(exc, "sqlite_errorname", None) not in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise sa.exc.DBAPIError.instance(
                    "BEGIN IMMEDIATE", None, exc, sqlite3.Error, dialect=conn.dialect
                ) from exc
            return await self._on_writer_thread(fn)
        try:
            result = fn(conn)
            done = asyncio.get_running_loop().run_in_executor(self._executor, self._commit, conn)
            try:
                await asyncio.shield(done)
            except asyncio.CancelledError:
                await asyncio.wait([done])  # the connection is ours until COMMIT returns
                raise
        except BaseException:
            _rollback(conn)
            raise
        finally:
            self._write_unlock()
        if self._checkpointer is not None:
            self._checkpointer.poke()
        return result

    def _begin_waiting(self, raw: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, retried while another program holds the lock, up to the busy
        timeout (SQLite's own busy handler would block an inline BEGIN on the event loop)."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorname in ("SQLITE_BUSY", "SQLITE_LOCKED")
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)

    @staticmethod
    def _commit(conn: sa.Connection) -> None:
        if conn.in_transaction():
            conn.commit()
        else:
            raw = conn.connection.driver_connection
            _driver_call(conn, "COMMIT", raw.commit)

    def _sqlite_transaction(self, fn: WriteFn[T]) -> T:
        """On the writer thread: one connection kept open across transactions (a pool checkout
        per transaction costs more than the statements of a small one)."""
        assert self.sync_writer is not None
        conn = self._writer_conn
        if conn is None or conn.closed:
            conn = self._writer_conn = self.sync_writer.connect()
        try:
            with self._write_lock():
                result = self._in_transaction(conn, fn)
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                conn.close()
                self._writer_conn = None
            raise
        if self._checkpointer is not None:
            self._checkpointer.poke()
        return result

    def _in_transaction(self, conn: sa.Connection, fn: WriteFn[T]) -> T:
        """BEGIN IMMEDIATE ... COMMIT on the driver connection. SQLAlchemy's own begin/commit
        (events, bookkeeping) would cost as much as a small ingest transaction's statements;
        a write function that does use SQLAlchemy statements autobegins a Connection-level
        transaction (a no-op for the driver, which is in autocommit mode), committed here."""
        raw = conn.connection.driver_connection
        _driver_call(conn, "BEGIN IMMEDIATE", lambda: self._begin_waiting(raw))
        try:
            result = fn(conn)
            self._commit(conn)
        except BaseException:
            _rollback(conn)
            raise
        return result

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
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.stop)
            self._checkpointer = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _rollback(conn: sa.Connection) -> None:
    if conn.in_transaction():
        conn.rollback()
    raw = conn.connection.driver_connection
    if raw.in_transaction:
        raw.rollback()


def enable_wal(url: str, busy_timeout_ms: int = 5000) -> None:
    """Puts an SQLite database file in WAL mode (persistent; a no-op for PostgreSQL). Done once,
    before anything serves: switching modes needs an exclusive lock, and a connection that
    tried it while others read would fail at once, without waiting for the busy timeout."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    conn = sqlite3.connect(database, timeout=busy_timeout_ms / 1000)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def _driver_call(conn: sa.Connection, sql: str, call: Callable[[], object]) -> None:
    error = conn.dialect.loaded_dbapi.Error
    try:
        call()
    except error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, error, dialect=conn.dialect) from exc


class SerializedDict(dict[str, Any]):
    """A dict that carries its JSON text, made ahead (on a thread, for a large alert) so that
    writing it costs the event loop nothing: PostgreSQL's statements run on the loop."""

    __slots__ = ("json",)

    def __init__(self, value: Mapping[str, Any]) -> None:
        super().__init__(value)
        self.json = json_text(value)


def json_text(value: Any) -> str:
    """JSON columns' serializer: pydantic-core's, several times faster than json.dumps on
    the label dicts every stored alert carries. A dict of many keys (up to 9 MiB of labels) is
    written one item at a time, the same text: one call would hold the GIL, and so stall the
    event loop, for tens of milliseconds even on another thread."""
    if type(value) is SerializedDict:
        return value.json
    if isinstance(value, dict) and len(value) > 16 and all(isinstance(k, str) for k in value):
        items = [f"{to_json(k).decode()}:{to_json(v).decode()}" for k, v in value.items()]
        return "{" + ",".join(items) + "}"
    return to_json(value).decode()


def open_database(url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10) -> Database:
    target = async_url(url)
    if make_url(target).get_backend_name() == "sqlite":
        reader = create_async_engine(target, pool_size=4, max_overflow=4, json_serializer=json_text)
        _configure_sqlite(reader.sync_engine, busy_timeout_ms, begin="BEGIN")
        sync_url = make_url(target).set(drivername="sqlite+pysqlite")
        writer = sa.create_engine(
            sync_url,
            json_serializer=json_text,
            poolclass=sa.pool.SingletonThreadPool,
            pool_reset_on_return=None,  # every write transaction ends in commit or rollback
            connect_args={"check_same_thread": False},
        )
        database = make_url(target).database
        on_disk = bool(database) and database != ":memory:" and "mode=memory" not in str(target)
        # Busy timeout 0 and BEGIN ourselves: see Database. Checkpoints: see WalCheckpointer.
        _configure_sqlite(
            writer, busy_timeout_ms, begin=None, autocheckpoint=not on_disk, writer=True
        )
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        lock_fd, checkpointer = None, None
        if on_disk:
            assert database is not None
            lock_fd = os.open(database + "-writelock", os.O_RDWR | os.O_CREAT, 0o600)
            checkpointer = WalCheckpointer(database, busy_timeout_ms=busy_timeout_ms)
            checkpointer.start()
        return Database(
            url,
            reader,
            sync_writer=writer,
            _executor=executor,
            _lock_fd=lock_fd,
            _checkpointer=checkpointer,
            _busy_timeout_ms=busy_timeout_ms,
        )
    engine = create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=json_text,
    )
    return Database(url, engine, async_writer=engine)


def _configure_sqlite(
    engine: sa.Engine,
    busy_timeout_ms: int,
    *,
    begin: str | None,
    autocheckpoint: bool = True,
    writer: bool = False,
) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # Setting the mode again would need a lock that a writer elsewhere may hold.
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit survives power loss too; group commit makes the fsync per batch cheap.
        cursor.execute("PRAGMA synchronous=FULL")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        if writer:  # the writer waits for locks itself (Database._begin_waiting)
            cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)
