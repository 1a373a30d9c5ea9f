"""The whole schema, for Alembic (migrations/env.py) and the schema comparison test: the one
`metadata`, with the tables of every table module registered (each does so on import)."""

from __future__ import annotations

from alertrouter.storage import people_tables, tables

TABLE_MODULES = (tables, people_tables)
metadata = tables.metadata
