"""The engines of one database and its transactions. SQLite (default, WAL) and PostgreSQL are
both first-class: opening them, read and write transactions, the SQLite writer thread and
write lock, and the dialect helpers (INSERT with ON CONFLICT, row locks).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alertrouter.storage.statements import json_text
from alertrouter.storage.walcheckpoint import WalCheckpointer

T = TypeVar("T")


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
    commits_in_flight: int = 1  # group-commit batches written at once (PostgreSQL only)

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


def open_database(
    url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, commits_in_flight: int = 4
) -> Database:
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
        target, pool_size=pool_size, max_overflow=pool_size, json_serializer=json_text
    )
    _ping_when_idle(engine.sync_engine)
    return Database(url, engine, async_writer=engine, commits_in_flight=commits_in_flight)


PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: sa.Engine) -> None:
    """A pooled connection the server closed (a restart, a terminated backend) is replaced at
    checkout, as the driver already knows; one that sat idle for a second or more is pinged
    too (a link that died silently). Not every checkout pings: that round trip was a tenth of a
    small ingest transaction. A connection used within the last second whose link died
    silently since fails its transaction, answered 503, and the sender retries."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "_connection", None)
        if driver is not None and driver.is_closed():  # the server hung up: known, no round trip
            raise sa.exc.DisconnectionError("connection closed by the server")
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool replaces the connection and tries again
            raise sa.exc.DisconnectionError(f"connection lost while idle: {exc}") from exc


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
