"""The database (SQLite in WAL mode, or PostgreSQL), one module per job:

- `tables`: the schema, every table and index, and the column types (times as epoch
  milliseconds, JSON, ids); `from_millis` turns a stored time back into a datetime.
- `statements`: statements compiled once and run on the driver's cursor (`DriverStatement`,
  `MultiRowInsert`, `compiled_insert`), and `json_text`, the JSON columns' serializer.
- `database`: `open_database` and the `Database` it returns: read and write transactions, the
  SQLite writer thread and write lock, the statement cache, dialect helpers.
- `committer`: group commit, concurrent submissions sharing one transaction.
- `timeline`: appending events to incident timelines.
- `walcheckpoint`: SQLite WAL checkpoints on a thread of their own.
- `migrate`: running the Alembic migrations (migrations/) against the configured database.
"""
