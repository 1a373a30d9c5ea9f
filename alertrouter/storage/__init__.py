"""The database: tables, engines and transactions (SQLite in WAL mode, PostgreSQL), group
commit, the timeline table's writer, WAL checkpoints, migrations."""
