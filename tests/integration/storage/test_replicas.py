"""Two alertrouter replicas on one PostgreSQL database receiving the same payloads at once."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from alertrouter.storage.tables import alert_occurrences, incidents, timeline_events
from tests.integration.conftest import eventually
from tests.payloads import alert, payload


async def test_two_replicas_one_incident_no_duplicates(pg_database, start_server):
    first, client_a = await start_server(pg_database, name="a.yml")
    second, client_b = await start_server(pg_database, name="b.yml")
    groups = [f"Alert{g}" for g in range(5)]
    bodies = [
        payload(*[alert(alertname=name, instance=f"i{i}") for i in range(10)]) for name in groups
    ]

    async def send(client, body):
        response = await client.post("/api/v1/alertmanager", json=body)
        assert response.status == 200, await response.text()

    # Both members of an HA pair deliver every payload to both replicas, concurrently.
    await asyncio.gather(
        *(send(c, b) for b in bodies for c in (client_a, client_b, client_a, client_b))
    )

    async def all_open():
        async with first.db.read() as conn:
            n = (await conn.execute(sa.select(sa.func.count()).select_from(incidents))).scalar()
        return n == len(groups)

    await eventually(all_open)
    await asyncio.sleep(0.5)  # both schedulers keep flushing (group_interval 100 ms)
    async with second.db.read() as conn:
        opened = (
            await conn.execute(
                sa.select(incidents.c.group_key, sa.func.count()).group_by(incidents.c.group_key)
            )
        ).all()
        fired = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(timeline_events)
                .where(timeline_events.c.kind == "alert_fired")
            )
        ).scalar()
        occurrences = (
            await conn.execute(sa.select(sa.func.count()).select_from(alert_occurrences))
        ).scalar()
    assert len(opened) == len(groups) and all(n == 1 for _, n in opened)
    assert fired == 50 and occurrences == 50
