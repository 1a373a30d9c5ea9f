"""Statements compiled once and run on the driver's own cursor, and the JSON text of parameters.

The write path's hot loops (ingest, flush, delivery) run their statements through these:
SQLAlchemy's per-execution work costs several times what SQLite spends running a small
statement. `json_text` is the JSON columns' serializer for every engine (see database.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine


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


def _unnested(
    columns: Mapping[str, TypeEngine[Any]], prefix: str = ""
) -> tuple[dict[str, Any], sa.Select[Any]]:
    """One array bind parameter per column (named prefix + column), and the SELECT of their
    rows, in the arrays' order, with JSON columns (bound as JSON text) cast back."""
    arrays = {
        name: sa.bindparam(
            prefix + name,
            type_=postgresql.ARRAY(sa.Text if isinstance(kind, sa.JSON) else kind),
        )
        for name, kind in columns.items()
    }
    unnested = (
        sa.func.unnest(*arrays.values())
        .table_valued(*columns, with_ordinality="row_number")
        .render_derived()
    )
    # In the arrays' order: rows inserted get their ids (and take their locks) in it.
    rows = sa.select(
        *[
            sa.cast(unnested.c[name], kind).label(name)
            if isinstance(kind, sa.JSON)
            else unnested.c[name]
            for name, kind in columns.items()
        ]
    ).order_by(unnested.c.row_number)
    return arrays, rows


def _arrays(
    columns: Mapping[str, TypeEngine[Any]], rows: Sequence[Mapping[str, Any]], prefix: str = ""
) -> dict[str, list[Any]]:
    return {
        prefix + name: [json_text(row[name]) for row in rows]
        if isinstance(kind, sa.JSON)
        else [row[name] for row in rows]
        for name, kind in columns.items()
    }


class ColumnArrays:
    """A statement over any number of rows, bound as one array per column and read back with
    PostgreSQL's `unnest`: one execution on the server whatever the number of rows, where an
    executemany costs one execution (planning, locking, executor start-up) per row.
    `build(rows)` makes the statement from a SELECT of the rows' columns (JSON columns come
    as JSON text and are cast back). PostgreSQL only."""

    def __init__(
        self,
        columns: Mapping[str, TypeEngine[Any]],
        build: Callable[[sa.Select[Any]], sa.Executable],
        dialect: sa.Dialect,
        *,
        narrow: Mapping[str, sa.ColumnElement[Any]] | None = None,
    ) -> None:
        self._columns = dict(columns)
        arrays, rows = _unnested(columns)
        statement = build(rows)
        if narrow:
            # An UPDATE or DELETE joined to the rows: the planner may scan the whole table for a
            # hash join when its statistics are stale (a table that grew fast). `key = ANY(the
            # key's array)` lets it find the target rows by the key's index whatever it knows.
            statement = statement.where(  # type: ignore[attr-defined]
                *[column == sa.any_(arrays[name]) for name, column in narrow.items()]
            )
        self._statement = DriverStatement(statement, dialect)

    def fetch(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        if not rows:
            return []
        return self._statement.fetch(conn, [_arrays(self._columns, rows)])

    def run_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        self.fetch(conn, rows)


@dataclass(frozen=True)
class UnnestedRows:
    """A set of rows bound as column arrays: their SELECT, and the array parameter of each
    column (for `key = ANY(array)`, see ColumnArrays' `narrow`)."""

    select: sa.Select[Any]
    arrays: Mapping[str, sa.BindParameter[Any]]


class ColumnArraySets:
    """One statement over several sets of rows, each bound as column arrays (see ColumnArrays):
    `build(sets)` makes it from each named set's SELECT and array parameters, e.g.
    data-modifying CTEs writing several tables in one round trip. Every set is bound, empty or
    not. PostgreSQL only."""

    def __init__(
        self,
        sets: Mapping[str, Mapping[str, TypeEngine[Any]]],
        build: Callable[[Mapping[str, UnnestedRows]], sa.Executable],
        dialect: sa.Dialect,
    ) -> None:
        self._sets = {name: dict(columns) for name, columns in sets.items()}
        unnested: dict[str, UnnestedRows] = {}
        for name, columns in sets.items():
            arrays, select = _unnested(columns, f"{name}_")
            unnested[name] = UnnestedRows(select, arrays)
        self._statement = DriverStatement(build(unnested), dialect)

    def fetch(self, conn: sa.Connection, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> Any:
        arrays: dict[str, list[Any]] = {}
        for name, columns in self._sets.items():
            arrays.update(_arrays(columns, rows[name], f"{name}_"))
        return self._statement.fetch(conn, [arrays])


class RowsStatement(Protocol):
    """A statement run over many rows at once: DriverStatement, MultiRowInsert or
    ColumnArrays."""

    def fetch(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]: ...

    def run_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None: ...


def per_row(
    build: Callable[[Mapping[str, Any]], Any],
    columns: Mapping[str, TypeEngine[Any]],
    dialect: sa.Dialect,
    *,
    match: Mapping[str, sa.ColumnElement[Any]],
) -> RowsStatement:
    """An UPDATE or DELETE applied for each row of a batch: `build(value)` makes it from one
    value per column name, and `match` names the row columns that equal a target column (its
    key). Bind parameters on SQLite (an executemany); on PostgreSQL the columns of the batch's
    column arrays (UPDATE ... FROM, DELETE ... USING: one execution). The rows must name
    distinct target rows: PostgreSQL changes a row once per statement."""

    def keyed(value: Mapping[str, Any]) -> sa.Executable:
        statement: sa.Executable = build(value).where(
            *[column == value[name] for name, column in match.items()]
        )
        return statement

    if dialect.name == "postgresql":
        return ColumnArrays(columns, lambda rows: keyed(rows.subquery().c), dialect, narrow=match)
    binds = {name: sa.bindparam(name, type_=kind) for name, kind in columns.items()}
    return DriverStatement(keyed(binds), dialect)


def rows_insert(
    table: sa.Table,
    keys: Sequence[str],
    build: Callable[[Any], sa.Executable],
    dialect: sa.Dialect,
    insert: Callable[[sa.Table], Any],
) -> RowsStatement:
    """An INSERT (with its ON CONFLICT clause: `build(insert)`) of many rows of `keys`: an
    executemany of one-row VALUES on SQLite, one INSERT ... SELECT from column arrays on
    PostgreSQL. `insert` is the dialect's insert (Database.insert)."""
    if dialect.name == "postgresql":
        return ColumnArrays(
            {key: table.c[key].type for key in keys},
            lambda rows: build(insert(table).from_select(list(keys), rows)),
            dialect,
        )
    return DriverStatement(build(insert(table).values(column_binds(table, keys))), dialect)


def compiled_insert(table: sa.Table, keys: Sequence[str], dialect: sa.Dialect) -> RowsStatement:
    """INSERT of rows of `keys` into `table`, for `run_many`: an executemany on SQLite, one
    INSERT ... SELECT from column arrays on PostgreSQL."""
    return rows_insert(table, keys, lambda insert: insert, dialect, sa.insert)


def column_binds(table: sa.Table, keys: Sequence[str]) -> dict[str, Any]:
    """Typed bind parameters named after the columns (so JSON columns serialize)."""
    return {key: sa.bindparam(key, type_=table.c[key].type) for key in keys}


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
