"""The bare-upsert anchor for bench/ingest.py (issue 16): the least a server can do and still
store every alert before its 200.

    python bench/upsert_server.py --port 8080 --database-url URL

Pinned so that alertrouter's figure is a ratio to it, not an absolute: aiohttp on the event loop
alertrouter serves on (uvloop), alertrouter's own JSON parser (`WebhookPayload`, pydantic-core),
SQLAlchemy async with an asyncpg pool of 8 (PostgreSQL) or one aiosqlite connection in WAL mode
with `synchronous=FULL` as alertrouter's (SQLite), and one transaction per request holding one
`INSERT … ON CONFLICT (fingerprint) DO UPDATE` executemany of the request's alerts into
`alerts(fingerprint primary key, labels JSONB, annotations JSONB, status, starts_at, ends_at,
updated_at)`. No routing, no groups, no batching across requests.

`POST /api/v2/alerts` (the anchor of `bench/ingest.py --api-v2`): the same, with the parser of
alertrouter's API v2 (`ingest.postable.accept`: Alertmanager's checks, and the fingerprint that
a webhook body carries and an API v2 body leaves to the receiver to compute).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alertrouter.config.models import SeverityConfig
from alertrouter.ingest.postable import accept
from alertrouter.ingest.wire import WebhookPayload
from alertrouter.routing.severity import SeverityMapper
from alertrouter.storage.database import async_url
from alertrouter.storage.statements import json_text

INGEST_PATH = "/api/v1/alertmanager"
V2_PATH = "/api/v2/alerts"
RESOLVE_TIMEOUT_MS = 300_000

metadata = sa.MetaData()
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("fingerprint", sa.Text, primary_key=True),
    sa.Column("labels", postgresql.JSONB().with_variant(sa.JSON(), "sqlite"), nullable=False),
    sa.Column("annotations", postgresql.JSONB().with_variant(sa.JSON(), "sqlite"), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)


def open_engine(url: str) -> AsyncEngine:
    target = async_url(url)
    if target.startswith("sqlite"):
        engine = create_async_engine(target, pool_size=1, max_overflow=0, json_serializer=json_text)

        @event.listens_for(engine.sync_engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    return create_async_engine(target, pool_size=8, max_overflow=0, json_serializer=json_text)


def build_app(engine: AsyncEngine) -> web.Application:
    insert = (sqlite if engine.dialect.name == "sqlite" else postgresql).insert(alerts)
    upsert = insert.on_conflict_do_update(
        index_elements=[alerts.c.fingerprint],
        set_={
            "labels": insert.excluded.labels,
            "annotations": insert.excluded.annotations,
            "status": insert.excluded.status,
            "starts_at": insert.excluded.starts_at,
            "ends_at": insert.excluded.ends_at,
            "updated_at": insert.excluded.updated_at,
        },
    )

    async def ingest(request: web.Request) -> web.Response:
        payload = WebhookPayload.model_validate_json(await request.read())
        now = int(time.time() * 1000)
        rows = {
            key: {
                "fingerprint": key,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "status": alert.status,
                "starts_at": alert.startsAt,
                "ends_at": alert.endsAt,
                "updated_at": now,
            }
            for alert in payload.alerts
            for key in [alert.fingerprint or repr(sorted(alert.labels.items()))]
        }
        async with engine.begin() as conn:
            await conn.execute(upsert, list(rows.values()))
        return web.json_response({"status": "success", "received": len(rows)})

    severity = SeverityMapper(SeverityConfig())

    async def ingest_v2(request: web.Request) -> web.Response:
        now = int(time.time() * 1000)
        accepted = accept(
            await request.read(), now=now, resolve_timeout_ms=RESOLVE_TIMEOUT_MS, severity=severity
        )
        rows = {
            alert.fingerprint: {
                "fingerprint": alert.fingerprint,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "status": "firing" if alert.firing else "resolved",
                "starts_at": _time(alert.starts_at),
                "ends_at": _time(alert.ends_at if alert.ends_at else alert.expires_at),
                "updated_at": now,
            }
            for alert in accepted.alerts
        }
        async with engine.begin() as conn:
            await conn.execute(upsert, list(rows.values()))
        return web.Response(status=200)

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="OK\n")

    async def create_table(app: web.Application) -> None:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    app = web.Application(client_max_size=10 * 1024 * 1024)
    app.router.add_post(INGEST_PATH, ingest)
    app.router.add_post(V2_PATH, ingest_v2)
    app.router.add_get("/-/ready", ready)
    app.on_startup.append(create_table)
    return app


def _time(millis: int | None) -> dt.datetime | None:
    return None if millis is None else dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--host", default="127.0.0.1")
    args.add_argument("--port", type=int, required=True)
    args.add_argument("--database-url", required=True)
    ns = args.parse_args()
    try:
        import uvloop
    except ImportError:
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
    web.run_app(
        build_app(open_engine(ns.database_url)),
        host=ns.host,
        port=ns.port,
        print=None,
        access_log=None,
        loop=loop,
    )


if __name__ == "__main__":
    main()
