"""PostgreSQL connections the server dropped (a restart, a failover, an idle timeout): one the
server closed is replaced at checkout at once (the driver knows), and a pooled
connection idle for a second or more is pinged at checkout and replaced if dead, so the next
request after a quiet spell is answered as usual, not with a 503."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from alertrouter.storage import database
from tests.integration.helpers import post
from tests.payloads import alert, payload


async def _terminate_backends(url: str) -> int:
    name = make_url(url).database
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await conn.close()


async def test_connections_dropped_while_idle_are_replaced_unnoticed(pg_database, start_server):
    service, client = await start_server(pg_database, run_scheduler=False)
    await post(client, payload(alert(alertname="Before")))
    assert await _terminate_backends(pg_database) >= 1
    await asyncio.sleep(database.PING_AFTER_IDLE_S + 0.2)
    await post(client, payload(alert(alertname="After")))  # 200: post() checks it
    async with service.db.read() as conn:
        found = await conn.exec_driver_sql("SELECT count(*) FROM alerts")
        assert found.scalar() == 2


async def test_connections_the_server_closed_are_replaced_at_once(pg_database, start_server):
    """A terminated backend closes its socket; the driver sees it, and the pool replaces the
    connection at checkout without a ping, however recently it was used."""
    service, client = await start_server(pg_database, run_scheduler=False)
    await post(client, payload(alert(alertname="Before")))
    assert await _terminate_backends(pg_database) >= 1
    await asyncio.sleep(0.1)  # the event loop reads the closed sockets
    await post(client, payload(alert(alertname="After")))  # 200: post() checks it
    async with service.db.read() as conn:
        found = await conn.exec_driver_sql("SELECT count(*) FROM alerts")
        assert found.scalar() == 2
